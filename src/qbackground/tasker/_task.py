"""``Task``: what ``task_mgr.run_thread()`` and friends return (Rayforge's ``Task``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from .._errors import TaskCancelledError, TaskStateError
from .._status import TaskStatus
from ._jobs import _Forwarding

if TYPE_CHECKING:
    from .._handler import BackgroundTaskHandler
    from ._manager import TaskManager

__all__ = ["Status", "Task"]

R = TypeVar("R")

Status = Literal["pending", "running", "completed", "failed", "canceled"]
"""The values of :meth:`Task.get_status`."""

_ids = itertools.count(1)

WhenDone = Callable[["Task[Any]"], object]
WhenEvent = Callable[["Task[Any]", str, Any], object]


class Task(Generic[R]):
    """One background job of the :class:`TaskManager`, and its state on the GUI thread.

    Returned at once by ``run_thread``, ``run_process`` and ``add_coroutine`` (from any
    thread). Its status, progress and message follow the job as the GUI thread learns
    of them; ``when_done(task)`` runs once, on the GUI thread, after the job has really
    stopped (for a cancelled job: once its function returned or its process was
    stopped), with every event, progress value and message delivered before it, and
    right after the manager's ``tasks_updated`` emission that shows it finished. Once
    ``when_done`` ran, the task keeps its status, result, exception and handler but
    drops its callbacks and its manager: it keeps no manager alive and is in no
    reference cycle.

    Example::

        def on_done(task):
            if task.get_status() == "completed":
                print(task.result())
            elif task.get_status() == "failed":
                print("failed:", task.exception())

        task = task_mgr.run_thread(count_lines, "big.csv", key="count", when_done=on_done)
    """

    def __init__(
        self,
        manager: TaskManager,
        name: str,
        kind: Literal["thread", "process", "asyncio"],
        key: Any,
        when_done: WhenDone | None,
        when_event: WhenEvent | None,
    ) -> None:
        self.id = next(_ids)
        """A number unique in this process."""
        self.key: Any = key if key is not None else self.id
        """The key given at start, or :attr:`id` when none was given."""
        self.name = name
        """The function's name, for messages."""
        self.kind = kind
        """Where it runs: ``"thread"``, ``"process"`` or ``"asyncio"``."""
        # Strong while the task is unfinished (the manager must outlive the tasks it
        # reports on); dropped with the callbacks once ``when_done`` ran, so neither the
        # manager nor the task waits for the cyclic garbage collector (see _detach).
        self._manager: TaskManager | None = manager
        self._when_done = when_done
        self._when_event = when_event
        self._handler: BackgroundTaskHandler[Any] | None = None
        self._cancel_requested = False
        self._ending: Status | None = None  # decided on the GUI thread
        self._result: Any = None
        self._exception: BaseException | None = None
        self._progress = 0.0
        self._message: str | None = None
        self._stopped = False
        self._finished = False  # when_done ran (or would have)

    def __repr__(self) -> str:
        return f"<Task {self.name} key={self.key!r} {self.get_status()}>"

    # -- Rayforge's API ----------------------------------------------------------------

    def get_status(self) -> Status:
        """``'pending'``, ``'running'``, ``'completed'``, ``'failed'`` or ``'canceled'``.

        Example::

            if task.get_status() == "running":
                label.setText(task.get_message() or "Working…")
        """
        if self._ending is not None:
            return self._ending
        if self._cancel_requested:
            return "canceled"
        handler = self._handler
        if handler is None:
            return "pending"
        status = handler.status
        if status is TaskStatus.RUNNING:
            return "running"
        if status is TaskStatus.CANCELLED or status is TaskStatus.INTERRUPTED:
            return "canceled"
        if status is TaskStatus.FAILED or status is TaskStatus.TIMED_OUT:
            return "failed"
        return "pending"  # CREATED, QUEUED; DONE is reported through _ending

    def get_progress(self) -> float:
        """The latest progress, 0..1 (``set_progress()`` over ``set_total()``); 1.0 once
        completed.

        Example::

            bar.setValue(round(task.get_progress() * 100))
        """
        return self._progress

    def get_message(self) -> str | None:
        """The latest ``set_message()`` text, or None.

        Example::

            status_label.setText(task.get_message() or "")
        """
        return self._message

    def result(self) -> R:
        """The function's return value.

        Raises:
            Exception: the function's own exception, when it failed.
            TaskCancelledError: the task was cancelled.
            TaskStateError: the task has not finished yet.

        Example::

            if task.get_status() == "completed":
                print(task.result())
        """
        status = self.get_status()
        if status == "completed":
            return self._result  # type: ignore[no-any-return]
        if status == "failed" and self._exception is not None:
            raise self._exception
        if status == "canceled":
            raise TaskCancelledError(f"{self.name} (key {self.key!r}) was cancelled")
        raise TaskStateError(f"{self.name} (key {self.key!r}) has no result yet: it is {status}")

    def exception(self) -> BaseException | None:
        """The exception the function raised (or the process crash), else None.

        Example::

            if task.get_status() == "failed":
                log.error("import failed", exc_info=task.exception())
        """
        return self._exception

    @property
    def _task_exception(self) -> BaseException | None:
        """Rayforge's spelling of :meth:`exception`, kept for code written for it."""
        return self._exception

    def is_final(self) -> bool:
        """True once completed, failed or cancelled.

        Example::

            running = [t for t in task_mgr if not t.is_final()]
        """
        return self.get_status() in ("completed", "failed", "canceled")

    def is_running(self) -> bool:
        """True while the function runs.

        Example::

            cancel_button.setEnabled(task.is_running())
        """
        return self.get_status() == "running"

    def is_cancelled(self) -> bool:
        """True once a cancel was asked for (by key, by a new task with the same key, or
        by :meth:`cancel`).

        Example::

            assert task_mgr.cancel_task("import") and task.is_cancelled()
        """
        return self._cancel_requested

    def cancel(self) -> bool:
        """Cancel this task (any thread); False if it had already ended.

        Example::

            task.cancel()
        """
        manager = self._manager
        return manager is not None and manager._cancel(self)

    @property
    def handler(self) -> BackgroundTaskHandler[R]:
        """The core handler running it (its ``status``, ``elapsed``, ``future()``...).

        A task started on the GUI thread has it as soon as ``run_thread()``,
        ``run_process()`` or ``add_coroutine()`` returns. A task submitted from another
        thread gets it when the GUI thread starts it, a moment later; it is there by
        the time any callback of the task runs.

        Raises:
            TaskStateError: the task has no handler: it was submitted from another
                thread and the GUI thread has not started it yet, it was cancelled
                before it started, or it could not start (see :meth:`exception`).

        Example::

            task = task_mgr.run_thread(count_lines, "big.csv")
            print(task.handler.elapsed)
        """
        handler = self._handler
        if handler is not None:
            return handler
        if self._ending == "failed":
            why = f"it could not start ({type(self._exception).__name__}: {self._exception})"
        elif self._cancel_requested:
            why = "it was cancelled before it started, so it never ran"
        else:
            why = (
                "it was submitted from another thread and the GUI thread has not started it "
                "yet; read it on the GUI thread once the task runs (in when_event or when_done)"
            )
        raise TaskStateError(f"{self.name} (key {self.key!r}) has no handler: {why}")

    # -- the manager's side (GUI thread) ----------------------------------------------------

    @property
    def _has_when_done(self) -> bool:
        return self._when_done is not None

    def _ended(self, status: Status, *, result: Any = None, error: BaseException | None = None) -> None:
        if self._ending is not None:
            return
        if status == "completed":
            self._result = result
            self._progress = 1.0
        self._exception = error
        self._ending = status
        manager = self._manager
        if manager is not None:
            manager._note_change()
        self._maybe_finish()

    def _run_stopped(self) -> None:
        self._stopped = True
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self._finished or not (self._stopped and self._ending is not None):
            return
        self._finished = True
        manager = self._manager
        if manager is not None:
            manager._finished(self)

    def _detach(self) -> None:
        """The task is over and ``when_done`` ran (or there is none): drop every link
        it no longer needs. The manager, the job (through the handler) and the user's
        callbacks (``when_done=done.append`` refers back to the task) would otherwise
        form reference cycles, which only the cyclic collector frees: on whatever
        thread triggers a collection. Without them, dropping the last reference to the
        manager or the task frees it at once, on the dropping thread."""
        self._manager = None
        self._when_done = None
        self._when_event = None
        handler = self._handler
        if handler is not None:
            job = handler.task
            if isinstance(job, _Forwarding):
                job._facade = None

    def _message_changed(self, message: str) -> None:
        self._message = message
        manager = self._manager
        if manager is not None:
            manager._note_change()

    def _progress_changed(self, fraction: float) -> None:
        self._progress = fraction
        manager = self._manager
        if manager is not None:
            manager._note_change()

    def _event(self, name: str, data: Any) -> None:
        manager = self._manager
        if self._when_event is not None and self._ending is None and manager is not None:
            manager._call_user(self._when_event, self, name, data)
