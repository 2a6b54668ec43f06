"""The windows of the "Owner window" page, and the task each one owns.

:class:`ReportWindow` (a ``QWidget`` top-level window) and :class:`ReportDialog` (a
modeless ``QDialog``) each run a :class:`ReportTask` created with ``owner=`` the window;
an :class:`OwnerRun` records what happened to it. The task's callbacks touch its window,
so one running after the window was deleted would raise: the page checks none does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbackground import BackgroundTask, BackgroundTaskHandler, TaskLifeCycle

__all__ = ["DIALOG", "WINDOW", "OwnerRun", "ReportDialog", "ReportObserver", "ReportTask", "ReportView", "ReportWindow"]

WINDOW = "window"
DIALOG = "dialog"


class ReportObserver(Protocol):
    """Told about every callback of a :class:`ReportTask` (the page; GUI thread)."""

    def note_callback(self, run: OwnerRun, name: str) -> None:
        """A callback named ``name`` is about to touch ``run``'s window."""


def _report_body(widget: QWidget, steps: int) -> tuple[QLabel, QProgressBar, QVBoxLayout]:
    """The content both kinds of report window share: a message and a progress bar."""
    layout = QVBoxLayout(widget)
    message = QLabel(f"Building the report: 0 of {steps} sections…")
    layout.addWidget(message)
    bar = QProgressBar()
    bar.setRange(0, steps)
    bar.setValue(0)
    layout.addWidget(bar)
    return message, bar, layout


class ReportWindow(QWidget):
    """A separate top-level window (``Qt.Window``) that owns a task and deletes itself on close.

    It is a child of the page only so that it closes with the demo; it is a window of
    its own. Its Hide and Close buttons do what the page's buttons do.

    Example::

        window = ReportWindow(page, number=1, steps=100)
        window.show()
        background_worker().handle(ReportTask(page, run, window)).execute()
    """

    def __init__(self, parent: QWidget, *, number: int, steps: int) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Report {number} (owns a task)")
        self.resize(380, 130)
        self.message, self.bar, layout = _report_body(self, steps)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        hide = QPushButton("Hide")
        hide.setToolTip("Hiding does not interrupt the task")
        hide.clicked.connect(self.hide)
        close = QPushButton("Close")
        close.setToolTip("Closing interrupts the task silently")
        close.clicked.connect(self.close)
        buttons.addWidget(hide)
        buttons.addWidget(close)
        layout.addLayout(buttons)

    def show_progress(self, section: int, steps: int) -> None:
        """The task's ``progress()`` (GUI thread): sections built so far."""
        self.message.setText(f"Building the report: {section} of {steps} sections…")
        self.bar.setValue(section)

    def show_done(self, text: str) -> None:
        """The task's ``done()`` (GUI thread)."""
        self.message.setText(text)


class ReportDialog(QDialog):
    """A modeless ``QDialog`` that owns a task; Cancel calls ``reject()``, which finishes it.

    A finished dialog counts as closed for owner binding (``reject()`` sends no close
    event). It deletes itself once finished.

    Example::

        dialog = ReportDialog(page, number=1, steps=100)
        dialog.show()
    """

    def __init__(self, parent: QWidget, *, number: int, steps: int) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Report {number} (a dialog that owns a task)")
        self.resize(380, 130)
        self.message, self.bar, layout = _report_body(self, steps)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.finished.connect(self.deleteLater)

    def show_progress(self, section: int, steps: int) -> None:
        """The task's ``progress()`` (GUI thread): sections built so far."""
        self.message.setText(f"Building the report: {section} of {steps} sections…")
        self.bar.setValue(section)

    def show_done(self, text: str) -> None:
        """The task's ``done()`` (GUI thread)."""
        self.message.setText(text)


ReportView: TypeAlias = ReportWindow | ReportDialog


@dataclass
class OwnerRun:
    """One report window and its task; the smoke test reads it."""

    kind: str
    """:data:`WINDOW` or :data:`DIALOG`."""
    number: int
    window: ReportView
    handler: BackgroundTaskHandler[str] | None = None
    section: int = 0
    """The last section the window showed."""
    callbacks: list[str] = field(default_factory=list)
    """The terminal callbacks that ran (``"done"``, ``"canceled"``, ``"failed"``)."""
    closed: bool = False
    """The window was closed (or the dialog finished) or deleted."""
    closing: bool = False
    """A close event arrived; a Hide event right after means it was accepted."""
    hidden: bool = False
    """The page hid the window."""
    after_close: int = 0
    """Callbacks of any kind that arrived after the window closed (none expected)."""
    deleted: bool = False
    """The window's C++ object was destroyed."""
    stopped: bool = False
    """``run()`` has returned (``when_stopped``)."""

    @property
    def alive(self) -> bool:
        """The task runs (its outcome is not decided yet)."""
        return self.handler is not None and self.handler.is_alive()


class ReportTask(BackgroundTask[int, str]):
    """Builds a report in ``steps`` sections; its callbacks update its owner window.

    ``T`` is ``int`` (the section just built), ``V`` is ``str`` (a summary). The callbacks
    touch the window: if one ever ran after the window was deleted it would raise, and
    the demo's check for unhandled errors would fail.
    """

    def __init__(self, page: ReportObserver, run: OwnerRun, *, steps: int, step_seconds: float) -> None:
        super().__init__(owner=run.window)
        self._page = page
        self._run = run
        self._window = run.window
        self.steps = steps
        self.step_seconds = step_seconds

    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        """Build the sections (a pool thread); an owner close wakes the sleep at once."""
        for section in range(1, self.steps + 1):
            lifecycle.sleep(self.step_seconds)
            lifecycle.publish(section)
        return f"Report ready: {self.steps} sections."

    def progress(self, changes: list[int]) -> None:
        """Show the last section built (GUI thread)."""
        self._page.note_callback(self._run, "progress")
        self._run.section = changes[-1]
        self._window.show_progress(changes[-1], self.steps)

    def done(self, result: str) -> None:
        """Show the result in the window, even a hidden one (GUI thread)."""
        self._page.note_callback(self._run, "done")
        self._window.show_done(result)

    def canceled(self) -> None:
        """Never expected: nothing on this page cancels (GUI thread)."""
        self._page.note_callback(self._run, "canceled")

    def handle_exception(self, exc: BaseException) -> bool:
        """Logged; left to the worker to report too (GUI thread)."""
        self._page.note_callback(self._run, "failed")
        return False
