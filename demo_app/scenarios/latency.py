"""A GUI-thread latency meter and its chart (the "Progress flood" page uses them).

A :class:`LatencyMeter` ticks every 5 ms on the GUI thread (a precise ``QTimer``) and
records how late each tick ran; a :class:`LatencyChart` draws the last few seconds of it.
Both are cheap enough to leave running on an idle page: a tick appends to two bounded
deques, and the chart only walks the ticks that were late.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import NamedTuple

from qtpy.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from qtpy.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget

__all__ = [
    "BAD_MS",
    "CHART_SCALE_MS",
    "CHART_SECONDS",
    "GOOD_MS",
    "HEARTBEAT_MS",
    "IDLE_HEARTBEAT_MS",
    "LATE",
    "RECENT_SECONDS",
    "LatencyChart",
    "LatencyMeter",
    "LatencySample",
    "Span",
    "format_ms",
    "latency_colour",
]

HEARTBEAT_MS = 5
"""Interval of the GUI-thread heartbeat while something is measured; lateness is measured
against the interval."""
IDLE_HEARTBEAT_MS = 20
"""Interval of the heartbeat while nothing is measured: a quarter of the wake-ups (about
0.7 % of a core instead of 2.7 %), and a stall still shows to within 20 ms."""
CHART_SECONDS = 6.0
"""How much history the chart shows."""
CHART_SCALE_MS = 200.0
"""Top of the chart's scale; taller stalls are clipped (and marked)."""
RECENT_SECONDS = 0.25
""""GUI latency now" is the worst lateness of the ticks in this last span."""
LATE = 0.002
"""Seconds: a tick later than this is drawn on the chart (and kept in :attr:`LatencyMeter.late`).

About one pixel of the chart's scale: a tick less late would not show. It is also what
keeps an idle page still: the timer's own jitter (a fraction of a millisecond) never
counts as something to draw, so the chart stops being repainted."""
GOOD_MS = 1000 / 60
"""One frame at 60 Hz: a tick later than this is a visible hiccup."""
BAD_MS = 50.0
"""About where a user starts to notice a window that does not respond."""


def format_ms(seconds: float) -> str:
    """``0.0123`` → ``"12 ms"``, ``0.0042`` → ``"4.2 ms"``.

    Example::

        assert format_ms(0.131) == "131 ms"
    """
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def latency_colour(ms: float) -> QColor:
    """Green under one frame, amber under :data:`BAD_MS`, red above.

    Example::

        label_palette.setColor(QPalette.ColorRole.WindowText, latency_colour(25.0))
    """
    if ms < GOOD_MS:
        return QColor("#1b7f3b")
    if ms < BAD_MS:
        return QColor("#a15c00")
    return QColor("#b3261e")


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
        history = round(CHART_SECONDS * 1000 / interval_ms * 1.5)
        self.samples: deque[LatencySample] = deque(maxlen=history)
        """The recent ticks, oldest first (a few seconds' worth)."""
        self.late: deque[LatencySample] = deque(maxlen=history)
        """The recent ticks later than :data:`LATE`, oldest first: what the chart draws."""
        self.ticks = 0
        """Ticks since the meter was created."""
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self, interval_ms: int | None = None) -> None:
        """Start ticking, every ``interval_ms`` if given (gaps are measured from now).

        Already ticking at another interval: switch to ``interval_ms`` at once, measuring
        the next gap from now (the old interval's gap would count as lateness).
        """
        if interval_ms is not None and interval_ms != self._timer.interval():
            self._timer.stop()
            self._timer.setInterval(interval_ms)
            self.interval = interval_ms / 1000
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
        """The worst lateness (seconds) of the late ticks recorded after ``since`` (0: none)."""
        return max((sample.lateness for sample in self.late if sample.now > since), default=0.0)

    def _tick(self) -> None:
        now = perf_counter()
        sample = LatencySample(self._last, now, max(0.0, now - self._last - self.interval))
        self._last = now
        self.ticks += 1
        self.samples.append(sample)
        if sample.lateness >= LATE:
            self.late.append(sample)
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

    Each tick later than :data:`LATE` is a bar as wide as the gap it ended and as
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

    def is_still(self, now: float | None = None, *, at_least: float = LATE) -> bool:
        """Nothing would move on the chart: no run, and no tick at least ``at_least``
        seconds late, in its time window.

        A page may stop repainting the chart while this holds with the default (it would
        draw the same empty plot) and start again once a tick is late or a run starts;
        with ``at_least=GOOD_MS / 1000`` it tells that only small bars would move.
        """
        start = (perf_counter() if now is None else now) - CHART_SECONDS
        for sample in reversed(self._meter.late):
            if sample.now < start:
                break
            if sample.lateness >= at_least:
                return False
        return all(span.end is not None and span.end < start for span in self._spans())

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
        painter.drawText(QPointF(legend_x + 22, baseline), f"one frame at 60 Hz ({GOOD_MS:.1f} ms)")

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
        level = y(GOOD_MS / 1000)
        painter.drawLine(QPointF(plot.left(), level), QPointF(plot.right(), level))

        # The late ticks, coloured by how bad they are; clipped ones get their value written.
        painter.setPen(Qt.PenStyle.NoPen)
        clipped: list[tuple[float, float]] = []
        for sample in self._meter.late:
            if sample.now < start:
                continue
            x0, x1 = max(plot.left(), x(sample.previous)), x(sample.now)
            top = y(sample.lateness)
            painter.fillRect(
                QRectF(x0, top, max(1.5, x1 - x0), plot.bottom() - top), latency_colour(sample.lateness * 1000)
            )
            if sample.lateness * 1000 > CHART_SCALE_MS:
                clipped.append((x0, sample.lateness))
        painter.setPen(text_pen)
        label_end = plot.left()
        for x0, lateness in clipped:
            label = format_ms(lateness)
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
