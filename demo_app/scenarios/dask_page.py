"""Scenario "Dask cluster": a ``LocalCluster`` started from the GUI, tasks running on it."""

from __future__ import annotations

import importlib.util
import multiprocessing
from dataclasses import dataclass, field
from time import monotonic
from typing import TYPE_CHECKING, Any

from qbackground.qt import is_alive
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QWidget

from qbackground import BackgroundTaskHandler, QBackgroundError, TaskStatus, background_worker

from ..dask_tasks import (
    ClusterInfo,
    ClusterSlot,
    RowResult,
    SquaresTask,
    StartClusterTask,
    StopClusterTask,
)
from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .dask_widgets import ClusterBox, LogTabs, TaskRows

if TYPE_CHECKING:
    from qbackground.dask import DaskExecutor

__all__ = ["DaskPage", "DaskRow", "RowRecord"]


DASK_AVAILABLE = importlib.util.find_spec("distributed") is not None
"""Whether ``distributed`` (the ``dask`` extra) is installed; the page says so if not."""


@dataclass(frozen=True)
class DaskRow:
    """One task row of the page: what its :class:`~demo_app.dask_tasks.SquaresTask` does."""

    label: str
    steps: int
    fail_at: int | None = None


@dataclass
class RowRecord:
    """What reached the page for one row during one run; the smoke test reads it."""

    steps: int
    items: list[int] = field(default_factory=list)
    progress_calls: int = 0
    fraction: float = 0.0
    terminal: list[str] = field(default_factory=list)
    """Names of the terminal callbacks that ran, in order (exactly one expected)."""
    result: RowResult | None = None
    error: BaseException | None = None
    late_callbacks: int = 0
    """Progress, message or fraction callbacks that arrived after the terminal one."""


class DaskPage(Scenario):
    """Starts a ``DaskExecutor()`` without freezing the GUI and runs tasks on its cluster.

    The cluster is created on a worker thread (:class:`~demo_app.dask_tasks.StartClusterTask`)
    and handed to the page in ``done()``; :class:`~demo_app.dask_tasks.SquaresTask`\\ s then
    run on it with ``worker.handle(task, executor=dask_executor)``. Stop cluster closes it
    on a thread too; quitting the application closes it as well.
    """

    title = "Dask cluster"
    name = "dask"
    summary = (
        "<code>DaskExecutor()</code> starts a <code>LocalCluster</code> on 127.0.0.1 (on a worker "
        "thread: the window stays live). Tasks run on it with <code>worker.handle(task, "
        "executor=dask_executor)</code>; progress, Cancel and errors — with their type and remote "
        "traceback — cross the cluster."
    )

    rows = (
        DaskRow("Task 1 · 30 steps", 30),
        DaskRow("Task 2 · 45 steps", 45),
        DaskRow("Task 3 · 60 steps", 60),
        DaskRow("Failing · raises at step 12", 40, fail_at=12),
    )
    """The page's task rows; the last one fails on purpose."""
    step_seconds = 0.02
    n_workers = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.executor: DaskExecutor | None = None
        """The running cluster's executor (None while stopped)."""
        self.info: ClusterInfo | None = None
        """Where the running cluster listens."""
        self.state = "stopped" if DASK_AVAILABLE else "unavailable"
        """``"stopped"``, ``"starting"``, ``"running"``, ``"stopping"`` or ``"unavailable"``."""
        self.handlers: dict[int, BackgroundTaskHandler[RowResult]] = {}
        """The latest handler per row."""
        self.records: dict[int, RowRecord] = {}
        """The latest run's record per row."""
        self.cluster_error: BaseException | None = None
        self._slot = ClusterSlot()
        self._cluster_handler: BackgroundTaskHandler[Any] | None = None
        self._state_since = monotonic()
        self._ticker = QTimer(self)
        self._ticker.setInterval(100)
        self._ticker.timeout.connect(self._show_cluster_state)
        self._build()
        self._refresh()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close_cluster_now)

    # -- widgets -------------------------------------------------------------------

    def _build(self) -> None:
        self.cluster_box = ClusterBox(n_workers=self.n_workers)
        box = self.cluster_box
        self.start_button, self.stop_button = box.start_button, box.stop_button
        self.cluster_label = box.state_label
        self.scheduler_label, self.workers_label, self.dashboard_label = (
            box.scheduler_label,
            box.workers_label,
            box.dashboard_label,
        )
        self.start_button.clicked.connect(self.start_cluster)
        self.stop_button.clicked.connect(self.stop_cluster)
        self.body.addWidget(box)

        self.task_rows = TaskRows([row.label for row in self.rows])
        rows = self.task_rows
        self.run_button, self.fail_button, self.cancel_button = rows.run_button, rows.fail_button, rows.cancel_button
        self.tasks_label = rows.status_label
        self.bars, self.row_labels = rows.bars, rows.messages
        self.run_button.clicked.connect(self.run_tasks)
        self.fail_button.clicked.connect(self.run_failing)
        self.cancel_button.clicked.connect(self.cancel_tasks)
        self.body.addWidget(rows)

        self.tabs = LogTabs()
        self.log, self.error_label, self.traceback_view = self.tabs.log, self.tabs.error_label, self.tabs.traceback_view
        self.body.addWidget(self.tabs, 1)

    # -- user actions ----------------------------------------------------------------

    def start_cluster(self) -> None:
        """Create the ``DaskExecutor`` on a worker thread (the Start cluster button)."""
        if self.state != "stopped":
            return
        self.cluster_error = None
        self.log.start_section()
        self._set_state("starting")
        task = StartClusterTask(self, self._slot, n_workers=self.n_workers, owner=self)
        handler = background_worker().handle(task)
        self._cluster_handler = handler
        try:
            handler.execute()
        except QBackgroundError as exc:
            self.on_cluster_failed(exc)
            return
        self.log.stamp("StartClusterTask.execute(): DaskExecutor() is being created on a worker thread")

    def stop_cluster(self) -> None:
        """Cancel the running tasks, then close the executor on a worker thread."""
        executor = self.executor
        if self.state != "running" or executor is None:
            return
        self.cancel_tasks()
        self._set_state("stopping")
        self.executor = None
        handler = background_worker().handle(StopClusterTask(self, executor, owner=self))
        self._cluster_handler = handler
        try:
            handler.execute()
        except QBackgroundError as exc:
            executor.close()
            self.on_cluster_failed(exc)
            return
        self.log.stamp("StopClusterTask.execute(): closing the cluster on a worker thread")

    def run_tasks(self) -> None:
        """Start every row but the failing one (the Run button)."""
        self._run_rows([index for index, row in enumerate(self.rows) if row.fail_at is None])

    def run_failing(self) -> None:
        """Start the failing row (the Run the failing task button)."""
        self._run_rows([index for index, row in enumerate(self.rows) if row.fail_at is not None])

    def cancel_tasks(self) -> None:
        """Cancel every running task (the Cancel button); ``canceled()`` runs inside."""
        alive = {index: handler for index, handler in self.handlers.items() if handler.is_alive()}
        if not alive:
            return
        self.log.stamp(f"Cancel clicked: cancel() on {len(alive)} tasks")
        results = {index + 1: handler.cancel() for index, handler in alive.items()}
        self.log.stamp(f"cancel() returned {results} (task: accepted)")
        self._refresh()

    def close_cluster_now(self) -> None:
        """Close the cluster synchronously (application exit); later starts are refused."""
        executors = [self.executor, self._slot.close()]
        self.executor = None
        for executor in executors:
            if executor is not None:
                executor.close(timeout=5)
        if self.state in ("running", "starting"):
            self.state = "stopped"

    def is_idle(self) -> bool:
        return self.state in ("stopped", "running", "unavailable") and not self._any_alive()

    # -- running ---------------------------------------------------------------------

    def _run_rows(self, indexes: list[int]) -> None:
        executor = self.executor
        if executor is None or self.state != "running":
            return
        if any(index in self._busy_rows() for index in indexes):
            return
        self.log.start_section()
        for index in indexes:
            row = self.rows[index]
            self.records[index] = RowRecord(row.steps)
            self.bars[index].setValue(0)
            self._set_row_text(index, "queued on the cluster…", None)
            task = SquaresTask(
                self, row=index, steps=row.steps, step_seconds=self.step_seconds, fail_at=row.fail_at, owner=self
            )
            handler = background_worker().handle(task, executor=executor)
            try:
                handler.execute()
            except QBackgroundError as exc:
                self.log.stamp(f"task {index + 1}: execute() raised {type(exc).__name__}: {exc}")
                self._set_row_text(index, f"could not start: {exc}", "failed")
                continue
            self.handlers[index] = handler
        started = ", ".join(str(index + 1) for index in indexes if index in self.handlers)
        self.log.stamp(f"submitted task {started} to {executor.client.scheduler.address}")
        self._refresh()

    # -- ClusterView: the cluster tasks' callbacks, on the GUI thread --------------------------

    def on_cluster_message(self, message: str) -> None:
        self.log.stamp(f"StartClusterTask: {message}")

    def on_cluster_started(self, info: ClusterInfo) -> None:
        executor = self._slot.take()
        if executor is None:  # closed meanwhile (app exit)
            return
        self.executor = executor
        self.info = info
        self.log.stamp(f"done(): cluster ready after {info.seconds:.2f} s — scheduler {info.scheduler}")
        for address in info.workers:
            self.log.stamp(f"  worker {address}")
        self._set_state("running")

    def on_cluster_stopped(self, seconds: float) -> None:
        self.info = None
        self.log.stamp(f"done(): cluster closed in {seconds:.2f} s")
        self._set_state("stopped")

    def on_cluster_failed(self, exc: BaseException) -> bool:
        self.cluster_error = exc
        self.log.stamp(f"handle_exception({type(exc).__name__}: {exc})")
        leftover = self._slot.take()
        if leftover is not None:
            leftover.close()
        self.executor = None
        self.info = None
        self._set_state("stopped")
        self.cluster_label.setText(f"Failed: {type(exc).__name__}")
        return True

    # -- DaskView: the SquaresTask callbacks, on the GUI thread -----------------------------

    def on_row_progress(self, row: int, changes: list[int]) -> None:
        record = self._record(row)
        record.progress_calls += 1
        record.items.extend(changes)

    def on_row_fraction(self, row: int, fraction: float) -> None:
        record = self._record(row)
        record.fraction = fraction
        self.bars[row].setValue(round(fraction * 100))

    def on_row_message(self, row: int, message: str) -> None:
        self._record(row)
        self._set_row_text(row, message, None)

    def on_row_done(self, row: int, result: RowResult) -> None:
        record = self._record(row, terminal="done")
        record.result = result
        self.log.stamp(
            f"task {row + 1}: done(Σ = {result.total:,}) — {len(record.items)} steps in "
            f"{record.progress_calls} progress() calls; ran {result.seconds:.2f} s on {result.worker}"
        )
        self._set_row_text(row, f"done: Σ = {result.total:,} on pid {result.pid}", "done")
        self._refresh()

    def on_row_canceled(self, row: int) -> None:
        record = self._record(row, terminal="canceled")
        step = record.items[-1] if record.items else 0
        self.log.stamp(f"task {row + 1}: canceled() at step {step}")
        self._set_row_text(row, f"cancelled at step {step}", "canceled")
        self._refresh()

    def on_row_failed(self, row: int, exc: BaseException) -> bool:
        record = self._record(row, terminal="handle_exception")
        record.error = exc
        cause = exc.__cause__
        self.log.stamp(f"task {row + 1}: handle_exception({type(exc).__module__}.{type(exc).__name__}) → True")
        self._set_row_text(row, f"failed: {type(exc).__name__}", "failed")
        self.error_label.setToolTip(
            f"raised on a Dask worker; below is its __cause__ "
            f"({type(cause).__name__ if cause is not None else 'none'}): the remote traceback"
        )
        self.tabs.show_error(
            f"<b>{type(exc).__module__}.{type(exc).__name__}</b>: {exc}",
            str(cause).rstrip() if cause is not None else "(no remote traceback)",
        )
        self._refresh()
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _record(self, row: int, terminal: str | None = None) -> RowRecord:
        record = self.records.setdefault(row, RowRecord(self.rows[row].steps))
        if record.terminal:
            record.late_callbacks += 1
        if terminal is not None:
            record.terminal.append(terminal)
        return record

    def _busy_rows(self) -> list[int]:
        """Rows executed whose terminal callback has not run yet (the handler's status is
        decided a little before its callback runs on the GUI thread)."""
        return [
            index
            for index, handler in self.handlers.items()
            if not self.records[index].terminal and handler.status is not TaskStatus.INTERRUPTED
        ]

    def _any_alive(self) -> bool:
        cluster_busy = self._cluster_handler is not None and self._cluster_handler.is_alive()
        return cluster_busy or bool(self._busy_rows())

    def _set_state(self, state: str) -> None:
        self.state = state
        self._state_since = monotonic()
        if state in ("starting", "stopping"):
            self._ticker.start()
        else:
            self._ticker.stop()
        self._refresh()

    def _refresh(self) -> None:
        """Enable the buttons that make sense now and show the state."""
        if not is_alive(self):
            return
        running = self.state == "running"
        alive = self._busy_rows()
        self.start_button.setEnabled(self.state == "stopped")
        self.stop_button.setEnabled(running)
        normal = [index for index, row in enumerate(self.rows) if row.fail_at is None]
        self.run_button.setEnabled(running and not any(index in alive for index in normal))
        self.fail_button.setEnabled(running and not any(index not in normal for index in alive))
        self.cancel_button.setEnabled(bool(alive))
        if alive:
            self.tasks_label.setText(f"{len(alive)} running on the cluster")
        elif running:
            self.tasks_label.setText("Idle")
        else:
            self.tasks_label.setText("Start the cluster first" if DASK_AVAILABLE else "")
        self._show_cluster_state()

    def _show_cluster_state(self) -> None:
        self.cluster_box.show_state(self.state, monotonic() - self._state_since, self.info)

    def _set_row_text(self, row: int, text: str, kind: str | None) -> None:
        self.task_rows.set_text(row, text, kind)

    # -- screenshot ---------------------------------------------------------------------------

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Start the cluster, let the failing task fail, then catch the others mid-way."""
        if not DASK_AVAILABLE:
            return
        self.start_button.click()
        yield ctx.wait_until(lambda: self.state == "running", "the cluster runs", timeout=40)
        self.fail_button.click()
        yield ctx.wait_until(self.is_idle, "the failing task failed", timeout=20)
        self.run_button.click()
        yield ctx.wait_until(lambda: self.bars[0].value() >= 60, "task 1 is 60 % done", timeout=20)

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Cancel the tasks and stop the cluster."""
        if not DASK_AVAILABLE:
            return
        self.cancel_tasks()
        self.stop_button.click()
        yield ctx.wait_until(lambda: self.state == "stopped" and self.is_idle(), "the cluster stopped", timeout=20)

    # -- smoke test ---------------------------------------------------------------------------

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Start the cluster, run, cancel and fail tasks on it, stop it.

        The steps and checks are in :mod:`demo_app.scenarios.checks.dask`.
        """
        from .checks import dask as checks

        return checks.smoke(self, ctx)


def _dask_children() -> list[multiprocessing.process.BaseProcess]:
    """This process's children that Dask started (its nannies' worker processes)."""
    return [child for child in multiprocessing.active_children() if "Dask" in (child.name or "")]
