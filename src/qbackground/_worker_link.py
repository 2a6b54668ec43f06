"""``WorkerLink``: all that a worker's handlers and groups see of it.

The worker makes one link and hands it to every handler and group it creates; they
reach the worker only through it: the GUI-thread dispatcher, the owner registry, the
deadline watch, the set of alive handlers, and the worker's two signals.

The link refers to the worker weakly. The worker holds the link, so a strong
reference back would make a worker <-> link cycle that only the cyclic collector
could free (on whatever thread it runs), and a handler kept somewhere would keep its
whole worker alive. A worker is only freed once shut down (``_LIVE`` keeps it until
then), so a link whose worker is gone behaves as a shut-down one; an error reported
then is still logged.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ._errors import IllegalConcurrentAccessError, TaskStateError
from ._status import TaskStatus

if TYPE_CHECKING:
    from qtpy.QtWidgets import QWidget

    from ._deadlines import DeadlineWatch, _Expirable
    from ._dispatcher import Dispatcher
    from ._handler import BackgroundTaskHandler
    from ._owner import OwnerRegistry, _Bound
    from ._strict import Profiler
    from ._task import TaskBase
    from ._worker import BackgroundWorker

__all__ = ["WorkerLink", "weak_error_reporter"]

_log = logging.getLogger("qbackground")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING

WorkerRef = Callable[[], "BackgroundWorker | None"]


def _report_unhandled(
    worker_ref: WorkerRef, task: TaskBase[Any, Any] | None, exc: BaseException
) -> None:
    _log.error(
        "Unhandled exception in %s",
        type(task).__name__ if task is not None else "a UIAccessor call",
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    worker = worker_ref()
    if worker is None:  # pragma: no cover - shut down and freed: the log must do
        return
    try:
        worker.unhandled_exception.emit(task, exc)
    except RuntimeError:  # pragma: no cover - the worker's C++ object is gone
        pass


def weak_error_reporter(worker: BackgroundWorker) -> Callable[[BaseException], None]:
    """The dispatcher's ``on_error``: ``report_unhandled(None, exc)`` without a strong
    reference to the worker (a worker <-> dispatcher cycle otherwise)."""
    return partial(_report_unhandled, weakref.ref(worker), None)


class WorkerLink:
    """What handlers and groups may use of their worker (internal, one per worker)."""

    __slots__ = (
        "_alive",
        "_deadlines",
        "_owners",
        "_worker",
        "_hooked",
        "activity_due",
        "closed",
        "dispatcher",
        "gui_ident",
        "post",
        "profiler",
    )

    def __init__(
        self,
        worker: BackgroundWorker,
        dispatcher: Dispatcher,
        owners: OwnerRegistry,
        deadlines: DeadlineWatch,
        alive: set[BackgroundTaskHandler[Any]],
        profiler: Profiler | None,
        *,
        hooked: bool = False,
    ) -> None:
        self.dispatcher = dispatcher
        """The worker's GUI-thread dispatcher (lifecycles, ``get_result()``'s drain)."""
        self.post = dispatcher.post
        """``post(fn)``: run ``fn()`` on the GUI thread soon (any thread)."""
        self.gui_ident = dispatcher.gui_ident
        """The GUI thread's ``threading.get_ident()``."""
        self.profiler = profiler
        """Strict mode's profile hook for task threads, or None."""
        self._owners = owners
        self._deadlines = deadlines
        self._alive = alive  # the worker's active_handlers()
        self._worker: WorkerRef = weakref.ref(worker)
        # The hot path of execute() (about 5 us with handle()) reads flags here instead
        # of calling through the weak reference: whether a subclass extends _track()
        # (CheckedWorker), whether tasks_changed is already due, and shutdown.
        self._hooked = hooked
        self.activity_due = False
        """``tasks_changed`` will be emitted at the next frame (GUI thread)."""
        self.closed = False
        """The worker was shut down (set first thing by ``shutdown()``; a worker stays
        alive until then, so a dead weak reference implies it)."""

    # -- the worker's state ------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """False once the worker was shut down (or collected)."""
        return not self.closed and self._worker() is not None

    def check_open(self) -> None:
        """Raise ``TaskStateError`` once the worker was shut down."""
        if self.closed:
            raise TaskStateError("the worker was shut down; create a new BackgroundWorker")

    def check_ui_access(self) -> None:
        """Raise ``IllegalConcurrentAccessError`` unless called on the GUI thread."""
        if threading.get_ident() != self.gui_ident:
            raise IllegalConcurrentAccessError(
                f"this code must run on the GUI thread, not on {threading.current_thread().name!r}"
            )

    # -- handlers' lives -------------------------------------------------------------------

    def track(self, handler: BackgroundTaskHandler[Any]) -> None:
        """``execute()`` accepted ``handler`` (GUI thread): alive until decided."""
        if self._hooked:
            worker = self._worker()
            if worker is not None:
                worker._track(handler)  # CheckedWorker records where each task started
            return
        self._alive.add(handler)
        status = handler._status
        if status is not _QUEUED and status is not _RUNNING:  # decided before we tracked it
            self._alive.discard(handler)

    def forget(self, handler: BackgroundTaskHandler[Any]) -> None:
        """``handler``'s outcome was decided (any thread)."""
        self._alive.discard(handler)
        if handler._task.timeout is not None:
            self._deadlines.note_dead()

    def note_activity(self) -> None:
        """A task started, ended or reported news (GUI thread): ``tasks_changed`` soon."""
        if not self.activity_due:
            worker = self._worker()
            if worker is not None:
                worker._note_activity()

    def bind_owner(self, owner: QWidget, member: _Bound) -> None:
        """Interrupt ``member`` when ``owner``'s window closes (GUI thread)."""
        self._owners.bind(owner, member)

    def unbind_owner(self, owner: QWidget, member: _Bound) -> None:
        self._owners.unbind(owner, member)

    def add_deadline(self, when: float, handler: _Expirable) -> None:
        """Call ``handler._expire()`` at ``when`` (``time.monotonic()``) on the deadline thread."""
        self._deadlines.add(when, handler)

    # -- the worker's signals --------------------------------------------------------------

    def report_unhandled(self, task: TaskBase[Any, Any] | None, exc: BaseException) -> None:
        """Log ``exc`` and emit the worker's ``unhandled_exception``."""
        _report_unhandled(self._worker, task, exc)

    def report_timeout(self, task: TaskBase[Any, Any]) -> None:
        """Log the timeout and emit the worker's ``task_timed_out``."""
        _log.warning("%s timed out after %s s and did not handle it", type(task).__name__, task.timeout)
        worker = self._worker()
        if worker is None:  # pragma: no cover
            return
        try:
            worker.task_timed_out.emit(task)
        except RuntimeError:  # pragma: no cover
            pass
