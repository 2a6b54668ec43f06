"""``BackgroundTaskHandler``: one execution of a task, as a small state machine.

States and who moves them (all under ``_lock``; callbacks run after it is released)::

    CREATED --execute()--> QUEUED --executor thread--> RUNNING
    QUEUED|RUNNING --cancel()-------------> CANCELLED     (any thread)
    QUEUED|RUNNING --deadline (not ready)-> TIMED_OUT     (deadline thread)
    QUEUED|RUNNING --owner gone/shutdown--> INTERRUPTED   (GUI thread)
    RUNNING --run() raised----------------> FAILED        (executor thread)
    RUNNING+ready --delivery--------------> DONE          (GUI thread)

``run()`` returning does not decide the outcome: it stores the value and sets
``_ready``; ``DONE`` is decided on the GUI thread when ``done()`` is delivered, so a
``cancel()`` in between still wins (as the contract asks). Every final state is reached
by exactly one winner of the lock, and only ``_deliver()`` — guarded by ``_delivered``
— runs the terminal callback, so each executed handler gets exactly one.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from threading import get_ident
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Future
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import shiboken6

from ._errors import (
    IllegalConcurrentAccessError,
    TaskCancelledError,
    TaskInterruptedError,
    TaskStateError,
    TaskTimeoutError,
)
from ._local import LocalLifeCycle
from ._status import TaskStatus
from ._task import BackgroundTask, TaskBase, normalize_timeout

if TYPE_CHECKING:
    from ._worker import BackgroundWorker
    from .backends import Executor

__all__ = ["BackgroundTaskHandler"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING
_CREATED = TaskStatus.CREATED


class BackgroundTaskHandler(Generic[V]):
    """Controls one execution of a task; returned by ``worker.handle(task)``.

    Single shot: ``execute()`` once, then observe or ``cancel()``. Every callback of
    the task runs on the GUI thread.

    Example::

        handler = background_worker().handle(DownloadTask(url, owner=window))
        handler.execute()
        ...
        if handler.is_alive():
            handler.cancel()
    """

    __slots__ = (
        "_worker",
        "_task",
        "_executor",
        "_params",
        "_owner",
        "_lock",
        "_status",
        "_ready",
        "_value",
        "_error",
        "_delivered",
        "_lifecycle",
        "_waiter",
        "_future",
        "_future_resolved",
        "_message",
        "_fraction",
        "_started_at",
        "_run_over",
        "_stop_watchers",
        "__weakref__",
    )

    def __init__(
        self,
        worker: BackgroundWorker,
        task: TaskBase[Any, V],
        executor: Executor,
        params: Mapping[str, Any],
    ) -> None:
        self._worker = worker
        self._task = task
        self._executor = executor
        self._params = params
        self._owner = task.owner
        self._lock = threading.Lock()
        self._status = _CREATED
        # run() returned and stored _value; DONE is decided at delivery.
        self._ready = False
        self._value: Any = None
        self._error: BaseException | None = None
        # The terminal callback (or the decision to stay silent) has run.
        self._delivered = False
        self._lifecycle: LocalLifeCycle[Any] | None = None
        # Created on demand for get_result() off the GUI thread; set when the outcome
        # is known there (ready or final).
        self._waiter: threading.Event | None = None
        self._future: _HandlerFuture[V] | None = None
        self._future_resolved = False
        self._message: str | None = None
        self._fraction: float | None = None
        self._started_at: float | None = None
        # run() has really ended (returned, raised, its process stopped) or will never
        # start (decided while queued); _stop_watchers wait for that (see when_stopped).
        self._run_over = False
        self._stop_watchers: list[Callable[[BackgroundTaskHandler[V]], object]] | None = None

    def __repr__(self) -> str:
        return f"<BackgroundTaskHandler {type(self._task).__name__} {self._status.name}>"

    # -- public API --------------------------------------------------------------------

    @property
    def task(self) -> TaskBase[Any, V]:
        """The task this handler executes.

        Example::

            assert worker.handle(task).task is task
        """
        return self._task

    @property
    def status(self) -> TaskStatus:
        """The current :class:`TaskStatus`.

        Example::

            if handler.status is TaskStatus.FAILED:
                ...
        """
        return self._status

    @property
    def message(self) -> str | None:
        """The latest ``set_message()`` text delivered to the GUI thread, or None.

        Example::

            status_label.setText(handler.message or "")
        """
        return self._message

    @property
    def fraction(self) -> float | None:
        """The latest overall progress (0..1) delivered to the GUI thread, or None.

        Example::

            bar.setValue(round((handler.fraction or 0) * 100))
        """
        return self._fraction

    @property
    def elapsed(self) -> float | None:
        """Seconds since ``execute()``, or None before it.

        Example::

            print(f"running for {handler.elapsed:.1f} s")
        """
        started = self._started_at
        return None if started is None else monotonic() - started

    def execute(self) -> None:
        """Start the task (GUI thread). Its timeout counts from here.

        Raises:
            TaskStateError: ``execute()`` was already called, or the worker was shut down.
            TaskQueueFullError: ``threads`` tasks run and ``max_queued`` more wait.
            IllegalConcurrentAccessError: called off the GUI thread.

        Example::

            handler = worker.handle(task)
            handler.execute()
        """
        worker = self._worker
        if get_ident() != worker._dispatcher.gui_ident:
            raise IllegalConcurrentAccessError(
                "BackgroundTaskHandler.execute() must be called on the GUI thread; "
                "use UIAccessor.access() to start work from another thread"
            )
        # Only execute(), on the GUI thread, moves a handler out of CREATED, so this
        # check-then-set needs no lock; worker threads see the handler only after submit.
        if self._status is not _CREATED:
            raise TaskStateError(
                f"execute() was already called on this handler (status {self._status.name}); "
                "a handler runs once: call worker.handle(task) again, or use BackgroundTaskWrapper"
            )
        worker._check_open()
        self._status = _QUEUED
        self._started_at = now = monotonic()
        try:
            self._executor.submit(self)
        except BaseException:
            self._status = _CREATED
            self._started_at = None
            raise
        worker._track(self)
        worker._note_activity()
        timeout = self._task.timeout
        if timeout is not None:
            worker._deadlines.add(now + timeout, self)
        if self._owner is not None:
            worker._owners.bind(self._owner, self)

    def cancel(self) -> bool:
        """Cancel the task; ``canceled()`` runs on the GUI thread (at once if called there).

        Returns ``False`` when the outcome was already decided, else ``True`` — also
        when ``run()`` returned but ``done()`` was not yet delivered (it never will be).
        The thread stays busy until ``run()`` notices (``publish()`` raises,
        ``is_cancelled()`` turns true) and returns.

        Raises:
            TaskStateError: called before ``execute()``.

        Example::

            cancel_button.clicked.connect(handler.cancel)
        """
        if self._status is _CREATED:
            raise TaskStateError("cancel() called before execute(); there is nothing to cancel yet")
        if not self._decide(TaskStatus.CANCELLED):
            return False
        self._deliver_soon()
        return True

    def get_result(self, timeout: float | None = None) -> V:
        """Wait for the task to end and return its value; ``done()`` is delivered first.

        On the GUI thread it keeps serving the dispatcher while it waits: queued
        ``UIAccessor`` calls and other tasks' callbacks may run inside this call, so a
        task waiting in ``access_synchronously()`` cannot deadlock it. Off the GUI thread
        it returns as soon as ``run()`` returned (``done()`` follows on the GUI thread).

        Raises:
            Exception: whatever ``run()`` raised.
            TaskCancelledError: the task was cancelled.
            TaskTimeoutError: the task's own timeout expired.
            TaskInterruptedError: its owner closed or its worker shut down.
            TimeoutError: ``timeout`` passed first; the task runs on.
            TaskStateError: called before ``execute()``.

        Example::

            handler.execute()
            value = handler.get_result(timeout=5)
        """
        limit = normalize_timeout(timeout, "get_result() timeout")
        if self._status is _CREATED:
            raise TaskStateError("get_result() called before execute(); call execute() first")
        deadline = None if limit is None else monotonic() + limit
        dispatcher = self._worker._dispatcher
        if dispatcher.is_gui_thread():
            while True:
                self._deliver()
                if self._delivered:
                    break
                dispatcher.drain(dispatcher.budget)
                if self._delivered:
                    break
                wait: float | None = dispatcher.seconds_to_next_frame()
                if deadline is not None:
                    remaining = deadline - monotonic()
                    if remaining <= 0:
                        raise TimeoutError(self._timeout_message(limit))
                    wait = remaining if wait is None else min(wait, remaining)
                dispatcher.wait_for_work(wait)
        else:
            with self._lock:
                known = self._ready or self._status.is_final
                if not known and self._waiter is None:
                    self._waiter = threading.Event()
                waiter = self._waiter
            if not known and waiter is not None:
                left = None if deadline is None else max(0.0, deadline - monotonic())
                if not waiter.wait(left):
                    raise TimeoutError(self._timeout_message(limit))
        return self._outcome()

    def is_done(self) -> bool:
        """True once the outcome is decided (done, failed, cancelled, timed out or
        interrupted), like ``Future.done()``.

        Example::

            if handler.is_done():
                print(handler.status)
        """
        return self._status.is_final

    def is_cancelled(self) -> bool:
        """True when ``cancel()`` decided the outcome.

        Example::

            assert handler.cancel() and handler.is_cancelled()
        """
        return self._status is TaskStatus.CANCELLED

    def is_alive(self) -> bool:
        """True from ``execute()`` until the outcome is decided (False at once after
        ``cancel()``, a timeout, owner close or shutdown).

        Example::

            stop_button.setEnabled(handler.is_alive())
        """
        status = self._status
        return status is _QUEUED or status is _RUNNING

    def future(self) -> Future[V]:
        """A :class:`concurrent.futures.Future` view, resolved with the terminal callback.

        Its ``cancel()`` cancels the task. Useful for code that speaks futures.

        Example::

            fut = handler.future()
            fut.add_done_callback(lambda f: print(f.result()))
        """
        with self._lock:
            fut = self._future
            if fut is None:
                fut = self._future = _HandlerFuture(self)
                resolved = self._delivered
            else:
                resolved = False
        if resolved:
            self._resolve_future()
        return fut

    def __await__(self) -> Generator[Any, None, V]:
        """Await the result from a coroutine (for example under qasync on the GUI
        thread); returns or raises as :meth:`get_result` does.

        Example::

            value = await worker.handle(task).start()
        """
        return asyncio.wrap_future(self.future()).__await__()

    def start(self) -> BackgroundTaskHandler[V]:
        """``execute()`` and return ``self``, for one-line use.

        Example::

            handler = worker.handle(task).start()
        """
        self.execute()
        return self

    def when_stopped(self, callback: Callable[[BackgroundTaskHandler[V]], object]) -> None:
        """Call ``callback(handler)`` on the GUI thread once ``run()`` has really ended.

        That is when ``run()`` returned or raised, its worker process was stopped, or the
        task was decided before it ever started. It always comes after the terminal
        callback (or the silent end): for a finished task right after it; for a
        cancelled or timed-out one it can come much later than ``canceled()``, which CUBA
        runs at once while ``run()`` may still be winding down. Registered after that
        moment, it is still called (soon, never synchronously). An exception it raises
        goes to ``unhandled_exception``. Nothing is called after ``shutdown()``.

        Example::

            handler.cancel()
            handler.when_stopped(lambda h: print("the thread is free again"))
        """
        with self._lock:
            if not self._run_over:
                if self._stop_watchers is None:
                    self._stop_watchers = []
                self._stop_watchers.append(callback)
                return
        self._worker._dispatcher.post(partial(self._stopped_now, [callback]))

    def _mark_stopped(self) -> None:
        """``run()`` is over (caller holds no lock): wake the ``when_stopped`` callbacks."""
        with self._lock:
            self._run_over = True
            watchers, self._stop_watchers = self._stop_watchers, None
        if watchers:
            self._post_stopped(watchers)

    def _post_stopped(self, watchers: list[Callable[[BackgroundTaskHandler[V]], object]]) -> None:
        self._worker._dispatcher.post(partial(self._stopped_now, watchers))

    def _stopped_now(self, watchers: list[Callable[[BackgroundTaskHandler[V]], object]]) -> None:
        """GUI thread: the terminal callback first (a decision made on another thread
        may not have reached the GUI yet; ``_deliver`` is idempotent), then the watchers."""
        self._deliver()
        for callback in watchers:
            self._call(callback, self)

    # -- executor side -----------------------------------------------------------------

    def run_here(self) -> None:
        """Run the task on the calling (executor) thread; used by in-process executors."""
        lifecycle = self._begin()
        if lifecycle is None:
            return
        try:
            profiler = lifecycle._profiler
            if profiler is not None:
                sys.setprofile(profiler)
            try:
                # In-process executors refuse AsyncBackgroundTask in check_task().
                value = cast("BackgroundTask[Any, V]", self._task).run(lifecycle)
            finally:
                if profiler is not None:
                    sys.setprofile(None)
        except BaseException as exc:  # every failure must reach handle_exception
            self._fail(exc)
        else:
            self._succeed(value)
        finally:
            self._executor.on_stop()

    def _begin(self) -> LocalLifeCycle[Any] | None:
        """QUEUED -> RUNNING (executor side); the lifecycle, or None if already decided.

        The lifecycle is made here, off the GUI thread, to keep ``execute()`` cheap; it
        is published under the lock, so ``_decide()`` either sees it or wins first.
        """
        worker = self._worker
        lifecycle: LocalLifeCycle[Any] = LocalLifeCycle(
            worker._dispatcher, self._on_reports, self._params, worker._profiler
        )
        with self._lock:
            if self._status is not _QUEUED:
                return None  # cancelled or interrupted while queued: slot already freed
            self._status = _RUNNING
            self._lifecycle = lifecycle
            self._executor.on_start()
        return lifecycle

    def _succeed(self, value: Any) -> None:
        lifecycle = self._lifecycle
        assert lifecycle is not None
        lifecycle.finish()
        with self._lock:
            self._run_over = True
            watchers, self._stop_watchers = self._stop_watchers, None
            decided = self._status is not _RUNNING
            if not decided:
                self._value = value
                self._ready = True
            waiter = self._waiter
        if not decided:
            if waiter is not None:
                waiter.set()
            self._worker._dispatcher.post(self._deliver)
        # else: the outcome was decided while run() wound down
        if watchers:
            self._post_stopped(watchers)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            self._run_over = True
            watchers, self._stop_watchers = self._stop_watchers, None
            decided = self._status is not _RUNNING
            if not decided:
                self._status = TaskStatus.FAILED
                self._error = exc
        if not decided:  # (decided: e.g. TaskInterruptedError after cancel())
            self._after_decision()
            self._worker._dispatcher.post(self._deliver)
        if watchers:
            self._post_stopped(watchers)

    # -- decisions (any thread) -------------------------------------------------------

    def _decide(self, status: TaskStatus, *, unless_ready: bool = False) -> bool:
        """Move QUEUED/RUNNING to a final ``status``; False if already decided.

        ``unless_ready``: also give up when ``run()`` already returned (a deadline that
        races ``run()`` returning must not win: the check and the change share the lock).
        """
        with self._lock:
            previous = self._status
            if previous is not _QUEUED and previous is not _RUNNING:
                return False
            if unless_ready and self._ready:
                return False
            self._status = status
            self._ready = False
            self._value = None
        lifecycle = self._lifecycle
        if lifecycle is not None:
            lifecycle.interrupt(cancelled=status is TaskStatus.CANCELLED)
        if previous is _QUEUED:
            self._executor.on_unqueue()
            self._mark_stopped()  # it will never start
        else:
            self._executor.on_interrupt(self)  # e.g. tell a worker process, or cancel a coroutine
        self._after_decision()
        return True

    def _after_decision(self) -> None:
        with self._lock:
            waiter = self._waiter
        if waiter is not None:
            waiter.set()
        self._worker._forget(self)

    def _expire(self) -> None:
        """The deadline passed (deadline thread): time out unless run() already returned."""
        if self._decide(TaskStatus.TIMED_OUT, unless_ready=True):
            self._deliver_soon()

    def _interrupt(self) -> bool:
        """Owner gone or worker shutting down: stop silently."""
        if not self._decide(TaskStatus.INTERRUPTED):
            return False
        self._deliver_soon()
        return True

    def _deliver_soon(self) -> None:
        dispatcher = self._worker._dispatcher
        if dispatcher.is_gui_thread():
            self._deliver()
        else:
            dispatcher.post(self._deliver)

    # -- GUI thread ----------------------------------------------------------------------

    def _deliver(self) -> None:
        """Run the terminal callback once the outcome is known (GUI thread, idempotent)."""
        with self._lock:
            if self._delivered:
                return
            status = self._status
            if status is _RUNNING and self._ready:
                status = self._status = TaskStatus.DONE
            elif not status.is_final:
                return
            self._delivered = True
            value, error = self._value, self._error
        worker = self._worker
        if status is TaskStatus.DONE:
            worker._forget(self)
        if self._owner is not None:
            worker._owners.unbind(self._owner, self)
        lifecycle = self._lifecycle
        task = self._task
        owner_gone = self._owner is not None and not shiboken6.isValid(self._owner)
        if lifecycle is not None:
            if status is not TaskStatus.INTERRUPTED and not owner_gone:
                lifecycle.deliver_pending()  # every published item before the end
            lifecycle.close()
        try:
            if owner_gone:
                # Never call back into a deleted widget; an error still must be seen.
                if status is TaskStatus.FAILED and error is not None:
                    worker._report_unhandled(task, error)
            elif status is TaskStatus.DONE:
                self._call(task.done, value)
                for listener in task.progress_listeners:
                    self._call(listener.on_done, value)
            elif status is TaskStatus.CANCELLED:
                self._call(task.canceled)
                for listener in task.progress_listeners:
                    self._call(listener.on_cancel)
            elif status is TaskStatus.FAILED:
                assert error is not None
                if not self._call(task.handle_exception, error):
                    worker._report_unhandled(task, error)
            elif status is TaskStatus.TIMED_OUT:
                if not self._call(task.handle_timeout_exception):
                    worker._report_timeout(task)
        finally:
            worker._note_activity()
            self._resolve_future()

    def _on_reports(
        self,
        items: list[Any],
        events: list[tuple[str, Any]],
        message: str | None,
        fraction: float | None,
    ) -> None:
        """Sink of the lifecycle (GUI thread): items, then message and fraction, then events."""
        owner = self._owner
        if owner is not None and not shiboken6.isValid(owner):
            self._interrupt()
            return
        lifecycle = self._lifecycle
        assert lifecycle is not None
        task = self._task
        listeners = task.progress_listeners
        if items:
            self._call(task.progress, items)
            for listener in listeners:
                if lifecycle._closed:
                    return
                self._call(listener.on_progress, items)
        if (message is not None or fraction is not None) and not lifecycle._closed:
            self._worker._note_activity()
        if message is not None and not lifecycle._closed:
            self._message = message
            self._call(task.message_changed, message)
            for listener in listeners:
                hook = getattr(listener, "on_message", None)  # optional on duck-typed listeners
                if hook is not None:
                    self._call(hook, message)
        if fraction is not None and not lifecycle._closed:
            self._fraction = fraction
            self._call(task.fraction_changed, fraction)
            for listener in listeners:
                hook = getattr(listener, "on_fraction", None)
                if hook is not None:
                    self._call(hook, fraction)
        # Events last: a handler reading the task's message or fraction sees at least
        # what was reported with (and before) the event.
        for name, data in events:
            if lifecycle._closed:
                return
            self._call(task.handle_event, name, data)
            for listener in listeners:
                hook = getattr(listener, "on_event", None)
                if hook is not None:
                    self._call(hook, name, data)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except (Exception, TaskInterruptedError) as exc:
            # TaskInterruptedError is a BaseException but an ordinary mistake here (say,
            # get_result() of an interrupted task inside done()); SystemExit and
            # KeyboardInterrupt propagate, and the dispatcher re-arms itself behind them.
            self._worker._report_unhandled(self._task, exc)
            return None

    # -- outcome -------------------------------------------------------------------------

    def _outcome(self) -> V:
        value, error = self._settled()
        if error is not None:
            raise error
        return value

    def _settled(self) -> tuple[V, BaseException | None]:
        """The value, or the exception ``get_result()`` raises, without raising it (a
        raise would add qbackground's frames to the task's own exception's traceback)."""
        with self._lock:
            status, ready, value, error = self._status, self._ready, self._value, self._error
        if status is TaskStatus.DONE or (status is _RUNNING and ready):
            return value, None
        name = type(self._task).__name__
        if status is TaskStatus.FAILED:
            assert error is not None
            return value, error
        if status is TaskStatus.CANCELLED:
            return value, TaskCancelledError(f"{name} was cancelled")
        if status is TaskStatus.TIMED_OUT:
            return value, TaskTimeoutError(f"{name} timed out after {self._task.timeout} s")
        if status is TaskStatus.INTERRUPTED:
            return value, TaskInterruptedError(
                f"{name} was interrupted (its owner closed or its worker shut down)"
            )
        return value, TaskStateError(f"{name} has no outcome yet (status {status.name})")  # pragma: no cover

    def _timeout_message(self, limit: float | None) -> str:
        return (
            f"get_result() gave up after {limit} s; {type(self._task).__name__} is still "
            f"{self._status.name} and keeps running"
        )

    def _resolve_future(self) -> None:
        # future() on another thread and _deliver() may both get here: one resolves.
        # Unlocked fast path: future() stores _future under the lock before it reads
        # _delivered, so a future made too late for this read resolves itself.
        if self._future is None:
            return
        with self._lock:
            fut = self._future
            if fut is None or self._future_resolved:
                return
            self._future_resolved = True
        if fut.done():  # cancelled through the view itself
            return
        value, error = self._settled()
        if error is None:
            fut.set_result(value)
        elif isinstance(error, TaskCancelledError):
            Future.cancel(fut)
            fut.set_running_or_notify_cancel()
        else:
            fut.set_exception(error)


class _HandlerFuture(Future[V]):
    """A Future whose ``cancel()`` cancels the task it stands for."""

    def __init__(self, handler: BackgroundTaskHandler[V]) -> None:
        super().__init__()
        self._handler = handler

    def cancel(self) -> bool:
        if self.done():
            return super().cancel()
        return self._handler.cancel()
