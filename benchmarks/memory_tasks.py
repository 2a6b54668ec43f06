"""Module-level tasks for memory_per_task.py (worker processes import them by reference)."""

from __future__ import annotations
import asyncio
from qbackground import AsyncBackgroundTask, BackgroundTask, TaskLifeCycle


class T(BackgroundTask[int, int]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        lifecycle.publish(1)
        return 1


class A(AsyncBackgroundTask[int, int]):
    async def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        await asyncio.sleep(0)
        lifecycle.publish(1)
        return 1
