"""``TaskPage``: a scenario page with the usual controls for one background task.

Start and Cancel buttons, a progress bar, the task's live message, the result, a row of
callback counters and a log of the callbacks that arrived. Subclasses choose the task
(:meth:`TaskPage.make_task`) and write the smoke test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbackground import BackgroundTaskHandler, QBackgroundError, background_worker

from ..smoke import SmokeContext, SmokeScript
from ..tasks import ViewTask
from .base import Scenario
from .widgets import log_box, selectable, show_outcome, sized_buttons, status_label

__all__ = ["RunRecord", "TaskPage"]

_IDLE_TEXT = "—"


@dataclass
class RunRecord:
    """What reached the page during one run; the smoke tests read it."""

    progress_calls: int = 0
    items: list[int] = field(default_factory=list)
    message_calls: int = 0
    fraction_calls: int = 0
    terminal: list[str] = field(default_factory=list)
    """Names of the terminal callbacks that ran, in order (exactly one expected)."""
    result: str | None = None
    error: BaseException | None = None
    late_callbacks: int = 0
    """Progress, message or fraction callbacks that arrived after the terminal one."""


class TaskPage(Scenario):
    """A page that runs one task with Start/Cancel and shows every callback.

    The task is created once (:meth:`make_task`) and handed to
    ``background_worker().handle()`` on every Start: tasks keep no per-run state.
    """

    screenshot_at = 45
    """``--screenshot`` grabs the page once the bar shows this many percent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task: ViewTask = self.make_task()
        self.handler: BackgroundTaskHandler[str] | None = None
        self.record = RunRecord()
        self.runs = 0
        self._build()
        self._show_idle_controls()

    def make_task(self) -> ViewTask:
        """The task this page runs (called once, in ``__init__``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_task()")

    # -- widgets -------------------------------------------------------------------

    def _build(self) -> None:
        box = QGroupBox("Task")
        box_layout = QVBoxLayout(box)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for button in sized_buttons((self.start_button, self.cancel_button)):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.status_label = status_label()
        buttons.addWidget(self.status_label)
        box_layout.addLayout(buttons)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p %")
        box_layout.addWidget(self.progress_bar)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.message_label = QLabel(_IDLE_TEXT)
        self.result_label = QLabel(_IDLE_TEXT)
        self.counts_label = QLabel(_IDLE_TEXT)
        selectable((self.message_label, self.result_label, self.counts_label))
        self.result_label.setWordWrap(True)
        form.addRow("Message:", self.message_label)
        form.addRow("Result:", self.result_label)
        form.addRow("Callbacks:", self.counts_label)
        box_layout.addLayout(form)
        self.body.addWidget(box)

        log_group, self.log = log_box(
            "Callback log", "Press Start: the callbacks that reach the GUI thread appear here."
        )
        self.body.addWidget(log_group, 1)

    # -- user actions ----------------------------------------------------------------

    def start(self) -> None:
        """Start a new run of the task (the Start button)."""
        if self.handler is not None and self.handler.is_alive():
            return
        self.runs += 1
        self.record = RunRecord()
        self.progress_bar.setValue(0)
        self.message_label.setText(_IDLE_TEXT)
        self._set_result("", None)
        self._update_counts()
        self.log.start_section()
        handler = background_worker().handle(self.task)
        try:
            handler.execute()
        except QBackgroundError as exc:
            self.log.stamp(f"execute() raised {type(exc).__name__}: {exc}")
            self._set_result(f"Could not start: {exc}", "failed")
            return
        self.handler = handler
        self.log.stamp(f"run {self.runs}: execute() → {handler.status.name}")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._update_status()

    def cancel(self) -> None:
        """Cancel the running task (the Cancel button); ``canceled()`` runs inside."""
        handler = self.handler
        if handler is None or not handler.is_alive():
            return
        self.log.stamp("Cancel clicked: calling cancel()")
        accepted = handler.cancel()
        self.log.stamp(f"cancel() returned {accepted}")

    def is_idle(self) -> bool:
        handler = self.handler
        return (
            (handler is None or not handler.is_alive())
            and self.start_button.isEnabled()
            and not self.cancel_button.isEnabled()
        )

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Start the task and wait until the bar shows :attr:`screenshot_at` percent."""
        self.start_button.click()
        yield ctx.wait_until(
            lambda: self.progress_bar.value() >= self.screenshot_at,
            f"the progress bar shows {self.screenshot_at} %",
            timeout=15,
        )

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Cancel the task if it still runs."""
        self.cancel_button.click()
        yield ctx.wait_until(self.is_idle, "the task was cancelled after the screenshot")

    # -- TaskView: the task's callbacks, on the GUI thread ------------------------------

    def on_progress(self, changes: list[int]) -> None:
        record = self.record
        if record.terminal:
            record.late_callbacks += 1
        record.progress_calls += 1
        record.items.extend(changes)
        if record.progress_calls == 1:
            self.log.stamp(f"progress({changes}) — later calls are counted below, not logged")
        self._update_counts()
        self._update_status()

    def on_message(self, message: str) -> None:
        record = self.record
        if record.terminal:
            record.late_callbacks += 1
        record.message_calls += 1
        if record.message_calls == 1:
            self.log.stamp(f"message_changed({message!r})")
        self.message_label.setText(message)
        self._update_counts()

    def on_fraction(self, fraction: float) -> None:
        record = self.record
        if record.terminal:
            record.late_callbacks += 1
        record.fraction_calls += 1
        self.progress_bar.setValue(round(fraction * 100))
        self._update_counts()

    def on_done(self, result: str) -> None:
        self.record.terminal.append("done")
        self.record.result = result
        self.log.stamp(f"done({result!r}) after {self.log.elapsed():.2f} s; {self._summary()}")
        self._set_result(f"{result} ({self.log.elapsed():.1f} s)", "done")
        self._finish_run()

    def on_canceled(self) -> None:
        self.record.terminal.append("canceled")
        step = self.record.items[-1] if self.record.items else 0
        self.log.stamp(f"canceled() at step {step}; {self._summary()}")
        self._set_result(f"Cancelled at step {step}", "canceled")
        self._finish_run()

    def on_exception(self, exc: BaseException) -> bool:
        self.record.terminal.append("handle_exception")
        self.record.error = exc
        self.log.stamp(f"handle_exception({type(exc).__name__}) → True (handled)")
        self._set_result(f"Failed: {type(exc).__name__}: {exc}", "failed")
        self._finish_run()
        return True

    def on_timeout(self) -> bool:
        self.record.terminal.append("handle_timeout_exception")
        self.log.stamp("handle_timeout_exception() → True (handled)")
        self._set_result("Timed out", "failed")
        self._finish_run()
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _finish_run(self) -> None:
        self._show_idle_controls()
        self._update_counts()
        self._update_status()

    def _show_idle_controls(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._update_status()

    def _update_status(self) -> None:
        status = "not started" if self.handler is None else self.handler.status.name.lower()
        self.status_label.setText(f"Status: {status}")

    def _update_counts(self) -> None:
        record = self.record
        self.counts_label.setText(
            f"progress() ×{record.progress_calls} ({len(record.items)} items) · "
            f"message_changed() ×{record.message_calls} · "
            f"fraction_changed() ×{record.fraction_calls}"
        )

    def _summary(self) -> str:
        record = self.record
        return f"{record.progress_calls} progress() calls brought {len(record.items)} items"

    def _set_result(self, text: str, kind: str | None) -> None:
        show_outcome(self.result_label, text or _IDLE_TEXT, kind)
