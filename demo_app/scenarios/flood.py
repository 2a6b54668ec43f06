"""Scenario "Progress flood": one task reports every item of a huge loop.

Two floods side by side, each producing ``0 .. n-1`` as fast as it can on a worker thread
(see :mod:`demo_app.flood_tasks`):

* **qbackground**: ``lifecycle.publish(i)`` per item; the GUI thread receives the items
  coalesced into about one ``progress(changes)`` call per frame.
* **one signal per item**: the hand-written pattern — a ``QRunnable`` on
  ``QThreadPool.globalInstance()`` emitting a ``Signal(int)`` per item to a slot on the
  GUI thread, so every item is a queued event the GUI thread must process.

A :class:`~demo_app.scenarios.latency.LatencyMeter` ticks every 5 ms on the GUI thread and
records how late each tick ran; the chart draws the last few seconds of it, and each
column keeps the worst lateness seen during its own run. Idle, the page costs next to
nothing: the read-outs of a finished run are written once, and the chart is repainted
only while something on it moves.
"""

from __future__ import annotations

from time import perf_counter

from qtpy.QtCore import Qt, QThreadPool, QTimer
from qtpy.QtGui import QColor, QHideEvent, QShowEvent
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from qbackground import BackgroundTaskHandler, QBackgroundError, background_worker

from ..flood_tasks import NAIVE, QBACKGROUND, FloodRun, FloodTask, NaiveFlood
from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .flood_column import FloodColumn
from .latency import (
    CHART_SCALE_MS,
    CHART_SECONDS,
    GOOD_MS,
    HEARTBEAT_MS,
    IDLE_HEARTBEAT_MS,
    LATE,
    LatencyChart,
    LatencyMeter,
    LatencySample,
    Span,
    format_ms,
)
from .widgets import sized_buttons, status_label, steady

__all__ = ["FloodPage"]

REFRESH_MS = 33
"""While a run is on the chart, the chart and the live labels are refreshed at about 30 Hz."""
CALM_REFRESH_MS = 100
"""Idle, with only small late ticks on the chart (under a frame): 10 Hz is enough to let
them scroll away, and costs a third."""

_IDLE_TEXT = "—"
_RUN_COLOURS = {QBACKGROUND: QColor("#1f6fb2"), NAIVE: QColor("#7b4fa0")}
_RUN_LABELS = {QBACKGROUND: "qbackground run", NAIVE: "one-signal-per-item run"}


class FloodPage(Scenario):
    """Floods the GUI thread with items two ways and measures how late a 5 ms timer runs.

    The page's :class:`~demo_app.scenarios.latency.LatencyMeter` ticks while the page is
    visible; the chart and the live labels are refreshed while a flood runs or the chart
    still shows something (a run, a late tick), and not at all on a still, idle page.
    """

    title = "Progress flood"
    name = "flood"
    summary = (
        "A task reports every item of a tight loop. With qbackground, <code>publish()</code> "
        "only appends to a buffer and <code>progress()</code> gets the items in batches, about "
        "once per frame. The hand-written way emits one Qt signal per item, and the GUI thread "
        "must run a slot for each. A 5 ms heartbeat timer measures how late the GUI thread is."
    )

    qbackground_items = 200_000
    naive_items = 50_000
    naive_maximum = 100_000
    """The naive flood is bounded: it keeps the GUI thread busy for a second or two per 50,000."""
    smoke_naive_items = 20_000
    pause_between = 400
    """Milliseconds between the two floods of Run both (so they are apart on the chart)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: dict[str, FloodRun] = {}
        """The current (or last) run of each kind."""
        self.handler: BackgroundTaskHandler[int] | None = None
        """The last qbackground flood's handler."""
        self._naive_floods: list[NaiveFlood] = []
        self._pending: list[str] = []
        self._start_error: str | None = None
        self.meter = LatencyMeter(parent=self)
        self.meter.ticked.connect(self._on_tick)
        self._build()
        self._refresher = QTimer(self)
        self._refresher.setInterval(REFRESH_MS)
        self._refresher.timeout.connect(self._refresh)
        self._refresh_controls()

    # -- widgets ------------------------------------------------------------------------

    def _build(self) -> None:
        row = QHBoxLayout()
        self.run_both_button = QPushButton("Run both")
        self.run_both_button.setDefault(True)
        self.run_both_button.setToolTip("qbackground first, then one signal per item")
        self.run_both_button.clicked.connect(self.run_both)
        sized_buttons((self.run_both_button,))
        row.addWidget(self.run_both_button)
        row.addStretch(1)
        self.status_label = status_label()
        row.addWidget(self.status_label)
        self.body.addLayout(row)

        columns = QHBoxLayout()
        self.qbackground_column = FloodColumn(
            "qbackground: publish() per item",
            "Start",
            "progress() calls:",
            default=self.qbackground_items,
            maximum=5_000_000,
            tooltip="A BackgroundTask whose run() calls lifecycle.publish(i) for every item",
        )
        self.qbackground_column.start_button.clicked.connect(lambda: self.start(QBACKGROUND))
        self.naive_column = FloodColumn(
            "Hand-written: one signal per item",
            "Start",
            "Slot calls:",
            default=self.naive_items,
            maximum=self.naive_maximum,
            tooltip="A QRunnable on QThreadPool.globalInstance() emitting Signal(int) for every item "
            f"(at most {self.naive_maximum:,}: the window would stall too long)",
        )
        self.naive_column.start_button.clicked.connect(lambda: self.start(NAIVE))
        for column in (self.qbackground_column, self.naive_column):
            columns.addWidget(column.box, 1)
        self.body.addLayout(columns)

        meter_box = QGroupBox(
            f"GUI latency: how late a {HEARTBEAT_MS} ms timer on the GUI thread runs "
            f"({IDLE_HEARTBEAT_MS} ms while no flood runs)"
        )
        meter_layout = QVBoxLayout(meter_box)
        now_row = QHBoxLayout()
        now_row.addWidget(QLabel("Now:"))
        self.latency_bar = QProgressBar()
        self.latency_bar.setRange(0, int(CHART_SCALE_MS))
        self.latency_bar.setFormat("%v ms")
        self.latency_bar.setValue(0)
        now_row.addWidget(self.latency_bar, 1)
        self.recent_label = QLabel(_IDLE_TEXT)
        steady(self.recent_label, f"888 ms · worst in the last {CHART_SECONDS:g} s: 8,888 ms")
        self.recent_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        now_row.addWidget(self.recent_label)
        meter_layout.addLayout(now_row)
        self.chart = LatencyChart(self.meter, self._spans)
        meter_layout.addWidget(self.chart, 1)
        self.body.addWidget(meter_box, 1)

    def _column(self, kind: str) -> FloodColumn:
        return self.qbackground_column if kind == QBACKGROUND else self.naive_column

    # -- user actions -----------------------------------------------------------------

    def start(self, kind: str) -> FloodRun | None:
        """Start a flood of ``kind`` (:data:`QBACKGROUND` or :data:`NAIVE`): a Start button.

        Returns the new run, or None when a flood already runs or it could not start.
        """
        if self._any_running():
            return None
        self._start_error = None
        column = self._column(kind)
        total = column.size_spin.value()
        column.bar.setRange(0, total)
        column.bar.setValue(0)
        column.received_label.setText("0")
        self.meter.start(HEARTBEAT_MS)
        self._refresher.start(REFRESH_MS)
        run = FloodRun(kind, total)
        self.runs[kind] = run
        if kind == QBACKGROUND:
            try:
                self.handler = background_worker().handle(FloodTask(self, run, owner=self))
                self.handler.execute()
            except QBackgroundError as exc:
                self._start_error = f"could not start: {type(exc).__name__}"
                run.finished_at = perf_counter()
                run.terminal.append("failed")
        else:
            self._start_naive(run)
        self._refresh_controls()
        self._refresh()
        return run

    def run_both(self) -> None:
        """Run the qbackground flood, then the hand-written one (the Run both button)."""
        if self._any_running():
            return
        self._pending = [NAIVE]
        self.start(QBACKGROUND)

    def is_idle(self) -> bool:
        """No flood runs or waits to run, and the deliveries of the last one are over."""
        return not self._pending and not self._any_running() and not self._unfinished_naive()

    # -- the hand-written flood ---------------------------------------------------------

    def _start_naive(self, run: FloodRun) -> None:
        # Drop the runnables whose run() is over; keep the rest alive (autoDelete is off).
        self._naive_floods = [flood for flood in self._naive_floods if not flood.returned]
        flood = NaiveFlood(run.total)

        def on_item(value: int) -> None:
            # What a hand-written slot does: update the widgets for every item.
            if not run.running:
                run.late_callbacks += 1
                return
            run.calls += 1
            run.received += 1
            run.batches.append([value])
            column = self.naive_column
            column.bar.setValue(value + 1)
            column.received_label.setText(f"{run.received:,}")

        def on_finished() -> None:
            run.produced_at = flood.produced_at
            self.on_end(run, "done")

        flood.signals.item.connect(on_item)
        flood.signals.finished.connect(on_finished)
        self._naive_floods.append(flood)
        QThreadPool.globalInstance().start(flood)

    def _unfinished_naive(self) -> bool:
        return any(not flood.returned for flood in self._naive_floods)

    # -- callbacks (GUI thread) -----------------------------------------------------------

    def on_items(self, run: FloodRun, changes: list[int]) -> None:
        """qbackground's ``progress()``: a batch of items, in order."""
        if not run.running:
            run.late_callbacks += 1
            return
        run.calls += 1
        run.received += len(changes)
        run.batches.append(changes)
        column = self.qbackground_column
        column.bar.setValue(changes[-1] + 1)
        column.received_label.setText(f"{run.received:,}")

    def on_end(self, run: FloodRun, how: str) -> None:
        """A flood ended: ``how`` is ``"done"``, ``"canceled"`` or ``"failed"``."""
        run.terminal.append(how)
        if run.finished_at is None:
            run.finished_at = perf_counter()
        self._refresh()
        if self._pending and how == "done":
            QTimer.singleShot(self.pause_between, self._start_pending)
        else:
            self._pending.clear()
        self._refresh_controls()

    def _start_pending(self) -> None:
        """Run both: start the next flood, once the previous one has been measured."""
        if not self._pending:
            return
        if self._any_running():
            QTimer.singleShot(10, self._start_pending)
            return
        kind = self._pending.pop(0)
        if self.start(kind) is None:
            self._pending.clear()
        self._refresh_controls()

    def _on_tick(self, sample: LatencySample) -> None:
        if sample.lateness >= LATE and not self._refresher.isActive() and self.isVisible():
            self._refresher.start()  # a late tick to draw: the chart moves again
        for run in self.runs.values():
            if run.measured:
                continue
            if sample.now > run.started:
                run.worst = max(run.worst, sample.lateness)
            if run.finished_at is not None and sample.now >= run.finished_at:
                run.measured = True
                self._refresh_controls()
                if self._any_running() or self._pending:
                    continue
                if self.isVisible():
                    self.meter.start(IDLE_HEARTBEAT_MS)  # nothing to measure: tick slower
                else:
                    self.meter.stop()  # the page was left while the flood ran
                    self._refresher.stop()

    # -- display ------------------------------------------------------------------------

    def _any_running(self) -> bool:
        return any(not run.measured for run in self.runs.values())

    def _spans(self) -> list[Span]:
        return [
            Span(run.started, run.finished_at, _RUN_COLOURS[run.kind], _RUN_LABELS[run.kind])
            for run in self.runs.values()
        ]

    def _refresh(self) -> None:
        """The live read-outs and the chart; stops itself once nothing on them moves."""
        now = perf_counter()
        current = self.meter.current(now)
        self.latency_bar.setValue(min(int(CHART_SCALE_MS), round(current * 1000)))
        worst = max(current, self.meter.worst_since(now - CHART_SECONDS))
        self.recent_label.setText(f"{format_ms(current)} · worst in the last {CHART_SECONDS:g} s: {format_ms(worst)}")
        for run in self.runs.values():
            self._column(run.kind).show_run(run)
        self.chart.update()
        busy = self._any_running() or bool(self._pending)
        if not busy and self.chart.is_still(now):
            self._refresher.stop()  # the last paint showed the still chart; a late tick restarts it
            return
        calm = not busy and self.chart.is_still(now, at_least=GOOD_MS / 1000)
        interval = CALM_REFRESH_MS if calm else REFRESH_MS
        if self._refresher.interval() != interval:
            self._refresher.setInterval(interval)

    def _refresh_controls(self) -> None:
        busy = self._any_running() or bool(self._pending) or self._unfinished_naive()
        for column in (self.qbackground_column, self.naive_column):
            column.start_button.setEnabled(not busy)
            column.size_spin.setEnabled(not busy)
        self.run_both_button.setEnabled(not busy)
        running = [run for run in self.runs.values() if run.running]
        if self._start_error is not None:
            text = self._start_error
        elif running:
            text = "qbackground flood running" if running[0].kind == QBACKGROUND else "signal flood running"
        elif busy:
            text = "measuring…"
        else:
            text = "idle"
        self.status_label.setText(f"Status: {text}")

    def showEvent(self, event: QShowEvent) -> None:
        """Start the heartbeat and the display refresh while the page is visible."""
        super().showEvent(event)
        busy = self._any_running() or bool(self._pending)
        self.meter.start(HEARTBEAT_MS if busy else IDLE_HEARTBEAT_MS)
        self._refresher.start()

    def hideEvent(self, event: QHideEvent) -> None:
        """Stop the heartbeat unless a flood is being measured."""
        super().hideEvent(event)
        if not self._any_running():
            self.meter.stop()
            self._refresher.stop()

    # -- screenshot and smoke test --------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Run both floods at the window's sizes, so the chart shows both."""
        yield ctx.pause(0.5, "the heartbeat drew a calm stretch")
        self.run_both()
        yield ctx.wait_until(self.is_idle, "both floods ended", timeout=20)
        yield ctx.pause(0.3, "a calm stretch after the floods")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Flood with qbackground, then the hand-written way (smaller), and compare.

        The steps and checks are in :mod:`demo_app.scenarios.checks.flood`.
        """
        from .checks import flood as checks

        return checks.smoke(self, ctx)
