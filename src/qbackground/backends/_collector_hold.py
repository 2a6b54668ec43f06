"""Holding Python's cyclic garbage collector through a burst of coroutine starts.

Nothing a start makes is garbage yet: the handler's job, its lifecycle, the asyncio
task, the coroutine's frame, the future and timer handle of its first ``await``. With
the collector running, young collections promote those objects a generation at a
time, and each growth of the old generation by a quarter triggers a *full* collection
over every task alive — several of them, of growing size, while 10,000 coroutines
start (10-40 ms each on the machine of ``make bench``), all on the path from the first
``execute()`` to the last ``done()``. Held through the burst, one young collection
(``gc.collect(1)``) moves the whole burst to the old generation in a single pass, right
after the first steps, while the coroutines wait; a full collection comes at most once,
later, on CPython's own schedule.

The hold is bounded: it never outlives ``HOLD_LIMIT`` seconds (a steady stream of
starts gets a young collection at least that often), it never starts when the
application has disabled the collector itself, and it only re-enables what it disabled.
Everything here runs on the asyncio loop's thread.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from time import monotonic

__all__ = ["HOLD_LIMIT", "HOLD_MIN", "CollectorHold"]

HOLD_MIN = 64
"""Starts waiting in one loop callback above which a burst holds the collector."""

HOLD_LIMIT = 0.25
"""Seconds after which a hold ends even if more starts keep arriving."""


class CollectorHold:
    """The collector hold of one asyncio executor (loop thread only).

    ``waiting()`` tells whether more starts are queued for the loop (a release then
    waits for the chunk that takes them, within ``HOLD_LIMIT``).

    Example::

        hold = CollectorHold(lambda: bool(incoming))
        hold.maybe_hold(len(incoming))
        ...start a chunk of jobs...
        hold.chunk_done(loop)
    """

    __slots__ = ("_waiting", "_held", "_since", "_release_pending")

    def __init__(self, waiting: Callable[[], bool]) -> None:
        self._waiting = waiting
        self._held = False
        self._since = 0.0
        self._release_pending = False

    def maybe_hold(self, waiting: int) -> None:
        """Disable the collector for a burst of ``waiting`` starts (a no-op below
        ``HOLD_MIN``, when already held, or when the application disabled it)."""
        if self._held or waiting <= HOLD_MIN or not gc.isenabled():
            return
        gc.disable()
        self._held = True
        self._since = monotonic()

    def chunk_done(self, loop: asyncio.AbstractEventLoop) -> None:
        """A chunk of starts was made; their first steps are queued on ``loop``: queue
        the release behind them, unless the burst goes on (see :meth:`release`)."""
        if self._held and not self._release_pending and not self._continues():
            self._release_pending = True
            loop.call_soon(self.release)

    def release(self, *, force: bool = False) -> None:
        """Re-enable the collector and move what the burst made up in one pass.

        Queued by :meth:`chunk_done`. Starts that arrived meanwhile continue the burst
        (their chunk queues the release again); ``force=True`` (the executor stopping)
        releases regardless.
        """
        self._release_pending = False
        if not self._held or (not force and self._continues()):
            return
        self._held = False
        gc.enable()
        gc.collect(1)  # young generations only: the burst's objects, in one pass

    def _continues(self) -> bool:
        """More starts wait for the loop, and the hold is younger than ``HOLD_LIMIT``."""
        return self._waiting() and monotonic() - self._since < HOLD_LIMIT
