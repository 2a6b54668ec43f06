"""Tasks for the demo's Dask page: they run on the workers of a ``distributed`` cluster.

Dask pickles a task *by reference* (``demo_app.dask_tasks.SquaresTask``), so these classes
live at module level in an importable module: the cluster's worker processes import this
module to unpickle them. The page a task reports to is GUI-side: ``__getstate__`` leaves
it out of the pickle, and the GUI-thread callbacks run on the original task object in the
GUI process, which still has it. ``run()`` never touches it.

:class:`StartClusterTask` and :class:`StopClusterTask` are the opposite: they run on a
thread of the GUI process, because starting a ``LocalCluster`` (spawning its worker
processes) takes a second or so and stopping it a fraction of one — too long for the GUI
thread.

Example::

    executor = DaskExecutor()                      # or from StartClusterTask.done()
    task = SquaresTask(page, row=0, steps=40, owner=page)
    background_worker().handle(task, executor=executor).execute()
"""

from __future__ import annotations

import os
import threading
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from qtpy.QtWidgets import QWidget

from qbackground import BackgroundTask, TaskLifeCycle

if TYPE_CHECKING:
    from qbackground.dask import DaskExecutor

__all__ = [
    "ChecksumError",
    "ClusterInfo",
    "ClusterSlot",
    "ClusterView",
    "DaskView",
    "RowResult",
    "SquaresTask",
    "StartClusterTask",
    "StopClusterTask",
    "squares_total",
]


class ChecksumError(ValueError):
    """What :class:`SquaresTask` raises on purpose at ``fail_at``.

    Defined here, in an importable module, so the exception unpickles in the GUI process
    with its own type: ``handle_exception()`` receives a real ``ChecksumError``.
    """


class RowResult(NamedTuple):
    """What one :class:`SquaresTask` returns (pickled back from a Dask worker)."""

    total: int
    """The sum of the squares of 1..steps."""
    worker: str
    """The address of the Dask worker that ran it."""
    pid: int
    """The worker's process id."""
    seconds: float
    """Time ``run()`` took, measured on the worker."""


def squares_total(steps: int) -> int:
    """1² + 2² + … + steps², in closed form (to check the tasks' results).

    Example::

        assert squares_total(3) == 14
    """
    return steps * (steps + 1) * (2 * steps + 1) // 6


class DaskView(Protocol):
    """Receives the :class:`SquaresTask` callbacks; every method runs on the GUI thread."""

    def on_row_progress(self, row: int, changes: list[int]) -> None:
        """Steps row ``row`` published since the previous call, in order."""

    def on_row_fraction(self, row: int, fraction: float) -> None:
        """Row ``row`` is ``fraction`` (0..1) done."""

    def on_row_message(self, row: int, message: str) -> None:
        """The latest ``set_message()`` text of row ``row``."""

    def on_row_done(self, row: int, result: RowResult) -> None:
        """Row ``row`` finished."""

    def on_row_canceled(self, row: int) -> None:
        """Row ``row`` was cancelled."""

    def on_row_failed(self, row: int, exc: BaseException) -> bool:
        """Row ``row`` raised ``exc`` (on the cluster); return True when handled."""


class SquaresTask(BackgroundTask[int, RowResult]):
    """Adds up 1² … steps², one step every ``step_seconds``, on a Dask worker.

    Every step is published (``progress()`` gets them in order), counted with
    ``set_progress()`` (the bar) and described with ``set_message()``. With ``fail_at``
    it raises :class:`ChecksumError` at that step: the exception comes back with its type
    and the worker-side traceback as ``__cause__``.

    Example::

        task = SquaresTask(page, row=2, steps=30, fail_at=12, owner=page)
        background_worker().handle(task, executor=dask_executor).execute()
    """

    def __init__(
        self,
        view: DaskView,
        *,
        row: int,
        steps: int,
        step_seconds: float = 0.02,
        fail_at: int | None = None,
        owner: QWidget | None = None,
        timeout: float | None = 60.0,
    ) -> None:
        super().__init__(timeout=timeout, owner=owner)
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        if fail_at is not None and not 1 <= fail_at <= steps:
            raise ValueError(f"fail_at must be between 1 and steps ({steps}), got {fail_at}")
        self._view = view
        self.row = row
        self.steps = steps
        self.step_seconds = step_seconds
        self.fail_at = fail_at

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the view (a widget): it stays in the GUI process."""
        state = super().__getstate__()
        state.pop("_view", None)
        return state

    def run(self, lifecycle: TaskLifeCycle[int]) -> RowResult:
        from distributed import get_worker  # on a Dask worker: distributed is there

        started = perf_counter()
        address = get_worker().address
        lifecycle.set_total(self.steps)
        total = 0
        for step in range(1, self.steps + 1):
            lifecycle.sleep(self.step_seconds)  # a cancel wakes it at once
            total += step * step
            if step == self.fail_at:
                self._fail(step, total)
            lifecycle.publish(step)
            lifecycle.set_progress(step)
            lifecycle.set_message(f"step {step} of {self.steps} · Σ = {total:,} · pid {os.getpid()}")
        return RowResult(total, address, os.getpid(), perf_counter() - started)

    def _fail(self, step: int, total: int) -> None:
        """Raise the demo's error (a separate frame, so the remote traceback has depth)."""
        raise ChecksumError(f"checksum mismatch at step {step} (Σ = {total:,}, pid {os.getpid()})")

    def progress(self, changes: list[int]) -> None:
        self._view.on_row_progress(self.row, changes)

    def fraction_changed(self, fraction: float) -> None:
        self._view.on_row_fraction(self.row, fraction)

    def message_changed(self, message: str) -> None:
        self._view.on_row_message(self.row, message)

    def done(self, result: RowResult) -> None:
        self._view.on_row_done(self.row, result)

    def canceled(self) -> None:
        self._view.on_row_canceled(self.row)

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_row_failed(self.row, exc)


# -- starting and stopping the cluster (threads of the GUI process) -----------------------


class ClusterInfo(NamedTuple):
    """What the page shows about a running cluster."""

    scheduler: str
    """The scheduler's address (``tcp://127.0.0.1:PORT``)."""
    workers: list[str]
    """The worker addresses."""
    http: str | None
    """The scheduler's HTTP server (``http://127.0.0.1:8787``), or None. ``DaskExecutor``
    passes ``dashboard_address=None``: no Bokeh dashboard, but the scheduler still serves
    ``/health``, ``/metrics`` and the ``/info`` pages there."""
    seconds: float
    """How long starting took."""


class ClusterSlot:
    """Holds the executor a :class:`StartClusterTask` created, until someone takes it.

    ``run()`` puts the executor here the moment it exists, so it is never lost: if the
    start is cancelled (or the page goes away) before ``done()`` delivers it, whoever
    cleans up still finds it here. Once the slot is closed (app exit), an executor put
    into it is closed at once by the thread that put it. Thread-safe.

    Example::

        slot = ClusterSlot()
        ...                                   # StartClusterTask(page, slot).run() puts
        executor = slot.take()                # in done(): now the page's
        leftover = slot.close()               # on exit: nothing more may arrive
        if leftover is not None:
            leftover.close()
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: DaskExecutor | None = None
        self._closed = False

    def put(self, executor: DaskExecutor) -> bool:
        """Keep ``executor``; False (and the executor closed) if the slot is closed.

        An executor still held (never taken) is closed first.
        """
        with self._lock:
            closed = self._closed
            old: DaskExecutor | None = None
            if not closed:
                old, self._executor = self._executor, executor
        if closed:
            executor.close()
            return False
        if old is not None:
            old.close()
        return True

    def take(self) -> DaskExecutor | None:
        """The executor held, if any, now owned by the caller."""
        with self._lock:
            executor, self._executor = self._executor, None
        return executor

    def close(self) -> DaskExecutor | None:
        """Refuse later puts; return the executor held, if any (the caller closes it)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        return executor


class ClusterView(Protocol):
    """Receives the cluster tasks' callbacks; every method runs on the GUI thread."""

    def on_cluster_message(self, message: str) -> None:
        """A step of starting or stopping."""

    def on_cluster_started(self, info: ClusterInfo) -> None:
        """The executor is in the slot and ready."""

    def on_cluster_stopped(self, seconds: float) -> None:
        """The executor was closed."""

    def on_cluster_failed(self, exc: BaseException) -> bool:
        """Starting or stopping raised ``exc``; return True when handled."""


class StartClusterTask(BackgroundTask[None, ClusterInfo]):
    """Creates a ``DaskExecutor()`` (a ``LocalCluster`` on loopback) on a worker thread.

    The executor goes into ``slot`` (take it from there in ``done()``); the result says
    where the cluster listens. Cancelling it does not abort the start (Dask's start-up
    cannot be interrupted), but the executor then stays in the slot for the caller to
    close.

    Example::

        slot = ClusterSlot()
        background_worker().handle(StartClusterTask(page, slot, owner=page)).execute()
    """

    def __init__(self, view: ClusterView, slot: ClusterSlot, *, n_workers: int = 2, owner: QWidget | None = None) -> None:
        super().__init__(owner=owner)
        self._view = view
        self.slot = slot
        self.n_workers = n_workers

    def run(self, lifecycle: TaskLifeCycle[None]) -> ClusterInfo:
        from qbackground.dask import DaskExecutor

        started = perf_counter()
        lifecycle.set_message(f"starting a LocalCluster with {self.n_workers} worker processes…")
        lifecycle.flush()
        executor = DaskExecutor(n_workers=self.n_workers)
        scheduler = executor.client.scheduler_info()
        info = ClusterInfo(
            scheduler=str(scheduler.get("address", "?")),
            workers=sorted(str(address) for address in scheduler.get("workers", {})),
            http=_http_address(executor),
            seconds=perf_counter() - started,
        )
        if not self.slot.put(executor):  # the page went away meanwhile: closed already
            raise RuntimeError("the demo is closing; the new cluster was closed again")
        return info

    def message_changed(self, message: str) -> None:
        self._view.on_cluster_message(message)

    def done(self, result: ClusterInfo) -> None:
        self._view.on_cluster_started(result)

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_cluster_failed(exc)


class StopClusterTask(BackgroundTask[None, float]):
    """Closes a ``DaskExecutor`` on a worker thread (the cluster, its client, its scratch
    folder); returns the seconds it took.

    Example::

        background_worker().handle(StopClusterTask(page, executor, owner=page)).execute()
    """

    def __init__(self, view: ClusterView, executor: DaskExecutor, *, owner: QWidget | None = None) -> None:
        super().__init__(owner=owner)
        self._view = view
        self.executor = executor

    def run(self, lifecycle: TaskLifeCycle[None]) -> float:
        started = perf_counter()
        self.executor.close()
        return perf_counter() - started

    def done(self, result: float) -> None:
        self._view.on_cluster_stopped(result)

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_cluster_failed(exc)


def _http_address(executor: DaskExecutor) -> str | None:
    """The base address of the scheduler's HTTP server, if it runs one."""
    try:
        link = str(executor.client.dashboard_link)
    except Exception:
        return None
    scheme, _, rest = link.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else None
