"""The tasks behind ``run_thread``, ``run_process`` and ``add_coroutine``.

Each wraps the user's function and its arguments in a core task, so the function-style
API gets the core's guarantees (exactly one ending, coalesced progress, cancel, process
isolation) without a second engine. The GUI-side callbacks forward to the :class:`Task`
the caller holds; that link is not pickled to a worker process, and is dropped once the
task is over (the task holds the handler, which holds the job: a cycle otherwise).
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._async import AsyncBackgroundTask
from .._errors import QBackgroundError, TaskTimeoutError
from .._lifecycle import TaskLifeCycle
from .._retry import Retry
from .._task import BackgroundTask
from ._context import TaskContext

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["CoroutineJob", "FunctionJob"]


class _Forwarding:
    """The GUI-thread callbacks of both job kinds: hand everything to the ``Task``.

    ``payload``: for a process job, ``(func, args, kwargs)`` already pickled (at the
    ``run_process()`` call, where a bad argument must fail): the job sends those bytes
    instead of pickling the function and its arguments a second time, and unpickles
    them in the worker process.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        payload: bytes | None = None,
        initializer: bytes | None = None,
        *,
        retry: Retry | None = None,
    ) -> None:
        # The task base class (next in the MRO of both job kinds).
        super().__init__(retry=retry)  # type: ignore[call-arg]
        self.func: Callable[..., Any] | None = func
        self.args = args
        self.kwargs = kwargs
        self._payload = payload
        self._initializer = initializer  # (initializer, initargs, shared_state), pickled
        self._name = _name(func)
        # GUI side only, and only until the task is over (Task._detach drops it).
        self._facade: Task[Any] | None = None

    def _context(self, lifecycle: TaskLifeCycle[Any]) -> TaskContext:
        """The Rayforge context around the core lifecycle (``task`` only in this process)."""
        return TaskContext(lifecycle, task=self._facade, remote=self._payload is not None)

    def _call_parts(self) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        """The function and its arguments (in a worker process: from the payload)."""
        func = self.func
        if func is None:
            assert self._payload is not None
            try:
                func, self.args, self.kwargs = pickle.loads(self._payload)
            except Exception as exc:
                raise QBackgroundError(
                    f"run_process(): {self._name} or its arguments could not be unpickled in "
                    f"the worker process ({type(exc).__name__}: {exc}); define the function and "
                    "the classes of its arguments at module level in a module the worker can import"
                ) from None
            self.func = func
        return func, self.args, self.kwargs

    # The callbacks below run on the GUI thread, on the job the caller's Task holds.
    # Once the task is over its facade is gone and nothing is left to tell.

    def done(self, result: Any) -> None:
        facade = self._facade
        if facade is not None:
            facade._ended("completed", result=result)

    def canceled(self) -> None:
        facade = self._facade
        if facade is not None:
            facade._ended("canceled")

    def handle_exception(self, exc: BaseException) -> bool:
        facade = self._facade
        if facade is None:
            return False
        facade._ended("failed", error=exc)
        # Handled when somebody will look at it; else it takes the worker's unhandled
        # path (logged and emitted), so no error is ever only stored.
        return facade._has_when_done

    def handle_timeout_exception(self) -> bool:  # no timeouts on this API; kept total
        facade = self._facade
        if facade is None:
            return False
        facade._ended("failed", error=TaskTimeoutError(f"{facade.name} timed out"))
        return facade._has_when_done

    def message_changed(self, message: str) -> None:
        facade = self._facade
        if facade is not None:
            facade._message_changed(message)

    def fraction_changed(self, fraction: float) -> None:
        facade = self._facade
        if facade is not None:
            facade._progress_changed(fraction)

    def handle_event(self, name: str, data: Any) -> None:
        facade = self._facade
        if facade is not None:
            facade._event(name, data)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_owner", None)
        state.pop("_listeners", None)
        state.pop("_facade", None)  # GUI-side: stays in this process
        if state.get("_payload") is not None:  # already pickled: send only the bytes
            state["func"], state["args"], state["kwargs"] = None, (), {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._facade = None


class FunctionJob(_Forwarding, BackgroundTask[Any, Any]):
    """``func(context, *args, **kwargs)`` on a thread or in a worker process."""

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        func, args, kwargs = self._call_parts()
        if self._initializer is not None:
            _initialize_process(self._initializer)
        context = self._context(lifecycle)
        result = func(context, *args, **kwargs)
        if not lifecycle.is_interrupted():
            context._send_pending()  # the latest throttled progress, before the result
        return result

    def __repr__(self) -> str:
        return f"<{self._name} job>"


class CoroutineJob(_Forwarding, AsyncBackgroundTask[Any, Any]):
    """``await coro(context, *args, **kwargs)`` on the asyncio executor's loop."""

    async def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        func, args, kwargs = self._call_parts()
        context = self._context(lifecycle)
        awaitable = func(context, *args, **kwargs)
        if not inspect.isawaitable(awaitable):
            raise TypeError(
                f"add_coroutine() needs an async function; {self._name}() returned "
                f"{type(awaitable).__name__}. Use run_thread() or run_process() for a plain function"
            )
        result = await awaitable
        if not lifecycle.is_interrupted():
            context._send_pending()
        return result

    def __repr__(self) -> str:
        return f"<{self._name} coroutine job>"


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


_INITIALIZED: set[bytes] = set()
"""The worker initializers that already ran in this (worker) process."""


def _initialize_process(payload: bytes) -> None:
    """Run ``initializer(shared_state, *initargs)`` once per worker process (Rayforge's
    ``worker_initializer``), before the first task of the manager that has it. If it
    raises, the task fails with its exception and the next task tries again."""
    if payload in _INITIALIZED:
        return
    initializer, initargs, shared_state = pickle.loads(payload)
    initializer(shared_state, *initargs)
    _INITIALIZED.add(payload)
