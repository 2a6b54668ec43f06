"""Static typing contract of ``qbackground.widgets`` and the wrapper (mypy --strict).

Checked by tests/test_widgets_units.py. A window returned by ``show()``/``open()`` has
its handler: ``window.handler`` is a ``BackgroundTaskHandler``, not an Optional, so no
``assert window.handler is not None`` is needed under ``--strict``. Lines marked
``# type: ignore[code]`` must be errors (``warn_unused_ignores`` is on). Never executed.
"""

from __future__ import annotations

from typing import Any, assert_type

from qtpy.QtWidgets import QMainWindow

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundTaskWrapper,
    BackgroundWorker,
    TaskLifeCycle,
    TaskStatus,
)
from qbackground.widgets import BackgroundTaskDialog, BackgroundWorkProgressWindow, BackgroundWorkWindow


class Import(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        lifecycle.publish(1)
        lifecycle.publish()  # a heartbeat is well typed
        return "ok"


def windows(owner: QMainWindow) -> None:
    window = BackgroundWorkWindow.show(Import(owner=owner), "Import", cancel_allowed=True)
    assert_type(window.handler, BackgroundTaskHandler[Any])
    status: TaskStatus = window.handler.status  # no assert needed
    window.handler.cancel()
    progress = BackgroundWorkProgressWindow.show(Import(owner=owner), total=10, percent_progress=True)
    assert_type(progress, BackgroundWorkProgressWindow)
    progress.handler.report_fraction(0.5)
    built = BackgroundTaskDialog(Import()).with_total(10).open()
    assert_type(built, BackgroundWorkWindow)
    if built.handler.is_alive():
        built.handler.cancel()
    print(status)


def wrapper(worker: BackgroundWorker) -> None:
    restartable: BackgroundTaskWrapper[int, str] = BackgroundTaskWrapper(Import(), worker, executor="process")
    assert_type(restartable.restart(), BackgroundTaskHandler[str])
    assert_type(restartable.restart(executor="thread"), BackgroundTaskHandler[str])
    BackgroundTaskWrapper(Import(), worker, executor=5)  # type: ignore[arg-type]
    BackgroundTaskWrapper(Import(), worker, "process")  # type: ignore[call-arg]
