"""Progress windows and a status-bar widget for qbackground tasks.

CUBA's background work windows, a Jmix-style builder for them, and a status-bar widget
that follows every running task of a worker. Importing ``qbackground`` does not import
this package.

Example::

    from qbackground.widgets import BackgroundWorkProgressWindow, TaskStatusWidget

    BackgroundWorkProgressWindow.show(ImportTask(owner=window), total=500, cancel_allowed=True)
    window.statusBar().addPermanentWidget(TaskStatusWidget())
"""

from .._exports import public_module as _public_module
from ._builder import BackgroundTaskDialog
from ._close_guard import CloseGuard
from ._eta import RemainingTimeEstimator
from ._progress_window import BackgroundWorkProgressWindow
from ._session import TaskEnding
from ._status import TaskStatusWidget
from ._window import BackgroundWorkWindow

__all__ = [
    "BackgroundTaskDialog",
    "BackgroundWorkProgressWindow",
    "BackgroundWorkWindow",
    "CloseGuard",
    "RemainingTimeEstimator",
    "TaskEnding",
    "TaskStatusWidget",
]

_public_module(__name__, __all__, globals())
