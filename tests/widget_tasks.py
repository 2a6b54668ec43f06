"""Tasks and helpers shared by the ``test_widgets*`` files."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from qtpy.QtWidgets import QApplication, QMessageBox

from qbackground import BackgroundTask, ProgressListener, TaskLifeCycle

Step = tuple[str, Any]


class Scripted(BackgroundTask[Any, str]):
    """Runs a script of steps and records every GUI-thread callback.

    Steps: ``("publish", x)``, ``("beat", None)`` (``publish()``), ``("message", text)``, ``("progress", (value, total))``,
    ``("wait", threading.Event)`` (returns early when interrupted), ``("raise", exc)``.
    """

    RESULT = "finished"

    def __init__(
        self,
        steps: Sequence[Step] = (),
        *,
        owner: Any = None,
        timeout: float | None = None,
        handles_errors: bool = False,
        handles_timeout: bool = False,
    ) -> None:
        super().__init__(timeout=timeout, owner=owner)
        self.steps = list(steps)
        self.handles_errors = handles_errors
        self.handles_timeout = handles_timeout
        self.calls: list[str] = []
        self.items: list[Any] = []
        self.messages: list[str] = []

    @property
    def terminal(self) -> list[str]:
        return [c for c in self.calls if c in {"done", "canceled", "handle_exception", "handle_timeout"}]

    def run(self, lifecycle: TaskLifeCycle[Any]) -> str:
        for kind, arg in self.steps:
            if kind == "publish":
                lifecycle.publish(arg)
            elif kind == "beat":
                lifecycle.publish()  # a heartbeat: progress([])
            elif kind == "message":
                lifecycle.set_message(arg)
            elif kind == "progress":
                value, total = arg
                lifecycle.set_total(total)
                lifecycle.set_progress(value)
            elif kind == "wait":
                while not arg.wait(0.005):
                    if lifecycle.is_interrupted():
                        return "interrupted"
            elif kind == "raise":
                raise arg
            else:  # pragma: no cover - a typo in a test
                raise AssertionError(f"unknown step {kind!r}")
        return self.RESULT

    def done(self, result: str) -> None:
        self.calls.append("done")

    def canceled(self) -> None:
        self.calls.append("canceled")

    def progress(self, changes: list[Any]) -> None:
        self.calls.append("progress")
        self.items.extend(changes)

    def message_changed(self, message: str) -> None:
        self.messages.append(message)

    def handle_exception(self, exc: BaseException) -> bool:
        self.calls.append("handle_exception")
        return self.handles_errors

    def handle_timeout_exception(self) -> bool:
        self.calls.append("handle_timeout")
        return self.handles_timeout


class Recording(ProgressListener[Any, Any]):
    """A user's own listener: it must keep working while a window shows the task."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.items: list[Any] = []

    def on_progress(self, changes: list[Any]) -> None:
        self.items.extend(changes)

    def on_done(self, result: Any) -> None:
        self.calls.append("on_done")

    def on_cancel(self) -> None:
        self.calls.append("on_cancel")


class Gates:
    """Events a test opens; all are opened at teardown so no task waits forever."""

    def __init__(self) -> None:
        self._events: list[threading.Event] = []

    def new(self) -> threading.Event:
        event = threading.Event()
        self._events.append(event)
        return event

    def open_all(self) -> None:
        for event in self._events:
            event.set()


def open_boxes() -> list[QMessageBox]:
    """The message boxes now visible."""
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def close_boxes() -> Iterator[None]:
    """Fixture body: close message boxes left open by a test."""
    yield
    for box in open_boxes():
        box.done(0)
