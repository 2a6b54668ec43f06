"""Backend-neutral tasks for the contract suite: module level, so they pickle.

A task follows a script of steps; the sync and async classes interpret the same script,
so every backend runs the same behaviour. GUI callbacks record into ``calls`` on the
GUI-side task object (off-process backends run a pickled copy of the task; the
callbacks always run on the original, in the GUI process).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from collections.abc import Generator
from pathlib import Path

from qbackground import AsyncBackgroundTask, BackgroundTask, Retry, TaskLifeCycle

Step = tuple[Any, ...]


class ScriptError(ValueError):
    """Raised by a ("raise", message) step."""


class _Recording:
    calls: list[tuple[str, Any]]
    items: list[Any]
    handled = True  # what handle_exception returns
    retry_answer = True  # what handle_retry returns

    def _init_recording(self) -> None:
        self.calls = []
        self.items = []

    @property
    def terminal(self) -> list[str]:
        return [n for n, _ in self.calls if n in {"done", "canceled", "error", "timeout"}]

    def done(self, result: Any) -> None:
        self.calls.append(("done", result))

    def canceled(self) -> None:
        self.calls.append(("canceled", None))

    def progress(self, changes: list[Any]) -> None:
        self.items.extend(changes)
        self.calls.append(("progress", len(changes)))

    def handle_exception(self, exc: BaseException) -> bool:
        self.calls.append(("error", exc))
        return self.handled

    def handle_timeout_exception(self) -> bool:
        self.calls.append(("timeout", None))
        return True

    def handle_retry(self, attempt: int, exc: BaseException) -> bool:
        self.calls.append(("retry", (attempt, exc)))
        return self.retry_answer

    @property
    def retries(self) -> list[tuple[int, str]]:
        """(attempt about to start, str(failure)) of each handle_retry() call."""
        return [(value[0], str(value[1])) for name, value in self.calls if name == "retry"]

    def message_changed(self, message: str) -> None:
        self.calls.append(("message", message))

    def fraction_changed(self, fraction: float) -> None:
        self.calls.append(("fraction", fraction))

    def handle_event(self, name: str, data: Any) -> None:
        self.calls.append(("event", (name, data)))

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # type: ignore[misc]
        state.pop("calls", None)
        state.pop("items", None)
        return state  # type: ignore[no-any-return]


def _report_step(lifecycle: TaskLifeCycle[Any], step: Step) -> bool:
    """Run a reporting step (the same on every backend); False if it is not one."""
    kind = step[0]
    if kind == "publish":
        for i in range(step[1]):
            lifecycle.publish(i)
    elif kind == "beat":
        lifecycle.publish()  # a heartbeat: progress([]) on the GUI thread
    elif kind == "started":
        lifecycle.publish("started")
        lifecycle.flush()
    elif kind == "message":
        lifecycle.set_message(step[1])
    elif kind == "progress":
        lifecycle.set_total(step[2])
        lifecycle.set_progress(step[1])
    elif kind == "event":
        lifecycle.send_event(step[1], step[2])
    elif kind == "raise":
        raise ScriptError(step[1])
    elif kind == "attempt":
        lifecycle.publish(("attempt", lifecycle.attempt))
        lifecycle.flush()
    elif kind == "fail_until":  # an OSError on every attempt before number step[1]
        if lifecycle.attempt < step[1]:
            raise OSError(f"{step[2]} {lifecycle.attempt}")
    elif kind == "mark":  # ("mark", path): append this run's attempt number to a file
        with open(step[1], "a") as marks:
            marks.write(f"{lifecycle.attempt}\n")
    elif kind == "crash_until":  # the worker process dies on attempts before step[1]
        if lifecycle.attempt < step[1]:
            if step[2:] == ("kill",):  # ("crash_until", n, "kill"): SIGKILL, no exit code path
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
    else:
        return False
    return True


class Scripted(_Recording, BackgroundTask[Any, Any]):
    def __init__(
        self, steps: list[Step], timeout: float | None = None, owner: Any = None, retry: Retry | None = None
    ) -> None:
        BackgroundTask.__init__(self, timeout=timeout, owner=owner, retry=retry)
        self._init_recording()
        self.steps = steps

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        result: Any = None
        for step in self.steps:
            if _report_step(lifecycle, step):
                continue
            kind = step[0]
            if kind == "wait_interrupt":
                while True:
                    lifecycle.sleep(0.005)  # raises TaskInterruptedError when interrupted
            elif kind == "ticks":  # ("tick", i) until interrupted; publish() holds a pause
                i = 0
                while True:
                    lifecycle.publish(("tick", i))
                    lifecycle.flush()
                    lifecycle.sleep(0.01)  # raises TaskInterruptedError when interrupted
                    i += 1
            elif kind == "spin":  # ignores interruption for step[1] seconds
                end = time.monotonic() + step[1]
                while time.monotonic() < end:
                    pass
            elif kind == "return":
                result = step[1]
            elif kind == "pid":  # where run() ran
                result = os.getpid()
        return result


class AsyncScripted(_Recording, AsyncBackgroundTask[Any, Any]):
    def __init__(
        self, steps: list[Step], timeout: float | None = None, owner: Any = None, retry: Retry | None = None
    ) -> None:
        AsyncBackgroundTask.__init__(self, timeout=timeout, owner=owner, retry=retry)
        self._init_recording()
        self.steps = steps

    async def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        result: Any = None
        for step in self.steps:
            if _report_step(lifecycle, step):
                continue
            kind = step[0]
            if kind == "wait_interrupt":
                while True:
                    await asyncio.sleep(0.005)  # CancelledError when cancelled
            elif kind == "ticks":  # await checkpoint() holds a pause (publish() never blocks here)
                i = 0
                while True:
                    await lifecycle.checkpoint()
                    lifecycle.publish(("tick", i))
                    lifecycle.flush()
                    await asyncio.sleep(0.01)  # CancelledError when cancelled
                    i += 1
            elif kind == "spin":
                await asyncio.sleep(step[1])
            elif kind == "return":
                result = step[1]
            elif kind == "pid":
                result = os.getpid()
        return result


class YieldingScripted(_Recording, BackgroundTask[Any, Any]):
    """``run`` written as a generator (DESIGN §11): it yields ``count`` items, then
    ticks forever when ``forever`` (until a cancel stops it at a yield), and returns
    ``(result, attempt)``. Its ``finally`` block writes ``marker`` (a file: it runs in a worker
    process or on a Dask worker too), so a test sees that the generator was closed."""

    def __init__(
        self, count: int, result: Any = None, *, forever: bool = False, marker: str | None = None,
        retry: Retry | None = None, timeout: float | None = None, fail_until: int = 0,
    ) -> None:
        BackgroundTask.__init__(self, timeout=timeout, retry=retry)
        self._init_recording()
        self.count, self.result, self.forever, self.marker = count, result, forever, marker
        self.fail_until = fail_until  # raise OSError after the yields, on attempts before it

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Generator[Any, None, Any]:
        try:
            for i in range(self.count):
                yield i
            if lifecycle.attempt < self.fail_until:
                raise OSError(f"generator attempt {lifecycle.attempt}")
            if self.forever:
                yield "started"
                lifecycle.flush()
                while True:
                    time.sleep(0.005)
                    yield "tick"
            return (self.result, lifecycle.attempt)
        finally:
            if self.marker is not None:
                Path(self.marker).write_text("closed")
