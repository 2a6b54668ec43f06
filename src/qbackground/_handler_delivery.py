"""The GUI-thread side of a handler: the terminal callback, progress reports, and the
``when_stopped`` callbacks — every call into user code, each guarded by ``_call``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6

from ._errors import TaskInterruptedError
from ._handler_outcome import HandlerOutcome
from ._handler_state import StopWatcher
from ._status import TaskStatus

__all__ = ["HandlerDelivery"]

V = TypeVar("V")

_RUNNING = TaskStatus.RUNNING


class HandlerDelivery(HandlerOutcome[V]):
    """GUI-thread delivery (a mixin of ``BackgroundTaskHandler``)."""

    __slots__ = ()

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
            worker._forget(self)  # type: ignore[arg-type]  # always a BackgroundTaskHandler
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

    def _stopped_now(self, watchers: list[StopWatcher]) -> None:
        """GUI thread: the terminal callback first (a decision made on another thread
        may not have reached the GUI yet; ``_deliver`` is idempotent), then the watchers."""
        self._deliver()
        for callback in watchers:
            self._call(callback, self)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except (Exception, TaskInterruptedError) as exc:
            # TaskInterruptedError is a BaseException but an ordinary mistake here (say,
            # get_result() of an interrupted task inside done()); SystemExit and
            # KeyboardInterrupt propagate, and the dispatcher re-arms itself behind them.
            self._worker._report_unhandled(self._task, exc)
            return None
