"""Pictures of :mod:`qbackground.widgets` for the docs, taken offscreen with ``QWidget.grab()``.

Run ``QT_QPA_PLATFORM=offscreen python -m demo_app.widget_screenshots [FOLDER]``
(default folder: ``docs/images``). It writes ``widgets-progress-window.png``,
``widgets-work-window.png``, ``widgets-error.png``, ``widgets-timeout.png`` and
``widgets-status.png``, each showing a real task mid-run (or just after it failed).
"""

from __future__ import annotations

import linecache
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from time import monotonic, sleep
from types import FunctionType

from qbackground.qt import is_alive
from qtpy.QtWidgets import QApplication, QMainWindow, QMessageBox, QTableWidget, QTableWidgetItem, QWidget

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle
from qbackground.widgets import BackgroundWorkProgressWindow, BackgroundWorkWindow, TaskStatusWidget

__all__ = ["main"]

_DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "docs" / "images"


class _Paused(BackgroundTask[int, None]):
    """Reports ``step`` of ``steps`` (and a message, unless None), then waits until released."""

    def __init__(
        self,
        owner: QWidget,
        release: threading.Event,
        *,
        step: int,
        steps: int,
        message: str | None,
        fraction: bool = False,
    ) -> None:
        super().__init__(owner=owner)
        self.release = release
        self.step = step
        self.steps = steps
        self.message = message
        self.fraction = fraction
        self.calls_seen = 0  # progress() calls (GUI thread)

    def progress(self, changes: list[int]) -> None:
        self.calls_seen += 1

    def run(self, lifecycle: TaskLifeCycle[int]) -> None:
        if self.message is not None:
            lifecycle.set_message(self.message)
        if self.fraction:
            lifecycle.set_total(self.steps)
            lifecycle.set_progress(self.step)
        lifecycle.publish(self.step)
        while not self.release.wait(0.02):
            lifecycle.is_interrupted()
            if lifecycle.is_cancelled():
                return


class _Broken(BackgroundTask[int, None]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> None:
        rows = {"id": 17, "name": "Ada"}
        raise KeyError(f"column 'email' is missing in row {rows['id']} of customers.csv")


_BROKEN_FILE = "import_customers.py"
"""The file name the error picture's traceback shows for ``_Broken.run`` instead of the
path of this file on the machine that took the picture (the source lines stay known)."""


def _relabel(function: FunctionType, filename: str) -> None:
    function.__code__ = function.__code__.replace(co_filename=filename)
    linecache.cache[filename] = (0, None, linecache.getlines(__file__), filename)


_relabel(vars(_Broken)["run"], _BROKEN_FILE)


class _Slow(BackgroundTask[int, None]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> None:
        lifecycle.sleep(30)


def _wait(app: QApplication, until: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    end = monotonic() + timeout
    while not until():
        if monotonic() > end:
            raise TimeoutError(f"gave up waiting for {what}")
        app.processEvents()
        sleep(0.01)
    app.processEvents()


def _save(widget: QWidget, path: Path) -> None:
    pixmap = widget.grab()
    if pixmap.isNull() or not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not save {path}")
    print(f"saved {path} ({pixmap.width()}×{pixmap.height()})")


def _open_box(app: QApplication) -> QMessageBox | None:
    for widget in app.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            return widget
    return None


def _customers_table() -> QTableWidget:
    rows = [
        ("Ada Lovelace", "London", "ada@example.org"),
        ("Grace Hopper", "New York", "grace@example.org"),
        ("Alan Turing", "Wilmslow", "alan@example.org"),
        ("Edsger Dijkstra", "Nuenen", "edsger@example.org"),
        ("Barbara Liskov", "Boston", "barbara@example.org"),
    ]
    table = QTableWidget(len(rows), 3)
    table.setHorizontalHeaderLabels(["Name", "City", "E-mail"])
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(value))
    table.horizontalHeader().setStretchLastSection(True)
    table.resizeColumnsToContents()
    return table


def main(argv: list[str] | None = None) -> int:
    """Take every picture; returns the exit code.

    Example::

        raise SystemExit(main(["docs/images"]))
    """
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else _DEFAULT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    worker = BackgroundWorker(threads=8)
    main_window = QMainWindow()
    main_window.setWindowTitle("Customers")
    main_window.setCentralWidget(_customers_table())
    main_window.resize(640, 360)
    main_window.show()
    release = threading.Event()
    try:
        # The progress window, with an estimate of the time left.
        task = _Paused(main_window, release, step=420, steps=1000, message="Importing customers.csv…")
        progress = BackgroundWorkProgressWindow.show(
            task, title="Import", total=1000, cancel_allowed=True, worker=worker
        )
        _wait(app, lambda: "left" in progress.time_label.text(), "an estimate of the time left")
        _save(progress, folder / "widgets-progress-window.png")
        progress.cancel()

        # The work window: no count, CUBA's default message and a busy bar.
        task = _Paused(main_window, release, step=0, steps=1, message=None)
        window = BackgroundWorkWindow.show(task, worker=worker)
        _wait(app, lambda: task.calls_seen > 0, "the task to start")
        _save(window, folder / "widgets-work-window.png")
        release.set()
        _wait(app, lambda: not is_alive(window) or not window.isVisible(), "the work window to close")
        release.clear()

        # An unhandled error, with its details open.
        BackgroundWorkWindow.show(_Broken(owner=main_window), title="Import", worker=worker)
        _wait(app, lambda: _open_box(app) is not None, "the error dialog")
        box = _open_box(app)
        assert box is not None
        for button in box.buttons():
            if box.buttonRole(button) == QMessageBox.ButtonRole.ActionRole:
                button.click()  # "Show Details…"
        _wait(app, lambda: True, "the details")
        _save(box, folder / "widgets-error.png")
        box.accept()

        # An unhandled timeout.
        BackgroundWorkWindow.show(_Slow(timeout=0.3, owner=main_window), title="Export", worker=worker)
        _wait(app, lambda: _open_box(app) is not None, "the timeout warning")
        box = _open_box(app)
        assert box is not None
        _save(box, folder / "widgets-timeout.png")
        box.accept()

        # The status bar following three tasks.
        status = TaskStatusWidget(worker)
        main_window.statusBar().addPermanentWidget(status)
        messages = ["Uploading invoices (12 of 40)", "Indexing customers.csv", "Rendering report"]
        for index, message in enumerate(messages):
            task = _Paused(main_window, release, step=[12, 30, 75][index], steps=100, message=message, fraction=True)
            worker.handle(task).execute()
        _wait(
            app,
            lambda: status.running_count == 3 and all(h.fraction is not None for h in worker.active_handlers()),
            "three tasks with their progress",
        )
        _wait(app, lambda: status.latest_message is not None, "a message")
        _save(main_window, folder / "widgets-status.png")
        status.cancel_all()
        return 0
    finally:
        release.set()
        worker.shutdown(timeout=5)
        main_window.close()
        app.processEvents()


if __name__ == "__main__":
    raise SystemExit(main())
