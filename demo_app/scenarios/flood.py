"""Scenario "Progress flood": one task reports every item of a huge loop.

Two floods side by side, each producing ``0 .. n-1`` as fast as it can on a worker thread:

* **qbackground**: ``lifecycle.publish(i)`` per item; the GUI thread receives the items
  coalesced into about one ``progress(changes)`` call per frame.
* **one signal per item**: the hand-written pattern — a ``QRunnable`` on
  ``QThreadPool.globalInstance()`` emitting a ``Signal(int)`` per item to a slot on the
  GUI thread, so every item is a queued event the GUI thread must process.

A :class:`LatencyMeter` ticks every 5 ms on the GUI thread (a precise ``QTimer``) and
records how late each tick ran; the :class:`LatencyChart` draws the last few seconds of
it, and each column keeps the worst lateness seen during its own run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import NamedTuple

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QHideEvent, QPainter, QPaintEvent, QPen, QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
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
from .widgets import selectable, sized_buttons, status_label

__all__ = [
    "FloodPage",
    "FloodRun",
    "FloodTask",
    "LatencyChart",
    "LatencyMeter",
    "LatencySample",
    "NaiveFlood",
]

QBACKGROUND = "qbackground"
NAIVE = "naive"

HEARTBEAT_MS = 5
"""Interval of the GUI-thread heartbeat; lateness is measured against it."""
CHART_SECONDS = 6.0
"""How much history the chart shows."""
CHART_SCALE_MS = 200.0
"""Top of the chart's scale; taller stalls are clipped (and marked)."""
RECENT_SECONDS = 0.25
""""GUI latency now" is the worst lateness of the ticks in this last span."""
REFRESH_MS = 33
"""The chart and the live labels are refreshed at about 30 Hz."""

_IDLE_TEXT = "—"
_RUN_COLOURS = {QBACKGROUND: QColor("#1f6fb2"), NAIVE: QColor("#7b4fa0")}
_RUN_LABELS = {QBACKGROUND: "qbackground run", NAIVE: "one-signal-per-item run"}
_GOOD_MS = 1000 / 60
"""One frame at 60 Hz: a tick later than this is a visible hiccup."""
_BAD_MS = 50.0
"""About where a user starts to notice a window that does not respond."""


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def _latency_colour(ms: float) -> QColor:
    if ms < _GOOD_MS:
        return QColor("#1b7f3b")
    if ms < _BAD_MS:
        return QColor("#a15c00")
    return QColor("#b3261e")


# -- the meter -----------------------------------------------------------------------------


class LatencySample(NamedTuple):
    """One heartbeat tick: the previous tick's time, this tick's time, and the lateness."""

    previous: float
    """``perf_counter()`` of the previous tick (or of :meth:`LatencyMeter.start`)."""
    now: float
    """``perf_counter()`` of this tick."""
    lateness: float
    """Seconds this tick came after the time it was due (gap minus the interval, ≥ 0)."""


class LatencyMeter(QObject):
    """A precise heartbeat on the GUI thread: how late does each 5 ms tick run?

    A tick can only run when the GUI thread returns to its event loop, so a tick that
    comes 120 ms late means the window could not repaint or react for about that long.

    Example::

        meter = LatencyMeter()
        meter.ticked.connect(lambda sample: print(sample.lateness))
        meter.start()
    """

    ticked = Signal(object)
    """Emitted on every tick with its :class:`LatencySample`."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval = interval_ms / 1000
        self.samples: deque[LatencySample] = deque(maxlen=round(CHART_SECONDS * 1000 / interval_ms * 1.5))
        """The recent ticks, oldest first (a few seconds' worth)."""
        self.ticks = 0
        """Ticks since the meter was created."""
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Start ticking (gaps are measured from now)."""
        if not self._timer.isActive():
            self._last = perf_counter()
            self._timer.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._timer.stop()

    def is_running(self) -> bool:
        """True while the heartbeat ticks."""
        return self._timer.isActive()

    def current(self, now: float | None = None) -> float:
        """The worst lateness (seconds) of the ticks in the last :data:`RECENT_SECONDS`.

        A stall still going on counts too: the time since the last tick, minus the interval.
        """
        now = perf_counter() if now is None else now
        worst = max(0.0, now - self._last - self.interval) if self.is_running() else 0.0
        for sample in reversed(self.samples):
            if sample.now < now - RECENT_SECONDS:
                break
            worst = max(worst, sample.lateness)
        return worst

    def worst_since(self, since: float) -> float:
        """The worst lateness (seconds) of the ticks recorded after ``since``."""
        return max((sample.lateness for sample in self.samples if sample.now > since), default=0.0)

    def _tick(self) -> None:
        now = perf_counter()
        sample = LatencySample(self._last, now, max(0.0, now - self._last - self.interval))
        self._last = now
        self.ticks += 1
        self.samples.append(sample)
        self.ticked.emit(sample)


@dataclass
class Span:
    """A shaded stretch of the chart: one run, from its click to its last item."""

    start: float
    end: float | None
    colour: QColor
    label: str


class LatencyChart(QWidget):
    """Draws the last :data:`CHART_SECONDS` of a :class:`LatencyMeter`.

    Each tick later than half a millisecond is a bar as wide as the gap it ended and as
    tall as its lateness; the runs are shaded behind the bars (see :class:`Span`).

    Example::

        chart = LatencyChart(meter, spans=lambda: [])
        chart.update()
    """

    def __init__(
        self, meter: LatencyMeter, spans: Callable[[], Sequence[Span]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._meter = meter
        self._spans = spans
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the legend, the axes, the run spans and the late ticks."""
        painter = QPainter(self)
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        left = metrics.horizontalAdvance("200 ms") + 8
        plot = QRectF(left, line + 6, max(10, self.width() - left - 6), max(10, self.height() - 2 * line - 10))
        palette = self.palette()
        text_pen = QPen(palette.text().color())
        painter.fillRect(plot, palette.base())

        now = perf_counter()
        start = now - CHART_SECONDS

        def x(t: float) -> float:
            return plot.left() + (t - start) / CHART_SECONDS * plot.width()

        def y(seconds: float) -> float:
            ms = min(seconds * 1000, CHART_SCALE_MS)
            return plot.bottom() - ms / CHART_SCALE_MS * plot.height()

        # Legend, in the strip above the plot: the run shades, then the frame line.
        legend_x = plot.left()
        baseline = line - 2
        spans = list(self._spans())
        for colour, label in dict.fromkeys((span.colour.name(), span.label) for span in spans):
            painter.fillRect(QRectF(legend_x, baseline - metrics.ascent() + 2, 10, 10), self._shade(QColor(colour), 110))
            painter.setPen(text_pen)
            painter.drawText(QPointF(legend_x + 14, baseline), label)
            legend_x += 14 + metrics.horizontalAdvance(label) + 14
        frame_pen = QPen(QColor("#a15c00"))
        frame_pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(frame_pen)
        mid = baseline - metrics.ascent() / 2 + 1
        painter.drawLine(QPointF(legend_x, mid), QPointF(legend_x + 18, mid))
        painter.setPen(text_pen)
        painter.drawText(QPointF(legend_x + 22, baseline), f"one frame at 60 Hz ({_GOOD_MS:.1f} ms)")

        # Runs, shaded behind everything else.
        for span in spans:
            end = now if span.end is None else span.end
            if end < start:
                continue
            x0, x1 = max(plot.left(), x(span.start)), min(plot.right(), x(end))
            painter.fillRect(QRectF(x0, plot.top(), max(2.0, x1 - x0), plot.height()), self._shade(span.colour))

        # Grid: every 50 ms, and a dashed line at one frame.
        grid = QPen(palette.mid().color())
        grid.setWidth(0)
        for ms in range(0, int(CHART_SCALE_MS) + 1, 50):
            level = y(ms / 1000)
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), level), QPointF(plot.right(), level))
            painter.setPen(text_pen)
            label = f"{ms} ms"
            painter.drawText(
                QPointF(left - 4 - metrics.horizontalAdvance(label), level + metrics.ascent() / 2 - 1), label
            )
        painter.setPen(frame_pen)
        level = y(_GOOD_MS / 1000)
        painter.drawLine(QPointF(plot.left(), level), QPointF(plot.right(), level))

        # The late ticks, coloured by how bad they are; clipped ones get their value written.
        painter.setPen(Qt.PenStyle.NoPen)
        clipped: list[tuple[float, float]] = []
        for sample in self._meter.samples:
            if sample.now < start or sample.lateness < 0.0005:
                continue
            x0, x1 = max(plot.left(), x(sample.previous)), x(sample.now)
            top = y(sample.lateness)
            painter.fillRect(
                QRectF(x0, top, max(1.5, x1 - x0), plot.bottom() - top), _latency_colour(sample.lateness * 1000)
            )
            if sample.lateness * 1000 > CHART_SCALE_MS:
                clipped.append((x0, sample.lateness))
        painter.setPen(text_pen)
        label_end = plot.left()
        for x0, lateness in clipped:
            label = _ms(lateness)
            width = metrics.horizontalAdvance(label)
            at = max(x0 - width - 3, label_end + 4)
            if at + width > plot.right():
                at = plot.right() - width - 2
            if at < label_end:
                continue
            background = QRectF(at - 2, plot.top() + 2, width + 4, line)
            painter.fillRect(background, palette.base())
            painter.drawText(QPointF(at, plot.top() + 1 + metrics.ascent()), label)
            label_end = at + width

        painter.drawText(QPointF(plot.left(), self.height() - 3), f"−{CHART_SECONDS:g} s")
        now_label = "now"
        painter.drawText(QPointF(plot.right() - metrics.horizontalAdvance(now_label), self.height() - 3), now_label)
        painter.setPen(QPen(palette.mid().color()))
        painter.drawRect(plot)
        painter.end()

    @staticmethod
    def _shade(colour: QColor, alpha: int = 45) -> QColor:
        shade = QColor(colour)
        shade.setAlpha(alpha)
        return shade


# -- the two floods ------------------------------------------------------------------------


@dataclass
class FloodRun:
    """One flood: what reached the GUI thread, and when. The smoke test reads it."""

    kind: str
    """:data:`QBACKGROUND` or :data:`NAIVE`."""
    total: int
    started: float = field(default_factory=perf_counter)
    """``perf_counter()`` at the click."""
    received: int = 0
    """Items that reached the GUI thread."""
    calls: int = 0
    """GUI-thread calls that delivered them (``progress()`` calls, or slot calls)."""
    batches: list[list[int]] = field(default_factory=list)
    """What each delivery carried (for the order check, done after the run)."""
    produced_at: float | None = None
    """``perf_counter()`` when the producing loop ended (set on the worker thread)."""
    finished_at: float | None = None
    """``perf_counter()`` when the last item (and the end) reached the GUI thread."""
    worst: float = 0.0
    """Worst heartbeat lateness (seconds) from the click to the first tick after the end."""
    measured: bool = False
    """A tick after :attr:`finished_at` has been seen, so :attr:`worst` is final."""
    terminal: list[str] = field(default_factory=list)
    """The ending(s) that arrived: ``"done"``, ``"canceled"``, ``"failed"`` (one expected)."""
    late_callbacks: int = 0
    """Deliveries after the ending."""

    @property
    def running(self) -> bool:
        """The flood has not ended yet."""
        return self.finished_at is None

    @property
    def elapsed(self) -> float:
        """Seconds from the click to the end (or to now, while it runs)."""
        return (perf_counter() if self.finished_at is None else self.finished_at) - self.started

    def in_order(self) -> bool:
        """Every item arrived exactly once, in order: ``0 .. received-1``."""
        expected = 0
        for batch in self.batches:
            if batch != list(range(expected, expected + len(batch))):
                return False
            expected += len(batch)
        return expected == self.received


class FloodTask(BackgroundTask[int, int]):
    """Publishes ``0 .. total-1``, one ``publish()`` per item, as fast as it can.

    ``T`` is ``int`` (an item), ``V`` is ``int`` (how many were published).

    Example::

        background_worker().handle(FloodTask(page, run, owner=page)).execute()
    """

    def __init__(self, page: FloodPage, run: FloodRun, *, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self._page = page
        self._run = run

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        """The flood, on a pool thread: nothing but ``publish()``."""
        publish = lifecycle.publish
        for i in range(self._run.total):
            publish(i)
        self._run.produced_at = perf_counter()
        return self._run.total

    def progress(self, changes: list[int]) -> None:
        """Every item published since the previous call, in order (GUI thread)."""
        self._page.on_items(self._run, changes)

    def done(self, result: int) -> None:
        """The last ``progress()`` came first (GUI thread)."""
        self._page.on_end(self._run, "done")

    def canceled(self) -> None:
        """The page was asked to stop the flood (GUI thread)."""
        self._page.on_end(self._run, "canceled")

    def handle_exception(self, exc: BaseException) -> bool:
        """``run()`` raised: show it, and let the worker report it too (GUI thread)."""
        self._page.on_end(self._run, "failed")
        return False


class _ItemSignals(QObject):
    """The naive flood's signals; created on the GUI thread, so its slots run there."""

    item = Signal(int)
    finished = Signal()


class NaiveFlood(QRunnable):
    """The hand-written pattern: a ``QRunnable`` that emits one ``Signal(int)`` per item.

    Each emit crosses threads as a queued event, so the GUI thread runs the slot once per
    item, however fast they come. ``autoDelete`` is off: the page keeps the runnable (and
    with it :attr:`signals`) alive until :attr:`returned` says ``run()`` is over.

    Example::

        flood = NaiveFlood(50_000)
        flood.signals.item.connect(on_item)
        QThreadPool.globalInstance().start(flood)
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.total = total
        self.signals = _ItemSignals()
        self.produced_at: float | None = None
        """``perf_counter()`` when the emitting loop ended (set on the pool thread)."""
        self.returned = False
        """``run()`` is over: the pool will not touch this runnable again."""

    def run(self) -> None:
        """The flood, on a ``QThreadPool`` thread: one emit per item, then ``finished``."""
        try:
            emit = self.signals.item.emit
            for i in range(self.total):
                emit(i)
            self.produced_at = perf_counter()
            self.signals.finished.emit()
        finally:
            self.returned = True


# -- the page ------------------------------------------------------------------------------


class _Column:
    """One flood's controls and read-outs, in a group box."""

    def __init__(
        self, title: str, button: str, calls_label: str, *, default: int, maximum: int, tooltip: str
    ) -> None:
        self.box = QGroupBox(title)
        layout = QVBoxLayout(self.box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Items:"))
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1_000, maximum)
        self.size_spin.setSingleStep(10_000)
        self.size_spin.setGroupSeparatorShown(True)
        self.size_spin.setValue(default)
        self.size_spin.setToolTip(tooltip)
        row.addWidget(self.size_spin)
        row.addStretch(1)
        self.start_button = QPushButton(button)
        self.start_button.setToolTip(tooltip)
        sized_buttons((self.start_button,))
        row.addWidget(self.start_button)
        layout.addLayout(row)

        self.bar = QProgressBar()
        self.bar.setRange(0, default)
        self.bar.setValue(0)
        self.bar.setFormat("%p %")
        layout.addWidget(self.bar)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.received_label = QLabel(_IDLE_TEXT)
        self.calls_label = QLabel(_IDLE_TEXT)
        self.produced_label = QLabel(_IDLE_TEXT)
        self.elapsed_label = QLabel(_IDLE_TEXT)
        self.stall_label = QLabel(_IDLE_TEXT)
        selectable(
            (self.received_label, self.calls_label, self.produced_label, self.elapsed_label, self.stall_label)
        )
        form.addRow("Received:", self.received_label)
        form.addRow(calls_label, self.calls_label)
        form.addRow("Loop ended:", self.produced_label)
        form.addRow("Last item shown:", self.elapsed_label)
        form.addRow("Worst GUI stall:", self.stall_label)
        layout.addLayout(form)

    def show_run(self, run: FloodRun) -> None:
        """Refresh the read-outs that are not updated by the deliveries themselves."""
        self.calls_label.setText(f"{run.calls:,}")
        self.produced_label.setText(_IDLE_TEXT if run.produced_at is None else _ms(run.produced_at - run.started))
        elapsed = _ms(run.elapsed)
        self.elapsed_label.setText(elapsed if not run.running else f"{elapsed} (running)")
        ms = run.worst * 1000
        self.stall_label.setText(_ms(run.worst) + ("" if run.measured else " so far"))
        self.stall_label.setStyleSheet(f"color: {_latency_colour(ms).name()}; font-weight: bold;")
        if not run.running:
            order = "in order ✓" if run.in_order() else "NOT in order ✗"
            self.received_label.setText(f"{run.received:,} · {order}")


class FloodPage(Scenario):
    """Floods the GUI thread with items two ways and measures how late a 5 ms timer runs.

    The page's :class:`LatencyMeter` ticks while the page is visible.
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
    stall_limit = 0.100
    """The smoke test's (loose) bound on qbackground's worst stall: CI machines are noisy."""
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
        self.qbackground_column = _Column(
            "qbackground: publish() per item",
            "Start",
            "progress() calls:",
            default=self.qbackground_items,
            maximum=5_000_000,
            tooltip="A BackgroundTask whose run() calls lifecycle.publish(i) for every item",
        )
        self.qbackground_column.start_button.clicked.connect(lambda: self.start(QBACKGROUND))
        self.naive_column = _Column(
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

        meter_box = QGroupBox(f"GUI latency: how late a {HEARTBEAT_MS} ms timer on the GUI thread runs")
        meter_layout = QVBoxLayout(meter_box)
        now_row = QHBoxLayout()
        now_row.addWidget(QLabel("Now:"))
        self.latency_bar = QProgressBar()
        self.latency_bar.setRange(0, int(CHART_SCALE_MS))
        self.latency_bar.setFormat("%v ms")
        self.latency_bar.setValue(0)
        now_row.addWidget(self.latency_bar, 1)
        self.recent_label = QLabel(_IDLE_TEXT)
        self.recent_label.setMinimumWidth(210)
        self.recent_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        now_row.addWidget(self.recent_label)
        meter_layout.addLayout(now_row)
        self.chart = LatencyChart(self.meter, self._spans)
        meter_layout.addWidget(self.chart, 1)
        self.body.addWidget(meter_box, 1)

    def _column(self, kind: str) -> _Column:
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
        self.meter.start()
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
        for run in self.runs.values():
            if run.measured:
                continue
            if sample.now > run.started:
                run.worst = max(run.worst, sample.lateness)
            if run.finished_at is not None and sample.now >= run.finished_at:
                run.measured = True
                self._refresh_controls()
                if not self.isVisible() and not self._any_running():
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
        now = perf_counter()
        current = self.meter.current(now)
        self.latency_bar.setValue(min(int(CHART_SCALE_MS), round(current * 1000)))
        worst = self.meter.worst_since(now - CHART_SECONDS)
        self.recent_label.setText(f"{_ms(current)} · worst in the last {CHART_SECONDS:g} s: {_ms(worst)}")
        for run in self.runs.values():
            self._column(run.kind).show_run(run)
        self.chart.update()

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
        self.meter.start()
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
        """Flood with qbackground, then the hand-written way (smaller), and compare."""
        yield ctx.wait_until(self.is_idle, "the page is idle")
        ctx.check(self.meter.is_running(), "the latency meter ticks while the page is shown")
        self.qbackground_column.size_spin.setValue(self.qbackground_items)
        self.naive_column.size_spin.setValue(self.smoke_naive_items)
        self.run_both_button.click()
        ctx.check(
            not self.run_both_button.isEnabled() and not self.naive_column.start_button.isEnabled(),
            "while a flood runs, the Start buttons are disabled",
        )
        yield ctx.wait_until(self.is_idle, "both floods ended", timeout=20)
        qb, naive = self.runs.get(QBACKGROUND), self.runs.get(NAIVE)
        ctx.check(qb is not None and naive is not None, "Run both ran both floods", f"runs {list(self.runs)}")
        assert qb is not None and naive is not None
        ctx.check(qb.terminal == ["done"], "qbackground: done() ran exactly once", f"endings {qb.terminal}")
        ctx.check(
            qb.received == qb.total and qb.in_order(),
            f"qbackground: all {qb.total:,} items arrived, in order",
            f"{qb.received:,} received, in order: {qb.in_order()}",
        )
        ctx.check(
            0 < qb.calls <= qb.total // 100,
            "qbackground: progress() calls were coalesced (at most one per 100 items)",
            f"{qb.calls} calls for {qb.total:,} items",
        )
        ctx.check(
            naive.terminal == ["done"] and naive.received == naive.total and naive.in_order(),
            f"one signal per item: all {naive.total:,} items arrived, in order, one slot call each",
            f"{naive.received:,} received in {naive.calls:,} calls, in order: {naive.in_order()}",
        )
        ctx.check(
            qb.measured and naive.measured and self.meter.ticks > 0,
            "the heartbeat measured both floods to their end",
            f"{self.meter.ticks} ticks",
        )
        stalls = f"worst stall: qbackground {_ms(qb.worst)}, one signal per item {_ms(naive.worst)}"
        ctx.check(
            qb.worst < self.stall_limit,
            f"qbackground: the worst GUI stall was under {_ms(self.stall_limit)} ({stalls}; "
            f"{qb.total:,} vs {naive.total:,} items)",
            stalls,
        )
        ctx.check(
            "in order ✓" in self.qbackground_column.received_label.text()
            and self.qbackground_column.bar.value() == qb.total,
            "the qbackground column shows every item received",
            self.qbackground_column.received_label.text(),
        )
        ctx.check(
            self.qbackground_column.calls_label.text() == f"{qb.calls:,}"
            and "ms" in self.qbackground_column.stall_label.text(),
            "the qbackground column shows the progress() calls and the stall",
            f"{self.qbackground_column.calls_label.text()!r}, {self.qbackground_column.stall_label.text()!r}",
        )
        handler = self.handler
        ctx.check(
            handler is not None and handler.status is TaskStatus.DONE and not handler.is_alive(),
            "qbackground: the handler status is DONE",
            f"status {handler.status.name if handler else None}",
        )
        yield ctx.pause(0.1, "late deliveries had time to arrive")
        ctx.check(
            qb.late_callbacks == 0 and naive.late_callbacks == 0,
            "nothing arrived after either flood ended",
            f"late: qbackground {qb.late_callbacks}, one signal per item {naive.late_callbacks}",
        )
        ctx.check(
            all(flood.returned for flood in self._naive_floods),
            "the hand-written flood's QRunnable was kept alive until its run() returned",
        )
