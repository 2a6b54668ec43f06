"""``TaskSession``: one execution of a task on behalf of a window.

It executes the task through a worker, listens to its progress with a
:class:`~qbackground.ProgressListener` (the task's own callbacks and listeners run as
usual), takes over what the task leaves *unhandled* (``handler.route_unhandled()``: the
window shows it, so the worker's ``unhandled_exception``/``task_timed_out`` stay silent,
as CUBA's window wrapper marks it handled), and tells its view once, when the task has
ended in any way. It knows nothing about widgets.
"""

from __future__ import annotations

import logging
import os
import traceback
from concurrent.futures import Future
from typing import Any, Protocol, cast

from qbackground import (
    AsyncBackgroundTask,
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundWorker,
    ProgressListener,
    TaskStatus,
    background_worker,
)
from qbackground.backends import Executor

__all__ = ["AnyTask", "SessionView", "TaskEnding", "TaskSession", "TaskOrHandler", "task_of"]

_log = logging.getLogger("qbackground")

AnyTask = BackgroundTask[Any, Any] | AsyncBackgroundTask[Any, Any]
"""A task of either kind."""

TaskOrHandler = AnyTask | BackgroundTaskHandler[Any]
"""What a window runs: a task, or the handler of one (``worker.submit()`` returns one)."""


def task_of(target: TaskOrHandler) -> AnyTask:
    """The task itself, or the task a handler executes.

    Example::

        assert task_of(worker.submit(len, "abc")) is handler.task
    """
    if isinstance(target, BackgroundTaskHandler):
        return cast(AnyTask, target.task)
    return target


class TaskEnding:
    """How a task ended, as a window needs to know it.

    Example::

        def task_ended(self, ending: TaskEnding) -> None:
            if ending.errors:
                show_error(ending.errors[0])
    """

    __slots__ = ("errors", "status", "timed_out", "tracebacks")

    def __init__(
        self,
        status: TaskStatus,
        errors: list[BaseException],
        timed_out: bool,
        tracebacks: list[str] | None = None,
    ) -> None:
        self.status = status
        """The handler's final status."""
        self.errors = errors
        """Exceptions the task left unhandled (taken over for the view), in order."""
        self.timed_out = timed_out
        """The timeout expired and ``handle_timeout_exception()`` did not handle it."""
        self.tracebacks = tracebacks if tracebacks is not None else [_format(exc) for exc in errors]
        """The formatted traceback of each error, taken when it was reported."""


_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""The qbackground package folder: its frames are left out of the details shown."""


def _format(exc: BaseException) -> str:
    """The traceback as the user should see it: from the first frame of the task's own
    code on (qbackground's frames that ran it are noise there; the log keeps them)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_LIBRARY):
        tb = tb.tb_next
    if tb is None:  # raised by qbackground itself: show everything
        tb = exc.__traceback__
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


class SessionView(Protocol):
    """What a :class:`TaskSession` reports to (GUI thread)."""

    def task_progress(self, changes: list[Any]) -> None:
        """Items published since the previous call (after the task's ``progress()``)."""

    def task_message(self, message: str) -> None:
        """The task's latest ``set_message()`` text."""

    def task_fraction(self, fraction: float) -> None:
        """The task's overall progress (0..1) from ``set_progress``/``set_total``."""

    def task_ended(self, ending: TaskEnding) -> None:
        """The task ended (any way, also silently); called exactly once."""

    def task_can_report(self) -> bool:
        """True while the view can still show an error or a timeout to the user."""


class _Listener(ProgressListener[Any, Any]):
    def __init__(self, session: TaskSession) -> None:
        self._session = session

    def on_progress(self, changes: list[Any]) -> None:
        self._session._view.task_progress(changes)

    def on_message(self, message: str) -> None:
        self._session._view.task_message(message)

    def on_fraction(self, fraction: float) -> None:
        self._session._view.task_fraction(fraction)


class TaskSession:
    """Executes ``task`` on ``worker`` and reports to ``view``; single shot.

    ``worker.handle()`` runs in the constructor, so its errors (``TypeError``, a shut-down
    worker) surface there; :meth:`execute` starts the task. Given a handler instead of a
    task (say from ``worker.submit()``), the session follows that handler: it executes it
    if it was not yet, and reports from then on (``worker`` and ``executor`` must then be
    None: the handler has its own).

    Example::

        session = TaskSession(task, worker, view)
        session.execute()
        cancel_button.clicked.connect(session.cancel)
    """

    def __init__(
        self,
        task: TaskOrHandler,
        worker: BackgroundWorker | None,
        view: SessionView,
        executor: str | Executor | None = None,
    ) -> None:
        self._view = view
        if isinstance(task, BackgroundTaskHandler):
            if worker is not None or executor is not None:
                raise TypeError(
                    "a window given a handler runs it where it was made: pass worker= and "
                    "executor= to worker.handle() or worker.submit(), not to the window"
                )
            self._handler: BackgroundTaskHandler[Any] = task
            self._task = task_of(task)
        else:
            self._task = task
            self._handler = (worker if worker is not None else background_worker()).handle(
                task, executor=executor
            )
        self._listener = _Listener(self)
        self._errors: list[BaseException] = []
        self._tracebacks: list[str] = []
        self._timed_out = False
        self._ended = False
        self._future: Future[Any] | None = None

    @property
    def handler(self) -> BackgroundTaskHandler[Any]:
        """The handler executing the task.

        Example::

            print(session.handler.status)
        """
        return self._handler

    @property
    def ended(self) -> bool:
        """True once the view was told that the task ended.

        Example::

            assert not session.ended
        """
        return self._ended

    def execute(self) -> None:
        """Start the task; the view hears from it from now on.

        Raises whatever ``handler.execute()`` raises (say ``TaskQueueFullError``), after
        undoing the hooks, so the session can be dropped.

        Example::

            session.execute()
        """
        self._handler.route_unhandled(on_error=self._on_unhandled, on_timeout=self._on_timed_out)
        self._task.add_progress_listener(self._listener)
        # The handler's Future view resolves inside the terminal delivery, on the GUI
        # thread, after the unhandled paths ran and for silent endings too: one place
        # that sees every ending once.
        future = self._handler.future()
        self._future = future
        if self._handler.status is TaskStatus.CREATED:  # else a handler already started
            try:
                self._handler.execute()
            except BaseException:
                self._unhook()
                raise
        future.add_done_callback(self._on_resolved)

    def cancel(self) -> bool:
        """``handler.cancel()`` if the task still runs; True when it cancelled it.

        Example::

            if session.cancel():
                print("cancelled")
        """
        if self._ended or not self._handler.is_alive():
            return False
        return self._handler.cancel()

    # -- hooks ---------------------------------------------------------------------------

    def _on_unhandled(self, exc: BaseException) -> bool:
        """The task left ``exc`` unhandled: the view shows it (True), unless it is gone."""
        if self._ended or not self._view.task_can_report():
            return False  # the worker reports it as usual
        self._errors.append(exc)
        # Formatted now: resolving the handler's Future re-raises the exception,
        # which adds the handler's own frames to its __traceback__.
        self._tracebacks.append(_format(exc))
        # Shown, not swallowed: logged as CUBA's window does, but not signalled again.
        _log.error(
            "Exception in background task %s (shown to the user)",
            type(self._task).__name__,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return True

    def _on_timed_out(self) -> bool:
        if self._ended or not self._view.task_can_report():
            return False
        self._timed_out = True
        _log.warning(
            "%s timed out after %s s (shown to the user)", type(self._task).__name__, self._task.timeout
        )
        return True

    def _on_resolved(self, _future: Future[Any]) -> None:
        if self._ended:
            return
        self._ended = True
        self._unhook()
        ending = TaskEnding(self._handler.status, list(self._errors), self._timed_out, list(self._tracebacks))
        try:
            self._view.task_ended(ending)
        except Exception:  # a Future would swallow it; make sure it is seen
            _log.exception("a widget failed to handle the end of %s", type(self._task).__name__)

    def _unhook(self) -> None:
        self._task.remove_progress_listener(self._listener)
        self._handler.route_unhandled()  # later errors (when_stopped callbacks): the worker
