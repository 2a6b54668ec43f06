"""The way tasks get into a worker: ``handle()``, ``submit()``, ``group()`` and
``active_handler()`` (a task, a function or a key in; handlers out).

A mixin of :class:`BackgroundWorker` (listed in its bases, before ``QObject``): plain
Python, no state of its own; it uses the worker's executors, keys and link, which
``BackgroundWorker.__init__`` sets up.
"""

from __future__ import annotations

import inspect

from collections.abc import Callable, Coroutine, Hashable, Mapping
from datetime import timedelta
from threading import get_ident
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, cast, overload

from qtpy.QtWidgets import QWidget

from ._async import AsyncBackgroundTask
from ._errors import IllegalConcurrentAccessError
from ._function_task import check_sendable, make_function_task
from ._group import TaskGroup
from ._handler import BackgroundTaskHandler
from ._keys import Policy, check_key_options
from ._retry import Retry
from ._task import TaskBase
from .backends import Executor

if TYPE_CHECKING:
    from ._keys import KeyedJobs
    from ._worker import BackgroundWorker
    from ._worker_link import WorkerLink
    from .backends import AsyncioExecutor, ThreadExecutor

__all__ = ["SubmitMixin"]

V = TypeVar("V")
Ts = TypeVarTuple("Ts")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class SubmitMixin:
    """``BackgroundWorker.handle()``, ``submit()``, ``group()``, ``active_handler()``."""

    if TYPE_CHECKING:  # set by BackgroundWorker.__init__
        _link: WorkerLink
        _threads: ThreadExecutor
        _asyncio: AsyncioExecutor
        _executors: dict[str, Executor]
        _keys: KeyedJobs
        _task_kinds: dict[type, bool]

    def handle(
        self,
        task: TaskBase[Any, V],
        *,
        executor: str | Executor | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
    ) -> BackgroundTaskHandler[V]:
        """Prepare ``task`` for execution and return its handler (GUI thread).

        ``executor`` picks where ``run()`` executes: ``"thread"`` (the default),
        ``"process"`` (worker processes, no GIL), ``"asyncio"`` (the default for an
        ``AsyncBackgroundTask``), or an :class:`~qbackground.backends.Executor` object.

        Calls the task's ``get_params()`` once, here, and binds its owner.

        ``key`` names a job (any hashable; see :meth:`active_handler`); ``policy`` says
        what ``execute()`` does while a handler with that key is alive: ``"replace"``
        cancels it (its ``canceled()`` runs) and starts this one; ``"queue"`` waits
        (``QUEUED``) until its ``run()`` has really stopped, a newer one replacing a
        waiting one (an idle key starts at the next turn of the event loop, so the
        executes of one turn coalesce to the last); ``"parallel"`` only names the job.
        ``debounce=s`` starts only once ``s`` seconds passed with no newer ``execute()``
        for the key (each superseded handler ends ``CANCELLED``); the timeout counts
        from the real start.

        Raises:
            IllegalConcurrentAccessError: called off the GUI thread.
            TypeError: ``task`` is not a ``BackgroundTask`` or ``AsyncBackgroundTask``, or
                ``executor`` is neither
                a name nor an ``Executor``.
            ValueError: ``executor`` names no known backend; an unknown ``policy``; a
                negative ``debounce``, or one without a ``key``.
            TypeError: the executor cannot run this kind of task (an
                ``AsyncBackgroundTask`` on ``"process"``, a plain task on ``"asyncio"``).
            TaskStateError: the worker was shut down.

        Example::

            handler = worker.handle(MyTask())
            handler.execute()

            # a slider: the newest value wins, started once the drag pauses for 0.2 s
            worker.handle(Preview(value), key="preview", debounce=0.2).execute()
        """
        if get_ident() != self._link.gui_ident:
            raise IllegalConcurrentAccessError(
                "BackgroundWorker.handle() must be called on the GUI thread; "
                "use UIAccessor.access() to start work from another thread"
            )
        # Whether the task's class is async, checked once per class: ABC isinstance()
        # checks cost about a microsecond each on this hot path.
        is_async = self._task_kinds.get(type(task))
        if is_async is None:
            is_async = self._task_kind(task)
        if executor is None:
            # The default is always the right kind: no check_task() needed.
            runner: Executor = self._asyncio if is_async else self._threads
        else:
            runner = self._executor_for(executor)
            runner.check_task(task)
        self._link.check_open()
        params = task.get_params()
        if params is None:
            frozen = _EMPTY
        elif isinstance(params, Mapping):
            frozen = MappingProxyType(dict(params))
        else:
            raise TypeError(
                f"{type(task).__name__}.get_params() must return a Mapping or None, "
                f"not {type(params).__name__}"
            )
        handler = BackgroundTaskHandler(self._link, task, runner, frozen)
        if key is not None or policy != "replace" or debounce is not None:
            seconds = check_key_options(key, policy, debounce)
            if key is not None:
                handler._gate = self._keys.gate(key, policy, seconds)
        return handler

    def group(
        self, *, owner: QWidget | None = None, fail_fast: bool = False, max_parallel: int | None = None
    ) -> TaskGroup[Any]:
        """A :class:`TaskGroup`: handlers followed, bounded and cancelled together (GUI thread).

        Example::

            group = worker.group(owner=window, fail_fast=True, max_parallel=4)
            for path in paths:
                group.handle(ImportFile(path)).execute()

        Raises:
            TypeError, ValueError: a bad ``owner``, ``fail_fast`` or ``max_parallel``.
        """
        self._link.check_ui_access()
        self._link.check_open()
        worker = cast("BackgroundWorker", self)  # this mixin is only ever a worker
        return TaskGroup(worker, self._link, owner=owner, fail_fast=fail_fast, max_parallel=max_parallel)

    def active_handler(self, key: Hashable) -> BackgroundTaskHandler[Any] | None:
        """The alive handler executed with ``key`` (the newest), or None (GUI thread).

        Example::

            running = worker.active_handler("preview")
            if running is not None:
                running.cancel()
        """
        return self._keys.active(key)

    def _task_kind(self, task: object) -> bool:
        """Validate ``task`` (TypeError if it is not one); True for an async task."""
        if not isinstance(task, TaskBase):
            if isinstance(task, type) and issubclass(task, TaskBase):
                raise TypeError(
                    f"handle() takes a task instance, not the class {task.__name__}: "
                    f"write handle({task.__name__}(...))"
                )
            raise TypeError(
                f"handle() takes a BackgroundTask instance, not {type(task).__name__}; "
                "subclass BackgroundTask (or AsyncBackgroundTask) and implement run(lifecycle)"
            )
        if len(self._task_kinds) > 4096:  # classes made on the fly: keep it bounded
            self._task_kinds.clear()
        is_async = isinstance(task, AsyncBackgroundTask)
        if is_async and inspect.isasyncgenfunction(getattr(type(task), "run", None)):
            raise TypeError(
                f"{type(task).__name__}.run is an async generator, which cannot return a "
                "result: write 'async def run' without yield, publish progress with "
                "lifecycle.publish(...) and return the result (or subclass BackgroundTask "
                "and write a plain generator run(), whose yields are published)"
            )
        self._task_kinds[type(task)] = is_async
        return is_async

    @overload
    def submit(
        self,
        fn: Callable[[*Ts], Coroutine[Any, Any, V]],
        *args: *Ts,
        owner: QWidget | None = None,
        timeout: float | timedelta | None = None,
        executor: str | Executor | None = None,
        on_result: Callable[[V], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_progress: Callable[[list[Any]], object] | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
        retry: Retry | None = None,
    ) -> BackgroundTaskHandler[V]: ...

    @overload
    def submit(
        self,
        fn: Callable[[*Ts], V],
        *args: *Ts,
        owner: QWidget | None = None,
        timeout: float | timedelta | None = None,
        executor: str | Executor | None = None,
        on_result: Callable[[V], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_progress: Callable[[list[Any]], object] | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
        retry: Retry | None = None,
    ) -> BackgroundTaskHandler[V]: ...

    # mypy wrongly reports that an implementation taking *args: Any does not accept
    # the overloads' *args: *Ts (a known TypeVarTuple limitation); the calls are checked.
    def submit(  # type: ignore[misc]
        self,
        fn: Callable[..., Any],
        *args: Any,
        owner: QWidget | None = None,
        timeout: float | timedelta | None = None,
        executor: str | Executor | None = None,
        on_result: Callable[[Any], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_progress: Callable[[list[Any]], object] | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
        retry: Retry | None = None,
    ) -> BackgroundTaskHandler[Any]:
        """Run ``fn(*args)`` in the background now; its news comes back on the GUI thread.

        The simple way in (Jmix's ``UiAsyncTasks``, ``concurrent.futures``' ``submit``):
        no task class to write, and every guarantee a :class:`BackgroundTask` has —
        exactly one ending, owner binding, timeouts, cancel, ``get_result()``,
        ``await`` and ``future()`` on the returned handler — on every backend. An
        ``async def`` ``fn`` runs on ``"asyncio"`` unless ``executor`` says otherwise;
        for ``"process"`` and Dask, ``fn`` must be a module-level function (or a
        ``functools.partial`` of one) and the arguments picklable. Keywords for ``fn``
        travel in a ``functools.partial``: the keywords here are the options.

        Inside ``fn``, :func:`~qbackground.current_lifecycle` gives the task's
        lifecycle: ``publish()`` items for ``on_progress``, ``is_cancelled()``,
        ``sleep()``.

        Args:
            owner: a widget whose window closing interrupts the task silently.
            timeout: seconds from now; ``None`` or ``0`` for no limit.
            executor: as for :meth:`handle`.
            on_result: ``on_result(value)`` on the GUI thread when ``fn`` returned.
            on_error: ``on_error(exc)`` on the GUI thread when ``fn`` raised, or with a
                ``TaskTimeoutError`` when the timeout expired; without it an error goes
                to :attr:`unhandled_exception` (a timeout to :attr:`task_timed_out`).
            on_progress: ``on_progress(items)`` on the GUI thread, about once a frame,
                with what ``fn`` published.
            key: names the job, as for :meth:`handle` (``submit(fn, x,
                key="preview", debounce=0.2)``: the newest call wins).
            policy: ``"replace"``, ``"queue"`` or ``"parallel"``, as for :meth:`handle`.
            debounce: seconds with no newer call before the start, as for :meth:`handle`.
            retry: a :class:`~qbackground.Retry` policy: a failure of one of its types
                calls ``fn`` again after a backoff; ``on_error`` gets the last failure.

        A cancel calls none of the three.

        Raises:
            TypeError: ``fn`` or a callback is not callable; ``fn`` or an argument
                cannot be sent to a worker process or cluster; an unknown keyword.
            IllegalConcurrentAccessError: called off the GUI thread.
            TaskStateError: the worker was shut down.

        Example::

            from functools import partial

            handler = worker.submit(
                partial(load_table, path, encoding="utf-8"),
                owner=window,
                timeout=30,
                on_result=table.set_rows,
                on_error=lambda exc: status.showMessage(str(exc)),
            )
            cancel_button.clicked.connect(handler.cancel)
        """
        task = make_function_task(
            fn,
            args,
            timeout=timeout,
            owner=owner,
            on_result=on_result,
            on_error=on_error,
            on_progress=on_progress,
            retry=retry,
        )
        if executor is not None:
            where = self._executor_for(executor)
            if where is not self._threads and where is not self._asyncio:
                check_sendable(fn, args, f"the {where.name} executor")
        handler = self.handle(task, executor=executor, key=key, policy=policy, debounce=debounce)
        handler.execute()
        return handler

    def executor(self, name: str) -> Executor:
        """The worker's backend called ``name`` (``"thread"``, ``"process"``,
        ``"asyncio"``, or one added with ``executors=``).

        For code layered over the worker that needs a backend itself (the tasker's
        ``task_mgr.loop`` is the asyncio backend's loop).

        Raises:
            ValueError: no backend has that name (the message lists the known ones).

        Example::

            loop = worker.executor("asyncio").loop  # an AsyncioExecutor
        """
        if not isinstance(name, str):
            raise TypeError(f"executor() takes a backend name, not {type(name).__name__}")
        return self._executor_for(name)

    def _executor_for(self, executor: str | Executor) -> Executor:
        if isinstance(executor, str):
            found = self._executors.get(executor)
            if found is None:
                raise ValueError(
                    f"unknown executor {executor!r}; known: {', '.join(sorted(self._executors))}"
                )
            return found
        if isinstance(executor, Executor):
            return executor
        raise TypeError(
            f"executor must be a backend name or an Executor, not {type(executor).__name__}"
        )
