"""``Task``: what ``task_mgr.run_thread()`` and friends return (Rayforge's ``Task``)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from .._errors import TaskStateError
from .._status import TaskStatus
from ._context import EventAck
from ._jobs import _Forwarding
from ._signals import CancelledError, InvalidStateError, Signal
from ._standalone import run_standalone
from ._task_pause import TaskPausing

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


class Task(TaskPausing, Generic[R]):
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
        coro: Callable[..., Any],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        task_type: Literal["thread", "process", "asyncio"] = "asyncio",
        **kwargs: Any,
    ) -> None:
        self.coro = coro
        """The function (or async function) this task runs, called ``coro(context, *args, **kwargs)``."""
        self.args = args
        """Its positional arguments (after the context)."""
        self.kwargs = kwargs
        """Its keyword arguments."""
        self.id = next(_ids)
        """A number unique in this process."""
        self.key: Any = key if key is not None else self.id
        """The key given at start, or :attr:`id` when none was given."""
        self.name = getattr(coro, "__qualname__", None) or getattr(coro, "__name__", None) or repr(coro)
        """The function's name, for messages."""
        self.kind = task_type
        """Where it runs: ``"thread"``, ``"process"`` or ``"asyncio"``."""
        self.task_type = task_type
        """Rayforge's name for :attr:`kind`."""
        self.status_changed = Signal()
        """blinker signal ``status_changed(task)`` on the GUI thread: the status,
        progress or message changed."""
        self.event_received = Signal()
        """blinker signal ``event_received(task, event_name=..., data=...)`` on the GUI
        thread, for each ``context.send_event()``."""
        self.when_done_callback: WhenDone | None = when_done
        """Rayforge's name of the ``when_done`` callback (None once it ran)."""
        # Strong while the task is unfinished (the manager must outlive the tasks it
        # reports on); dropped with the callbacks once ``when_done`` ran, so neither the
        # manager nor the task waits for the cyclic garbage collector (see _detach).
        self._manager: TaskManager | None = None
        self._when_event: WhenEvent | None = None
        self._visible = True
        self._handler: BackgroundTaskHandler[Any] | None = None
        self._task: asyncio.Future[Any] | None = None  # run(context) outside a manager
        self._running = False
        self._cancel_requested = False
        self._ending: Status | None = None  # decided on the GUI thread
        self._result: Any = None
        self._exception: BaseException | None = None
        self._progress = 0.0
        self._message: str | None = None
        self._stopped = False
        self._finished = False  # when_done ran (or would have)

    @property
    def _when_done(self) -> WhenDone | None:
        return self.when_done_callback

    @_when_done.setter
    def _when_done(self, value: WhenDone | None) -> None:
        self.when_done_callback = value

    def _bind(self, manager: TaskManager, name: str, when_event: WhenEvent | None, visible: bool) -> None:
        """The manager takes the task: its name for messages, callbacks, visibility."""
        self._manager = manager
        self.name = name
        self._when_event = when_event
        self._visible = visible

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
        handler = self._handler
        if handler is None:
            # Cancelled before it started: still pending, as in Rayforge, until the
            # manager gets to start it (then 'canceled', the function never called).
            return "running" if self._running else "pending"
        status = handler.status
        if status is TaskStatus.RUNNING or status is TaskStatus.PAUSED:
            return "running"  # paused: still Rayforge's 'running' (see is_paused())
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
            CancelledError: the task was cancelled (an ``asyncio.CancelledError``
                and a :class:`~qbackground.TaskCancelledError`).
            InvalidStateError: the task has not finished yet (an
                ``asyncio.InvalidStateError`` and a :class:`~qbackground.TaskStateError`).

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
            raise CancelledError(f"{self.name} (key {self.key!r}) was cancelled")
        raise InvalidStateError(f"{self.name} (key {self.key!r}) has no result yet: it is {status}")

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
        by :meth:`cancel`), and whenever the task ended canceled.

        Example::

            assert task_mgr.cancel_task("import") and task.is_cancelled()
        """
        return self._cancel_requested

    def cancel(self) -> bool:
        """Ask this task to stop (any thread); True if that cancelled unfinished work.

        As in Rayforge the flag is set whatever the state (:meth:`is_cancelled` is
        True afterwards, even on a finished task), and the status is left alone: a
        task that has not started stays ``'pending'`` until the manager gets to it,
        then becomes ``'canceled'`` without its function ever being called.

        Example::

            task.cancel()
        """
        manager = self._manager
        if manager is not None and manager._cancel(self):
            return True
        self._cancel_requested = True
        inner = self._task
        if inner is not None and not inner.done():  # run(context) outside a manager
            inner.cancel()
            return True
        return False

    def update(self, progress: float | None = None, message: str | None = None) -> None:
        """Set the progress and/or the message; ``status_changed`` is sent once if
        either changed (GUI thread, as in Rayforge).

        Example::

            task.update(progress=0.5, message="Halfway")
        """
        changed = False
        if progress is not None and progress != self._progress:
            self._progress = progress
            changed = True
        if message is not None and message != self._message:
            self._message = message
            changed = True
        if changed:
            self._changed()

    async def run(self, context: Any) -> None:
        """Run ``coro(context, *args, **kwargs)`` here, on the running event loop,
        tracking the status as Rayforge's ``Task.run`` does (``task_mgr.add_task()``
        runs it on the manager's loop instead).

        Raises:
            CancelledError: the task was cancelled, before it started (the function is
                never called) or while it ran.
            Exception: what the function raised (the status is then ``'failed'``).

        Example::

            task = Task(fetch, "http://example.com")
            await task.run(CallbackProgressContext(lambda: False, print, print))
            print(task.result())
        """
        await run_standalone(self, context)

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
        elif status == "canceled":
            # also when the worker's key mechanism cancelled it (a newer task, same key)
            self._cancel_requested = True
        self._exception = error
        self._ending = status
        self._changed()
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
        self.status_changed = Signal()  # receivers may refer back to the task or its manager
        self.event_received = Signal()
        handler = self._handler
        if handler is not None:
            job = handler.task
            if isinstance(job, _Forwarding):
                job._facade = None

    def _changed(self) -> None:
        """GUI thread: tell ``status_changed`` receivers and the manager."""
        manager = self._manager
        if manager is not None:
            if self._visible:
                manager._note_change()
            manager._call_user(self.status_changed.send, self)
        else:
            self.status_changed.send(self)

    def _message_changed(self, message: str) -> None:
        self.update(message=message)

    def _progress_changed(self, fraction: float) -> None:
        self.update(progress=fraction)

    def _event(self, name: str, data: Any) -> None:
        ack = data if isinstance(data, EventAck) else None
        if ack is not None:
            data = ack.data
        manager = self._manager
        ok = False
        if self._ending is None and manager is not None:
            ok = True
            if self._when_event is not None:
                ok = manager._call_user(self._when_event, self, name, data)
            if self.event_received.receivers:
                ok = manager._call_user(self.event_received.send, self, event_name=name, data=data) and ok
        if ack is not None:
            ack.reply(ok)
