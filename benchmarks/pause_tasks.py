"""Module-level tasks for pause_latency.py (worker processes import them by reference).

Each loops over ``checkpoint()`` with a few microseconds of work between passes and
times every pass with ``time.monotonic()`` (one clock for every process on the
machine). A pass that took longer than ``HELD`` is a hold: its ``(entered, left)`` pair
is published, so the GUI side can set it against the moments it called ``pause()``
and ``resume()``.
"""

from __future__ import annotations

import asyncio
from time import monotonic

from qbackground import AsyncBackgroundTask, BackgroundTask, TaskLifeCycle

HELD = 0.002
"""A checkpoint pass longer than this (seconds) was a pause."""


def _work() -> int:
    total = 0
    for i in range(50):  # a few microseconds between checkpoints
        total += i
    return total


class Looping(BackgroundTask[tuple[float, float], None]):
    """Checkpoints until cancelled; publishes each hold's ``(entered, left)``."""

    def run(self, lifecycle: TaskLifeCycle[tuple[float, float]]) -> None:
        while True:
            entered = monotonic()
            lifecycle.checkpoint()  # raises TaskInterruptedError once cancelled
            left = monotonic()
            if left - entered > HELD:
                lifecycle.publish((entered, left))
                lifecycle.flush()
            _work()


class AsyncLooping(AsyncBackgroundTask[tuple[float, float], None]):
    """The same as a coroutine: ``await lifecycle.checkpoint()``, yielding every pass."""

    async def run(self, lifecycle: TaskLifeCycle[tuple[float, float]]) -> None:
        while True:
            entered = monotonic()
            await lifecycle.checkpoint()
            left = monotonic()
            if left - entered > HELD:
                lifecycle.publish((entered, left))
                lifecycle.flush()
            _work()
            await asyncio.sleep(0)
