"""``AsyncBackgroundTask``: the same contract with ``async def run``."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, TypeVar

from ._task import TaskBase

if TYPE_CHECKING:
    from ._lifecycle import TaskLifeCycle

__all__ = ["AsyncBackgroundTask"]

T = TypeVar("T")
V = TypeVar("V")


class AsyncBackgroundTask(TaskBase[T, V]):
    """A task whose ``run`` is a coroutine, run on qbackground's private asyncio loop.

    Everything else is as for :class:`BackgroundTask` (both derive from ``TaskBase``):
    the GUI-thread callbacks, exactly one
    ending, timeouts, owner binding. ``worker.handle()`` picks the ``"asyncio"``
    executor for it by itself. ``cancel()`` and timeouts cancel the coroutine: it sees
    :class:`asyncio.CancelledError` at its next ``await``. Await, do not block: use
    ``await asyncio.sleep()``, not ``lifecycle.sleep()`` or ``time.sleep()``, which would
    stall every coroutine on the loop.

    Example::

        class Download(AsyncBackgroundTask[int, bytes]):
            async def run(self, lifecycle: TaskLifeCycle[int]) -> bytes:
                data = b""
                for i in range(10):
                    await asyncio.sleep(0.1)  # a network read
                    data += b"x"
                    lifecycle.publish(i)
                return data

        background_worker().handle(Download(owner=window)).execute()
    """

    @abstractmethod
    async def run(self, lifecycle: TaskLifeCycle[T]) -> V:
        """Do the work as a coroutine, on the asyncio loop's thread.

        Example::

            async def run(self, lifecycle):
                await asyncio.sleep(1)
                return "ok"
        """

