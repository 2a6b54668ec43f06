"""qbackground: typed background tasks for Qt applications (PySide6 or PyQt6, through qtpy).

Example::

    from qbackground import BackgroundTask, TaskLifeCycle, background_worker

    class Sum(BackgroundTask[int, int]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> int:
            total = 0
            for i in range(100):
                total += i
                lifecycle.publish(i)
            return total

        def done(self, result: int) -> None:
            print("sum:", result)

    background_worker().handle(Sum()).execute()
"""

# first: it decides the Qt binding before anything imports qtpy (DESIGN §6)
from . import qt as _qt  # noqa: F401  # isort: skip
from ._accessor import UIAccessor
from ._async import AsyncBackgroundTask
from ._current import current_lifecycle
from ._default import background_worker
from ._errors import (
    IllegalConcurrentAccessError,
    ProcessCrashedError,
    QBackgroundError,
    TaskCancelledError,
    TaskInterruptedError,
    TaskQueueFullError,
    TaskStateError,
    TaskTimeoutError,
)
from ._exports import public_module as _public_module
from ._group import TaskGroup
from ._handler import BackgroundTaskHandler
from ._lifecycle import ExecutionContext, TaskLifeCycle
from ._listener import ProgressListener
from ._retry import Retry
from ._status import TaskStatus
from ._task import BackgroundTask
from ._worker import BackgroundWorker
from ._wrapper import BackgroundTaskWrapper

__all__ = [
    "AsyncBackgroundTask",
    "BackgroundTask",
    "BackgroundTaskHandler",
    "BackgroundTaskWrapper",
    "BackgroundWorker",
    "ExecutionContext",
    "IllegalConcurrentAccessError",
    "ProcessCrashedError",
    "ProgressListener",
    "QBackgroundError",
    "Retry",
    "TaskCancelledError",
    "TaskGroup",
    "TaskInterruptedError",
    "TaskLifeCycle",
    "TaskQueueFullError",
    "TaskStateError",
    "TaskStatus",
    "TaskTimeoutError",
    "UIAccessor",
    "background_worker",
    "current_lifecycle",
]

_public_module(__name__, __all__, globals())

__version__ = "0.2.0"
