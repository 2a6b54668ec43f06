"""The widgets of the "Dask cluster" page: the cluster box, the task rows, the log tabs.

They only show things; the page (:class:`~demo_app.scenarios.dask_page.DaskPage`)
connects their buttons and tells them what to show.
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..dask_tasks import ClusterInfo
from .widgets import log_box, selectable, show_outcome, sized_buttons, status_label, steady

__all__ = ["ClusterBox", "LogTabs", "TaskRows"]

_IDLE_TEXT = "—"


class ClusterBox(QGroupBox):
    """Start and Stop buttons, the cluster's state, its scheduler, workers and dashboard.

    Example::

        box = ClusterBox(n_workers=2)
        box.start_button.clicked.connect(page.start_cluster)
        box.show_state("starting", since=0.4, info=None)
    """

    def __init__(self, *, n_workers: int) -> None:
        super().__init__("Cluster")
        self.n_workers = n_workers
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start cluster")
        self.start_button.setDefault(True)
        self.start_button.setToolTip(f"DaskExecutor(n_workers={n_workers}), created on a worker thread")
        self.stop_button = QPushButton("Stop cluster")
        self.stop_button.setToolTip("DaskExecutor.close() on a worker thread: the cluster and its processes")
        for button in sized_buttons((self.start_button, self.stop_button)):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.state_label = status_label()
        buttons.addWidget(self.state_label)
        layout.addLayout(buttons)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setVerticalSpacing(2)
        self.scheduler_label = QLabel(_IDLE_TEXT)
        self.workers_label = QLabel(_IDLE_TEXT)
        self.dashboard_label = QLabel(_IDLE_TEXT)
        selectable((self.scheduler_label, self.workers_label))
        self.dashboard_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.dashboard_label.setOpenExternalLinks(True)
        self.scheduler_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        scheduler_row = QHBoxLayout()
        scheduler_row.setSpacing(6)
        scheduler_row.addWidget(self.scheduler_label)
        scheduler_row.addSpacing(24)
        scheduler_row.addWidget(QLabel("Dashboard:"))
        scheduler_row.addWidget(self.dashboard_label)
        scheduler_row.addStretch(1)
        form.addRow("Scheduler:", scheduler_row)
        form.addRow("Workers:", self.workers_label)
        layout.addLayout(form)

    def show_state(self, state: str, since: float, info: ClusterInfo | None) -> None:
        """Show ``state`` (``"stopped"``, ``"starting"``, ``"running"``, ``"stopping"`` or
        ``"unavailable"``), entered ``since`` seconds ago, and where the cluster listens."""
        if state == "unavailable":
            text = "Not installed"
            self.scheduler_label.setText("distributed is not installed: pip install -e '.[dask]'")
        elif state == "starting":
            text = f"Starting {self.n_workers} worker processes… {since:.1f} s"
        elif state == "stopping":
            text = f"Stopping… {since:.1f} s"
        elif state == "running" and info is not None:
            text = f"Running · started in {info.seconds:.2f} s"
        else:
            text = "Stopped"
        self.state_label.setText(text)
        if state == "unavailable":
            return
        if info is None:
            for label in (self.scheduler_label, self.workers_label, self.dashboard_label):
                label.setText(_IDLE_TEXT)
            return
        self.scheduler_label.setText(info.scheduler)
        self.workers_label.setText(f"{len(info.workers)} processes, one thread each: " + ", ".join(info.workers))
        if info.http is None:
            self.dashboard_label.setText("disabled")
            return
        link = f"{info.http}/info/main/workers.html"
        self.dashboard_label.setText(f'disabled · <a href="{link}">scheduler info</a>')
        self.dashboard_label.setToolTip(
            f"DaskExecutor passes dashboard_address=None: no Bokeh dashboard, but the scheduler "
            f"still serves /health, /metrics and its info pages: {link}"
        )


class TaskRows(QGroupBox):
    """The Run, Run-the-failing-task and Cancel buttons, and one bar and message per row.

    Example::

        rows = TaskRows(["Task 1 · 30 steps", "Failing · raises at step 12"])
        rows.set_text(1, "failed: ChecksumError", "failed")
    """

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__("Tasks on the cluster")
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        buttons = QHBoxLayout()
        self.run_button = QPushButton(f"Run {len(labels) - 1} tasks")
        self.run_button.setToolTip("Three SquaresTasks at once; the cluster has two single-threaded workers")
        self.fail_button = QPushButton("Run the failing task")
        self.fail_button.setToolTip("run() raises ChecksumError on a Dask worker")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("handler.cancel() on every running task")
        for button in sized_buttons((self.run_button, self.fail_button, self.cancel_button)):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.status_label = status_label()
        buttons.addWidget(self.status_label)
        layout.addLayout(buttons)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.bars: list[QProgressBar] = []
        self.messages: list[QLabel] = []
        for index, label in enumerate(labels):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(0)
            bar.setFormat("%p %")
            message = steady(
                QLabel(_IDLE_TEXT),
                "step 88 of 88 · Σ = 888,888 · pid 8888888",
                "done: Σ = 888,888 on pid 8888888",
                "failed: ChecksumError",
                bold=True,
            )
            grid.addWidget(QLabel(label), index, 0)
            grid.addWidget(bar, index, 1)
            grid.addWidget(message, index, 2)
            self.bars.append(bar)
            self.messages.append(message)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

    def set_text(self, row: int, text: str, kind: str | None) -> None:
        """Row ``row``'s message, coloured by how it ended (see ``show_outcome``)."""
        show_outcome(self.messages[row], text, kind)


class LogTabs(QTabWidget):
    """Two tabs: the callback log, and the last remote error with its traceback.

    Example::

        tabs = LogTabs()
        tabs.log.stamp("submitted task 1")
        tabs.show_error("<b>ChecksumError</b>: …", "Traceback (most recent call last): …")
    """

    def __init__(self) -> None:
        super().__init__()
        log_group, self.log = log_box("", "Start the cluster, then run tasks: their callbacks appear here.")
        _frameless(log_group)
        self.addTab(log_group, "Callback log")
        error_page = QWidget()
        error_layout = QVBoxLayout(error_page)
        error_layout.setContentsMargins(6, 4, 6, 0)
        error_layout.setSpacing(4)
        self.error_label = QLabel("No remote error yet: run the failing task.")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error_layout.addWidget(self.error_label)
        traceback_group, self.traceback_view = log_box(
            "", "The traceback from the Dask worker (the exception's __cause__) appears here."
        )
        self.traceback_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        _frameless(traceback_group)
        error_layout.addWidget(traceback_group, 1)
        self.addTab(error_page, "Remote error")

    def show_error(self, summary: str, traceback: str) -> None:
        """Show a remote error (rich text) and its traceback, ending at the raise, and
        switch to its tab."""
        self.error_label.setText(summary)
        self.traceback_view.setPlainText(traceback)  # a LogView: it shows the last lines
        self.setCurrentIndex(1)


def _frameless(box: QGroupBox) -> None:
    """A :func:`log_box` shown inside a tab: no frame, no title, no margins."""
    box.setFlat(True)
    layout = box.layout()
    if layout is not None:
        layout.setContentsMargins(0, 0, 0, 0)
