"""The process-wide default worker (CUBA's ``AppBeans.get(BackgroundWorker.class)``)."""

from __future__ import annotations

import threading

from .qt import is_alive
from qtpy.QtCore import QCoreApplication

from ._worker import BackgroundWorker

__all__ = ["background_worker"]

_lock = threading.Lock()
_worker: BackgroundWorker | None = None


def background_worker() -> BackgroundWorker:
    """The application's default :class:`BackgroundWorker`, created on first use.

    Call it first on the GUI thread after the ``QApplication`` exists. It is shut down
    when the application quits; a later application gets a fresh one.

    Example::

        from qbackground import background_worker

        background_worker().handle(MyTask(owner=self)).execute()
    """
    global _worker
    with _lock:
        worker = _worker
        app = QCoreApplication.instance()
        if (
            worker is None
            or not is_alive(worker)
            or worker.is_shut_down
            or (app is not None and worker.thread() is not app.thread())
        ):
            worker = _worker = BackgroundWorker()
        return worker
