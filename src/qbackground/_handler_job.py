"""The executor's side of a handler: start ``run()``, report how it ended."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._handler_delivery import HandlerDelivery
from ._local import LocalLifeCycle
from ._status import TaskStatus

if TYPE_CHECKING:
    from ._task import BackgroundTask

__all__ = ["HandlerJob"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING


class HandlerJob(HandlerDelivery[V]):
    """What an executor calls (a mixin of ``BackgroundTaskHandler``)."""

    __slots__ = ()

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
