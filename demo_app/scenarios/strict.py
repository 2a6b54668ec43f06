"""Scenario "Strict mode": a widget touched from a task's thread is caught, and the right ways."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qbackground.qt import is_alive
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundWorker,
    IllegalConcurrentAccessError,
    QBackgroundError,
    TaskLifeCycle,
    TaskStatus,
    UIAccessor,
)

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, selectable, show_outcome, sized_buttons

__all__ = ["AccessorTask", "ProgressTask", "StrictPage", "StrictRecord", "WrongTask"]

_IDLE_TEXT = "—"

Report = Callable[[str, str, Any], None]
"""``report(approach, callback, value)``: what the page receives from the tasks."""


class WrongTask(BackgroundTask[str, None]):
    """Calls ``label.setText()`` from its worker thread — the mistake strict mode catches."""

    def __init__(self, label: QLabel, report: Report, *, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self.label = label
        self.report = report
        self.after_the_call = False
        """Set if ``run()`` went on after the illegal call (it must not)."""

    def run(self, lifecycle: TaskLifeCycle[str]) -> None:
        self.after_the_call = False
        self.label.setText("set from the task's thread")  # strict mode: raises here
        self.after_the_call = True

    def done(self, result: None) -> None:
        self.report("wrong", "done", result)

    def handle_exception(self, exc: BaseException) -> bool:
        self.report("wrong", "handle_exception", exc)
        return True


class AccessorTask(BackgroundTask[str, str]):
    """Changes the label through a :class:`~qbackground.UIAccessor`, the right way.

    ``access()`` queues a call to the GUI thread and returns at once;
    ``access_synchronously()`` runs one there and waits for its value — here it reads the
    label back. Each call records the thread it ran on.
    """

    def __init__(self, label: QLabel, accessor: UIAccessor, report: Report, *, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self.label = label
        self.accessor = accessor
        self.report = report
        self.threads: list[int] = []
        """``threading.get_ident()`` of each accessor call, as it ran."""
        self.runs = 0

    def run(self, lifecycle: TaskLifeCycle[str]) -> str:
        self.threads = []
        self.runs += 1
        text = f"set through UIAccessor.access() (run {self.runs})"

        def set_text() -> None:
            self.threads.append(threading.get_ident())
            self.label.setText(text)

        def read_text() -> str:
            self.threads.append(threading.get_ident())
            return self.label.text()

        self.accessor.access(set_text)  # queued; returns at once
        lifecycle.sleep(0.05)  # the task goes on with its own work meanwhile
        return self.accessor.access_synchronously(read_text)  # runs after set_text, waits

    def done(self, result: str) -> None:
        self.report("accessor", "done", result)

    def handle_exception(self, exc: BaseException) -> bool:
        self.report("accessor", "handle_exception", exc)
        return True


class ProgressTask(BackgroundTask[str, int]):
    """Publishes texts; ``progress()`` puts the latest in the label on the GUI thread."""

    STEPS = 20

    def __init__(self, label: QLabel, report: Report, *, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self.label = label
        self.report = report

    def run(self, lifecycle: TaskLifeCycle[str]) -> int:
        for step in range(1, self.STEPS + 1):
            lifecycle.sleep(0.01)
            lifecycle.publish(f"published by the task: step {step} of {self.STEPS}")
        return self.STEPS

    def progress(self, changes: list[str]) -> None:
        self.label.setText(changes[-1])  # the GUI thread: allowed
        self.report("progress", "progress", changes)

    def done(self, result: int) -> None:
        self.report("progress", "done", result)

    def handle_exception(self, exc: BaseException) -> bool:
        self.report("progress", "handle_exception", exc)
        return True


@dataclass
class StrictRecord:
    """What reached the page during one run of one approach; the smoke test reads it."""

    terminal: list[str] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None
    items: list[str] = field(default_factory=list)
    label_before: str = ""


class StrictPage(Scenario):
    """Runs three tasks on its own ``BackgroundWorker(strict=True)``: one touches a widget
    from its thread (caught), two change it the right way."""

    title = "Strict mode"
    name = "strict"
    summary = (
        "As CUBA does, a <code>BackgroundWorker(strict=True)</code> stops a task that calls a "
        "widget method on its thread: <code>IllegalConcurrentAccessError</code>, naming the "
        "method, reaches <code>handle_exception()</code>. The right ways: a "
        "<code>UIAccessor</code>, or <code>publish()</code> and <code>progress()</code>."
    )

    approaches = ("wrong", "accessor", "progress")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = BackgroundWorker(strict=True, threads=2)
        """The page's own strict worker."""
        self.records: dict[str, StrictRecord] = {}
        self.handlers: dict[str, BackgroundTaskHandler[Any]] = {}
        self.unhandled: list[BaseException] = []
        """Exceptions that reached the page worker's ``unhandled_exception`` (none expected)."""
        self.worker.unhandled_exception.connect(lambda _task, exc: self.unhandled.append(exc))
        self._build()
        accessor = self.worker.get_ui_accessor(self)
        self.tasks: dict[str, BackgroundTask[Any, Any]] = {
            "wrong": WrongTask(self.target, self._report, owner=self),
            "accessor": AccessorTask(self.target, accessor, self._report, owner=self),
            "progress": ProgressTask(self.target, self._report, owner=self),
        }

    # -- widgets -------------------------------------------------------------------

    def _build(self) -> None:
        target_box = QGroupBox("The widget the tasks want to change")
        target_layout = QVBoxLayout(target_box)
        self.target = QLabel("Untouched")
        self.target.setFrameShape(QFrame.Shape.StyledPanel)
        self.target.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.target.setMinimumHeight(36)
        font = self.target.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.target.setFont(font)
        target_layout.addWidget(self.target)
        self.worker_label = QLabel(
            f"Page worker: BackgroundWorker(strict=True) · strict = {self.worker.strict} · "
            f"{self.worker.threads} threads"
        )
        self.worker_label.setObjectName("summary")
        target_layout.addWidget(self.worker_label)
        self.body.addWidget(target_box)

        ways_box = QGroupBox("From a task's thread")
        grid = QGridLayout(ways_box)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(6)
        self.wrong_button = QPushButton("Wrong: label.setText()")
        self.wrong_button.setToolTip("run() calls self.label.setText(...) on the task's thread")
        self.wrong_button.clicked.connect(lambda: self.start("wrong"))
        self.accessor_button = QPushButton("Right: UIAccessor")
        self.accessor_button.setToolTip(
            "run() calls accessor.access(lambda: label.setText(...)), then "
            "accessor.access_synchronously(label.text) to read it back"
        )
        self.accessor_button.clicked.connect(lambda: self.start("accessor"))
        self.progress_button = QPushButton("Right: publish() → progress()")
        self.progress_button.setToolTip("run() publishes texts; progress() sets the label on the GUI thread")
        self.progress_button.clicked.connect(lambda: self.start("progress"))
        self.buttons = dict(zip(self.approaches, (self.wrong_button, self.accessor_button, self.progress_button)))
        self.outcomes: dict[str, QLabel] = {}
        for row, (approach, button) in enumerate(self.buttons.items()):
            outcome = QLabel(_IDLE_TEXT)
            outcome.setWordWrap(True)
            selectable((outcome,))
            # Room for two wrapped lines: a grid row does not grow with a label's wrapping.
            outcome.setMinimumHeight(2 * outcome.fontMetrics().lineSpacing() + 4)
            grid.addWidget(button, row, 0)
            grid.addWidget(outcome, row, 1)
            self.outcomes[approach] = outcome
        for button in sized_buttons(self.buttons.values()):
            button.setMinimumWidth(210)
        self.body.addWidget(ways_box)

        log_group, self.log = log_box("Log", "Press a button: what each task's callbacks received appears here.")
        self.body.addWidget(log_group, 1)

    # -- user actions ----------------------------------------------------------------

    def start(self, approach: str) -> None:
        """Run the task of ``approach`` (``"wrong"``, ``"accessor"`` or ``"progress"``)."""
        handler = self.handlers.get(approach)
        if handler is not None and not self.records[approach].terminal:
            return
        self.log.start_section()
        self.records[approach] = StrictRecord(label_before=self.target.text())
        show_outcome(self.outcomes[approach], "running…")
        handler = self.worker.handle(self.tasks[approach])
        try:
            handler.execute()
        except QBackgroundError as exc:
            self.log.stamp(f"{approach}: execute() raised {type(exc).__name__}: {exc}")
            self.outcomes[approach].setText(f"could not start: {exc}")
            return
        self.handlers[approach] = handler
        self.buttons[approach].setEnabled(False)
        self.log.stamp(f"{approach}: {type(self.tasks[approach]).__name__} started on the strict worker")

    def is_idle(self) -> bool:
        return all(
            record.terminal or self.handlers[approach].status is TaskStatus.INTERRUPTED
            for approach, record in self.records.items()
            if approach in self.handlers
        )

    # -- the tasks' callbacks, on the GUI thread ------------------------------------------

    def _report(self, approach: str, callback: str, value: Any) -> None:
        if not is_alive(self.log):
            return
        record = self.records.setdefault(approach, StrictRecord())
        outcome = self.outcomes[approach]
        if callback == "progress":
            record.items.extend(value)
            return
        record.terminal.append(callback)
        self.buttons[approach].setEnabled(True)
        if callback == "handle_exception":
            record.error = value
            name = type(value).__name__
            self.log.stamp(f"{approach}: handle_exception({name}: {value})")
            caught = isinstance(value, IllegalConcurrentAccessError)
            first = str(value).split(";")[0]
            show_outcome(outcome, f"<b>{name}</b>: {first}" if caught else f"failed: {name}: {first}", "failed", bold=False)
            outcome.setToolTip(str(value))
            return
        record.result = value
        if approach == "accessor":
            text = f"done(): access() set the label, access_synchronously() read back {value!r}"
        elif approach == "progress":
            text = f"done(): progress() got {len(record.items)} texts and set the label on the GUI thread"
        else:
            text = "done(): the widget call was not caught (is strict mode off?)"
        self.log.stamp(f"{approach}: {text}")
        show_outcome(outcome, text, "done" if approach != "wrong" else None, bold=False)

    # -- screenshot ---------------------------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Run all three, so the picture shows the error and both right ways."""
        for approach in self.approaches:
            self.start(approach)
            yield ctx.wait_until(self.is_idle, f"the {approach} task ended")

    # -- smoke test ---------------------------------------------------------------------------

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        ctx.check(self.worker.strict, "the page's worker was created with strict=True")
        yield from self._smoke_wrong(ctx)
        yield from self._smoke_accessor(ctx)
        yield from self._smoke_progress(ctx)
        ctx.check(
            not self.unhandled,
            "nothing reached the page worker's unhandled_exception",
            "; ".join(f"{type(exc).__name__}: {exc}" for exc in self.unhandled),
        )

    def _smoke_wrong(self, ctx: SmokeContext) -> SmokeScript:
        self.wrong_button.click()
        yield ctx.wait_until(self.is_idle, "the wrong task ended")
        record = self.records["wrong"]
        task = self.tasks["wrong"]
        assert isinstance(task, WrongTask)
        ctx.check(
            record.terminal == ["handle_exception"],
            "the task that called label.setText() on its thread ended in handle_exception() (once)",
            f"terminal {record.terminal}",
        )
        ctx.check(
            isinstance(record.error, IllegalConcurrentAccessError),
            "handle_exception() received IllegalConcurrentAccessError",
            repr(record.error),
        )
        ctx.check(
            "QLabel.setText()" in str(record.error),
            "the error names the method (QLabel.setText())",
            str(record.error),
        )
        ctx.check(
            not task.after_the_call and self.target.text() == record.label_before,
            "the call was stopped before it ran: the label is unchanged, run() did not go on",
            f"label {self.target.text()!r}, went on: {task.after_the_call}",
        )
        ctx.check(
            "IllegalConcurrentAccessError" in self.outcomes["wrong"].text()
            and "setText" in self.outcomes["wrong"].text(),
            "the page shows the error to the user",
            self.outcomes["wrong"].text(),
        )
        ctx.check(
            self.handlers["wrong"].status is TaskStatus.FAILED,
            "the handler status is FAILED",
            self.handlers["wrong"].status.name,
        )

    def _smoke_accessor(self, ctx: SmokeContext) -> SmokeScript:
        self.accessor_button.click()
        yield ctx.wait_until(self.is_idle, "the accessor task ended")
        record = self.records["accessor"]
        task = self.tasks["accessor"]
        assert isinstance(task, AccessorTask)
        ctx.check(record.terminal == ["done"], "the UIAccessor task ended in done()", f"terminal {record.terminal}")
        ctx.check(
            isinstance(record.result, str) and record.result.startswith("set through UIAccessor.access()"),
            "access() changed the label and access_synchronously() read the new text back",
            repr(record.result),
        )
        ctx.check(
            self.target.text() == record.result,
            "the label shows the text access() set",
            repr(self.target.text()),
        )
        gui = threading.get_ident()
        ctx.check(
            task.threads == [gui, gui],
            "both accessor calls ran on the GUI thread",
            f"threads {task.threads}, GUI thread {gui}",
        )

    def _smoke_progress(self, ctx: SmokeContext) -> SmokeScript:
        self.progress_button.click()
        yield ctx.wait_until(self.is_idle, "the progress task ended")
        record = self.records["progress"]
        steps = ProgressTask.STEPS
        expected = [f"published by the task: step {step} of {steps}" for step in range(1, steps + 1)]
        ctx.check(
            record.terminal == ["done"] and record.result == steps,
            "the publish() task ended in done()",
            f"terminal {record.terminal}, result {record.result}",
        )
        ctx.check(record.items == expected, "progress() received every published text, in order")
        ctx.check(
            self.target.text() == expected[-1],
            "progress() set the label on the GUI thread (the last text)",
            repr(self.target.text()),
        )
