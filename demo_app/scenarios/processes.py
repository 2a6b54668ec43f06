"""Scenario "CPU work: threads vs processes": one prime count, timed on both backends."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    QBackgroundError,
    TaskStatus,
    background_worker,
)

from ..cpu_tasks import PartResult, PrimeCountTask, WarmUpTask
from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, selectable, sized_buttons, status_label, steady

__all__ = ["PairRun", "ProcessesPage"]

_IDLE_TEXT = "—"
_BACKEND_LABELS = {"thread": "threads", "process": "processes"}


@dataclass
class PairRun:
    """One run of every part on one backend; the smoke tests read it."""

    backend: str
    """``"thread"`` or ``"process"``."""
    limit: int
    parts: int
    started_at: float = field(default_factory=monotonic)
    terminal: list[list[str]] = field(default_factory=list)
    """Per part, the terminal callbacks that ran, in order (exactly one expected)."""
    results: list[PartResult | None] = field(default_factory=list)
    fractions: list[float] = field(default_factory=list)
    """Per part, the latest ``fraction_changed()`` value."""
    late_callbacks: int = 0
    """Fraction or message callbacks that arrived after their part's terminal one."""
    seconds: float | None = None
    """Wall time from the click to the last ``done()``; None unless every part finished."""
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.terminal = [[] for _ in range(self.parts)]
        self.results = [None] * self.parts
        self.fractions = [0.0] * self.parts

    @property
    def ended(self) -> bool:
        """Every part had its terminal callback."""
        return all(self.terminal)

    @property
    def count(self) -> int | None:
        """Primes found by all parts together, once every part finished."""
        if any(result is None for result in self.results):
            return None
        return sum(result.primes for result in self.results if result is not None)

    @property
    def pids(self) -> list[int]:
        """The processes the finished parts ran in, by part."""
        return [result.pid for result in self.results if result is not None]


class ProcessesPage(Scenario):
    """Counts primes below N in two tasks at once, on threads and on worker processes.

    Run buttons start both parts on one backend; Compare runs threads, then processes.
    Before the first process run the page runs one :class:`~demo_app.cpu_tasks.WarmUpTask`
    per worker process, so starting the pool is not part of the measurement.
    """

    title = "CPU work: threads vs processes"
    name = "processes"
    summary = (
        "Counting the primes below N by trial division is pure-Python CPU work, here split "
        "into two tasks that run at once. On <b>threads</b> they take turns holding the GIL; "
        'with <code>executor="process"</code> they run in parallel in a warm pool of worker '
        "processes. Progress, messages and results are pickled back, and the callbacks run "
        "here on the GUI thread."
    )

    parts = 2
    default_limit = 1_000_000
    """N in the window: one run takes a second or two."""
    smoke_limit = 300_000
    """N for the smoke test's complete runs (a few hundred milliseconds)."""
    cancel_at = 10
    """The smoke test clicks Cancel once every bar shows at least this many percent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handlers: list[BackgroundTaskHandler[PartResult]] = []
        """The current (or last) run's handlers, by part."""
        self.current: PairRun | None = None
        """The current (or last) run."""
        self.results: dict[str, PairRun] = {}
        """The last complete run per backend."""
        self.pool_pids: set[int] = set()
        """The worker processes the warm-up reached (empty: the pool is cold)."""
        self._warm_ups: list[BackgroundTaskHandler[int]] = []
        self._warm_pids: list[int] = []
        self._queue: list[str] = []
        self._start_error = False
        self._build()
        self._refresh_controls()

    # -- widgets -------------------------------------------------------------------

    def _build(self) -> None:
        box = QGroupBox("Work")
        box_layout = QVBoxLayout(box)

        limit_row = QHBoxLayout()
        limit_row.addWidget(QLabel("Count the primes below N ="))
        self.limit_spin = QSpinBox()
        self.limit_spin.setRange(1_000, 20_000_000)
        self.limit_spin.setSingleStep(100_000)
        self.limit_spin.setGroupSeparatorShown(True)
        self.limit_spin.setValue(self.default_limit)
        self.limit_spin.setToolTip(f"Split into {self.parts} tasks over interleaved odd numbers")
        limit_row.addWidget(self.limit_spin)
        limit_row.addStretch(1)
        self.status_label = status_label()
        limit_row.addWidget(self.status_label)
        box_layout.addLayout(limit_row)

        buttons = QHBoxLayout()
        self.threads_button = QPushButton("Run on threads")
        self.threads_button.clicked.connect(lambda: self.run_on("thread"))
        self.processes_button = QPushButton("Run on processes")
        self.processes_button.clicked.connect(lambda: self.run_on("process"))
        self.compare_button = QPushButton("Compare")
        self.compare_button.setDefault(True)
        self.compare_button.setToolTip("Run on threads, then on processes")
        self.compare_button.clicked.connect(self.compare)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for button in sized_buttons(
            (self.threads_button, self.processes_button, self.compare_button, self.cancel_button)
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        box_layout.addLayout(buttons)

        grid = QGridLayout()
        self.bars: list[QProgressBar] = []
        self.part_labels: list[QLabel] = []
        modulus = 2 * self.parts
        for part in range(self.parts):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(0)
            bar.setFormat("%p %")
            message = steady(QLabel(_IDLE_TEXT), "88,888,888 primes so far", "88,888,888 primes in 888.88 s")
            grid.addWidget(QLabel(f"Task {part + 1}: n ≡ {(3 + 2 * part) % modulus} (mod {modulus})"), part, 0)
            grid.addWidget(bar, part, 1)
            grid.addWidget(message, part, 2)
            self.bars.append(bar)
            self.part_labels.append(message)
        grid.setColumnStretch(1, 1)
        box_layout.addLayout(grid)
        self.body.addWidget(box)

        timings = QGroupBox("Wall time, from the click to the last done()")
        form = QFormLayout(timings)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.thread_result_label = QLabel(_IDLE_TEXT)
        self.process_result_label = QLabel(_IDLE_TEXT)
        self.speedup_label = QLabel(_IDLE_TEXT)
        selectable((self.thread_result_label, self.process_result_label, self.speedup_label))
        self.speedup_label.setStyleSheet("font-weight: bold;")
        form.addRow("Threads:", self.thread_result_label)
        form.addRow("Processes:", self.process_result_label)
        form.addRow("Speed-up:", self.speedup_label)
        self.body.addWidget(timings)

        log_group, self.log = log_box(
            "Log", "Press Compare: each part's done() and where it ran appear here."
        )
        self.body.addWidget(log_group, 1)
        self._update_results()

    # -- user actions ----------------------------------------------------------------

    def run_on(self, backend: str) -> None:
        """Count on ``backend`` (``"thread"`` or ``"process"``): the Run buttons."""
        if not self.is_idle():
            return
        self._queue = [backend]
        self._start_next()

    def compare(self) -> None:
        """Count on threads, then on processes (the Compare button)."""
        if not self.is_idle():
            return
        self._queue = list(_BACKEND_LABELS)
        self._start_next()

    def cancel(self) -> None:
        """Cancel whatever runs (the Cancel button); ``canceled()`` runs inside."""
        self._queue.clear()
        alive = [handler for handler in self._all_handlers() if handler.is_alive()]
        if alive:
            self.log.stamp(f"Cancel clicked: calling cancel() on {len(alive)} handlers")
            accepted = [handler.cancel() for handler in alive]
            self.log.stamp(f"cancel() returned {accepted}")
        self._refresh_controls()

    def is_idle(self) -> bool:
        return (
            not self._queue
            and not self._any_alive()
            and self.compare_button.isEnabled()
            and not self.cancel_button.isEnabled()
        )

    # -- running ---------------------------------------------------------------------

    def _start_next(self) -> None:
        """Start the next queued backend (warming the pool up first if it is cold)."""
        self._start_error = False
        if not self._queue:
            self._refresh_controls()
            return
        backend = self._queue[0]
        if backend == "process" and not self.pool_pids:
            self._start_warm_up()
            return
        self._queue.pop(0)
        self._start_run(backend)

    def _start_warm_up(self) -> None:
        self.log.start_section()
        self._warm_pids = []
        tasks = [WarmUpTask(self, owner=self) for _ in range(self.parts)]
        handlers = self._execute_all(tasks, "process")
        self._warm_ups = handlers
        if handlers:
            self.log.stamp(f"starting the worker processes: one WarmUpTask each ({len(handlers)})")
        self._refresh_controls()

    def _start_run(self, backend: str) -> None:
        limit = self.limit_spin.value()
        for bar, label in zip(self.bars, self.part_labels):
            bar.setValue(0)
            label.setText(_IDLE_TEXT)
        run = self.current = PairRun(backend, limit, self.parts)
        if self._warm_ups:
            self._warm_ups = []  # the warm-up began this log section; its clock runs on
        else:
            self.log.start_section(at=run.started_at)
        tasks = [
            PrimeCountTask(self, limit=limit, part=part, parts=self.parts, owner=self)
            for part in range(self.parts)
        ]
        self.handlers = self._execute_all(tasks, backend)
        if self.handlers:
            self.log.stamp(f"{_BACKEND_LABELS[backend]}: counting the primes below {limit:,} in {self.parts} tasks")
        self._refresh_controls()

    def _execute_all(
        self, tasks: Sequence[BackgroundTask[Any, Any]], executor: str
    ) -> list[BackgroundTaskHandler[Any]]:
        """``handle()`` and ``execute()`` each task; on an error cancel those started."""
        handlers: list[BackgroundTaskHandler[Any]] = []
        try:
            for task in tasks:
                handler = background_worker().handle(task, executor=executor)
                handler.execute()
                handlers.append(handler)
        except QBackgroundError as exc:
            self.log.stamp(f"execute() raised {type(exc).__name__}: {exc}")
            self._queue.clear()
            self._start_error = True
            for handler in handlers:
                handler.cancel()
            return []
        return handlers

    # -- CpuView: the tasks' callbacks, on the GUI thread ----------------------------------

    def on_warm_up_done(self, pid: int) -> None:
        self._warm_pids.append(pid)
        if len(self._warm_pids) < len(self._warm_ups):
            return
        self.pool_pids = set(self._warm_pids)
        pids = ", ".join(str(pid) for pid in sorted(self.pool_pids))
        self.log.stamp(f"worker processes ready after {self.log.elapsed():.2f} s (pids {pids}); not timed")
        self._start_next()

    def on_warm_up_ended(self, exc: BaseException | None) -> bool:
        if exc is None:
            self.log.stamp("a WarmUpTask was cancelled")
        else:
            self.log.stamp(f"a WarmUpTask failed: {type(exc).__name__}: {exc}")
            self.cancel()
        self._refresh_controls()
        return True

    def on_part_fraction(self, part: int, fraction: float) -> None:
        run = self._run()
        if run.terminal[part]:
            run.late_callbacks += 1
        run.fractions[part] = fraction
        self.bars[part].setValue(round(fraction * 100))
        self._update_status()

    def on_part_message(self, part: int, message: str) -> None:
        run = self._run()
        if run.terminal[part]:
            run.late_callbacks += 1
        self.part_labels[part].setText(message)

    def on_part_done(self, part: int, result: PartResult) -> None:
        run = self._run()
        run.terminal[part].append("done")
        run.results[part] = result
        self.part_labels[part].setText(f"{result.primes:,} primes in {result.seconds:.2f} s")  # no more "so far"
        self.log.stamp(
            f"task {part + 1}: done({result.primes:,} primes); run() took {result.seconds:.2f} s "
            f"in {_where(result.pid)}"
        )
        if not all(terminal == ["done"] for terminal in run.terminal):
            return
        run.seconds = monotonic() - run.started_at
        self.results[run.backend] = run
        self.log.stamp(
            f"{_BACKEND_LABELS[run.backend]}: {run.count:,} primes below {run.limit:,} in {run.seconds:.2f} s"
        )
        self._update_results()
        self._start_next()

    def on_part_canceled(self, part: int) -> None:
        run = self._run()
        run.terminal[part].append("canceled")
        self.part_labels[part].setText(f"cancelled at {self.bars[part].value()} %")
        self.log.stamp(f"task {part + 1}: canceled() at {self.bars[part].value()} %")
        self._refresh_controls()

    def on_part_failed(self, part: int, exc: BaseException) -> bool:
        run = self._run()
        run.terminal[part].append("handle_exception")
        run.error = exc
        self.part_labels[part].setText(f"failed: {type(exc).__name__}")
        self.log.stamp(f"task {part + 1}: handle_exception({type(exc).__name__}: {exc}) → True; cancelling the rest")
        self.cancel()
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _run(self) -> PairRun:
        run = self.current
        assert run is not None, "a part callback arrived before any run started"
        return run

    def _all_handlers(self) -> list[BackgroundTaskHandler[Any]]:
        return [*self._warm_ups, *self.handlers]

    def _any_alive(self) -> bool:
        return any(handler.is_alive() for handler in self._all_handlers())

    def _refresh_controls(self) -> None:
        busy = bool(self._queue) or self._any_alive()
        for widget in (self.threads_button, self.processes_button, self.compare_button, self.limit_spin):
            widget.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self._update_status()

    def _update_status(self) -> None:
        run = self.current
        handlers = self._all_handlers()
        statuses = {handler.status for handler in handlers}
        if any(handler.is_alive() for handler in self._warm_ups):
            text = "starting worker processes…"
        elif run is not None and handlers and not run.ended:
            text = f"{_BACKEND_LABELS[run.backend]} running · {monotonic() - run.started_at:.1f} s"
        elif self._start_error:
            text = "could not start"
        elif TaskStatus.FAILED in statuses:
            text = "failed"
        elif TaskStatus.CANCELLED in statuses:
            text = "cancelled"
        else:
            text = "idle" if handlers else "not started"
        self.status_label.setText(f"Status: {text}")

    def _update_results(self) -> None:
        labels = {"thread": self.thread_result_label, "process": self.process_result_label}
        for backend, label in labels.items():
            run = self.results.get(backend)
            if run is None or run.seconds is None or run.count is None:
                label.setText(_IDLE_TEXT)
                continue
            where = ", ".join(_where(pid) for pid in run.pids) if backend == "process" else "both in this process"
            label.setText(f"{run.seconds:.2f} s · {run.count:,} primes below {run.limit:,} · {where}")
        threads, processes = self.results.get("thread"), self.results.get("process")
        if threads is None or processes is None or threads.seconds is None or processes.seconds is None:
            self.speedup_label.setText("— (press Compare)")
        elif threads.limit != processes.limit:
            self.speedup_label.setText("— (the last runs counted below different N: press Compare)")
        else:
            ratio = threads.seconds / processes.seconds
            self.speedup_label.setText(f"{ratio:.2f}× (thread time ÷ process time)")

    # -- smoke test ------------------------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Compare both backends at the window's N, so the picture shows the speed-up."""
        self.limit_spin.setValue(self.default_limit)
        self.compare_button.click()
        yield ctx.wait_until(self.is_idle, "both runs finished", timeout=25)
        yield ctx.pause(0.3, "the status bar caught up")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Compare threads with processes, cancel a process run, then run again.

        The steps and checks are in :mod:`demo_app.scenarios.checks.processes`.
        """
        from .checks import processes as checks

        return checks.smoke(self, ctx)


def _where(pid: int) -> str:
    return "this process" if pid == os.getpid() else f"process {pid}"
