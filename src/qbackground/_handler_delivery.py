"""The GUI-thread side of a handler: the terminal callback, progress reports, and the
``when_stopped`` callbacks — every call into user code, each guarded by ``_call``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .qt import is_alive

from ._errors import TaskInterruptedError
from ._lifecycle import _check_number
from ._handler_outcome import HandlerOutcome
from ._handler_state import StopWatcher
from ._status import TaskStatus

__all__ = ["HandlerDelivery"]

V = TypeVar("V")

_RUNNING = TaskStatus.RUNNING


_QUEUED = TaskStatus.QUEUED


class HandlerDelivery(HandlerOutcome[V]):
    """GUI-thread delivery (a mixin of ``BackgroundTaskHandler``)."""

    __slots__ = ()

    def _hand_to_executor(self) -> bool:
        """GUI thread: give a held handler (no longer held) to its executor; True if it
        took it. One the executor refuses (queue full, shut down) fails with that error,
        delivered at once — unless it was decided meanwhile."""
        try:
            self._executor.submit(self)  # type: ignore[arg-type]  # always a BackgroundTaskHandler
        except Exception as exc:
            with self._lock:
                if self._status is not _QUEUED:
                    return False
                self._status = TaskStatus.FAILED
                self._error = exc.with_traceback(None)
            self._mark_stopped()
            self._after_decision()
            self._deliver()
            return False
        return True

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
        link = self._link
        if status is TaskStatus.DONE:
            link.forget(self)  # type: ignore[arg-type]  # always a BackgroundTaskHandler
        if self._owner is not None:
            link.unbind_owner(self._owner, self)
        lifecycle = self._lifecycle
        task = self._task
        owner_gone = self._owner is not None and not is_alive(self._owner)
        if lifecycle is not None:
            if status is not TaskStatus.INTERRUPTED and not owner_gone:
                lifecycle.deliver_pending()  # every published item before the end
            lifecycle.close()
        try:
            if owner_gone:
                # Never call back into a deleted widget; an error still must be seen.
                if status is TaskStatus.FAILED and error is not None:
                    link.report_unhandled(task, error)
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
                    self._unhandled(error)
            elif status is TaskStatus.TIMED_OUT:
                if not self._call(task.handle_timeout_exception):
                    self._unhandled_timeout()
        finally:
            link.note_activity()
            self._resolve_future()
            gate = self._gate
            if gate is not None:
                gate._gate_delivered(self)  # type: ignore[arg-type]  # always a BackgroundTaskHandler

    def _on_reports(
        self,
        items: list[Any],
        events: list[tuple[str, Any]],
        message: str | None,
        fraction: float | None,
        heartbeat: bool = False,
    ) -> None:
        """Sink of the lifecycle (GUI thread): items, then message and fraction, then events.

        ``heartbeat``: the task called ``publish()`` with no changes; ``progress()`` is
        called even when ``items`` is empty (once: coalesced with the batch's items).
        """
        owner = self._owner
        if owner is not None and not is_alive(owner):
            self._interrupt()
            return
        lifecycle = self._lifecycle
        assert lifecycle is not None
        task = self._task
        listeners = task.progress_listeners
        if items or heartbeat:
            self._call(task.progress, items)
            for listener in listeners:
                if lifecycle._closed:
                    return
                self._call(listener.on_progress, items)
        if (message is not None or fraction is not None) and not lifecycle._closed:
            self._link.note_activity()
        if message is not None and not lifecycle._closed:
            self._message = message
            if self._gate is not None:
                self._gate._gate_message(self, message)  # type: ignore[arg-type]
            self._call(task.message_changed, message)
            for listener in listeners:
                hook = getattr(listener, "on_message", None)  # optional on duck-typed listeners
                if hook is not None:
                    self._call(hook, message)
        if fraction is not None and not lifecycle._closed:
            self._set_fraction(fraction)
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

    def _set_fraction(self, fraction: float) -> None:
        self._fraction = fraction
        task = self._task
        self._call(task.fraction_changed, fraction)
        for listener in task.progress_listeners:
            hook = getattr(listener, "on_fraction", None)
            if hook is not None:
                self._call(hook, fraction)

    def report_fraction(self, fraction: float) -> None:
        """Set the overall progress (0..1) from the GUI thread, as if the task reported it.

        For a view that knows the task's progress in another vocabulary: a
        ``BackgroundWorkProgressWindow`` with a ``total`` turns the counts the task
        publishes into a fraction here, so :attr:`fraction`, ``task.fraction_changed()``,
        listeners' ``on_fraction()``, ``worker.tasks_changed`` and every status widget
        show the same progress. Clamped to 0..1; ignored once the task has ended (after
        its terminal callback) or when unchanged.

        Raises:
            IllegalConcurrentAccessError: called off the GUI thread.
            TypeError: ``fraction`` is not a number. ValueError: it is NaN.

        Example::

            handler.report_fraction(count / total)
            assert handler.fraction == count / total
        """
        self._link.check_ui_access()
        value = min(max(_check_number(fraction, "report_fraction() fraction"), 0.0), 1.0)
        if self._delivered or value == self._fraction:
            return
        lifecycle = self._lifecycle
        if lifecycle is not None and lifecycle._closed:
            return
        self._link.note_activity()
        self._set_fraction(value)

    def route_unhandled(
        self,
        on_error: Callable[[BaseException], bool] | None = None,
        on_timeout: Callable[[], bool] | None = None,
    ) -> None:
        """Offer what this handler's task leaves unhandled to callbacks before the worker.

        ``on_error(exc)`` gets an exception ``handle_exception()`` did not handle, and
        one raised in a GUI-thread callback of the task (``done()``, ``progress()``, a
        listener); ``on_timeout()`` gets a timeout ``handle_timeout_exception()`` did not
        handle. Both run on the GUI thread. A callback that returns True took the matter
        over: the worker then neither logs it nor emits ``unhandled_exception`` /
        ``task_timed_out``; False (or an exception in the callback, which is reported
        too) leaves it to the worker as usual. A task's own ``handle_exception()``
        returning True still comes first. Call it with no arguments to go back to the
        worker alone. This is how the progress windows show an error or a timeout to
        the user instead of the worker reporting it a second time (CUBA's window
        wrapper marks what it shows as handled).

        Example::

            handler.route_unhandled(on_error=lambda exc: show_error_box(exc) or True)
            handler.execute()
        """
        if on_error is None and on_timeout is None:
            self._unhandled_routes = None
        else:
            self._unhandled_routes = (on_error, on_timeout)

    def _unhandled(self, exc: BaseException) -> None:
        """An exception nobody handled: the route's ``on_error``, else the worker."""
        routes = self._unhandled_routes
        if routes is not None and routes[0] is not None and self._offer(routes[0], exc):
            return
        self._link.report_unhandled(self._task, exc)

    def _unhandled_timeout(self) -> None:
        routes = self._unhandled_routes
        if routes is not None and routes[1] is not None and self._offer(routes[1]):
            return
        self._link.report_timeout(self._task)

    def _offer(self, route: Callable[..., bool], *args: Any) -> bool:
        try:
            return route(*args) is True
        except Exception as exc:  # a broken route must not hide the original problem
            self._link.report_unhandled(self._task, exc)
            return False

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
            self._unhandled(exc)
            return None
