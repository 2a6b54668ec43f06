"""One column of the "Progress flood" page: a flood's controls and what it delivered."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtGui import QColor, QPalette
from qtpy.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout

from ..flood_tasks import FloodRun
from .latency import format_ms, latency_colour
from .widgets import selectable, sized_buttons, steady

__all__ = ["FloodColumn"]

_IDLE_TEXT = "—"


class FloodColumn:
    """One flood's controls (items, Start) and read-outs (received, calls, times, stall), in a group box.

    Example::

        column = FloodColumn("qbackground", "Start", "progress() calls:", default=200_000, maximum=5_000_000, tooltip="")
        layout.addWidget(column.box)
        column.show_run(run)
    """

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
        font = self.stall_label.font()
        font.setBold(True)
        self.stall_label.setFont(font)
        selectable(
            (self.received_label, self.calls_label, self.produced_label, self.elapsed_label, self.stall_label)
        )
        # Wide enough for the widest text each label can show, so the columns never jump.
        widest = f"{maximum:,}"
        steady(self.received_label, f"{widest} · NOT in order ✗")
        steady(self.calls_label, widest)
        for label in (self.produced_label, self.elapsed_label):
            steady(label, "88,888 ms (running)")
        steady(self.stall_label, "88,888 ms so far")
        form.addRow("Received:", self.received_label)
        form.addRow(calls_label, self.calls_label)
        form.addRow("Loop ended:", self.produced_label)
        form.addRow("Last item shown:", self.elapsed_label)
        form.addRow("Worst GUI stall:", self.stall_label)
        layout.addLayout(form)
        self._final: FloodRun | None = None
        self._stall_colour: QColor | None = None

    def show_run(self, run: FloodRun) -> None:
        """Refresh the read-outs that the deliveries do not update themselves.

        Once a run is measured its read-outs are final: they are written one last time
        and then skipped, so refreshing an idle page costs nothing per item received.
        """
        if run is self._final:
            return
        self.calls_label.setText(f"{run.calls:,}")
        self.produced_label.setText(
            _IDLE_TEXT if run.produced_at is None else format_ms(run.produced_at - run.started)
        )
        elapsed = format_ms(run.elapsed)
        self.elapsed_label.setText(elapsed if not run.running else f"{elapsed} (running)")
        self.stall_label.setText(format_ms(run.worst) + ("" if run.measured else " so far"))
        self._set_stall_colour(latency_colour(run.worst * 1000))
        if not run.running:
            order = "in order ✓" if run.in_order() else "NOT in order ✗"
            self.received_label.setText(f"{run.received:,} · {order}")
        if run.measured:
            self._final = run

    def is_final(self, run: FloodRun) -> bool:
        """``run``'s read-outs are written for the last time: refreshing skips them."""
        return run is self._final

    def _set_stall_colour(self, colour: QColor) -> None:
        """Colour the stall read-out (through its palette, and only when the colour changes)."""
        if colour == self._stall_colour:
            return
        self._stall_colour = colour
        palette = self.stall_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, colour)
        self.stall_label.setPalette(palette)
