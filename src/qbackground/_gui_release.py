"""Qt objects die on the GUI thread, whichever thread drops their last reference.

A ``QObject`` that Python owns is destroyed (its C++ destructor runs) where its
wrapper's last reference goes: often a task thread, through a finished handler, or
whatever thread the cyclic garbage collector happens to run on. Qt objects must be
destroyed on their own thread: a timer stopped elsewhere corrupts the GUI thread's
timer list (Qt prints "Timers cannot be stopped from another thread") and the next
event pump segfaults; a widget destroyed elsewhere is worse.

:class:`GuiThreadFinalized` is the one mechanism that prevents it. Every QObject class
of qbackground that Python may own inherits it. Its ``__del__`` runs on the dying
thread; off the GUI thread it *resurrects* the object (PEP 442: a finalizer may store
``self``, and runs only once per object) into a graveyard and wakes a small reaper
object that lives on the GUI thread. The reaper, on the GUI thread, drops it: the
destructor then runs there. A finalizer runs only once, so an object that
other garbage still refers to (a cycle) must not be left for a later collection on
another thread: the reaper then collects that garbage itself, on the GUI thread.

Waking the reaper is a ``QCoreApplication.postEvent``, which Qt documents as
thread-safe; nothing else touches Qt off the GUI thread.
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from collections import deque
from threading import get_ident

from qtpy.QtCore import QCoreApplication, QEvent, QObject

__all__ = ["GuiThreadFinalized", "install", "pending_count", "reap"]

_REAP = QEvent.Type(QEvent.registerEventType())
_LEARN_THREAD = QEvent.Type(QEvent.registerEventType())

# The GUI thread's ident, known once install() ran there (None before: then no
# qbackground QObject exists yet that could die off the GUI thread).
_gui_ident: int | None = None
_reaper: _Reaper | None = None
# Objects that died off the GUI thread, waiting for the reaper. deque append/popleft
# are atomic, so dying threads and the GUI thread need no lock.
_graveyard: deque[GuiThreadFinalized] = deque()
# Dead objects that live objects still reach after a reap: never released (see reap).
_kept: list[GuiThreadFinalized] = []
# True while a reap event is queued (one event per burst of deaths).
_wake_pending = False
_install_lock = threading.Lock()


class _Reaper(QObject):
    """Lives on the GUI thread for the life of the application."""

    def event(self, event: QEvent) -> bool:
        global _gui_ident
        kind = event.type()
        if kind == _REAP:
            reap()
            return True
        if kind == _LEARN_THREAD:
            _gui_ident = get_ident()
            return True
        return super().event(event)


def install() -> None:
    """Create the reaper (idempotent). Called by every GUI-thread-bound class before
    its first instance exists, normally on the GUI thread; called elsewhere, the
    reaper moves to the GUI thread and learns its ident from its first event there."""
    global _gui_ident, _reaper
    if _reaper is not None:
        return
    with _install_lock:
        if _reaper is None:
            app = QCoreApplication.instance()
            reaper = _Reaper()
            if app is not None and reaper.thread() is not app.thread():
                reaper.moveToThread(app.thread())
                QCoreApplication.postEvent(reaper, QEvent(_LEARN_THREAD))
            else:
                _gui_ident = get_ident()
            _reaper = reaper


def reap() -> None:
    """Release every object that died off the GUI thread (GUI thread only)."""
    global _wake_pending
    _wake_pending = False
    graveyard = _graveyard
    survivors: list[weakref.ref[GuiThreadFinalized]] = []
    while graveyard:
        try:
            obj = graveyard.popleft()
        except IndexError:  # pragma: no cover - emptied by a nested reap
            break
        ref = weakref.ref(obj)
        del obj  # usually the last reference: the destructor runs here, on this thread
        if ref() is not None:
            survivors.append(ref)
    if survivors:
        # Still referenced by other garbage (a cycle through the objects that referred
        # to it). Its __del__ will not run again, so a later collection on another
        # thread would destroy it there: collect that garbage now, on this thread.
        gc.collect()
        for ref in survivors:
            survivor = ref()
            if survivor is not None:
                # Referenced by live objects after all (another finalizer revived
                # it): keep it for good rather than let it die on another thread.
                _kept.append(survivor)
                del survivor


def pending_count() -> int:
    """How many dead objects wait for the GUI thread (for tests and diagnostics)."""
    return len(_graveyard)


def _wake() -> None:
    global _wake_pending
    reaper = _reaper
    if reaper is None or _wake_pending:
        return
    _wake_pending = True
    try:
        QCoreApplication.postEvent(reaper, QEvent(_REAP))
    except RuntimeError:  # pragma: no cover - the application is torn down
        _wake_pending = False


class GuiThreadFinalized:
    """Mixin for QObject subclasses: their destructor always runs on the GUI thread.

    List it *before* the Qt base (``class Worker(GuiThreadFinalized, QObject)``) and
    call :func:`install` on the GUI thread before the first instance is made.
    """

    __slots__ = ()

    def __del__(self) -> None:
        ident = _gui_ident
        if ident is None or get_ident() == ident or sys.is_finalizing():
            return  # the destructor that follows runs on the right thread
        # Resurrect: the graveyard's reference keeps the wrapper (and so the C++
        # object) alive until the reaper drops it on the GUI thread.
        _graveyard.append(self)
        _wake()
