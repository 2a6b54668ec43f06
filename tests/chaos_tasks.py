"""Module-level tasks for the chaos suite (the process backend pickles them by reference).

A task follows a small plan (how many items to publish, in what chunks, then succeed,
raise, or keep publishing until something interrupts it). Its GUI-side callbacks record
into ``rec``, an object that stays in the GUI process (``__getstate__`` drops it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from qbackground import AsyncBackgroundTask, BackgroundTask, TaskLifeCycle

GIVE_UP = 3.0
"""A "wait" task that nothing interrupts returns after this long (a bug: flagged)."""


class PlannedError(ValueError):
    """What a task with the "error" plan raises."""


class _Plan:
    rec: Any
    kind: str
    n_items: int
    chunk: int
    flush: bool
    work: float

    def _init_plan(self, rec: Any, kind: str, n_items: int, chunk: int, flush: bool, work: float) -> None:
        self.rec = rec
        self.kind = kind
        self.n_items = n_items
        self.chunk = chunk
        self.flush = flush
        self.work = work

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # type: ignore[misc]
        state.pop("rec", None)
        return state  # type: ignore[no-any-return]

    def _publish_plan(self, lifecycle: TaskLifeCycle[int]) -> None:
        for start in range(0, self.n_items, self.chunk):
            lifecycle.publish(*range(start, min(start + self.chunk, self.n_items)))
            if self.flush and start % 3 == 0:
                lifecycle.flush()

    # -- GUI-thread callbacks, all recorded -------------------------------------------

    def progress(self, changes: list[int]) -> None:
        self.rec.on_callback("progress", list(changes))

    def done(self, result: Any) -> None:
        self.rec.on_callback("done", result)

    def canceled(self) -> None:
        self.rec.on_callback("canceled", None)

    def handle_exception(self, exc: BaseException) -> bool:
        return bool(self.rec.on_callback("handle_exception", exc))

    def handle_timeout_exception(self) -> bool:
        return bool(self.rec.on_callback("timeout", None))


class ChaosTask(_Plan, BackgroundTask[int, Any]):
    """The plan on a thread or in a worker process."""

    def __init__(self, rec: Any, kind: str, n_items: int, chunk: int, flush: bool, work: float,
                 timeout: float | None, owner: Any) -> None:
        BackgroundTask.__init__(self, timeout=timeout, owner=owner)
        self._init_plan(rec, kind, n_items, chunk, flush, work)

    def run(self, lifecycle: TaskLifeCycle[int]) -> Any:
        self._publish_plan(lifecycle)
        if self.kind == "error":
            raise PlannedError(f"planned failure after {self.n_items} items")
        if self.kind == "wait":  # until cancelled, timed out or the owner closes
            item = self.n_items
            end = time.monotonic() + GIVE_UP
            while time.monotonic() < end:
                lifecycle.publish(item)
                item += 1
                lifecycle.sleep(0.001)  # raises TaskInterruptedError once interrupted
            return "nothing interrupted me"
        if self.work:
            lifecycle.sleep(self.work)
        return self.n_items


class AsyncChaosTask(_Plan, AsyncBackgroundTask[int, Any]):
    """The same plan as a coroutine on the asyncio backend."""

    def __init__(self, rec: Any, kind: str, n_items: int, chunk: int, flush: bool, work: float,
                 timeout: float | None, owner: Any) -> None:
        AsyncBackgroundTask.__init__(self, timeout=timeout, owner=owner)
        self._init_plan(rec, kind, n_items, chunk, flush, work)

    async def run(self, lifecycle: TaskLifeCycle[int]) -> Any:
        self._publish_plan(lifecycle)
        if self.kind == "error":
            raise PlannedError(f"planned failure after {self.n_items} items")
        if self.kind == "wait":
            item = self.n_items
            end = time.monotonic() + GIVE_UP
            while time.monotonic() < end:
                lifecycle.publish(item)
                item += 1
                await asyncio.sleep(0.001)  # CancelledError once cancelled
            return "nothing interrupted me"
        if self.work:
            await asyncio.sleep(self.work)
        return self.n_items
