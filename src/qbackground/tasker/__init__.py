"""Rayforge's function-style task API, served by qbackground's core.

``from qbackground.tasker import task_mgr`` and run plain functions and coroutines in the
background: ``run_thread``, ``run_process``, ``add_coroutine``, ``cancel_task(key)``,
the ``tasks_updated`` signal. Each function gets an ``ExecutionContext`` (the same
lifecycle object a ``BackgroundTask.run`` gets) as its first argument.

Example::

    from qbackground.tasker import task_mgr

    def my_thread_task(context, duration):
        context.set_message("Working in a thread...")
        time.sleep(duration)
        context.set_progress(1.0)
        return "Thread task finished"

    task_mgr.run_thread(my_thread_task, 2, key="thread_worker")
"""

from .._exports import public_module as _public_module
from ._context import TaskContext
from ._main_thread import CancelHandle
from ._manager import TaskManager
from ._proxy import AlreadyInitializedError, TaskManagerProxy, task_mgr
from ._signals import CancelledError, InvalidStateError, Signal
from ._task import Status, Task

ExecutionContext = TaskContext
"""Rayforge's name for the context a task function gets: :class:`TaskContext` (a
:class:`~qbackground.TaskLifeCycle` with Rayforge's progress rules and ``task``)."""

__all__ = [
    "AlreadyInitializedError",
    "CancelHandle",
    "CancelledError",
    "ExecutionContext",
    "InvalidStateError",
    "Signal",
    "Status",
    "Task",
    "TaskContext",
    "TaskManager",
    "TaskManagerProxy",
    "task_mgr",
]

_public_module(__name__, __all__, globals())
