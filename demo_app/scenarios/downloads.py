"""Scenario "asyncio: simulated downloads": hundreds of coroutines on one event loop."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from time import monotonic

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from qbackground import BackgroundTaskHandler, QBackgroundError, background_worker

from ..async_tasks import DownloadPlan, DownloadTask
from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import selectable, sized_buttons, status_label, text_width

__all__ = ["DownloadsPage", "DownloadsRecord"]

_IDLE_TEXT = "—"
_COLUMNS = ("#", "Size", "Sleeps", "Received", "Status")
_STATUS_TEXT = {"done": "done", "canceled": "cancelled", "handle_exception": "failed"}


@dataclass
class DownloadsRecord:
    """What reached the page during one batch of downloads; the smoke tests read it."""

    plans: list[DownloadPlan]
    started_at: float = field(default_factory=monotonic)
    terminal: list[list[str]] = field(default_factory=list)
    """Per download, the terminal callbacks that ran, in order (exactly one expected)."""
    received: list[int] = field(default_factory=list)
    """Per download, the bytes the latest ``progress()`` or ``done()`` reported."""
    progress_calls: int = 0
    late_callbacks: int = 0
    """``progress()`` calls that arrived after their download's terminal callback."""
    seconds: float | None = None
    """Wall time from Start to the last terminal callback (None while any runs)."""

    def __post_init__(self) -> None:
        self.terminal = [[] for _ in self.plans]
        self.received = [0] * len(self.plans)

    @property
    def ended(self) -> bool:
        """Every download had its terminal callback."""
        return all(self.terminal)

    def count(self, callback: str) -> int:
        """How many downloads ended with ``callback`` (``"done"``, ``"canceled"``, …)."""
        return sum(1 for terminal in self.terminal if terminal[:1] == [callback])

    @property
    def longest(self) -> float:
        """The longest single download's sleep chain, in seconds."""
        return max((plan.duration for plan in self.plans), default=0.0)

    @property
    def total(self) -> float:
        """Every download's sleep chain added up: the time one after the other would take."""
        return sum(plan.duration for plan in self.plans)


class DownloadsPage(Scenario):
    """Starts N :class:`~demo_app.async_tasks.DownloadTask` coroutines at once.

    A table follows the first few; an overall bar counts the finished ones. Cancel all
    cancels every handler still alive.
    """

    title = "asyncio: simulated downloads"
    name = "asyncio"
    summary = (
        "Each download is an <code>AsyncBackgroundTask</code>: its <code>async def run()</code> "
        "awaits <code>asyncio.sleep()</code> a few times (the network) and publishes the bytes "
        "received so far. They all run at once on qbackground's private event loop thread, so "
        "the batch takes about as long as its longest download. Cancel all cancels each "
        "coroutine at its current <code>await</code>."
    )

    default_count = 200
    smoke_count = 50
    shown = 8
    """Rows of the table: the first downloads of the batch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handlers: list[BackgroundTaskHandler[int]] = []
        self.record = DownloadsRecord([])
        self._rng = random.Random()
        self._row_bars: list[QProgressBar] = []
        self._build()
        self._refresh_controls()

    # -- widgets -------------------------------------------------------------------

    def _build(self) -> None:
        box = QGroupBox("Downloads")
        box_layout = QVBoxLayout(box)

        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("N ="))
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 5_000)
        self.count_spin.setSingleStep(50)
        self.count_spin.setValue(self.default_count)
        buttons.addWidget(self.count_spin)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel all")
        self.cancel_button.clicked.connect(self.cancel_all)
        for button in sized_buttons((self.start_button, self.cancel_button)):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.status_label = status_label()
        buttons.addWidget(self.status_label)
        box_layout.addLayout(buttons)

        self.overall_bar = QProgressBar()
        self.overall_bar.setRange(0, self.count_spin.value())
        self.overall_bar.setValue(0)
        self.overall_bar.setFormat("%v of %m downloads done")
        box_layout.addWidget(self.overall_bar)
        self.count_spin.valueChanged.connect(self._on_count_changed)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.elapsed_label = QLabel(_IDLE_TEXT)
        self.longest_label = QLabel(_IDLE_TEXT)
        self.total_label = QLabel(_IDLE_TEXT)
        self.outcome_label = QLabel(_IDLE_TEXT)
        selectable((self.elapsed_label, self.longest_label, self.total_label, self.outcome_label))
        self.elapsed_label.setStyleSheet("font-weight: bold;")
        form.addRow("Elapsed:", self.elapsed_label)
        form.addRow("Longest download:", self.longest_label)
        form.addRow("One after the other:", self.total_label)
        form.addRow("Ended:", self.outcome_label)
        box_layout.addLayout(form)
        self.body.addWidget(box)

        table_box = QGroupBox(f"The first {self.shown} downloads")
        table_layout = QVBoxLayout(table_box)
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(_COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # Fixed widths, wide enough for the widest text of each column: the columns do not
        # move when a status or a size changes.
        widest = {"#": "88", "Size": "888 kB", "Sleeps": "8.88 s (8)", "Status": "downloading"}
        for column, name in enumerate(_COLUMNS):
            if name in widest:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
                self.table.setColumnWidth(column, text_width(self.table, widest[name], name) + 12)
        header.setSectionResizeMode(_COLUMNS.index("Received"), QHeaderView.ResizeMode.Stretch)
        table_layout.addWidget(self.table)
        self.body.addWidget(table_box, 1)

    # -- user actions ----------------------------------------------------------------

    def start(self) -> None:
        """Start N downloads at once (the Start button)."""
        if not self.is_idle():
            return
        plans = [DownloadPlan.random(self._rng) for _ in range(self.count_spin.value())]
        self.record = DownloadsRecord(plans)
        self.overall_bar.setRange(0, len(plans))
        self.overall_bar.setValue(0)
        slowest = max(range(len(plans)), key=lambda index: plans[index].duration)
        self.longest_label.setText(
            f"{self.record.longest:.2f} s of sleeps (download #{slowest + 1}, {len(plans[slowest].delays)} chunks)"
        )
        self.total_label.setText(f"{self.record.total:.1f} s (all {len(plans)} sleep chains added up)")
        self._fill_table()
        self.handlers = []
        try:
            for index, plan in enumerate(plans):
                handler = background_worker().handle(DownloadTask(self, index, plan, owner=self))
                handler.execute()
                self.handlers.append(handler)
        except QBackgroundError as exc:
            for handler in self.handlers:
                handler.cancel()
            self.outcome_label.setText(f"Could not start: {type(exc).__name__}: {exc}")
        self._refresh_controls()
        self._update_summary()

    def cancel_all(self) -> None:
        """Cancel every download still running (Cancel all); ``canceled()`` runs inside."""
        for handler in self.handlers:
            if handler.is_alive():
                handler.cancel()
        self._refresh_controls()

    def is_idle(self) -> bool:
        return (
            not any(handler.is_alive() for handler in self.handlers)
            and self.start_button.isEnabled()
            and not self.cancel_button.isEnabled()
        )

    # -- DownloadView: the downloads' callbacks, on the GUI thread -------------------------

    def on_download_progress(self, index: int, received: int) -> None:
        record = self.record
        if record.terminal[index]:
            record.late_callbacks += 1
        record.progress_calls += 1
        record.received[index] = received
        if index < len(self._row_bars):
            self._show_row(index, "downloading")
        self._update_summary()

    def on_download_done(self, index: int, size: int) -> None:
        self.record.received[index] = size
        self._ended(index, "done")

    def on_download_canceled(self, index: int) -> None:
        self._ended(index, "canceled")

    def on_download_failed(self, index: int, exc: BaseException) -> bool:
        self._ended(index, "handle_exception")
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _ended(self, index: int, callback: str) -> None:
        record = self.record
        record.terminal[index].append(callback)
        if index < len(self._row_bars):
            self._show_row(index, _STATUS_TEXT[callback])
        self.overall_bar.setValue(record.count("done"))
        if record.ended and record.seconds is None:
            record.seconds = monotonic() - record.started_at
            self._refresh_controls()
        self._update_summary()

    def _fill_table(self) -> None:
        plans = self.record.plans[: self.shown]
        self.table.setRowCount(len(plans))
        self._row_bars = []
        for row, plan in enumerate(plans):
            cells = (f"{row + 1}", _kb(plan.size), f"{plan.duration:.2f} s ({len(plan.delays)})", "", "")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column < 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
            bar = QProgressBar()
            bar.setRange(0, plan.size)
            self.table.setCellWidget(row, _COLUMNS.index("Received"), bar)
            self._row_bars.append(bar)
            self._show_row(row, "waiting")

    def _show_row(self, row: int, status: str) -> None:
        bar = self._row_bars[row]
        received = self.record.received[row]
        bar.setValue(received)
        bar.setFormat(f"{_kb(received)} of {_kb(bar.maximum())}")
        item = self.table.item(row, _COLUMNS.index("Status"))
        if item is not None:
            item.setText(status)

    def _on_count_changed(self, count: int) -> None:
        """N changed: before the first batch, the overall bar counts the N to come."""
        if not self.record.plans:
            self.overall_bar.setRange(0, count)

    def _refresh_controls(self) -> None:
        busy = any(handler.is_alive() for handler in self.handlers)
        self.start_button.setEnabled(not busy)
        self.count_spin.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.status_label.setText("Status: running")
        elif not self.handlers:
            self.status_label.setText("Status: not started")
        else:
            self.status_label.setText("Status: idle")

    def _update_summary(self) -> None:
        record = self.record
        if not record.plans:
            return
        done, cancelled = record.count("done"), record.count("canceled")
        failed = record.count("handle_exception")
        running = len(record.plans) - done - cancelled - failed
        self.outcome_label.setText(
            f"{done} done · {cancelled} cancelled · {failed} failed · {running} running"
        )
        if record.seconds is None:
            self.elapsed_label.setText(f"{monotonic() - record.started_at:.2f} s …")
        elif done == len(record.plans):
            self.elapsed_label.setText(
                f"{record.seconds:.2f} s for all {done} — the longest alone sleeps "
                f"{record.longest:.2f} s ({record.seconds / record.longest:.2f}×)"
            )
        else:
            self.elapsed_label.setText(f"{record.seconds:.2f} s (stopped by Cancel all)")

    # -- smoke test ------------------------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Start the default batch and wait until 40 % of it is done."""
        self.count_spin.setValue(self.default_count)
        self.start_button.click()
        yield ctx.wait_until(
            lambda: self.record.count("done") >= 0.4 * len(self.record.plans),
            "40 % of the downloads are done",
            timeout=15,
        )

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Cancel the rest."""
        self.cancel_button.click()
        yield ctx.wait_until(self.is_idle, "the downloads were cancelled after the screenshot")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Run a batch of downloads to the end, then Cancel all part way.

        The steps and checks are in :mod:`demo_app.scenarios.checks.downloads`.
        """
        from .checks import downloads as checks

        return checks.smoke(self, ctx)


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} kB"
