"""``Task.run(context)``: a task run on the running event loop, outside any manager."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ._signals import CancelledError

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["run_standalone"]


async def run_standalone(task: Task[Any], context: Any) -> None:
    """Run ``task.coro(context, *task.args, **task.kwargs)`` here, tracking the status
    as Rayforge's ``Task.run`` does (see :meth:`Task.run`)."""
    if task._cancel_requested:
        task._ending = "canceled"
        task._changed()
        raise CancelledError(f"{task.name} (key {task.key!r}) was cancelled before it started")
    task._running = True
    task._changed()
    task._task = asyncio.ensure_future(task.coro(context, *task.args, **task.kwargs))
    try:
        task._result = await task._task
    except asyncio.CancelledError:
        task._ending = "canceled"
        raise CancelledError(f"{task.name} (key {task.key!r}) was cancelled") from None
    except Exception as exc:
        task._ending = "failed"
        task._exception = exc
        raise
    else:
        task._ending = "completed"
        task._progress = 1.0
    finally:
        task._running = False
        task._task = None
        context.flush()
        if task._ending == "completed":
            task._progress = 1.0
        task._changed()
