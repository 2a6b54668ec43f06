"""Small task classes shared by the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from qbackground import BackgroundTask, TaskLifeCycle


class Recorder(BackgroundTask[Any, Any]):
    """Records every GUI-thread callback, in order, with the thread it ran on."""

    def __init__(self, timeout: float | None = None, owner: Any = None) -> None:
        super().__init__(timeout=timeout, owner=owner)
        self.calls: list[tuple[str, Any]] = []
        self.threads: set[int] = set()
        self.items: list[Any] = []
        self.handled = True

    def _note(self, name: str, value: Any = None) -> None:
        self.calls.append((name, value))
        self.threads.add(threading.get_ident())

    @property
    def terminal(self) -> list[str]:
        return [name for name, _ in self.calls if name in {"done", "canceled", "error", "timeout"}]

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        return "result"

    def done(self, result: Any) -> None:
        self._note("done", result)

    def canceled(self) -> None:
        self._note("canceled")

    def progress(self, changes: list[Any]) -> None:
        self.items.extend(changes)
        self._note("progress", list(changes))

    def handle_exception(self, exc: BaseException) -> bool:
        self._note("error", exc)
        return self.handled

    def handle_timeout_exception(self) -> bool:
        self._note("timeout")
        return self.handled

    def message_changed(self, message: str) -> None:
        self._note("message", message)

    def fraction_changed(self, fraction: float) -> None:
        self._note("fraction", fraction)

    def handle_event(self, name: str, data: Any) -> None:
        self._note("event", (name, data))


class Gate(Recorder):
    """Blocks in run() until ``release`` is set (or the task is interrupted)."""

    def __init__(self, timeout: float | None = None, owner: Any = None, result: Any = "gated") -> None:
        super().__init__(timeout=timeout, owner=owner)
        self.started = threading.Event()
        self.release = threading.Event()
        self.stopped = threading.Event()
        self.result = result
        self.error: BaseException | None = None

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        self.started.set()
        try:
            while not self.release.wait(0.002):
                if lifecycle.is_interrupted():
                    return "interrupted"
            if self.error is not None:
                raise self.error
            return self.result
        finally:
            self.stopped.set()


class Publisher(Recorder):
    """Publishes ``count`` items, then returns ``count``."""

    def __init__(self, count: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        for i in range(self.count):
            lifecycle.publish(i)
        return self.count


class Failing(Recorder):
    def __init__(self, exc: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exc = exc

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        raise self.exc


def wait_until_still(qtbot: Any, count: Callable[[], int], settle: float = 0.05) -> int:
    """Wait until ``count()`` stops growing over two ``settle``-second looks (a task held
    by a pause); its value then."""
    seen = [-1]

    def still() -> bool:
        before = count()
        threading.Event().wait(settle)
        same = before == count() == seen[0]
        seen[0] = before
        return same

    qtbot.waitUntil(still, timeout=5000)
    return count()
