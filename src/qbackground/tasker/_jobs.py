"""The tasks behind ``run_thread``, ``run_process`` and ``add_coroutine``.

Each wraps the user's function and its arguments in a core task, so the function-style
API gets the core's guarantees (exactly one ending, coalesced progress, cancel, process
isolation) without a second engine. The GUI-side callbacks forward to the :class:`Task`
the caller holds; that link is dropped when the job is pickled to a worker process.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._async import AsyncBackgroundTask
from .._errors import TaskTimeoutError
from .._lifecycle import TaskLifeCycle
from .._task import BackgroundTask

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["CoroutineJob", "FunctionJob"]


class _Forwarding:
    """The GUI-thread callbacks of both job kinds: hand everything to the ``Task``."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__()  # the task base class (next in the MRO of both job kinds)
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self._facade: Task[Any] | None = None

    def _to_facade(self) -> Task[Any]:
        facade = self._facade
        assert facade is not None, "a job's callbacks run in the GUI process only"
        return facade

    def done(self, result: Any) -> None:
        self._to_facade()._ended("completed", result=result)

    def canceled(self) -> None:
        self._to_facade()._ended("canceled")

    def handle_exception(self, exc: BaseException) -> bool:
        facade = self._to_facade()
        facade._ended("failed", error=exc)
        # Handled when somebody will look at it; else it takes the worker's unhandled
        # path (logged and emitted), so no error is ever only stored.
        return facade._has_when_done

    def handle_timeout_exception(self) -> bool:  # no timeouts on this API; kept total
        facade = self._to_facade()
        facade._ended("failed", error=TaskTimeoutError(f"{facade.name} timed out"))
        return facade._has_when_done

    def message_changed(self, message: str) -> None:
        self._to_facade()._message_changed(message)

    def fraction_changed(self, fraction: float) -> None:
        self._to_facade()._progress_changed(fraction)

    def handle_event(self, name: str, data: Any) -> None:
        self._to_facade()._event(name, data)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_owner", None)
        state.pop("_listeners", None)
        state.pop("_facade", None)  # GUI-side: stays in this process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._facade = None


class FunctionJob(_Forwarding, BackgroundTask[Any, Any]):
    """``func(context, *args, **kwargs)`` on a thread or in a worker process."""

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        return self.func(lifecycle, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"<{_name(self.func)} job>"


class CoroutineJob(_Forwarding, AsyncBackgroundTask[Any, Any]):
    """``await coro(context, *args, **kwargs)`` on the asyncio executor's loop."""

    async def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        awaitable = self.func(lifecycle, *self.args, **self.kwargs)
        if not inspect.isawaitable(awaitable):
            raise TypeError(
                f"add_coroutine() needs an async function; {_name(self.func)}() returned "
                f"{type(awaitable).__name__}. Use run_thread() or run_process() for a plain function"
            )
        return await awaitable

    def __repr__(self) -> str:
        return f"<{_name(self.func)} coroutine job>"


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
