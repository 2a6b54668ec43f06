"""``BufferedLifeCycle``: the reporting half every concrete lifecycle shares.

A task's reports accumulate in plain buffers (a deque of items, a deque of events, the
latest message and fraction); a subclass decides how a batch leaves them: to the GUI
thread's dispatcher (``LocalLifeCycle``) or across a pipe or a Dask queue
(``ChildLifeCycle``). Writers only append and set attributes, atomic under the GIL.

Wake-up invariant (no lost report): a writer stores *then* tests ``_scheduled``; the
consumer clears ``_scheduled`` *then* drains. Whatever the interleaving, a report is
either drained by the current batch or its writer sees ``_scheduled`` false and asks for
another one.

Pause: ``pause()`` sets ``_paused``, then ``_stopped`` (the slow-path flag every report
already tests, so a running task pays nothing for pausability); the slow path waits on
a ``PauseGate`` (``_pausing``) until ``resume()``, an interrupt or the end of ``run()``
opens it. ``resume()`` clears ``_stopped``, then sets it again if a real stop came
meanwhile (each stop stores its own flag before ``_stopped``: no stop is lost).
"""

from __future__ import annotations

import math
import threading
from abc import abstractmethod
from collections import deque
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from ._errors import TaskInterruptedError, TaskStateError
from ._lifecycle import TaskLifeCycle, _check_number
from ._pausing import READY, PauseGate, in_coroutine

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
        "_paused",
        "_finished",
        "_pause_gate",
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
        # pause(): reports wait in the slow path until resume() (see the module docstring).
        self._paused = False
        self._finished = False  # run() returned (finish())
        self._pause_gate: PauseGate | None = None
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
        if self._stopped and self._paused:
            self._hold()
        return self._cancelled

    def is_interrupted(self) -> bool:
        if self._stopped and self._paused:
            self._hold()
        return self._interrupted

    def checkpoint(self) -> Awaitable[None]:
        if self._stopped:
            if self._paused:
                gate = self._pause_gate
                if gate is not None and in_coroutine() is not None:
                    return self._checkpoint_async(gate)
                self._hold()
            if self._interrupted:
                raise TaskInterruptedError("checkpoint() reached after the task was interrupted")
        return READY

    async def _checkpoint_async(self, gate: PauseGate) -> None:
        await gate.wait_async(self._holding)
        if self._interrupted:
            raise TaskInterruptedError("the task was interrupted while paused")

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
        if self._paused:
            self._hold()
        if self._interrupted:
            raise TaskInterruptedError("the task was interrupted")
        if self._wakeup is None:
            self._wakeup = threading.Event()
        # Re-check after creating the event: interrupt() sets the flag before it
        # looks for the event, so one of us sees the other.
        if self._interrupted or self._wakeup.wait(None if math.isinf(seconds) else seconds):
            raise TaskInterruptedError("the task was interrupted while sleeping")
        if self._paused:  # paused while sleeping: the sleep ends, then waits here
            self._hold()
            if self._interrupted:
                raise TaskInterruptedError("the task was interrupted while paused")

    def _report_fraction(self, fraction: float) -> None:
        if self._stopped:
            self._raise_stopped("set_progress()")
        self._fraction = min(max(fraction, 0.0), 1.0)
        if not self._scheduled:
            self._schedule()

    def _raise_stopped(self, what: str) -> None:
        """The slow path of every report: wait out a pause (then return, and the report
        goes on), else raise why reporting is over."""
        if self._paused:
            self._hold()
            if self._broken is None and not self._interrupted and not self._finished:
                return
        if self._broken is not None:
            raise self._broken
        if self._interrupted:
            reason = "cancelled" if self._cancelled else "interrupted (timeout, owner closed or shutdown)"
            raise TaskInterruptedError(f"{what} called after the task was {reason}")
        raise TaskStateError(f"{what} called after run() returned; the task is over")

    def _holding(self) -> bool:
        """The task must wait: paused, and not stopped for real."""
        return self._paused and not self._interrupted and not self._finished and self._broken is None

    def _hold(self) -> None:
        """Wait while paused (task side). A coroutine never blocks its loop here: it
        waits in ``await checkpoint()`` only."""
        gate = self._pause_gate
        if gate is not None and in_coroutine() is None:
            gate.wait(self._holding)

    # -- the controlling side (any thread) ---------------------------------------------

    def pause(self) -> None:
        """Hold the task at its next checkpoint (one controller at a time: the handler
        calls it under its lock, a child process from its reader thread)."""
        gate = self._pause_gate
        if gate is None:
            gate = self._pause_gate = PauseGate()
        gate.close()
        self._paused = True
        self._stopped = True
        if not self._holding():  # a stop came meanwhile: keep its wake-up
            gate.open()

    def resume(self) -> None:
        """Let a paused task run on (no-op when not paused)."""
        if not self._paused:
            return
        self._paused = False
        self._stopped = False
        if self._interrupted or self._finished or self._broken is not None:
            self._stopped = True  # a real stop came meanwhile: it stays
        self._open_gate()

    def _open_gate(self) -> None:
        gate = self._pause_gate
        if gate is not None:
            gate.open()

    def interrupt(self, cancelled: bool) -> None:
        """Mark the task interrupted: reporting raises from now on, ``sleep()`` and a
        pause wake."""
        self._cancelled = cancelled
        self._interrupted = True
        self._stopped = True
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.set()
        if self._pause_gate is not None:
            self._open_gate()

    def finish(self) -> None:
        """``run()`` returned: later reports are mistakes, not progress."""
        self._finished = True
        self._stopped = True
        if self._pause_gate is not None:
            self._open_gate()

    def break_with(self, error: BaseException) -> None:
        """A report could not be sent: the task's next report raises ``error``."""
        self._broken = error
        self._stopped = True
        if self._pause_gate is not None:
            self._open_gate()
