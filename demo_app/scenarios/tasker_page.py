"""Scenario "task_mgr (Rayforge API)": functions and coroutines by key, with ``tasks_updated``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qbackground.qt import is_alive
from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from qbackground.tasker import Task, task_mgr
from qbackground.widgets import TaskStatusWidget

from ..smoke import SmokeContext, SmokeScript
from ..tasker_funcs import count_words, crunch_primes, fetch_pages
from .base import Scenario
from .tasker_main_thread import MainThreadBox
from .widgets import OUTCOME_COLOURS, log_box, sized_buttons, status_label, steady, text_width

__all__ = ["TaskRecord", "TaskerPage"]

_KINDS = {"thread": "run_thread", "process": "run_process", "asyncio": "add_coroutine"}


@dataclass
class TaskRecord:
    """One task the page started, and what its callbacks brought; the smoke test reads it."""

    task: Task[Any]
    row: int
    """Its row in the table."""
    events: list[tuple[str, Any]] = field(default_factory=list)
    """``when_event`` calls, in order."""
    done_calls: list[str] = field(default_factory=list)
    """The status seen by each ``when_done`` call (exactly one expected)."""
    events_at_done: int = -1
    """How many events had arrived when ``when_done`` ran."""
    progress_at_done: float = -1.0
    replaced_by: int | None = None
    """The id of the task that replaced it (same key), if any."""


class TaskerPage(Scenario):
    """Starts plain functions on a thread and a process and a coroutine through ``task_mgr``.

    Every task is listed with its status, progress and message as ``tasks_updated``
    reports them; starting a key again cancels the running task with that key.
    """

    title = "task_mgr (Rayforge API)"
    name = "tasker"
    summary = (
        "Rayforge's function-style API from <code>qbackground.tasker import task_mgr</code>: "
        "<code>run_thread</code>, <code>run_process</code> and <code>add_coroutine</code> with "
        "keys. Starting a key again cancels its running task; <code>tasks_updated(sender, tasks, "
        "progress)</code> feeds the list and the overall bar; <code>when_event</code> and "
        "<code>when_done</code> run on the GUI thread."
    )

    files = 20
    """Files :func:`~demo_app.tasker_funcs.count_words` counts (30 ms each)."""
    prime_limit = 200_000
    pages = 10
    max_rows = 6
    """Rows kept in the table, all in view (the oldest is dropped for a new one)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: dict[int, TaskRecord] = {}
        """Every task the page started, by ``Task.id``."""
        self.updates: list[tuple[int, float]] = []
        """``tasks_updated``: (number of unfinished tasks, overall progress), in order."""
        self._build()
        task_mgr.tasks_updated.connect(self._on_tasks_updated)

    # -- widgets -------------------------------------------------------------------

    def _build(self) -> None:
        start_box = QGroupBox("Start by key (again: the running one is cancelled)")
        start_layout = QVBoxLayout(start_box)
        buttons = QHBoxLayout()
        self.words_button = QPushButton("run_thread · words")
        self.words_button.setToolTip(f"task_mgr.run_thread(count_words, {self.files}, key='words')")
        self.words_button.clicked.connect(self.start_words)
        self.primes_button = QPushButton("run_process · primes")
        self.primes_button.setToolTip(f"task_mgr.run_process(crunch_primes, {self.prime_limit}, key='primes')")
        self.primes_button.clicked.connect(self.start_primes)
        self.fetch_button = QPushButton("add_coroutine · fetch")
        self.fetch_button.setToolTip(f"task_mgr.add_coroutine(fetch_pages, {self.pages}, key='fetch')")
        self.fetch_button.clicked.connect(self.start_fetch)
        self.all_button = QPushButton("All three")
        self.all_button.setDefault(True)
        self.all_button.clicked.connect(self.start_all)
        for button in sized_buttons((self.words_button, self.primes_button, self.fetch_button, self.all_button)):
            buttons.addWidget(button)
        buttons.addStretch(1)
        start_layout.addLayout(buttons)

        cancel_row = QHBoxLayout()
        cancel_row.addWidget(QLabel("cancel_task("))
        self.key_box = QComboBox()
        self.key_box.addItems(["words", "primes", "fetch"])
        cancel_row.addWidget(self.key_box)
        cancel_row.addWidget(QLabel(")"))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.cancel_key(self.key_box.currentText()))
        cancel_row.addWidget(sized_buttons((self.cancel_button,))[0])
        cancel_row.addStretch(1)
        self.cancel_label = status_label()
        cancel_row.addWidget(self.cancel_label)
        start_layout.addLayout(cancel_row)
        self.body.addWidget(start_box)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Key", "Started with", "Status", "Progress", "Message"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        # Fixed widths for the widest text of each column: nothing moves as statuses change.
        widest = ("primes  #888", max(_KINDS.values(), key=len), "completed", "100 %")
        for column, text in enumerate(widest):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            heading = self.table.horizontalHeaderItem(column)
            self.table.setColumnWidth(column, text_width(self.table, text, heading.text() if heading else "") + 16)
        self.table.setColumnWidth(3, max(110, self.table.columnWidth(3)))
        header.setStretchLastSection(True)
        row_height = self.table.fontMetrics().height() + 8
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        # Tall enough for every row it keeps: it never scrolls, and no row shows cut in half.
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header_height = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header_height + self.max_rows * row_height + 2 * self.table.frameWidth())
        self.body.addWidget(self.table)

        overall = QHBoxLayout()
        overall.addWidget(QLabel("Overall (tasks_updated):"))
        self.overall_bar = QProgressBar()
        self.overall_bar.setRange(0, 100)
        self.overall_bar.setValue(0)  # task_mgr says 1.0 with no task; nothing ran yet
        self.overall_bar.setFormat("%p %")
        overall.addWidget(self.overall_bar, 1)
        self.overall_label = status_label()
        self.overall_label.setText("idle · nothing ran yet")
        steady(self.overall_label, "idle · nothing ran yet", "88 running")
        overall.addWidget(self.overall_label)
        self.body.addLayout(overall)

        status_row = QHBoxLayout()
        status_row.addWidget(QLabel("TaskStatusWidget:"))
        self.status = TaskStatusWidget(task_mgr.manager.worker, hide_when_idle=False)
        """Follows the worker ``task_mgr`` runs on."""
        self.status.setToolTip("qbackground.widgets.TaskStatusWidget(task_mgr.manager.worker)")
        status_row.addWidget(self.status, 1)
        self.body.addLayout(status_row)

        self.main_thread = MainThreadBox()
        """send_event_and_wait and schedule_delayed_on_main_thread."""
        self.body.addWidget(self.main_thread)

        log_group, self.log = log_box("when_event / when_done", "Start a task: its events and its end appear here.")
        self.body.addWidget(log_group, 2)

    # -- user actions ----------------------------------------------------------------

    def start_words(self) -> Task[int]:
        """``task_mgr.run_thread(count_words, files, key="words")``."""
        return self._started(
            task_mgr.run_thread(
                count_words, self.files, key="words", when_done=self._when_done, when_event=self._when_event
            )
        )

    def start_primes(self, limit: int | None = None) -> Task[int | None]:
        """``task_mgr.run_process(crunch_primes, limit, key="primes")``."""
        return self._started(
            task_mgr.run_process(
                crunch_primes,
                limit or self.prime_limit,
                key="primes",
                when_done=self._when_done,
                when_event=self._when_event,
            )
        )

    def start_fetch(self) -> Task[list[str]]:
        """``task_mgr.add_coroutine(fetch_pages, pages, key="fetch")``."""
        return self._started(
            task_mgr.add_coroutine(
                fetch_pages, self.pages, key="fetch", when_done=self._when_done, when_event=self._when_event
            )
        )

    def start_all(self) -> None:
        """Start all three keys (the All three button)."""
        self.start_words()
        self.start_primes()
        self.start_fetch()

    def cancel_key(self, key: str) -> bool:
        """``task_mgr.cancel_task(key)``; shows what it returned."""
        accepted = task_mgr.cancel_task(key)
        self.cancel_label.setText(f"cancel_task({key!r}) → {accepted}")
        self.log.stamp(f"cancel_task({key!r}) returned {accepted}")
        return accepted

    def is_idle(self) -> bool:
        """No task runs, every ``when_done`` ran, and ``tasks_updated`` said so (it is
        throttled: it follows the last ``when_done`` within a frame)."""
        reported_idle = not self.updates or self.updates[-1][0] == 0
        return (
            not task_mgr.has_tasks()
            and all(record.done_calls for record in self.records.values())
            and reported_idle
        )

    # -- the tasker's callbacks, on the GUI thread -----------------------------------------

    def _started(self, task: Task[Any]) -> Task[Any]:
        if all(record.done_calls for record in self.records.values() if record.task is not task):
            self.log.start_section()  # the first task of a batch: its clock starts at 0
        replaced = [
            record
            for record in self.records.values()
            if record.task.key == task.key and record.task is not task and record.replaced_by is None
            and not record.done_calls
        ]
        row = self._add_row(task)
        self.records[task.id] = TaskRecord(task, row)
        for record in replaced:
            record.replaced_by = task.id
            self.log.stamp(f"{task.key}: started again → task #{record.task.id} is cancelled, #{task.id} replaces it")
            self._show(record)
        self.log.stamp(f"{_KINDS[task.kind]}({task.name}, key={task.key!r}) → task #{task.id}")
        return task

    def _when_event(self, task: Task[Any], name: str, data: Any) -> None:
        record = self.records.get(task.id)
        if record is None or not is_alive(self.log):
            return
        record.events.append((name, data))
        if len(record.events) == 1 or len(record.events) % 5 == 0:
            self.log.stamp(f"when_event #{task.id} {task.key}: {name} {data!r} (event {len(record.events)})")

    def _when_done(self, task: Task[Any]) -> None:
        record = self.records.get(task.id)
        if record is None or not is_alive(self.log):
            return
        status = task.get_status()
        record.done_calls.append(status)
        record.events_at_done = len(record.events)
        record.progress_at_done = task.get_progress()
        if status == "completed":
            value = task.result()
            shown = f"{len(value)} pages" if isinstance(value, list) else f"{value:,}" if isinstance(value, int) else repr(value)
            outcome = f"result {shown}"
        elif status == "failed":
            outcome = f"{type(task.exception()).__name__}: {task.exception()}"
        else:
            outcome = f"at {task.get_progress():.0%}"
        self.log.stamp(f"when_done #{task.id} {task.key}: {status}, {outcome}, after {len(record.events)} events")
        self._show(record)

    def _on_tasks_updated(self, sender: object, tasks: list[Task[Any]], progress: float) -> None:
        if not is_alive(self.table):
            return
        self.updates.append((len(tasks), progress))
        self.overall_bar.setValue(round(progress * 100))
        self.overall_label.setText(f"{len(tasks)} running" if tasks else "idle")
        for record in self.records.values():
            self._show(record)

    # -- the table ---------------------------------------------------------------------------

    def _add_row(self, task: Task[Any]) -> int:
        table = self.table
        if table.rowCount() >= self.max_rows:
            table.removeRow(0)
            for record in self.records.values():
                record.row -= 1
        row = table.rowCount()
        table.insertRow(row)
        for column in (0, 1, 2, 4):
            table.setItem(row, column, QTableWidgetItem())
        bar = QProgressBar()
        bar.setRange(0, 100)
        bar.setFormat("%p %")
        table.setCellWidget(row, 3, bar)
        item = table.item(row, 0)
        assert item is not None
        item.setText(f"{task.key}  #{task.id}")
        starter = table.item(row, 1)
        assert starter is not None
        starter.setText(_KINDS[task.kind])
        starter.setToolTip(f"task_mgr.{_KINDS[task.kind]}({task.name}, …, key={task.key!r})")
        table.scrollToBottom()
        return row

    def _show(self, record: TaskRecord) -> None:
        row = record.row
        if row < 0:
            return
        task = record.task
        status = task.get_status()
        status_item, message_item = self.table.item(row, 2), self.table.item(row, 4)
        bar = self.table.cellWidget(row, 3)
        if status_item is None or message_item is None or not isinstance(bar, QProgressBar):
            return
        status_item.setText(status)
        colour = OUTCOME_COLOURS.get(status)
        status_item.setForeground(QBrush() if colour is None else QBrush(QColor(colour)))
        bar.setValue(round(task.get_progress() * 100))
        message = task.get_message() or ""
        if record.replaced_by is not None:
            message = f"replaced by #{record.replaced_by} (same key)"
        message_item.setText(message)

    # -- screenshot ---------------------------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """All three once to the end, then words twice (replaced) and all three mid-way."""
        self.start_all()
        yield ctx.wait_until(self.is_idle, "the first batch finished", timeout=20)
        self.start_words()
        yield ctx.wait_until(_progress_at_least(self.start_primes(limit=3_000_000), 0.0), "primes started")
        yield ctx.pause(0.2, "words is part way")
        self.start_words()
        self.start_fetch()
        yield ctx.wait_until(lambda: task_mgr.get_overall_progress() >= 0.3, "the batch is 30 % done")

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Cancel what still runs."""
        for key in ("words", "primes", "fetch"):
            task_mgr.cancel_task(key)
        yield ctx.wait_until(self.is_idle, "the tasks were cancelled", timeout=15)

    # -- smoke test ---------------------------------------------------------------------------

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Start all three keys, start one again (replacing it), cancel one; check every callback.

        The steps and checks are in :mod:`demo_app.scenarios.checks.tasker`.
        """
        from .checks import tasker as checks

        return checks.smoke(self, ctx)

    def _row_text(self, record: TaskRecord, column: int) -> str:
        item = self.table.item(record.row, column) if record.row >= 0 else None
        return item.text() if item is not None else ""

    def _row_status(self, record: TaskRecord) -> str:
        return self._row_text(record, 2)


def _progress_at_least(task: Task[Any], fraction: float) -> Callable[[], bool]:
    """A wait condition: ``task`` reported at least ``fraction`` (or ended)."""
    return lambda: task.get_progress() > fraction or task.is_final()
