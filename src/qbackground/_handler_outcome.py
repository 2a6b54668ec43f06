"""What a handler's ending reports: ``get_result()``'s value or exception, and the
``concurrent.futures.Future`` view resolved with the terminal callback."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from ._errors import TaskCancelledError, TaskInterruptedError, TaskStateError, TaskTimeoutError
from ._handler_state import HandlerState
from ._status import TaskStatus

if TYPE_CHECKING:
    from ._handler import BackgroundTaskHandler

__all__ = ["HandlerOutcome"]

V = TypeVar("V")

_RUNNING = TaskStatus.RUNNING


class HandlerOutcome(HandlerState[V]):
    """The outcome side of a handler (a mixin of ``BackgroundTaskHandler``)."""

    __slots__ = ()

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
