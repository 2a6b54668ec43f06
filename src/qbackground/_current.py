"""``current_lifecycle()``: the running task's lifecycle, for plain functions.

A ``ContextVar`` holds it while ``run()`` executes: each thread has its own context,
and an asyncio task its own copy, so two tasks running at once never see each other's.
Every backend sets it around ``run()`` with :func:`running`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from ._errors import TaskStateError

if TYPE_CHECKING:
    from ._lifecycle import TaskLifeCycle

__all__ = ["current_lifecycle", "current_lifecycle_var", "running"]

_current: ContextVar[TaskLifeCycle[Any] | None] = ContextVar("qbackground_lifecycle", default=None)

current_lifecycle_var = _current
"""The variable itself, for backends that set it without :func:`running` (asyncio sets
it while it creates a task, which copies the context)."""


def current_lifecycle() -> TaskLifeCycle[Any]:
    """The :class:`TaskLifeCycle` of the task running on this thread (or coroutine).

    Lets a plain function, run by :meth:`BackgroundWorker.submit` or called from a
    task's ``run()``, report progress and check for cancellation without being handed
    the lifecycle. Works on every backend: threads, asyncio, worker processes, Dask.

    Raises:
        TaskStateError: no qbackground task is running here (for example on the GUI
            thread, or on a thread you started yourself).

    Example::

        from qbackground import current_lifecycle

        def count_lines(path):
            lifecycle = current_lifecycle()
            lines = 0
            with open(path) as f:
                for lines, _ in enumerate(f, 1):
                    if lines % 10_000 == 0:
                        lifecycle.publish(lines)   # raises once the task is cancelled
            return lines

        worker.submit(count_lines, "big.csv", on_result=print)
    """
    lifecycle = _current.get()
    if lifecycle is None:
        raise TaskStateError(
            "current_lifecycle() called outside a running task: call it from a function "
            "that worker.submit() runs, or from a task's run()"
        )
    return lifecycle


@contextmanager
def running(lifecycle: TaskLifeCycle[Any]) -> Iterator[None]:
    """Make ``lifecycle`` the current one for the duration of ``run()`` (backends)."""
    token = _current.set(lifecycle)
    try:
        yield
    finally:
        _current.reset(token)
