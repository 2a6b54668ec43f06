"""The manager's ways to start a task: ``run_thread``, ``run_process``, ``add_coroutine``,
``add_task`` (a mixin of :class:`~qbackground.tasker.TaskManager`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .._errors import TaskStateError
from .._retry import Retry
from ._arguments import check_callables, pickle_call
from ._jobs import CoroutineJob, FunctionJob
from ._task import Task, WhenDone, WhenEvent

__all__ = ["StartingMixin"]

R = TypeVar("R")


class StartingMixin:
    """``run_thread``, ``run_process``, ``add_coroutine`` and ``add_task``."""

    _initializer: bytes | None

    def _submit(
        self,
        task: Task[Any],
        job: FunctionJob | CoroutineJob,
        when_event: WhenEvent | None,
        *,
        visible: bool = True,
    ) -> Task[Any]:
        raise NotImplementedError  # TaskManager's

    # -- starting ------------------------------------------------------------------------

    def run_thread(
        self,
        func: Callable[..., R],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """Run ``func(context, *args, **kwargs)`` on a worker thread.

        ``key``: a running task with the same key is cancelled first. ``when_done(task)``
        and ``when_event(task, name, data)`` run on the GUI thread. ``retry``: a
        :class:`~qbackground.Retry` policy; a failure of one of its types calls ``func``
        again after a backoff (``context.attempt`` counts the runs), and ``when_done``
        runs once, after the last attempt. ``key``, ``when_done``, ``when_event`` and
        ``retry`` are never passed to ``func``.

        Raises:
            TypeError: ``func``, ``when_done`` or ``when_event`` is not callable.

        Example::

            def load(context, path, *, limit=None):
                context.set_message(f"Reading {path}")
                return read_rows(path, limit)

            task_mgr.run_thread(load, "data.csv", limit=100, key="load")
        """
        check_callables(func, when_done, when_event)
        job = FunctionJob(func, args, kwargs, retry=retry)
        return self._submit(Task(func, *args, key=key, when_done=when_done, task_type="thread", **kwargs), job, when_event)

    def run_process(
        self,
        func: Callable[..., R],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        visible: bool = True,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """Run ``func(context, *args, **kwargs)`` in a worker process (no GIL).

        ``retry``: as for :meth:`run_thread`; a worker process that died running
        ``func`` (:class:`~qbackground.ProcessCrashedError`, in the default policy's
        ``on``) can be retried too, in a fresh process.

        ``visible=False`` (Rayforge's) keeps the task out of :attr:`tasks`,
        ``tasks_updated`` and the overall progress, and out of key replacement (find
        it by :attr:`Task.id`, cancel it with :meth:`cancel_task_by_id`); its
        callbacks run as usual. ``visible`` is never passed to ``func``.

        ``func`` and the arguments are pickled, once, here: ``func`` (and any function
        among the arguments) must be defined at module level of an importable module,
        and every argument must be picklable. Cancelling stops the function
        cooperatively (``context.is_cancelled()``), else its process is killed after
        the worker's ``process_grace``; ``when_done`` runs only once the process really
        stopped.

        Raises:
            TypeError: ``func``, ``when_done`` or ``when_event`` is not callable; or
                ``func`` or an argument cannot be pickled (a lambda, a local function,
                an open file...): the message names it (``func``, ``args[0]``, keyword
                argument ``'name'``), its type, why, and what to do.

        Example::

            def crunch(context, n):   # module level
                context.set_total(n)
                for i in range(n):
                    work(i)
                    context.set_progress(i + 1)
                return "done"

            task_mgr.run_process(crunch, 50, key="calculator")
        """
        check_callables(func, when_done, when_event)
        payload = pickle_call(func, args, kwargs)  # once, here: a bad argument fails now
        job = FunctionJob(func, (), {}, payload, self._initializer, retry=retry)
        task: Task[R] = Task(func, *args, key=key, when_done=when_done, task_type="process", **kwargs)
        return self._submit(task, job, when_event, visible=visible)

    def add_coroutine(
        self,
        coro: Callable[..., Coroutine[Any, Any, R]],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """Run ``await coro(context, *args, **kwargs)`` on qbackground's asyncio loop.

        Cancelling cancels the coroutine (``CancelledError`` at its next ``await``).
        ``retry``: as for :meth:`run_thread` (the coroutine function is called again).

        Raises:
            TypeError: ``coro`` is a coroutine object rather than the async function,
                or not callable.

        Example::

            async def fetch(context, url):
                context.set_message("Downloading…")
                await asyncio.sleep(2)
                context.set_progress(1.0)

            task_mgr.add_coroutine(fetch, "http://example.com", key="downloader")
        """
        if inspect.iscoroutine(coro):
            coro.close()  # never awaited: do not leave a "never awaited" warning behind
            raise TypeError(
                "add_coroutine() takes the async function and its arguments, "
                "add_coroutine(fetch, url), not a coroutine object: add_coroutine(fetch(url))"
            )
        check_callables(coro, when_done, when_event)
        job = CoroutineJob(coro, args, kwargs, retry=retry)
        return self._submit(Task(coro, *args, key=key, when_done=when_done, **kwargs), job, when_event)

    def add_task(self, task: Task[Any], when_done: WhenDone | None = None) -> None:
        """Run a :class:`Task` made with its public constructor, as ``add_coroutine`` does
        (``when_done``, if given, replaces the task's own).

        Raises:
            TypeError: not a Task, or its ``coro`` is not callable.
            TaskStateError: the task was already added to a manager.

        Example::

            task = Task(fetch, "http://example.com", key="downloader")
            task_mgr.add_task(task, when_done=on_done)
        """
        if not isinstance(task, Task):
            raise TypeError(f"add_task() takes a qbackground.tasker.Task, not {type(task).__name__}")
        if task._manager is not None or task._handler is not None or task.is_final():
            raise TaskStateError(f"{task!r} was already added to a manager; make a new Task")
        if when_done is not None:
            task.when_done_callback = when_done
        check_callables(task.coro, task.when_done_callback, None)
        self._submit(task, CoroutineJob(task.coro, task.args, task.kwargs), None)

