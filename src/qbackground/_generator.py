"""Generator tasks (DESIGN §11): a ``run()`` written as a generator.

Each value it yields is published, and each ``yield`` is a checkpoint: a task that
was cancelled, timed out, lost its owner or was shut down stops there. The generator
is then closed, so its ``finally`` blocks run, and its ``return`` value is the
result. Every backend that runs ``run()`` itself (the thread pool, a worker process,
a Dask worker) drives it here, so they behave alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from types import GeneratorType
from typing import Any, TypeVar

from ._errors import TaskInterruptedError
from ._lifecycle import TaskLifeCycle

__all__ = ["checkpoint_at_yield", "drive_generator", "run_task_body"]

T = TypeVar("T")


def checkpoint_at_yield(lifecycle: TaskLifeCycle[T], item: T) -> None:
    """What one ``yield item`` of a generator ``run()`` does, in the task's thread.

    The one place a yield meets the lifecycle: publish the item (``publish()`` raises
    :class:`TaskInterruptedError` once the task was interrupted), then check for a
    cancel. A pause-aware ``lifecycle.checkpoint()`` (blocking while paused) belongs
    here too, and only here.
    """
    lifecycle.publish(item)
    if lifecycle.is_cancelled():  # pragma: no cover - publish() raised already
        raise TaskInterruptedError("the task was cancelled")


def drive_generator(task: Any, value: Any, lifecycle: TaskLifeCycle[Any]) -> Any:
    """``value`` is what ``task.run(lifecycle)`` returned: if ``run`` is a generator
    function, run the generator to its end and return its return value; else return
    ``value`` as it is (a result that happens to be a generator stays one).

    On any exception (a checkpoint's :class:`TaskInterruptedError`, or the generator's
    own) the generator is closed, so its ``finally`` blocks run, and the exception
    propagates.
    """
    if not inspect.isgeneratorfunction(task.run):
        return value
    generator: Generator[Any, None, Any] = value
    send = generator.send
    try:
        while True:
            try:
                item = send(None)
            except StopIteration as stop:
                return stop.value
            checkpoint_at_yield(lifecycle, item)
    finally:
        generator.close()


def run_task_body(task: Any, lifecycle: TaskLifeCycle[Any]) -> Any:
    """``task.run(lifecycle)``, driving a generator ``run()`` to its result (for the
    backends that run a task outside the handler: a worker process, a Dask worker).

    Example::

        with running_task(lifecycle):
            value = run_task_body(task, lifecycle)
    """
    value = task.run(lifecycle)
    if type(value) is GeneratorType:
        value = drive_generator(task, value, lifecycle)
    return value
