"""The executor's side of a handler: start ``run()``, report how it ended.

The public methods here are the :class:`qbackground.backends.Job` interface a custom
executor uses (their docstrings start with "Executor side"; application code never
calls them); the built-in backends use nothing else. The private ``_begin``,
``_succeed`` and ``_fail`` are the same steps without the misuse checks, for
``run_here()``'s hot path.
"""

from __future__ import annotations

import sys
from types import GeneratorType
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._errors import TaskStateError
from ._generator import drive_generator
from ._handler_retry import HandlerRetry
from ._lifecycle import HEARTBEAT
from ._current import current_lifecycle_var
from ._local import LocalLifeCycle
from ._status import TaskStatus

if TYPE_CHECKING:
    from ._lifecycle import TaskLifeCycle
    from ._task import BackgroundTask

__all__ = ["HandlerJob"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING


class HandlerJob(HandlerRetry[V]):
    """What an executor calls (a mixin of ``BackgroundTaskHandler``)."""

    __slots__ = ()

    # -- the public Job interface (for executors) -----------------------------------------

    @property
    def params(self) -> Mapping[str, Any]:
        """Executor side: the read-only mapping the task's ``get_params()`` returned at
        ``handle()`` (empty, never None); an executor that runs the task elsewhere sends
        it along.

        Example::

            payload = (pickle.dumps(job.task), dict(job.params))
        """
        return self._params

    def run_here(self) -> None:
        """Executor side: run the task on the calling thread, from start to reported ending.

        For in-process executors: it does :meth:`begin`, ``run()``, then
        :meth:`succeed` or :meth:`fail`, and the executor's ``on_stop()`` — all of the
        protocol in one call. A job cancelled while it waited returns at once.

        Example::

            def submit(self, job: Job) -> None:
                threading.Thread(target=job.run_here, daemon=True).start()
        """
        lifecycle = self._begin()
        if lifecycle is None:
            return
        executor = self._executor
        again = False
        try:
            # In-process executors refuse AsyncBackgroundTask in check_task().
            ok, outcome = _run_task(cast("BackgroundTask[Any, V]", self._task), lifecycle)
            if ok:
                self._succeed(outcome)
            else:
                again = self._fail(outcome)
        finally:
            # A failure's traceback keeps _run_task's frame, and through it this one
            # (its caller): that frame must not keep the handler, which keeps the
            # exception (a cycle only the garbage collector could free).
            ask, link = (self._retry_ask if again else None), self._link
            del self, lifecycle
            try:
                executor.on_stop()
            finally:  # even if a custom on_stop() raised: the retry must not be lost
                if ask is not None:  # asked for only now that the slot is free
                    link.post(ask)
                del ask, link

    def begin(self) -> TaskLifeCycle[Any] | None:
        """Executor side: the job starts now; its lifecycle, or None if it will not run.

        None means the job was cancelled, timed out or interrupted while it waited: its
        slot was already released (``on_unqueue()``), so drop it. Otherwise the job is
        ``RUNNING``, the executor's ``on_start()`` was called, and the executor must
        later call exactly one of :meth:`succeed` or :meth:`fail`, then its own
        ``on_stop()`` once the work has really stopped. Pass the lifecycle to
        ``run()`` when the task runs in this process (inside
        :func:`~qbackground.backends.running_task`); a task running elsewhere reports
        through :meth:`replay` instead.

        Raises:
            TaskStateError: the job was not submitted yet, or ``begin()`` already ran.

        Example::

            lifecycle = job.begin()
            if lifecycle is None:
                return  # cancelled while it waited
            try:
                with running_task(lifecycle):  # current_lifecycle() inside run()
                    value = job.task.run(lifecycle)
            except BaseException as exc:
                job.fail(exc)
            else:
                job.succeed(value)
            finally:
                self.on_stop()
        """
        if self._status is TaskStatus.CREATED:
            raise TaskStateError("begin() before the job was submitted: execute() submits it")
        if self._lifecycle is not None:
            raise TaskStateError("begin() was already called for this job; a job begins once")
        return self._begin()

    def replay(
        self,
        items: Sequence[Any] = (),
        events: Sequence[tuple[str, Any]] = (),
        message: str | None = None,
        fraction: float | None = None,
        *,
        flush: bool = False,
        heartbeat: bool = False,
    ) -> None:
        """Executor side: replay what a task running elsewhere reported (any thread,
        after :meth:`begin`).

        ``items`` are what its ``publish()`` queued, in order; ``events`` its
        ``send_event(name, data)`` pairs; ``message`` and ``fraction`` (0..1) its latest
        text and overall progress, None when unchanged. They reach ``progress()`` and
        the other callbacks on the GUI thread, coalesced as local reports are;
        ``flush=True`` delivers at once, as the task's ``flush()`` does;
        ``heartbeat=True`` relays a ``publish()`` with no changes (``progress([])`` is
        then called once, even if ``items`` is empty). Reports after the job was
        cancelled or interrupted are dropped.

        Raises:
            TaskStateError: called before :meth:`begin`.

        Example::

            kind, items, message = connection.recv()
            job.replay(items, message=message)
        """
        lifecycle = self._lifecycle
        if lifecycle is None:
            raise TaskStateError("replay() before begin(): a job reports only while it runs")
        if heartbeat and not items:
            items = [HEARTBEAT]  # the channel turns it into one progress([])
        lifecycle.feed(
            items if type(items) is list else list(items),
            events if type(events) is list else list(events),
            message,
            fraction,
        )
        if flush:
            lifecycle.request_flush()

    def succeed(self, value: Any) -> None:
        """Executor side: ``run()`` returned ``value`` (any thread).

        ``done(value)`` follows on the GUI thread, after every report made before this
        call — unless a ``cancel()`` or timeout decided the job first; then this only
        records that ``run()`` is over. Call the executor's ``on_stop()`` after it.

        Raises:
            TaskStateError: called before :meth:`begin`, or after the job's ending was
                already reported.

        Example::

            job.succeed(future.result())
            self.on_stop()
        """
        self._check_ending("succeed()")
        self._succeed(value)

    def fail(self, exc: BaseException) -> None:
        """Executor side: ``run()`` raised ``exc`` (any thread).

        ``handle_exception(exc)`` follows on the GUI thread (or the unhandled path),
        unless the job was already decided — say, the ``TaskInterruptedError`` of a
        cancelled task. A task that could not be started (not picklable, no worker)
        fails the same way. Call the executor's ``on_stop()`` after it. A failure the
        task's ``Retry`` takes brings the job back to ``submit()`` for its next attempt,
        possibly before that ``on_stop()``: a bounded executor must not count that
        submit against the failed attempt's slot (``run_here()`` releases it first).

        Raises:
            TaskStateError: called before :meth:`begin`, or after the job's ending was
                already reported.

        Example::

            except BaseException as exc:
                job.fail(exc)
            finally:
                self.on_stop()
        """
        self._check_ending("fail()")
        lifecycle = self._lifecycle
        if lifecycle is not None:
            lifecycle.finish()
        if self._fail(exc):
            self._link.post(self._retry_ask)

    def _check_ending(self, what: str) -> None:
        if self._lifecycle is None:
            raise TaskStateError(f"{what} before begin(): a job ends only after it began")
        if self._run_over:
            raise TaskStateError(
                f"{what} after the job's ending was already reported; call succeed() or fail() once"
            )

    # -- the same steps, unchecked ---------------------------------------------------------

    def _begin(self) -> LocalLifeCycle[Any] | None:
        """QUEUED -> RUNNING (executor side); the lifecycle, or None if already decided.

        The lifecycle is made here, off the GUI thread, to keep ``execute()`` cheap; it
        is published under the lock, so ``_decide()`` either sees it or wins first.
        """
        link = self._link
        lifecycle: LocalLifeCycle[Any] = LocalLifeCycle(
            link.dispatcher, self._on_reports, self._params, link.profiler
        )
        retrying = self._retrying
        if retrying is not None:
            lifecycle._attempt = retrying.number  # lifecycle.attempt
        with self._lock:
            if self._status is not _QUEUED:
                return None  # cancelled or interrupted while queued: slot already freed
            self._status = _RUNNING
            self._lifecycle = lifecycle
            if self._paused:  # paused while queued: it starts paused (_handler_pause)
                lifecycle.pause()
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
            self._link.post(self._deliver)
        # else: the outcome was decided while run() wound down
        if watchers:
            self._post_stopped(watchers)

    def _fail(self, exc: BaseException) -> bool:
        """``run()`` raised ``exc``; True when the task runs again instead (the caller
        then posts ``_retry_ask``, once the attempt's slot is released)."""
        if self._task._retry is not None and self._retry_later(exc):
            return True  # it runs again after a backoff (_handler_retry)
        with self._lock:
            self._run_over = True
            watchers, self._stop_watchers = self._stop_watchers, None
            decided = self._status is not _RUNNING
            if not decided:
                self._status = TaskStatus.FAILED
                self._error = exc
        if not decided:  # (decided: e.g. TaskInterruptedError after cancel())
            self._after_decision()
            self._link.post(self._deliver)
        if watchers:
            self._post_stopped(watchers)
        return False


_set_current = current_lifecycle_var.set
_reset_current = current_lifecycle_var.reset


def _run_task(task: BackgroundTask[Any, Any], lifecycle: LocalLifeCycle[Any]) -> tuple[bool, Any]:
    """``(True, value)`` or ``(False, exception)`` of ``task.run(lifecycle)``.

    A function of its own, so that the frame a failure's traceback keeps (the one that
    caught it) refers to the task and its lifecycle only, never to the handler.
    """
    profiler = lifecycle._profiler
    if profiler is not None:
        sys.setprofile(profiler)
    # current_lifecycle() inside run(): the variable set by hand, as running() does
    # (a generator-based context manager cost about a microsecond per task here).
    token = _set_current(lifecycle)
    try:
        value = task.run(lifecycle)
        if type(value) is GeneratorType:  # run() may be written as a generator
            value = drive_generator(task, value, lifecycle)
        return True, value
    except BaseException as exc:  # every failure must reach handle_exception
        return False, exc
    finally:
        _reset_current(token)
        if profiler is not None:
            sys.setprofile(None)
