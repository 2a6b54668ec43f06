"""Scenario "Timeouts": ``timeout=`` on three tasks; two are too slow for it, one is not.

* too slow, handled: ``handle_timeout_exception()`` returns True — nothing else happens;
* too slow, not handled: it returns False, so the worker logs a warning on the
  ``qbackground`` logger and emits ``BackgroundWorker.task_timed_out(task)``;
* in time: ``done()`` runs as usual.

The page measures how late ``handle_timeout_exception()`` arrives after the deadline, and
when ``run()`` really stopped (``lifecycle.sleep()`` wakes with ``TaskInterruptedError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
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
from .widgets import log_box, show_outcome, sized_buttons, status_label, steady

__all__ = ["Case", "SlowTask", "TimeoutRun", "TimeoutsPage"]

_IDLE_TEXT = "—"


@dataclass(frozen=True)
class Case:
    """One row of the page: a task and what its ``handle_timeout_exception()`` returns."""

    key: str
    """Short name, used in the log and by the smoke test."""
    title: str
    """The row's button."""
    handles_timeout: bool
    work: float
    """Seconds the task works for, by default (the row's spin box)."""
    tooltip: str


HANDLED = Case(
    "handled",
    "Too slow, handled",
    True,
    3.0,
    "Works longer than its timeout; handle_timeout_exception() returns True",
)
UNHANDLED = Case(
    "unhandled",
    "Too slow, not handled",
    False,
    3.0,
    "Works longer than its timeout; handle_timeout_exception() returns False: the worker "
    "logs a warning and emits task_timed_out",
)
IN_TIME = Case("in time", "Finishes in time", True, 0.5, "Finishes before its timeout: done() runs")
CASES = (HANDLED, UNHANDLED, IN_TIME)


@dataclass
class TimeoutRun:
    """One task the page started, and what happened to it; the smoke test reads it."""

    case: Case
    timeout: float
    work: float
    handler: BackgroundTaskHandler[float] | None = None
    terminal: list[str] = field(default_factory=list)
    """The endings that ran: ``"done"``, ``"timeout"``, ``"canceled"``, ``"failed"`` (one expected)."""
    ended_after: float | None = None
    """Seconds from ``execute()`` to the terminal callback."""
    stopped_after: float | None = None
    """Seconds from ``execute()`` until ``run()`` really returned (``when_stopped``)."""
    timed_out_signals: int = 0
    """How often ``BackgroundWorker.task_timed_out`` was emitted for this task."""
    fraction: float = 0.0
    """The latest ``fraction_changed()``: the share of its work done."""
    late_callbacks: int = 0
    """Callbacks (progress, done…) that arrived after the terminal one."""

    @property
    def lateness(self) -> float | None:
        """Seconds from the deadline to ``handle_timeout_exception()`` (None: it did not run)."""
        if self.terminal[:1] != ["timeout"] or self.ended_after is None:
            return None
        return self.ended_after - self.timeout

    @property
    def settled(self) -> bool:
        """The terminal callback ran and ``run()`` has returned."""
        return bool(self.terminal) and self.stopped_after is not None


class SlowTask(BackgroundTask[None, float]):
    """Works for ``work`` seconds in short sleeps, reporting the share done.

    ``run()`` returns the seconds it worked. A timeout wakes its ``lifecycle.sleep()``
    with ``TaskInterruptedError``, which ends ``run()`` at once.

    Example::

        task = SlowTask(page, run, timeout=1.0, owner=page)
        background_worker().handle(task).execute()
    """

    def __init__(self, page: TimeoutsPage, run: TimeoutRun, *, timeout: float, owner: QWidget) -> None:
        super().__init__(timeout=timeout, owner=owner)
        self._page = page
        self.record = run

    def run(self, lifecycle: TaskLifeCycle[None]) -> float:
        """Sleep in 20 ms steps until ``work`` seconds passed (a pool thread)."""
        work = self.record.work
        lifecycle.set_total(work)
        started = monotonic()
        while (elapsed := monotonic() - started) < work:
            lifecycle.set_progress(elapsed)
            lifecycle.sleep(min(0.02, work - elapsed))
        lifecycle.set_progress(work)
        return monotonic() - started

    def fraction_changed(self, fraction: float) -> None:
        """The share of the work done (GUI thread)."""
        self._page.on_fraction(self.record, fraction)

    def done(self, result: float) -> None:
        """It finished before its deadline (GUI thread)."""
        self._page.on_end(self.record, "done", f"done({result:.2f})")

    def handle_timeout_exception(self) -> bool:
        """The deadline passed first: True when this case handles it (GUI thread)."""
        handled = self.record.case.handles_timeout
        self._page.on_end(self.record, "timeout", f"handle_timeout_exception() → {handled}")
        return handled

    def canceled(self) -> None:
        """Not used by the page; logged should anything cancel it (GUI thread)."""
        self._page.on_end(self.record, "canceled", "canceled()")

    def handle_exception(self, exc: BaseException) -> bool:
        """``run()`` raised: logged, and left to the worker to report (GUI thread)."""
        self._page.on_end(self.record, "failed", f"handle_exception({type(exc).__name__}: {exc})")
        return False


class _Row:
    """A case's widgets in the grid."""

    def __init__(self, case: Case) -> None:
        self.button = QPushButton(case.title)
        self.button.setToolTip(case.tooltip)
        self.work_spin = QDoubleSpinBox()
        self.work_spin.setRange(0.05, 120.0)
        self.work_spin.setSingleStep(0.5)
        self.work_spin.setDecimals(2)
        self.work_spin.setSuffix(" s")
        self.work_spin.setValue(case.work)
        self.work_spin.setToolTip("How long the task works")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.bar.setFormat("%p %")
        self.outcome = steady(
            QLabel(_IDLE_TEXT), "timed out · not handled · +888.8 ms", "done after 888.88 s", bold=True
        )
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)


class TimeoutsPage(Scenario):
    """Runs tasks with ``timeout=``: two are slower than it, one finishes in time."""

    title = "Timeouts"
    name = "timeouts"
    summary = (
        "<code>BackgroundTask(timeout=…)</code> counts from <code>execute()</code>. When it "
        "expires the task is interrupted (its <code>lifecycle.sleep()</code> wakes at once) and "
        "<code>handle_timeout_exception()</code> runs on the GUI thread instead of "
        "<code>done()</code>, within milliseconds of the deadline. If it returns False, the "
        "worker logs a warning and emits <code>task_timed_out</code>."
    )

    default_timeout = 1.0
    smoke_timeout = 0.3
    smoke_work = {HANDLED.key: 2.0, UNHANDLED.key: 2.0, IN_TIME.key: 0.1}
    lateness_limit = 0.100
    """The smoke test's (loose) bound on how late a timeout may arrive: CI machines are noisy."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[str, TimeoutRun] = {}
        """The current (or last) run of each case, by :attr:`Case.key`."""
        self._build()
        background_worker().task_timed_out.connect(self._on_task_timed_out)
        self._refresh_controls()

    # -- widgets ------------------------------------------------------------------------

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Timeout:"))
        self.timeout_spin = QDoubleSpinBox()
        self.timeout_spin.setRange(0.1, 60.0)
        self.timeout_spin.setSingleStep(0.1)
        self.timeout_spin.setDecimals(2)
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setValue(self.default_timeout)
        self.timeout_spin.setToolTip("BackgroundTask(timeout=…) of every task started from now on")
        top.addWidget(self.timeout_spin)
        self.run_all_button = QPushButton("Run all three")
        self.run_all_button.setDefault(True)
        self.run_all_button.clicked.connect(self.run_all)
        sized_buttons((self.run_all_button,))
        top.addWidget(self.run_all_button)
        top.addStretch(1)
        self.status_label = status_label()
        top.addWidget(self.status_label)
        self.body.addLayout(top)

        box = QGroupBox("Tasks")
        grid = QGridLayout(box)
        for column, heading in enumerate(("Start", "Works for", "Work done", "Outcome")):
            label = QLabel(f"<b>{heading}</b>")
            grid.addWidget(label, 0, column)
        self.rows: dict[str, _Row] = {}
        for index, case in enumerate(CASES, start=1):
            row = _Row(case)
            row.button.clicked.connect(lambda _checked=False, case=case: self.start(case))
            grid.addWidget(row.button, index, 0)
            grid.addWidget(row.work_spin, index, 1)
            grid.addWidget(row.bar, index, 2)
            grid.addWidget(row.outcome, index, 3)
            self.rows[case.key] = row
        sized_buttons(row.button for row in self.rows.values())
        grid.setColumnStretch(2, 1)
        self.body.addWidget(box)

        log_group, self.log = log_box(
            "Log", "Press Run all three: each task's timeline, from its execute(), appears here."
        )
        self.body.addWidget(log_group, 1)

    # -- user actions -----------------------------------------------------------------

    def start(self, case: Case) -> TimeoutRun | None:
        """Start ``case``'s task with the current timeout (its button).

        Returns the run, or None when that case still runs or it could not start.
        """
        previous = self.runs.get(case.key)
        if previous is not None and not previous.settled:
            return None
        row = self.rows[case.key]
        run = TimeoutRun(case, timeout=self.timeout_spin.value(), work=row.work_spin.value())
        self.runs[case.key] = run
        row.bar.setValue(0)
        show_outcome(row.outcome, "running…")
        task = SlowTask(self, run, timeout=run.timeout, owner=self)
        try:
            handler = background_worker().handle(task)
            handler.execute()
        except QBackgroundError as exc:
            run.terminal.append("failed")
            run.stopped_after = 0.0
            row.outcome.setText(f"could not start: {type(exc).__name__}")
            self._refresh_controls()
            return None
        run.handler = handler
        handler.when_stopped(lambda h: self._on_stopped(run, h))
        verdict = "too slow" if run.work > run.timeout else "in time"
        self._log(run, f"execute(): timeout {run.timeout:.2f} s, works {run.work:.2f} s ({verdict})")
        self._refresh_controls()
        return run

    def run_all(self) -> None:
        """Start every case at once (the Run all three button)."""
        if not self.is_idle():
            return
        for case in CASES:
            self.start(case)

    def is_idle(self) -> bool:
        """No task of this page runs, and every ``run()`` has returned."""
        return all(run.settled for run in self.runs.values())

    # -- callbacks (GUI thread) -----------------------------------------------------------

    def on_fraction(self, run: TimeoutRun, fraction: float) -> None:
        """A task's share of work done."""
        if run.terminal:
            run.late_callbacks += 1
            return
        run.fraction = fraction
        self.rows[run.case.key].bar.setValue(round(fraction * 100))

    def on_end(self, run: TimeoutRun, how: str, text: str) -> None:
        """A task's terminal callback: ``how`` is ``"done"``, ``"timeout"``, ``"canceled"`` or ``"failed"``."""
        if run.terminal:
            run.late_callbacks += 1
        run.terminal.append(how)
        elapsed = self._elapsed(run)
        run.ended_after = elapsed
        row = self.rows[run.case.key]
        if how == "timeout":
            late = elapsed - run.timeout
            self._log(run, f"{text}, {late * 1000:.1f} ms late")
            if run.case.handles_timeout:
                row.outcome.setText(f"timed out · handled · +{late * 1000:.1f} ms")
                kind = "handled"
            else:
                row.outcome.setText(f"timed out · not handled · +{late * 1000:.1f} ms")
                kind = "unhandled"
        elif how == "done":
            self._log(run, f"{text}: {run.timeout - elapsed:.2f} s before the deadline")
            row.outcome.setText(f"done after {elapsed:.2f} s")
            kind = "done"
        else:
            self._log(run, text)
            row.outcome.setText(how)
            kind = "unhandled"
        show_outcome(row.outcome, row.outcome.text(), kind)
        self._refresh_controls()

    def _on_task_timed_out(self, task: Any) -> None:
        if not isinstance(task, SlowTask) or self.runs.get(task.record.case.key) is not task.record:
            return  # another page's task
        run = task.record
        run.timed_out_signals += 1
        self._log(run, "worker.task_timed_out emitted (and a warning logged)")

    def _on_stopped(self, run: TimeoutRun, handler: BackgroundTaskHandler[float]) -> None:
        run.stopped_after = self._elapsed(run)
        if handler.status is TaskStatus.TIMED_OUT:
            late = run.stopped_after - run.timeout
            self._log(run, f"run() returned: its sleep() woke {late * 1000:.1f} ms late")
        else:
            self._log(run, f"run() returned; status {handler.status.name}")
        self._refresh_controls()

    # -- display ------------------------------------------------------------------------

    def _elapsed(self, run: TimeoutRun) -> float:
        handler = run.handler
        elapsed = handler.elapsed if handler is not None else None
        return 0.0 if elapsed is None else elapsed

    def _refresh_controls(self) -> None:
        running = [run for run in self.runs.values() if not run.settled]
        for case in CASES:
            run = self.runs.get(case.key)
            busy = run is not None and not run.settled
            self.rows[case.key].button.setEnabled(not busy)
            self.rows[case.key].work_spin.setEnabled(not busy)
        self.run_all_button.setEnabled(not running)
        self.status_label.setText(f"Status: {len(running)} running" if running else "Status: idle")

    def _log(self, run: TimeoutRun, text: str) -> None:
        self.log.appendPlainText(f"{run.case.key:>9}  {self._elapsed(run):6.3f} s  {text}")

    # -- screenshot and smoke test --------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Run all three at the window's settings and wait for every ending."""
        self.run_all()
        yield ctx.wait_until(self.is_idle, "every task ended", timeout=15)
        yield ctx.pause(0.3, "the status bar caught up")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Run all three with a short timeout and check each ending.

        The steps and checks are in :mod:`demo_app.scenarios.checks.timeouts`.
        """
        from .checks import timeouts as checks

        return checks.smoke(self, ctx)


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"
