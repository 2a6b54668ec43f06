"""Backend-neutral tasks for the contract suite: module level, so they pickle.

A task follows a script of steps; the sync and async classes interpret the same script,
so every backend runs the same behaviour. GUI callbacks record into ``calls`` on the
GUI-side task object (off-process backends run a pickled copy of the task; the
callbacks always run on the original, in the GUI process).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from qbackground import AsyncBackgroundTask, BackgroundTask, TaskLifeCycle

Step = tuple[Any, ...]


class ScriptError(ValueError):
    """Raised by a ("raise", message) step."""


class _Recording:
    calls: list[tuple[str, Any]]
    items: list[Any]
    handled = True  # what handle_exception returns

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
    else:
        return False
    return True


class Scripted(_Recording, BackgroundTask[Any, Any]):
    def __init__(self, steps: list[Step], timeout: float | None = None, owner: Any = None) -> None:
        BackgroundTask.__init__(self, timeout=timeout, owner=owner)
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
    def __init__(self, steps: list[Step], timeout: float | None = None, owner: Any = None) -> None:
        AsyncBackgroundTask.__init__(self, timeout=timeout, owner=owner)
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
