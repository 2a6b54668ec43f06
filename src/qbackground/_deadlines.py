"""Task timeouts, watched by one thread that sleeps until the earliest deadline.

The clock lives off the GUI thread on purpose: a ``QTimer`` cannot fire while the GUI
thread is blocked (for example inside ``get_result()``), and a timeout must still be
decided and delivered promptly then.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from time import monotonic
from typing import Protocol

__all__ = ["DeadlineWatch"]

_log = logging.getLogger("qbackground")


class _Expirable(Protocol):
    def _expire(self) -> None: ...

    def is_alive(self) -> bool: ...


class DeadlineWatch:
    """Calls ``item._expire()`` on its own thread when the item's deadline passes."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Expirable]] = []
        self._seq = itertools.count()
        self._dead = 0  # entries whose task already ended (removed lazily)
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, deadline: float, item: _Expirable) -> None:
        """Watch ``item`` until ``deadline`` (a ``time.monotonic()`` value)."""
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._heap, (deadline, next(self._seq), item))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="qbackground-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is item:
                self._cond.notify()

    def note_dead(self) -> None:
        """An item ended early; compact the heap when dead entries dominate it."""
        with self._cond:
            self._dead += 1
            if self._dead > 256 and self._dead * 2 > len(self._heap):
                # In place: the watch thread holds this very list while it waits, and
                # a new list would keep the dead entries referenced until it wakes.
                self._heap[:] = [entry for entry in self._heap if entry[2].is_alive()]
                heapq.heapify(self._heap)
                self._dead = 0

    def close(self, timeout: float | None = None) -> None:
        """Stop the thread; pending deadlines are dropped."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        cond = self._cond
        while True:
            due: list[_Expirable] = []
            with cond:
                while not self._closed:
                    heap = self._heap
                    if heap:
                        wait = heap[0][0] - monotonic()
                        if wait <= 0:
                            break
                        cond.wait(wait)
                    else:
                        cond.wait()
                if self._closed:
                    return
                now = monotonic()  # never early: a deadline is a promise to the task
                while heap and heap[0][0] <= now:
                    due.append(heapq.heappop(heap)[2])
            # Expire outside the lock: _expire() takes the handler's lock, and add() is
            # called by handlers; one lock order only.
            for item in due:
                try:
                    item._expire()
                except Exception:  # a bug: keep watching the other deadlines
                    _log.exception("qbackground: expiring %r failed", item)
