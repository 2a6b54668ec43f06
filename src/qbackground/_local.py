"""``LocalLifeCycle``: the in-process lifecycle, and the channel every backend feeds.

The task's thread writes (see ``BufferedLifeCycle`` for the buffers and the wake-up
invariant); the GUI thread drains with ``popleft``, so an item appended during a drain is
either taken now or left for the next drain — never lost, never reordered. A batch is
scheduled by posting one ``_mark_dirty`` to the dispatcher, which flushes dirty
lifecycles at most once per frame.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Mapping
from itertools import repeat
from threading import get_ident
from time import monotonic, sleep
from typing import Any, Generic, TypeVar

from ._buffered import BufferedLifeCycle
from ._dispatcher import Dispatcher
from ._lifecycle import HEARTBEAT
from ._pacing import CALLS, INTERVAL, YIELD

__all__ = ["LocalLifeCycle", "ProgressSink"]

_popleft = deque.popleft

T = TypeVar("T")

ProgressSink = Callable[[list[Any], list[tuple[str, Any]], "str | None", "float | None", bool], None]
"""GUI-side receiver: ``(items, events, new_message or None, new_fraction or None,
heartbeat)``; ``heartbeat`` is True when the task called ``publish()`` with no changes
since the previous batch (then ``progress(items)`` is due even if ``items`` is empty)."""


def _discard(
    items: list[Any],
    events: list[tuple[str, Any]],
    message: str | None,
    fraction: float | None,
    heartbeat: bool,
) -> None:
    """The sink of a closed lifecycle."""


class LocalLifeCycle(BufferedLifeCycle[T], Generic[T]):
    """The lifecycle ``run()`` gets on the thread and asyncio backends, and the GUI-side
    channel of every other backend, whose readers replay remote reports into it."""

    __slots__ = (
        "_dispatcher",
        "_sink",
        "_sent_message",
        "_sent_fraction",
        "_closed",
        "_profiler",
        "_beat",
        "_pace",
        "_paced_at",
    )

    def __init__(
        self,
        dispatcher: Dispatcher,
        sink: ProgressSink,
        params: Mapping[str, Any],
        profiler: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__(params)
        self._dispatcher = dispatcher
        self._sink = sink
        self._sent_message: str | None = None
        self._sent_fraction: float | None = None
        # GUI side: the terminal callback ran; nothing more is delivered.
        self._closed = False
        # Strict mode's profile hook, reinstalled at each publish() (a hook that raised
        # is removed by CPython, and user code may have swallowed the error).
        self._profiler = profiler
        # publish() was called with no changes since the last batch (a heartbeat).
        self._beat = False
        # Reporting calls left before the next look at the clock, and when the task
        # last let the GIL go (_pacing).
        self._pace = CALLS
        self._paced_at = 0.0

    # -- task side -------------------------------------------------------------------

    def publish(self, *changes: T) -> None:
        # The hot path, kept flat: no call to the base class.
        if self._stopped:
            self._raise_stopped("publish()")
        if changes:
            self._items.extend(changes)
        else:
            self._beat = True  # a heartbeat: progress([]) is due
        if not self._scheduled:
            self._schedule()
        self._pace -= 1
        if not self._pace:
            self._give_way()
        if self._profiler is not None:
            sys.setprofile(self._profiler)

    def is_cancelled(self) -> bool:
        self._pace -= 1
        if not self._pace:
            self._give_way()
        if self._stopped and self._paused:  # as the base class: wait out a pause
            self._hold()
        return self._cancelled

    def _report_fraction(self, fraction: float) -> None:
        super()._report_fraction(fraction)
        self._pace -= 1
        if not self._pace:
            self._give_way()

    def _give_way(self) -> None:
        """Let a waiting GUI thread have the GIL, at most once per ``INTERVAL`` (_pacing)."""
        self._pace = CALLS
        now = monotonic()
        if now - self._paced_at >= INTERVAL:
            self._paced_at = now
            if get_ident() != self._dispatcher.gui_ident:  # a task run on the GUI thread waits for nobody
                sleep(YIELD)

    def flush(self) -> None:
        if self._stopped:
            self._raise_stopped("flush()")
        self.request_flush()

    def _schedule(self) -> None:
        self._scheduled = True
        self._dispatcher.post(self._mark_dirty)

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
            if items[0] is HEARTBEAT:  # a remote publish() with no changes (it is alone)
                self._beat = True
            else:
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
        self._scheduled = False  # before draining: see BufferedLifeCycle's docstring
        beat = self._beat
        if beat:
            self._beat = False
        items = self._items
        events = self._events
        message = self._message
        fraction = self._fraction
        new_message = None
        if message is not None and message != self._sent_message:
            self._sent_message = new_message = message
        new_fraction = None
        if fraction is not None and fraction != self._sent_fraction:
            self._sent_fraction = new_fraction = fraction
        if not items and not events and new_message is None and new_fraction is None and not beat:
            return  # the common case for a task that reported nothing new
        # popleft() n times, looped in C (about twice as fast as a comprehension); items
        # appended meanwhile stay for the next delivery.
        taken: list[T] = list(map(_popleft, repeat(items, len(items)))) if items else []
        sent: list[tuple[str, Any]] = list(map(_popleft, repeat(events, len(events)))) if events else []
        self._sink(taken, sent, new_message, new_fraction, beat)

    def close(self) -> None:
        """No more deliveries (GUI thread, at the terminal callback)."""
        self._closed = True
        self._dispatcher.forget(self)
        self._sink = _discard  # break the handler <-> lifecycle cycle early
