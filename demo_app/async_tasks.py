"""Simulated downloads for the asyncio backend: coroutines that ``await asyncio.sleep()``.

Each :class:`DownloadTask` follows a :class:`DownloadPlan` drawn on the GUI thread, so
the page knows every download's length before it starts (and can show the longest).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Protocol

from qtpy.QtWidgets import QWidget

from qbackground import AsyncBackgroundTask, TaskLifeCycle

__all__ = ["DownloadPlan", "DownloadTask", "DownloadView"]


class DownloadView(Protocol):
    """Receives the downloads' callbacks; every method runs on the GUI thread."""

    def on_download_progress(self, index: int, received: int) -> None:
        """Download ``index`` has received ``received`` bytes so far."""

    def on_download_done(self, index: int, size: int) -> None:
        """Download ``index`` finished with ``size`` bytes."""

    def on_download_canceled(self, index: int) -> None:
        """Download ``index`` was cancelled."""

    def on_download_failed(self, index: int, exc: BaseException) -> bool:
        """Download ``index`` raised ``exc``; return True when handled."""


@dataclass(frozen=True)
class DownloadPlan:
    """How one simulated download goes: ``size`` bytes in ``len(delays)`` chunks.

    Example::

        plan = DownloadPlan.random(random.Random(1))
        assert plan.duration == sum(plan.delays)
    """

    size: int
    """Bytes in total."""
    delays: tuple[float, ...]
    """Seconds to wait before each chunk arrives."""

    @property
    def duration(self) -> float:
        """The download's sleep chain: the least time it can take."""
        return sum(self.delays)

    @classmethod
    def random(
        cls,
        rng: random.Random,
        *,
        steps: tuple[int, int] = (4, 6),
        delay: tuple[float, float] = (0.1, 0.45),
        size: tuple[int, int] = (40_000, 900_000),
    ) -> DownloadPlan:
        """A plan with ``steps`` chunks (inclusive range), each after a ``delay`` in range.

        Example::

            plans = [DownloadPlan.random(rng) for _ in range(200)]
        """
        count = rng.randint(*steps)
        return cls(
            size=rng.randint(*size),
            delays=tuple(round(rng.uniform(*delay), 3) for _ in range(count)),
        )


class DownloadTask(AsyncBackgroundTask[int, int]):
    """A simulated download: ``await asyncio.sleep()`` per chunk, publishing bytes so far.

    Runs on qbackground's asyncio loop (the default executor of an
    ``AsyncBackgroundTask``); ``cancel()`` cancels the coroutine at its current ``await``.

    Example::

        task = DownloadTask(page, 0, DownloadPlan.random(rng), owner=page)
        background_worker().handle(task).execute()
    """

    def __init__(
        self, view: DownloadView, index: int, plan: DownloadPlan, *, owner: QWidget | None = None
    ) -> None:
        super().__init__(owner=owner)
        self._view = view
        self.index = index
        self.plan = plan

    async def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        size, steps = self.plan.size, len(self.plan.delays)
        received = 0
        for step, delay in enumerate(self.plan.delays, 1):
            await asyncio.sleep(delay)  # a network read
            received = size * step // steps
            lifecycle.publish(received)
        return received

    def progress(self, changes: list[int]) -> None:
        self._view.on_download_progress(self.index, changes[-1])

    def done(self, result: int) -> None:
        self._view.on_download_done(self.index, result)

    def canceled(self) -> None:
        self._view.on_download_canceled(self.index)

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_download_failed(self.index, exc)
