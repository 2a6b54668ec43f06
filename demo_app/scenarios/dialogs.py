"""Scenario "Progress dialogs": ``qbackground.widgets`` windows and the status-bar widget."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from qbackground.qt import is_alive
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QGridLayout, QGroupBox, QMessageBox, QPushButton, QVBoxLayout, QWidget

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle, TaskStatus, background_worker
from qbackground.widgets import (
    BackgroundTaskDialog,
    BackgroundWorkProgressWindow,
    BackgroundWorkWindow,
    TaskStatusWidget,
)

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box

__all__ = ["DialogsPage", "DialogRun", "ImportTask", "DuplicateScan", "StatusJob"]

Log = Callable[[str], None]


class ImportTask(BackgroundTask[int, int]):
    """"Imports" ``rows`` rows, publishing the count of rows done (the absolute count).

    With ``fail_at`` it raises on that row; its errors are not handled, so the window
    shows them. ``T`` is ``int`` (rows done), ``V`` is ``int`` (rows imported).
    """

    def __init__(
        self,
        log: Log,
        *,
        rows: int,
        row_seconds: float,
        owner: QWidget,
        fail_at: int | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(timeout=timeout, owner=owner)
        self.log = log
        self.rows = rows
        self.row_seconds = row_seconds
        self.fail_at = fail_at

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        lifecycle.set_total(self.rows)
        for row in range(1, self.rows + 1):
            lifecycle.sleep(self.row_seconds)
            if row == self.fail_at:
                raise ValueError(f"row {row}: the e-mail column is empty")
            if row == 1 or row % 10 == 0:
                lifecycle.set_message(f"Importing customers.csv, row {row} of {self.rows}")
            lifecycle.publish(row)
            lifecycle.set_progress(row)
        return self.rows

    def done(self, result: int) -> None:
        self.log(f"ImportTask.done({result}): its own callback still runs under the window")

    def canceled(self) -> None:
        self.log("ImportTask.canceled()")


class DuplicateScan(BackgroundTask[str, int]):
    """Goes through a few phases, each announced with ``set_message()``; no count."""

    PHASES = ("Reading the index…", "Comparing names…", "Comparing e-mail addresses…")

    def __init__(self, log: Log, *, phase_seconds: float, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self.log = log
        self.phase_seconds = phase_seconds

    def run(self, lifecycle: TaskLifeCycle[str]) -> int:
        for phase in self.PHASES:
            lifecycle.set_message(phase)
            lifecycle.sleep(self.phase_seconds)
        return 3

    def done(self, result: int) -> None:
        self.log(f"DuplicateScan.done({result}): {result} duplicates found")


class StatusJob(BackgroundTask[int, None]):
    """A short job with a message and a fraction, for the status-bar widget."""

    def __init__(self, number: int, *, steps: int, step_seconds: float, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self.number = number
        self.steps = steps
        self.step_seconds = step_seconds

    def run(self, lifecycle: TaskLifeCycle[int]) -> None:
        lifecycle.set_total(self.steps)
        for step in range(1, self.steps + 1):
            lifecycle.set_message(f"Job {self.number}: step {step} of {self.steps}")
            lifecycle.sleep(self.step_seconds)
            lifecycle.set_progress(step)


@dataclass
class DialogRun:
    """One window the page opened, and how it ended."""

    name: str
    window: BackgroundWorkWindow
    status: TaskStatus | None = None
    notice: QMessageBox | None = None
    progress_text: str | None = None
    """The progress window's last "Processed …" text, read as it closed."""


class DialogsPage(Scenario):
    """Opens each kind of window; a :class:`TaskStatusWidget` follows the default worker."""

    title = "Progress dialogs"
    name = "dialogs"
    summary = (
        "<code>qbackground.widgets</code>: CUBA's <code>BackgroundWorkWindow</code> and "
        "<code>BackgroundWorkProgressWindow</code>, the Jmix-style <code>BackgroundTaskDialog</code> "
        "builder, and a <code>TaskStatusWidget</code> (here and in the window's status bar). The "
        "windows are modal but never block; they close themselves when the task ends, and show "
        "errors and timeouts the task did not handle (those two run on a private worker, so the "
        "demo's own check for unhandled errors stays clean)."
    )

    rows = 60
    row_seconds = 0.02
    jobs = 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[DialogRun] = []
        self._private: BackgroundWorker | None = None

        windows = QGroupBox("Windows")
        grid = QGridLayout(windows)
        self.import_button = QPushButton("Import rows…")
        self.import_button.setToolTip("BackgroundWorkProgressWindow.show(task, total=…, cancel_allowed=True)")
        self.import_button.clicked.connect(self.open_import)
        self.percent_button = QPushButton("Import, in percent…")
        self.percent_button.setToolTip("BackgroundTaskDialog(task).with_total(…).with_percent_progress().open()")
        self.percent_button.clicked.connect(self.open_percent)
        self.scan_button = QPushButton("Find duplicates…")
        self.scan_button.setToolTip("BackgroundWorkWindow.show(task): no count, no Cancel")
        self.scan_button.clicked.connect(self.open_scan)
        self.fail_button = QPushButton("Failing import…")
        self.fail_button.setToolTip("run() raises and handle_exception() does not handle it")
        self.fail_button.clicked.connect(self.open_failing)
        self.timeout_button = QPushButton("Too slow…")
        self.timeout_button.setToolTip("a 0.5 s timeout that handle_timeout_exception() does not handle")
        self.timeout_button.clicked.connect(self.open_too_slow)
        for index, button in enumerate(
            (self.import_button, self.percent_button, self.scan_button, self.fail_button, self.timeout_button)
        ):
            grid.addWidget(button, index // 3, index % 3)
        self.body.addWidget(windows)

        status_box = QGroupBox("TaskStatusWidget (following background_worker())")
        status_layout = QVBoxLayout(status_box)
        self.jobs_button = QPushButton(f"Start {self.jobs} background jobs")
        self.jobs_button.clicked.connect(self.start_jobs)
        status_layout.addWidget(self.jobs_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.status = TaskStatusWidget(background_worker(), hide_when_idle=False)
        status_layout.addWidget(self.status)
        self.body.addWidget(status_box)

        log_group, self.log = log_box("Log", "Open a window: how each one ends is written here.")
        self.body.addWidget(log_group, 1)

    # -- actions --------------------------------------------------------------------------

    def open_import(self) -> BackgroundWorkWindow:
        """The progress window, with a count of rows and Cancel."""
        task = ImportTask(self._log, rows=self.rows, row_seconds=self.row_seconds, owner=self)
        window = BackgroundWorkProgressWindow.show(
            task, title="Import", message="Importing customers.csv…", total=self.rows, cancel_allowed=True
        )
        return self._follow("import", window)

    def open_percent(self) -> BackgroundWorkWindow:
        """The same through the builder, in percent."""
        task = ImportTask(self._log, rows=self.rows, row_seconds=self.row_seconds, owner=self)
        window = (
            BackgroundTaskDialog(task)
            .with_title("Import")
            .with_message("Importing customers.csv…")
            .with_total(self.rows)
            .with_percent_progress()
            .with_cancel_allowed()
            .open()
        )
        return self._follow("percent", window)

    def open_scan(self) -> BackgroundWorkWindow:
        """The work window: a message and a busy bar; it cannot be closed."""
        window = BackgroundWorkWindow.show(
            DuplicateScan(self._log, phase_seconds=0.25, owner=self), title="Duplicates"
        )
        return self._follow("scan", window)

    def open_failing(self) -> BackgroundWorkWindow:
        """An import that fails at row 17: the error dialog appears as the window closes."""
        task = ImportTask(self._log, rows=self.rows, row_seconds=self.row_seconds, owner=self, fail_at=17)
        window = BackgroundWorkProgressWindow.show(
            task, title="Import", total=self.rows, cancel_allowed=True, worker=self._private_worker()
        )
        return self._follow("failing", window)

    def open_too_slow(self) -> BackgroundWorkWindow:
        """An import that takes longer than its 0.5 s timeout: a warning appears."""
        task = ImportTask(self._log, rows=self.rows, row_seconds=0.1, owner=self, timeout=0.5)
        window = BackgroundWorkProgressWindow.show(
            task, title="Export", total=self.rows, worker=self._private_worker()
        )
        return self._follow("timeout", window)

    def start_jobs(self) -> None:
        """Start :attr:`jobs` short jobs without a window; the status widgets follow them."""
        worker = background_worker()
        rng = random.Random(7)
        for number in range(1, self.jobs + 1):
            job = StatusJob(number, steps=rng.randint(4, 10), step_seconds=0.1, owner=self)
            worker.handle(job).execute()
        self._log(f"started {self.jobs} jobs on background_worker()")

    def is_idle(self) -> bool:
        windows_open = any(run.status is None for run in self.runs)
        return not windows_open and not background_worker().active_handlers()

    # -- internals -------------------------------------------------------------------------

    def _private_worker(self) -> BackgroundWorker:
        if self._private is None or self._private.is_shut_down:
            self._private = BackgroundWorker(threads=2)
        return self._private

    def _follow(self, name: str, window: BackgroundWorkWindow) -> BackgroundWorkWindow:
        run = DialogRun(name, window)
        self.runs.append(run)

        def ended(status: TaskStatus, notice: QMessageBox | None) -> None:
            run.status = status
            run.notice = notice
            if isinstance(window, BackgroundWorkProgressWindow):
                run.progress_text = window.progress_label.text()
            shown = f", showing {notice.objectName()}" if notice is not None else ""
            self._log(f"{name} window closed: {status.name}{shown}")

        window.ended.connect(ended)
        self._log(f"{name} window opened ({type(window).__name__})")
        return window

    def _log(self, line: str) -> None:
        if is_alive(self.log):
            self.log.appendPlainText(line)

    # -- screenshot ---------------------------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Start the jobs, so both status widgets show them."""
        self.start_jobs()
        yield ctx.wait_until(
            lambda: self.status.overall_fraction is not None and self.status.overall_fraction > 0.2,
            "the jobs are a fifth done",
        )

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Cancel the jobs."""
        self.status.cancel_all()
        yield ctx.wait_until(self.is_idle, "the jobs were cancelled")

    # -- smoke test -------------------------------------------------------------------------

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        yield ctx.wait_until(self.is_idle, "the page is idle")
        yield from self._smoke_import(ctx)
        yield from self._smoke_escape(ctx)
        yield from self._smoke_percent(ctx)
        yield from self._smoke_scan(ctx)
        yield from self._smoke_notice(ctx, "failing", self.fail_button, QMessageBox.Icon.Critical, "row 17")
        yield from self._smoke_notice(ctx, "timeout", self.timeout_button, QMessageBox.Icon.Warning, "0.5 seconds")
        yield from self._smoke_status(ctx)
        if self._private is not None:
            ctx.check(self._private.shutdown(timeout=5), "the page's private worker stopped")

    def _smoke_import(self, ctx: SmokeContext) -> SmokeScript:
        self.import_button.click()
        run = self.runs[-1]
        window = run.window
        ctx.check(
            window.isVisible() and window.isModal() and run.status is None,
            "the progress window opened modal, without blocking the click",
        )
        yield ctx.wait_until(lambda: run.status is not None, "the import finished", timeout=10)
        expected = f"Processed {self.rows} items of {self.rows}"
        ctx.check(
            run.status is TaskStatus.DONE and run.notice is None,
            "the progress window closed itself when the task was done",
            f"status {run.status}",
        )
        ctx.check(run.progress_text == expected, "it counted every row", f"{run.progress_text!r}")

    def _smoke_escape(self, ctx: SmokeContext) -> SmokeScript:
        self.import_button.click()
        run = self.runs[-1]
        window = run.window
        assert isinstance(window, BackgroundWorkProgressWindow)
        yield ctx.wait_until(lambda: window.count >= 10, "the import counted 10 rows")
        QTest.keyClick(window, Qt.Key.Key_Escape)
        ctx.check(
            run.status is TaskStatus.CANCELLED and run.notice is None,
            "Escape cancelled the import and closed its window",
            f"status {run.status}",
        )

    def _smoke_percent(self, ctx: SmokeContext) -> SmokeScript:
        self.percent_button.click()
        run = self.runs[-1]
        window = run.window
        assert isinstance(window, BackgroundWorkProgressWindow)
        yield ctx.wait_until(
            lambda: run.status is not None or window.progress_label.text() != "Processed 0%",
            "the builder's window shows a percentage",
        )
        yield ctx.wait_until(lambda: run.status is not None, "the import finished", timeout=10)
        ctx.check(
            run.status is TaskStatus.DONE and run.progress_text == "Processed 100%",
            "the builder's window counted in percent up to 100",
            f"{run.status}, {run.progress_text!r}",
        )

    def _smoke_scan(self, ctx: SmokeContext) -> SmokeScript:
        self.scan_button.click()
        run = self.runs[-1]
        window = run.window
        yield ctx.wait_until(
            lambda: run.status is not None or window.message_label.text() in DuplicateScan.PHASES,
            "set_message() replaced the message",
        )
        if run.status is None:
            QTest.keyClick(window, Qt.Key.Key_Escape)
            ctx.check(run.status is None and window.isVisible(), "Escape does not close a window without Cancel")
        yield ctx.wait_until(lambda: run.status is not None, "the scan finished", timeout=10)
        ctx.check(run.status is TaskStatus.DONE, "the work window closed itself when the scan was done")

    def _smoke_notice(
        self, ctx: SmokeContext, name: str, button: QPushButton, icon: QMessageBox.Icon, words: str
    ) -> SmokeScript:
        button.click()
        run = self.runs[-1]
        yield ctx.wait_until(lambda: run.status is not None, f"the {name} task ended", timeout=10)
        notice = run.notice
        ctx.check(
            notice is not None and notice.isVisible() and notice.icon() is icon,
            f"{name}: a message box was opened (without blocking)",
            f"status {run.status}, notice {notice}",
        )
        assert notice is not None
        text = f"{notice.text()} {notice.informativeText()}"
        ctx.check(words in text, f"{name}: the message box explains what happened", text)
        notice.accept()

    def _smoke_status(self, ctx: SmokeContext) -> SmokeScript:
        self.jobs_button.click()
        yield ctx.wait_until(
            lambda: self.status.running_count == self.jobs and self.status.latest_message is not None,
            "the status widget follows the jobs",
        )
        ctx.check(
            self.status.count_label.text() == f"{self.jobs} tasks running",
            "the status widget counts the running jobs",
            self.status.count_label.text(),
        )
        yield ctx.wait_until(lambda: self.status.overall_fraction is not None, "the jobs report progress")
        self.status.cancel_button.click()
        ctx.check(not background_worker().active_handlers(), "Cancel All cancelled every job")
        yield ctx.wait_until(lambda: self.status.running_count == 0, "the status widget is idle again")
