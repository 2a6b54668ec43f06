"""Scenario "Owner window": a task bound to a separate window with ``owner=``.

Closing the window (its close event accepted) or finishing a ``QDialog``
(``accept()``/``reject()``/``done()``) interrupts the task **silently**: status
``INTERRUPTED``, no ``done()``, ``canceled()`` or error callback, so nothing touches the
window, which deletes itself (``WA_DeleteOnClose``). Hiding the window does not count.
"""

from __future__ import annotations

from qbackground.qt import is_alive
from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QDialog, QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

from qbackground import BackgroundTaskHandler, QBackgroundError, TaskStatus, background_worker

from ..owner_windows import DIALOG, WINDOW, OwnerRun, ReportDialog, ReportTask, ReportView, ReportWindow
from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, sized_buttons

__all__ = ["OwnerPage"]

_COLOURS = {
    TaskStatus.DONE: "#1b7f3b",
    TaskStatus.INTERRUPTED: "#a15c00",
    TaskStatus.FAILED: "#b3261e",
    TaskStatus.CANCELLED: "#b3261e",
}


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
        if is_alive(self.log):
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
