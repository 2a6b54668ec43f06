"""The GUI-thread dispatcher: the only code that crosses into the Qt event loop.

Any thread hands it a callable with :meth:`Dispatcher.post`; the GUI thread runs the
callables in order. Two rules keep the GUI responsive under floods:

* **One wake-up event per batch.** ``post`` appends to a deque and posts a Qt event
  only when none is pending (``_wake_pending``). The GUI clears the flag *before* it
  drains for that event (a direct drain, as in ``get_result()``, does not: the event is
  still queued, and would be joined by one more per burst while the loop does not run),
  and posters append *before* they read the flag, so no item is ever left without a
  wake-up (the GIL makes these plain reads and writes sequentially consistent).
* **A time budget per drain.** A drain stops after ``budget`` seconds and posts a fresh
  wake-up, so timers and painting run between slices of a burst of completions.
* **The GUI thread first.** Each separate entry of the GUI thread into Python (a wake-up,
  a timer, the app's own slots) waits for the GIL, up to a switch interval (5 ms) per
  entry while task threads run Python. A task thread that posts while the GUI has not
  answered a wake-up for ``LAG`` seconds (and is not waiting for work in
  ``get_result()``) sleeps ``YIELD`` seconds, without the GIL, so the GUI thread gets it
  at once (a burst of 5,000 completions otherwise froze the GUI
  for 70-100 ms here). Past ``GIVE_UP`` the GUI is busy with something else, and
  yielding would only slow the tasks down.

Progress is coalesced separately: a lifecycle with new items marks itself *dirty* once
(see ``LocalLifeCycle``), and dirty lifecycles are flushed at most once per frame.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable
from time import monotonic, sleep
from typing import Protocol

from qtpy.QtCore import QCoreApplication, QEvent, QObject, QTimer, Slot

from ._gui_release import GuiThreadFinalized

__all__ = ["Dispatcher", "ProgressSource"]

_log = logging.getLogger("qbackground")

_WAKE = QEvent.Type(QEvent.registerEventType())

LAG = 0.002
"""A task thread yields once the GUI left a wake-up unanswered this long (seconds)..."""

YIELD = 0.0003
"""... for this long, without the GIL (seconds) ..."""

GIVE_UP = 0.1
"""... unless it is older than this: then the GUI thread is busy elsewhere, not waiting."""


class ProgressSource(Protocol):
    """A lifecycle whose pending progress the dispatcher flushes once per frame."""

    def deliver_pending(self) -> None:
        """Hand everything pending to the GUI-side sink (GUI thread only)."""


class _Receiver(GuiThreadFinalized, QObject):
    """Lives on the GUI thread; turns our wake-up events into drains.

    Parented to the worker, so Qt deletes it (and its frame timer) together with the
    worker, on the GUI thread (see ``_gui_release``). It refers to its dispatcher
    weakly: the dispatcher owns it, and a cycle would leave both to the collector.
    """

    def __init__(self, dispatcher: Dispatcher, parent: QObject | None) -> None:
        super().__init__(parent)
        self._dispatcher = weakref.ref(dispatcher)

    def event(self, event: QEvent) -> bool:
        if event.type() == _WAKE:
            dispatcher = self._dispatcher()
            if dispatcher is not None:
                dispatcher.drain(dispatcher.budget, woken=True)
            return True
        return super().event(event)

    @Slot()  # a declared slot of a QObject: PyQt6 delivers it on this object's thread
    def flush_frame(self) -> None:
        """The frame timer fired: flush the progress that is due."""
        dispatcher = self._dispatcher()
        if dispatcher is not None:
            dispatcher.flush_due_progress()


class Dispatcher:
    """Runs callables posted from any thread on the GUI thread, in order.

    Must be created on the GUI thread (the thread of the ``QCoreApplication``).
    """

    def __init__(
        self,
        *,
        frame_interval: float,
        budget: float = 0.008,
        on_error: Callable[[BaseException], None],
        owner: QObject | None = None,
    ) -> None:
        self.gui_ident = threading.get_ident()
        self.frame_interval = frame_interval
        self.budget = budget
        self._on_error = on_error
        self._inbound: deque[Callable[[], object]] = deque()
        # Invariant: True while a wake-up event is queued or a drain is about to clear it.
        self._wake_pending = False
        # When the pending wake-up was posted, and when the GUI thread last drained
        # (directly or woken): how long the GUI has left our work waiting.
        self._woken_at = 0.0
        self._served_at = 0.0
        self._closed = False
        # Threads blocked in wait_for_work() (only the GUI thread, in get_result()).
        self._waiters = 0
        self._cond = threading.Condition(threading.Lock())
        # Ordered set of lifecycles with progress waiting for the next frame.
        self._dirty: dict[ProgressSource, None] = {}
        self._next_frame = 0.0
        self._receiver = _Receiver(self, owner)
        self._frame_timer = QTimer(self._receiver)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._receiver.flush_frame)

    # -- any thread ----------------------------------------------------------------

    def post(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` on the GUI thread soon (after what was posted before it)."""
        if self._closed:
            return  # shut down: every task was interrupted, nothing is left to deliver
        self._inbound.append(fn)
        if not self._wake_pending:
            self._wake()
        elif self._waiters:  # the GUI thread waits for work in get_result(): wake it
            with self._cond:
                self._cond.notify_all()
            return
        elif LAG < monotonic() - max(self._woken_at, self._served_at) < GIVE_UP:
            if threading.get_ident() != self.gui_ident:
                sleep(YIELD)  # the GUI thread first (module docstring)
        if self._waiters:
            with self._cond:
                self._cond.notify_all()

    def _wake(self) -> None:
        self._wake_pending = True
        self._woken_at = monotonic()
        if self._closed:
            return
        try:
            QCoreApplication.postEvent(self._receiver, QEvent(_WAKE))
        except RuntimeError:
            # The receiver's C++ object is gone (application torn down): nothing to run.
            self._closed = True

    def is_gui_thread(self) -> bool:
        """True when called on the GUI thread."""
        return threading.get_ident() == self.gui_ident

    # -- GUI thread ----------------------------------------------------------------

    def drain(self, budget: float | None = None, *, woken: bool = False) -> None:
        """Run posted callables; stop after ``budget`` seconds (None: until empty).

        ``woken``: called by the receiver for our wake-up event, which is now consumed.
        A direct drain (``get_result()`` on the GUI thread) leaves the flag alone: the
        queued event still exists, and clearing the flag would post one more per burst,
        piling up in Qt's queue (a ``QEvent`` and its wrapper each) while the event loop
        does not run.
        """
        if woken:
            self._wake_pending = False
        inbound = self._inbound
        self._served_at = now = monotonic()
        deadline = None if budget is None else now + budget
        count = 0
        try:
            while inbound:
                try:
                    fn = inbound.popleft()
                except IndexError:  # pragma: no cover - emptied by a nested drain
                    break
                try:
                    fn()
                except Exception as exc:  # callbacks report their own errors; belt and braces
                    self._on_error(exc)
                count += 1
                if deadline is not None and not count & 31 and monotonic() > deadline:
                    break
        finally:
            # Whatever ended the loop (the budget, or a SystemExit/KeyboardInterrupt
            # passing through), what is left must not wait for an unrelated post.
            if inbound and not self._wake_pending:
                self._wake()
        self.flush_due_progress()

    def mark_dirty(self, source: ProgressSource) -> None:
        """Flush ``source`` at the next frame (now, if the last frame is old enough)."""
        self._dirty[source] = None

    def forget(self, source: ProgressSource) -> None:
        """Stop tracking ``source`` (its task ended)."""
        self._dirty.pop(source, None)

    def flush_due_progress(self) -> None:
        """Deliver dirty progress if a frame interval passed; else arm the frame timer."""
        if not self._dirty:
            return
        now = monotonic()
        if now >= self._next_frame:
            self._next_frame = now + self.frame_interval
            dirty, self._dirty = self._dirty, {}
            for source in dirty:
                try:
                    source.deliver_pending()
                except Exception as exc:  # pragma: no cover - sinks report their own errors
                    self._on_error(exc)
            if not self._dirty:
                return
            now = monotonic()
        if not self._closed and not self._frame_timer.isActive():  # never restarted once closed
            self._frame_timer.start(max(1, round((self._next_frame - now) * 1000)))

    def seconds_to_next_frame(self) -> float | None:
        """How long until dirty progress is due, or None when nothing is dirty."""
        if not self._dirty:
            return None
        return max(0.0, self._next_frame - monotonic())

    def wait_for_work(self, timeout: float | None) -> None:
        """Block the GUI thread until something is posted or ``timeout`` passes."""
        with self._cond:
            self._waiters += 1
            try:
                if not self._inbound:
                    self._cond.wait(timeout)
            finally:
                self._waiters -= 1

    def close(self) -> None:
        """Stop waking the GUI; callables posted from now on are dropped (any thread)."""
        self._closed = True
        self._inbound.clear()
        self._dirty.clear()

    def stop_timer(self) -> None:
        """Stop the frame timer for good (GUI thread, after close()).

        A QTimer must be stopped on its own thread, and a QObject whose timers still
        run must not be destroyed elsewhere: without this, a garbage collection on a
        pool thread that frees the worker would stop it there (Qt prints "Timers
        cannot be stopped from another thread", the GUI thread's timer list is
        corrupted, and it segfaults later). Stopped timers make that destruction safe.
        """
        self._frame_timer.stop()
