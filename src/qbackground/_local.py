"""``LocalLifeCycle``: the in-process lifecycle, and the channel every backend feeds.

The task's thread writes; the GUI thread reads. Writers only append to deques and set
plain attributes (atomic under the GIL); the GUI side drains with ``popleft``, so an
item appended during a drain is either taken now or left for the next drain — never
lost, never reordered.

Wake-up invariant (no lost progress): a writer appends *then* tests ``_scheduled``; the
GUI clears ``_scheduled`` *then* drains. Whatever the interleaving, an item is either
drained by the current delivery or its writer sees ``_scheduled`` false and schedules
another one.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any, Generic, TypeVar

from ._dispatcher import Dispatcher
from ._errors import TaskInterruptedError, TaskStateError
from ._lifecycle import TaskLifeCycle, _check_number

__all__ = ["LocalLifeCycle", "ProgressSink"]

_popleft = deque.popleft

T = TypeVar("T")

ProgressSink = Callable[[list[Any], list[tuple[str, Any]], "str | None", "float | None"], None]
"""GUI-side receiver: ``(items, events, new_message or None, new_fraction or None)``."""


def _discard(
    items: list[Any], events: list[tuple[str, Any]], message: str | None, fraction: float | None
) -> None:
    """The sink of a closed lifecycle."""


class LocalLifeCycle(TaskLifeCycle[T], Generic[T]):
    """The lifecycle ``run()`` gets on the thread backend (and the GUI-side channel of
    every other backend, whose proxies replay the remote task's reports into it)."""

    __slots__ = (
        "_dispatcher",
        "_sink",
        "_params",
        "_items",
        "_events",
        "_message",
        "_fraction",
        "_sent_message",
        "_sent_fraction",
        "_scheduled",
        "_stopped",
        "_cancelled",
        "_interrupted",
        "_wakeup",
        "_closed",
        "_profiler",
        "_total",
        "_value",
    )

    def __init__(
        self,
        dispatcher: Dispatcher,
        sink: ProgressSink,
        params: Mapping[str, Any],
        profiler: Callable[..., Any] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        self._sink = sink
        self._params = params
        self._items: deque[T] = deque()
        self._events: deque[tuple[str, Any]] = deque()
        self._message: str | None = None
        self._fraction: float | None = None
        self._sent_message: str | None = None
        self._sent_fraction: float | None = None
        # True while a delivery is scheduled (see the module docstring).
        self._scheduled = False
        # True once publish() must raise: interrupted, or run() already returned.
        self._stopped = False
        self._cancelled = False
        self._interrupted = False
        self._wakeup: threading.Event | None = None
        # GUI side: the terminal callback ran; nothing more is delivered.
        self._closed = False
        # Strict mode's profile hook, reinstalled at each call (a hook that raised is
        # removed by CPython, and user code may have swallowed the error).
        self._profiler = profiler
        self._total = 1.0
        self._value = 0.0

    # -- task side -------------------------------------------------------------------

    def publish(self, *changes: T) -> None:
        if self._stopped:
            self._raise_stopped("publish()")
        self._items.extend(changes)
        if not self._scheduled:
            self._schedule()
        if self._profiler is not None:
            sys.setprofile(self._profiler)

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

    def flush(self) -> None:
        if self._stopped:
            self._raise_stopped("flush()")
        self.request_flush()

    def sleep(self, seconds: float) -> None:
        seconds = _check_number(seconds, "sleep() seconds")
        if self._interrupted:
            raise TaskInterruptedError("the task was interrupted")
        if self._wakeup is None:
            self._wakeup = threading.Event()
        # Re-check after creating the event: interrupt() sets the flag before it
        # looks for the event, so one of us sees the other.
        if self._interrupted or self._wakeup.wait(max(0.0, seconds)):
            raise TaskInterruptedError("the task was interrupted while sleeping")

    def _report_fraction(self, fraction: float) -> None:
        if self._stopped:
            self._raise_stopped("set_progress()")
        self._fraction = min(max(fraction, 0.0), 1.0)
        if not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        self._scheduled = True
        self._dispatcher.post(self._mark_dirty)

    def _raise_stopped(self, what: str) -> None:
        if self._interrupted:
            reason = "cancelled" if self._cancelled else "interrupted (timeout, owner closed or shutdown)"
            raise TaskInterruptedError(f"{what} called after the task was {reason}")
        raise TaskStateError(f"{what} called after run() returned; the task is over")

    def feed(
        self,
        items: list[Any],
        events: list[tuple[str, Any]],
        message: str | None,
        fraction: float | None,
    ) -> None:
        """Replay a remote task's reports into this channel (a backend's reader thread).

        Reports that arrive after the task was interrupted are dropped, as a local
        ``publish()`` would have raised instead.
        """
        if self._interrupted:
            return
        if items:
            self._items.extend(items)
        if events:
            self._events.extend(events)
        if message is not None:
            self._message = message
        if fraction is not None:
            self._fraction = min(max(fraction, 0.0), 1.0)
        if not self._scheduled:
            self._schedule()

    def request_flush(self) -> None:
        """A remote ``flush()``: deliver at once instead of at the next frame."""
        self._scheduled = True
        self._dispatcher.post(self._deliver_now)

    # -- handler side (any thread) ------------------------------------------------------

    def interrupt(self, cancelled: bool) -> None:
        """Mark the task interrupted; ``publish()`` raises from now on."""
        self._cancelled = cancelled
        self._interrupted = True
        self._stopped = True
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.set()

    def finish(self) -> None:
        """``run()`` returned: later reports are mistakes, not progress."""
        self._stopped = True

    # -- GUI side ------------------------------------------------------------------------

    def _mark_dirty(self) -> None:
        if not self._closed:
            self._dispatcher.mark_dirty(self)

    def _deliver_now(self) -> None:
        self._dispatcher.forget(self)
        self.deliver_pending()

    def deliver_pending(self) -> None:
        """Hand every pending item, event and status change to the sink (GUI thread)."""
        if self._closed:
            return
        self._scheduled = False  # before draining: see the module docstring
        items = self._items
        # popleft() n times, looped in C (about twice as fast as a comprehension); items
        # appended meanwhile stay for the next delivery.
        taken: list[T] = list(map(_popleft, repeat(items, len(items))))
        events = self._events
        sent: list[tuple[str, Any]] = [events.popleft() for _ in range(len(events))]
        message = self._message
        new_message = None
        if message is not None and message != self._sent_message:
            self._sent_message = new_message = message
        fraction = self._fraction
        new_fraction = None
        if fraction is not None and fraction != self._sent_fraction:
            self._sent_fraction = new_fraction = fraction
        if taken or sent or new_message is not None or new_fraction is not None:
            self._sink(taken, sent, new_message, new_fraction)

    def close(self) -> None:
        """No more deliveries (GUI thread, at the terminal callback)."""
        self._closed = True
        self._dispatcher.forget(self)
        self._sink = _discard  # break the handler <-> lifecycle cycle early
