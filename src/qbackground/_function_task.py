"""Function tasks: what ``BackgroundWorker.submit(fn, *args, ...)`` runs.

A plain function (or an ``async def`` one) wrapped in a task, so it gets every
guarantee a :class:`BackgroundTask` has. The GUI-thread callbacks given to
``submit()`` stay on the GUI side: they are not pickled when the task goes to a
worker process or a Dask cluster, where only ``fn`` and its arguments travel.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Generic, TypeVar

from ._async import AsyncBackgroundTask
from ._errors import TaskTimeoutError
from ._lifecycle import TaskLifeCycle
from ._retry import Retry
from ._task import BackgroundTask, TaskBase

__all__ = ["AsyncFunctionTask", "FunctionTask", "function_name", "make_function_task"]

V = TypeVar("V")

OnResult = Callable[[Any], object]
OnError = Callable[[BaseException], object]
OnProgress = Callable[[list[Any]], object]

# What never crosses to a worker process: the callbacks run on the GUI thread, on
# the original task object.
_GUI_ONLY = ("_on_result", "_on_error", "_on_progress")


def function_name(fn: object) -> str:
    """A readable name for ``fn`` (a ``partial`` shows the function it wraps)."""
    while isinstance(fn, partial):
        fn = fn.func
    return getattr(fn, "__qualname__", None) or type(fn).__name__


class _Callbacks(Generic[V]):
    """The GUI-thread half shared by both function task kinds."""

    _fn: Callable[..., Any]
    _args: tuple[Any, ...]
    _on_result: OnResult | None
    _on_error: OnError | None
    _on_progress: OnProgress | None

    def _setup(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        on_result: OnResult | None,
        on_error: OnError | None,
        on_progress: OnProgress | None,
    ) -> None:
        self._fn = fn
        self._args = args
        self._on_result = on_result
        self._on_error = on_error
        self._on_progress = on_progress

    @property
    def fn(self) -> Callable[..., Any]:
        """The function this task runs."""
        return self._fn

    @property
    def args(self) -> tuple[Any, ...]:
        """The positional arguments it gets."""
        return self._args

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {function_name(self._fn)}>"

    def done(self, result: V) -> None:
        if self._on_result is not None:
            self._on_result(result)

    def progress(self, changes: list[Any]) -> None:
        if self._on_progress is not None:
            self._on_progress(changes)

    def handle_exception(self, exc: BaseException) -> bool:
        if self._on_error is None:
            return False  # to BackgroundWorker.unhandled_exception
        self._on_error(exc)
        return True

    def handle_timeout_exception(self) -> bool:
        if self._on_error is None:
            return False  # to BackgroundWorker.task_timed_out
        timeout = getattr(self, "timeout", None)
        self._on_error(TaskTimeoutError(f"{function_name(self._fn)} timed out after {timeout} s"))
        return True

    def _picklable_state(self, state: dict[str, Any]) -> dict[str, Any]:
        for name in _GUI_ONLY:
            state[name] = None
        return state


class FunctionTask(_Callbacks[V], BackgroundTask[Any, V]):
    """``fn(*args)`` as a :class:`BackgroundTask` (what :meth:`BackgroundWorker.submit`
    makes for a plain function). Progress items are whatever ``fn`` publishes through
    :func:`~qbackground.current_lifecycle`.

    Example::

        task = FunctionTask(sum, ([1, 2, 3],), on_result=print)
        worker.handle(task).execute()
    """

    def __init__(
        self,
        fn: Callable[..., V],
        args: tuple[Any, ...] = (),
        *,
        timeout: Any = None,
        owner: Any = None,
        on_result: OnResult | None = None,
        on_error: OnError | None = None,
        on_progress: OnProgress | None = None,
        retry: Retry | None = None,
    ) -> None:
        super().__init__(timeout=timeout, owner=owner, retry=retry)
        self._setup(fn, args, on_result, on_error, on_progress)

    def run(self, lifecycle: TaskLifeCycle[Any]) -> V:
        result: V = self._fn(*self._args)
        return result

    def __getstate__(self) -> dict[str, Any]:
        return self._picklable_state(super().__getstate__())


class AsyncFunctionTask(_Callbacks[V], AsyncBackgroundTask[Any, V]):
    """``await fn(*args)`` as an :class:`AsyncBackgroundTask` (what
    :meth:`BackgroundWorker.submit` makes for an ``async def`` function).

    Example::

        async def fetch(url):
            ...

        worker.handle(AsyncFunctionTask(fetch, ("https://example.org",))).execute()
    """

    def __init__(
        self,
        fn: Callable[..., Awaitable[V]],
        args: tuple[Any, ...] = (),
        *,
        timeout: Any = None,
        owner: Any = None,
        on_result: OnResult | None = None,
        on_error: OnError | None = None,
        on_progress: OnProgress | None = None,
        retry: Retry | None = None,
    ) -> None:
        super().__init__(timeout=timeout, owner=owner, retry=retry)
        self._setup(fn, args, on_result, on_error, on_progress)

    async def run(self, lifecycle: TaskLifeCycle[Any]) -> V:
        result: V = await self._fn(*self._args)
        return result

    def __getstate__(self) -> dict[str, Any]:
        return self._picklable_state(super().__getstate__())


def _is_async(fn: object) -> bool:
    while isinstance(fn, partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


def check_sendable(fn: object, args: tuple[Any, ...], where: str) -> None:
    """Raise ``TypeError`` naming ``fn`` or the argument that cannot be pickled, for
    a function going to a worker process or a cluster."""
    for label, value in (("fn", fn), *((f"args[{i}]", arg) for i, arg in enumerate(args))):
        try:
            pickle.dumps(value)
        except Exception as exc:
            name = function_name(value) if label == "fn" else type(value).__name__
            hint = (
                "a lambda or a function defined inside another cannot be sent: define it at "
                "module level (keywords go in a functools.partial of a module-level function)"
                if label == "fn" or callable(value)
                else "pass something picklable instead (plain data, or a path to load from)"
            )
            raise TypeError(f"submit(): {label} ({name}) cannot be sent to {where}: {exc}; {hint}") from exc


def make_function_task(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    timeout: Any,
    owner: Any,
    on_result: OnResult | None,
    on_error: OnError | None,
    on_progress: OnProgress | None,
    retry: Retry | None = None,
) -> TaskBase[Any, Any]:
    """The task ``submit()`` runs: async for an ``async def`` ``fn``, else plain.

    Raises:
        TypeError: ``fn`` or a callback is not callable.
    """
    if not callable(fn):
        raise TypeError(
            f"submit() takes a function first, not {type(fn).__name__}; "
            "write worker.submit(fn, arg1, arg2, on_result=...)"
        )
    for label, callback in (("on_result", on_result), ("on_error", on_error), ("on_progress", on_progress)):
        if callback is not None and not callable(callback):
            raise TypeError(f"submit(): {label} must be callable or None, not {type(callback).__name__}")
    kind: type[FunctionTask[Any]] | type[AsyncFunctionTask[Any]]
    kind = AsyncFunctionTask if _is_async(fn) else FunctionTask
    return kind(
        fn,
        args,
        timeout=timeout,
        owner=owner,
        on_result=on_result,
        on_error=on_error,
        on_progress=on_progress,
        retry=retry,
    )
