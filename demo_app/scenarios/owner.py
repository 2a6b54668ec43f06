"""Scenario "Owner window": a task bound to a separate window with ``owner=``.

Closing the window (its close event accepted) or finishing a ``QDialog``
(``accept()``/``reject()``/``done()``) interrupts the task **silently**: status
``INTERRUPTED``, no ``done()``, ``canceled()`` or error callback, so nothing touches the
window, which deletes itself (``WA_DeleteOnClose``). Hiding the window does not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    QBackgroundError,
    TaskLifeCycle,
    TaskStatus,
    background_worker,
)

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, sized_buttons

__all__ = ["OwnerPage", "OwnerRun", "ReportDialog", "ReportTask", "ReportWindow"]

WINDOW = "window"
DIALOG = "dialog"
_COLOURS = {
    TaskStatus.DONE: "#1b7f3b",
    TaskStatus.INTERRUPTED: "#a15c00",
    TaskStatus.FAILED: "#b3261e",
    TaskStatus.CANCELLED: "#b3261e",
}


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

    def __init__(self, page: OwnerPage, run: OwnerRun, *, steps: int, step_seconds: float) -> None:
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


class OwnerPage(Scenario):
    """Opens report windows whose tasks are bound to them with ``owner=``."""

    title = "Owner window"
    name = "owner"
    summary = (
        "Each button opens a separate window running a task created with "
        "<code>owner=</code> that window. <b>Close</b> it, or finish the dialog with "
        "<code>reject()</code>, and the task is interrupted silently: status "
        "<code>INTERRUPTED</code>, no <code>done()</code>, <code>canceled()</code> or error "
        "callback, so nothing touches the deleted window. <b>Hiding</b> it does not count."
    )

    steps = 100
    step_seconds = 0.05
    """The window's task: 100 sections of 50 ms (5 s)."""
    smoke_steps = 30
    smoke_step_seconds = 0.02

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[OwnerRun] = []
        """Every window opened, in order."""
        self._build()
        self._refresh()

    # -- widgets ------------------------------------------------------------------------

    def _build(self) -> None:
        box = QGroupBox("Windows that own a task")
        grid = QGridLayout(box)
        self.open_window_button = QPushButton("Open window…")
        self.open_window_button.setToolTip("A QWidget with Qt.Window and WA_DeleteOnClose")
        self.open_window_button.clicked.connect(lambda: self.open(WINDOW))
        self.close_button = QPushButton("Close it")
        self.close_button.setToolTip("window.close(): interrupts its task silently")
        self.close_button.clicked.connect(self.close_window)
        self.hide_button = QPushButton("Hide it")
        self.hide_button.setToolTip("window.hide(): the task runs on")
        self.hide_button.clicked.connect(self.hide_window)
        self.show_button = QPushButton("Show it")
        self.show_button.clicked.connect(self.show_window)
        self.open_dialog_button = QPushButton("Open dialog…")
        self.open_dialog_button.setToolTip("A modeless QDialog")
        self.open_dialog_button.clicked.connect(lambda: self.open(DIALOG))
        self.reject_button = QPushButton("Reject it")
        self.reject_button.setToolTip("dialog.reject(): the dialog finishes, its task is interrupted")
        self.reject_button.clicked.connect(self.reject_dialog)
        sized_buttons(
            (
                self.open_window_button,
                self.close_button,
                self.hide_button,
                self.show_button,
                self.open_dialog_button,
                self.reject_button,
            )
        )
        grid.addWidget(QLabel("QWidget window:"), 0, 0)
        grid.addWidget(self.open_window_button, 0, 1)
        grid.addWidget(self.close_button, 0, 2)
        grid.addWidget(self.hide_button, 0, 3)
        grid.addWidget(self.show_button, 0, 4)
        grid.addWidget(QLabel("QDialog:"), 1, 0)
        grid.addWidget(self.open_dialog_button, 1, 1)
        grid.addWidget(self.reject_button, 1, 2)
        grid.setColumnStretch(5, 1)
        self.window_status = QLabel()
        self.dialog_status = QLabel()
        for row, label in ((2, self.window_status), (3, self.dialog_status)):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(label, row, 0, 1, 6)
        self.body.addWidget(box)

        log_group, self.log = log_box(
            "Log", "Open a window, then close or hide it: what its task did is written here."
        )
        self.body.addWidget(log_group, 1)

    # -- user actions -----------------------------------------------------------------

    def open(self, kind: str) -> OwnerRun | None:
        """Open a report window (:data:`WINDOW`) or dialog (:data:`DIALOG`) and start its task."""
        if self.current(kind) is not None:
            return None
        number = len(self.runs) + 1
        steps, step_seconds = self.steps, self.step_seconds
        window: ReportView
        if kind == WINDOW:
            window = ReportWindow(self, number=number, steps=steps)
        else:
            window = ReportDialog(self, number=number, steps=steps)
        run = OwnerRun(kind, number, window)
        self.runs.append(run)
        window.destroyed.connect(lambda *_: self._on_destroyed(run))
        if isinstance(window, ReportWindow):
            window.installEventFilter(self)  # before handle(): the owner watch's filter runs first
        window.show()
        task = ReportTask(self, run, steps=steps, step_seconds=step_seconds)
        try:
            handler = background_worker().handle(task)
            handler.execute()
        except QBackgroundError as exc:
            self._log(run, f"could not start its task: {type(exc).__name__}: {exc}")
            window.close()
            return None
        run.handler = handler
        handler.when_stopped(lambda h: self._on_stopped(run, h))
        if isinstance(window, ReportDialog):
            # After handle(): the owner watch's slot for finished runs first.
            window.finished.connect(lambda result: self._on_finished(run, result))
        self._log(run, f"opened; its task ({steps} sections) runs with owner= this {kind}")
        self._refresh()
        return run

    def close_window(self) -> None:
        """Close the open window (the Close it button): ``window.close()``."""
        run = self.current(WINDOW)
        if run is not None:
            run.window.close()

    def hide_window(self) -> None:
        """Hide the open window (the Hide it button): the task keeps running."""
        run = self.current(WINDOW)
        if run is not None and run.window.isVisible():
            run.window.hide()

    def show_window(self) -> None:
        """Show the hidden window again (the Show it button)."""
        run = self.current(WINDOW)
        if run is not None and not run.window.isVisible():
            run.window.show()
            run.window.raise_()

    def reject_dialog(self) -> None:
        """Finish the open dialog with ``reject()`` (the Reject it button)."""
        run = self.current(DIALOG)
        if run is not None and isinstance(run.window, ReportDialog):
            run.window.reject()

    def current(self, kind: str) -> OwnerRun | None:
        """The open (not closed) window or dialog of ``kind``, if any."""
        for run in reversed(self.runs):
            if run.kind == kind and not run.closed:
                return run
        return None

    def is_idle(self) -> bool:
        """No window of this page is open and every task's ``run()`` has returned."""
        return all(run.closed and run.stopped for run in self.runs)

    # -- what happened (GUI thread) -------------------------------------------------------

    def note_callback(self, run: OwnerRun, name: str) -> None:
        """A task callback is about to touch ``run``'s window."""
        if run.closed:
            run.after_close += 1
            self._log(run, f"{name}() arrived after the close: a bug")
        if name == "progress":
            QTimer.singleShot(0, self._refresh)  # after the window's section count changed
        else:
            run.callbacks.append(name)
            status = run.handler.status.name if run.handler is not None else "?"
            hidden = " (the window is hidden)" if not run.window.isVisible() else ""
            self._log(run, f"{name}() ran: it updated the window{hidden}; status {status}")
            self._refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Log a report window's accepted close and its hiding.

        The page sees the window's events after qbackground's owner watch (a filter
        installed later runs first), so a close has already interrupted the task.
        """
        for run in self.runs:
            if run.window is not watched or run.closed:
                continue
            kind = event.type()
            if kind == QEvent.Type.Close:
                run.closing = True  # accepted if a Hide follows at once
                QTimer.singleShot(0, lambda run=run: setattr(run, "closing", False))
            elif kind == QEvent.Type.Hide and run.closing:
                self._mark_closed(run, "closed")
            elif kind == QEvent.Type.Hide:
                self._log(run, f"hidden; status {self._status(run)}")
                QTimer.singleShot(0, self._refresh)
            elif kind == QEvent.Type.Show and run.section:
                self._log(run, f"shown again; status {self._status(run)}")
                QTimer.singleShot(0, self._refresh)
        return False

    def _on_finished(self, run: OwnerRun, result: int) -> None:
        how = "accept()" if result == QDialog.DialogCode.Accepted.value else "reject()"
        self._mark_closed(run, f"finished by {how}")

    def _mark_closed(self, run: OwnerRun, how: str) -> None:
        if run.closed:
            return
        run.closed = True
        self._log(run, f"{how} → status {self._status(run)} at once, silently")
        self._refresh()

    def _on_destroyed(self, run: OwnerRun) -> None:
        run.deleted = True
        if not run.closed:
            run.closed = True
        self._log(run, f"the {run.kind} was deleted; status {self._status(run)}")
        self._refresh()

    def _on_stopped(self, run: OwnerRun, handler: BackgroundTaskHandler[str]) -> None:
        run.stopped = True
        callbacks = ", ".join(f"{name}()" for name in run.callbacks) or "no callback"
        self._log(run, f"run() returned; status {handler.status.name}, {callbacks}")
        self._refresh()

    # -- display ------------------------------------------------------------------------

    def _status(self, run: OwnerRun) -> str:
        return run.handler.status.name if run.handler is not None else "not started"

    def _refresh(self) -> None:
        window, dialog = self.current(WINDOW), self.current(DIALOG)
        self.open_window_button.setEnabled(window is None)
        self.close_button.setEnabled(window is not None)
        self.hide_button.setEnabled(window is not None and window.window.isVisible())
        self.show_button.setEnabled(window is not None and not window.window.isVisible())
        self.open_dialog_button.setEnabled(dialog is None)
        self.reject_button.setEnabled(dialog is not None)
        for kind, label in ((WINDOW, self.window_status), (DIALOG, self.dialog_status)):
            runs = [run for run in self.runs if run.kind == kind]
            if not runs:
                label.setText(f"Last {kind}: —")
                label.setStyleSheet("")
                continue
            run = runs[-1]
            status = run.handler.status if run.handler is not None else None
            state = "closed" if run.closed else "hidden" if not run.window.isVisible() else "open"
            callbacks = ", ".join(f"{name}()" for name in run.callbacks) or "no callback"
            sections = f" ({run.section} of {self.steps} sections)" if status is TaskStatus.RUNNING else ""
            label.setText(
                f"Last {kind} (report {run.number}): {state} · task "
                f"{status.name if status else 'not started'}{sections} · {callbacks}"
            )
            colour = _COLOURS.get(status) if status is not None else None
            label.setStyleSheet(f"color: {colour};" if colour else "")

    def _log(self, run: OwnerRun, text: str) -> None:
        if shiboken6.isValid(self.log):
            self.log.appendPlainText(f"report {run.number} ({run.kind}): {text}")

    # -- screenshot and smoke test --------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Close one window mid-task, reject a dialog, and leave a hidden one running."""
        yield from self._scenario_close(ctx)
        yield from self._scenario_reject(ctx)
        run = self.open(WINDOW)
        assert run is not None
        yield ctx.wait_until(lambda: run.section >= 10, "the window's task built 10 sections")
        self.hide_button.click()
        yield ctx.pause(0.3, "the hidden window's task runs on")

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Close the hidden window."""
        self.close_window()
        yield ctx.wait_until(self.is_idle, "every window closed and every task stopped")

    def _scenario_close(self, ctx: SmokeContext) -> SmokeScript:
        self.open_window_button.click()
        run = self.runs[-1]
        yield ctx.wait_until(lambda: run.section >= 5, "the window's task built 5 sections")
        self.close_button.click()

    def _scenario_reject(self, ctx: SmokeContext) -> SmokeScript:
        self.open_dialog_button.click()
        run = self.runs[-1]
        yield ctx.wait_until(lambda: run.section >= 5, "the dialog's task built 5 sections")
        self.reject_button.click()

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Close a window, hide a window, reject a dialog; check each task's fate.

        The steps and checks are in :mod:`demo_app.scenarios.checks.owner`.
        """
        from .checks import owner as checks

        return checks.smoke(self, ctx)



