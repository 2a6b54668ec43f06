"""``BufferedLifeCycle``: the reporting half every concrete lifecycle shares.

A task's reports accumulate in plain buffers (a deque of items, a deque of events, the
latest message and fraction); a subclass decides how a batch leaves them: to the GUI
thread's dispatcher (``LocalLifeCycle``) or across a pipe or a Dask queue
(``ChildLifeCycle``). Writers only append and set attributes, atomic under the GIL.

Wake-up invariant (no lost report): a writer stores *then* tests ``_scheduled``; the
consumer clears ``_scheduled`` *then* drains. Whatever the interleaving, a report is
either drained by the current batch or its writer sees ``_scheduled`` false and asks for
another one.
"""

from __future__ import annotations

import math
import threading
from abc import abstractmethod
from collections import deque
from collections.abc import Mapping
from typing import Any, TypeVar

from ._errors import TaskInterruptedError, TaskStateError
from ._lifecycle import TaskLifeCycle, _check_number

__all__ = ["BufferedLifeCycle"]

T = TypeVar("T")


class BufferedLifeCycle(TaskLifeCycle[T]):
    """Buffers, flags and checks; subclasses implement ``_schedule`` and ``flush``."""

    __slots__ = (
        "_params",
        "_items",
        "_events",
        "_message",
        "_fraction",
        "_scheduled",
        "_stopped",
        "_cancelled",
        "_interrupted",
        "_broken",
        "_wakeup",
        "_total",
        "_value",
        "_attempt",
    )

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = params
        self._items: deque[T] = deque()
        self._events: deque[tuple[str, Any]] = deque()
        self._message: str | None = None
        self._fraction: float | None = None
        # True while a batch is scheduled (see the module docstring).
        self._scheduled = False
        # True once reporting must raise: interrupted, or run() already returned.
        self._stopped = False
        self._cancelled = False
        self._interrupted = False
        # Set when a report could not be sent; raised at the task's next report.
        self._broken: BaseException | None = None
        self._wakeup: threading.Event | None = None
        self._total = 1.0
        self._value = 0.0
        self._attempt = 1  # lifecycle.attempt; the handler sets it for a retry

    @abstractmethod
    def _schedule(self) -> None:
        """Arrange for pending reports to leave the buffers; sets ``_scheduled``."""

    def publish(self, *changes: T) -> None:
        if self._stopped:
            self._raise_stopped("publish()")
        self._items.extend(changes)
        if not self._scheduled:
            self._schedule()

    def is_cancelled(self) -> bool:
        return self._cancelled

    def is_interrupted(self) -> bool:
        return self._interrupted

    @property
    def params(self) -> Mapping[str, Any]:
        return self._params

    def set_message(self, message: str) -> None:
        if not isinstance(message, str):
            raise TypeError(f"set_message() takes a str, not {type(message).__name__}")
        if self._stopped:
            self._raise_stopped("set_message()")
        self._message = message
        if not self._scheduled:
            self._schedule()

    def send_event(self, name: str, data: Any = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"send_event() takes a str name, not {type(name).__name__}")
        if self._stopped:
            self._raise_stopped("send_event()")
        self._events.append((name, data))
        if not self._scheduled:
            self._schedule()

    def sleep(self, seconds: float) -> None:
        seconds = _check_number(seconds, "sleep() seconds")
        if seconds < 0:
            raise ValueError(f"sleep() seconds must not be negative, got {seconds!r}")
        if self._interrupted:
            raise TaskInterruptedError("the task was interrupted")
        if self._wakeup is None:
            self._wakeup = threading.Event()
        # Re-check after creating the event: interrupt() sets the flag before it
        # looks for the event, so one of us sees the other.
        if self._interrupted or self._wakeup.wait(None if math.isinf(seconds) else seconds):
            raise TaskInterruptedError("the task was interrupted while sleeping")

    def _report_fraction(self, fraction: float) -> None:
        if self._stopped:
            self._raise_stopped("set_progress()")
        self._fraction = min(max(fraction, 0.0), 1.0)
        if not self._scheduled:
            self._schedule()

    def _raise_stopped(self, what: str) -> None:
        if self._broken is not None:
            raise self._broken
        if self._interrupted:
            reason = "cancelled" if self._cancelled else "interrupted (timeout, owner closed or shutdown)"
            raise TaskInterruptedError(f"{what} called after the task was {reason}")
        raise TaskStateError(f"{what} called after run() returned; the task is over")

    # -- the controlling side (any thread) ---------------------------------------------

    def interrupt(self, cancelled: bool) -> None:
        """Mark the task interrupted: reporting raises from now on, ``sleep()`` wakes."""
        self._cancelled = cancelled
        self._interrupted = True
        self._stopped = True
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.set()

    def finish(self) -> None:
        """``run()`` returned: later reports are mistakes, not progress."""
        self._stopped = True

    def break_with(self, error: BaseException) -> None:
        """A report could not be sent: the task's next report raises ``error``."""
        self._broken = error
        self._stopped = True
