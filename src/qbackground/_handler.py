"""``BackgroundTaskHandler``: one execution of a task; its public API.

The state machine (fields, the one lock, the decisions) lives in ``_handler_state``;
the outcome, the GUI-thread delivery and the executor's side are mixins over it
(``_handler_outcome``, ``_handler_delivery``, ``_handler_job``, ``_handler_pause``). They all share one
object and its ``__slots__``, so a call costs what it did in one class.
"""

from __future__ import annotations

import asyncio
import threading
from threading import get_ident
from collections.abc import Callable, Generator
from concurrent.futures import Future
from functools import partial
from time import monotonic
from typing import Any, TypeVar

from ._errors import IllegalConcurrentAccessError, TaskStateError
from ._handler_pause import HandlerPause
from ._handler_outcome import _HandlerFuture
from ._status import TaskStatus
from ._task import TaskBase, normalize_timeout

__all__ = ["BackgroundTaskHandler"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING
_CREATED = TaskStatus.CREATED


class BackgroundTaskHandler(HandlerPause[V]):
    """Controls one execution of a task; returned by ``worker.handle(task)``.

    Single shot: ``execute()`` once, then observe, ``pause()``/``resume()`` or
    ``cancel()``. Every callback of the task runs on the GUI thread.

    Example::

        handler = background_worker().handle(DownloadTask(url, owner=window))
        handler.execute()
        ...
        if handler.is_alive():
            handler.cancel()
    """

    __slots__ = ()

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

        ``PAUSED`` while :meth:`pause` holds a queued or running task.

        Example::

            if handler.status is TaskStatus.FAILED:
                ...
        """
        status = self._status
        if self._paused and (status is _RUNNING or status is _QUEUED) and not self._ready:
            return TaskStatus.PAUSED
        return status

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
        link = self._link
        if get_ident() != link.gui_ident:
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
        link.check_open()
        self._status = _QUEUED
        gate = self._gate
        if gate is not None and gate._gate_admit(self):
            # Held by its key or group (QUEUED), which calls _launch() when it may start.
            self._held = True
        else:
            self._started_at = now = monotonic()
            try:
                self._executor.submit(self)
            except BaseException:
                self._status = _CREATED
                self._started_at = None
                if gate is not None:
                    gate._gate_withdraw(self)
                raise
            self._arm(now)
        link.track(self)
        link.note_activity()
        if self._owner is not None:
            link.bind_owner(self._owner, self)

    def _arm(self, now: float) -> None:
        timeout = self._task.timeout
        if timeout is not None:
            self._link.add_deadline(now + timeout, self)

    def _launch(self) -> None:
        """GUI thread: a held handler may start now (its gate says so); the timeout
        counts from here. A handler decided meanwhile stays as it is; one the executor
        refuses (queue full, shut down) fails with that error."""
        with self._lock:
            if self._status is not _QUEUED or not self._held:
                return
            self._held = False
            self._started_at = now = monotonic()
        if self._hand_to_executor():
            self._arm(now)

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
        dispatcher = self._link.dispatcher
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
            # Serve what is queued before returning, even when this result was ready at
            # once: a script whose get_result() calls always find their tasks done (the
            # event loop never runs) would otherwise leave every other handler's posted
            # delivery in the queue, keeping those handlers alive (issue 20).
            dispatcher.drain(dispatcher.budget)
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
        ``cancel()``, a timeout, owner close or shutdown; true while paused).

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
        self._link.post(partial(self._stopped_now, [callback]))
