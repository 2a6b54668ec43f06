"""Scenario 2 — task round trip: many trivial tasks submitted in one GUI-thread loop.

Each task's work returns at once; what is measured is the machinery: from the first
submit to the last "done" callback on the GUI thread (tasks/s), the GUI-thread cost of
one submit (submit loop time / N) and the worst GUI stall, the submit loop included.

* qbackground: ``worker.handle(task).execute()``; ``done()`` counts.
* superqt: ``create_worker(fn, i, _connect={"returned": ...})`` per task.
* raw: one ``QRunnable`` per task on ``QThreadPool.globalInstance()``, emitting a
  ``Signal(int)`` of one shared emitter ``QObject`` (the lean hand-written pattern).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import QObject, QRunnable, QThreadPool, Signal
from superqt.utils import create_worker

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Heartbeat, Settings, TimedRun, gui_thread_id, settle
from ._report import Check, Row, Table, fmt_count, fmt_ms, fmt_ratio, fmt_us, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "roundtrip"

PEERS = ("qbackground", "superqt", "raw QThreadPool")


class _Tally:
    """Counts done callbacks by task index; ends the run when all ``n`` arrived."""

    def __init__(self, n: int, run: TimedRun) -> None:
        self._n = n
        self._run = run
        self._seen = bytearray(n)
        self.count = 0
        self.duplicates = 0
        self.on_gui_thread = True

    def hit(self, index: int) -> None:
        """Task ``index`` is done (must run on the GUI thread)."""
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False
        if self._seen[index]:
            self.duplicates += 1
        self._seen[index] = 1
        self.count += 1
        if self.count == self._n:
            self._run.end()


Submit = Callable[[int, _Tally], None]
"""Submits task ``i`` reporting to the tally; called N times in one GUI-thread loop."""


@dataclass(frozen=True)
class _Sample:
    wall: float
    submit_per_task: float
    stall: float
    complete: bool


# -- qbackground -------------------------------------------------------------------------


class _Trivial(BackgroundTask[None, int]):
    """Returns its index at once."""

    def __init__(self, index: int, tally: _Tally) -> None:
        super().__init__()
        self._index = index
        self._tally = tally

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        return self._index

    def done(self, result: int) -> None:
        self._tally.hit(result)


def _qbackground(worker: BackgroundWorker) -> Submit:
    def submit(index: int, tally: _Tally) -> None:
        worker.handle(_Trivial(index, tally)).execute()

    return submit


# -- superqt -----------------------------------------------------------------------------


def _identity(index: int) -> int:
    return index


def _superqt(index: int, tally: _Tally) -> None:
    create_worker(_identity, index, _connect={"returned": tally.hit})


# -- raw QThreadPool ---------------------------------------------------------------------


class _Emitter(QObject):
    done = Signal(int)


class _TrivialRunnable(QRunnable):
    """Emits its index on the shared emitter."""

    def __init__(self, index: int, emitter: _Emitter) -> None:
        super().__init__()
        self._index = index
        self._emitter = emitter

    def run(self) -> None:
        self._emitter.done.emit(self._index)


class _RawPeer:
    """A shared emitter connected to the current tally; runnables are auto-deleted."""

    def __init__(self) -> None:
        self._emitter = _Emitter()
        self._tally: _Tally | None = None
        self._emitter.done.connect(self._on_done)
        self._pool = QThreadPool.globalInstance()

    def _on_done(self, index: int) -> None:
        assert self._tally is not None
        self._tally.hit(index)

    def submit(self, index: int, tally: _Tally) -> None:
        self._tally = tally
        self._pool.start(_TrivialRunnable(index, self._emitter))


# -- driver ------------------------------------------------------------------------------


def _measure(submit: Submit, n: int, heartbeat: Heartbeat, limit: float) -> _Sample:
    settle()
    run = TimedRun(heartbeat)
    tally = _Tally(n, run)

    def kickoff() -> None:
        run.begin()
        for index in range(n):
            submit(index, tally)
        run.mark_submitted()

    finished = run.wait(kickoff, limit)
    settle()
    complete = finished and tally.count == n and not tally.duplicates and tally.on_gui_thread
    nan = float("nan")
    return _Sample(
        wall=run.wall if finished else nan,
        submit_per_task=(run.submitted - run.started) / n if run.submitted else nan,
        stall=run.stall if finished else nan,
        complete=complete,
    )


def run(settings: Settings) -> Table:
    """Run every peer ``settings.repeat`` times and build the table."""
    n = settings.roundtrip_tasks
    heartbeat = Heartbeat()
    worker = BackgroundWorker()
    raw = _RawPeer()
    submitters: dict[str, Submit] = {
        "qbackground": _qbackground(worker),
        "superqt": _superqt,
        "raw QThreadPool": raw.submit,
    }
    samples: dict[str, list[_Sample]] = {peer: [] for peer in PEERS}
    try:
        for peer in PEERS:  # warm-up: start every pool's threads
            _measure(submitters[peer], min(n, 200), heartbeat, settings.run_limit)
        for _ in range(settings.repeat):
            for peer in PEERS:
                samples[peer].append(_measure(submitters[peer], n, heartbeat, settings.run_limit))
    finally:
        worker.shutdown(timeout=10)
    return _table(settings, samples, worker_threads=worker.threads)


def _table(settings: Settings, samples: dict[str, list[_Sample]], worker_threads: int) -> Table:
    n = settings.roundtrip_tasks
    table = Table(
        title=f"2. Task round trip ({n:,} trivial tasks submitted in one loop)",
        description=(
            "From the first submit to the last done callback on the GUI thread. GUI cost "
            "per task = time of the submit loop / N (task object creation + submit; for "
            "superqt create_worker, for raw QRunnable() + pool.start). Worst stall "
            "includes the submit loop itself."
        ),
        columns=[
            "wall time median (worst)",
            "tasks/s (median)",
            "GUI cost of handle()+execute() / task",
            "worst stall median (worst)",
            "all done once",
            "vs raw",
            "vs superqt",
        ],
    )
    rates = {
        peer: n / summarize([s.wall for s in samples[peer] if s.complete]).median for peer in PEERS
    }
    for peer in PEERS:
        runs = samples[peer]
        wall = summarize([s.wall for s in runs if s.complete])
        stall = summarize([s.stall for s in runs if s.complete])
        submit = summarize([s.submit_per_task for s in runs])
        complete = all(s.complete for s in runs)
        vs_raw = rates[peer] / rates["raw QThreadPool"]
        vs_superqt = rates[peer] / rates["superqt"]
        cells = [
            f"{fmt_ms(wall.median)} ({fmt_ms(wall.high)})",
            fmt_count(rates[peer]),
            fmt_us(submit.median),
            f"{fmt_ms(stall.median)} ({fmt_ms(stall.high)})",
            "✓" if complete else "✗",
            fmt_ratio(vs_raw),
            fmt_ratio(vs_superqt),
        ]
        if peer == "qbackground":
            checks = [
                Check("≥ raw", vs_raw >= 1, vs_raw >= 2, aim="2x raw"),
                Check("≥10x superqt", vs_superqt >= 10),
                Check(
                    "stall < 100 ms", stall.median < 0.1, stall.median < 0.05, aim="stall < 50 ms"
                ),
                Check("every done() once", complete),
            ]
            if stall.high >= 0.1:
                checks.append(Check("", True, note=f"worst run's stall {fmt_ms(stall.high)}"))
            table.rows.append(
                Row(
                    peer,
                    cells,
                    "tasks/s ≥ raw (aim 2x), ≥10x superqt; stall < 100 ms (aim 50 ms)",
                    verdict(checks),
                )
            )
        else:
            table.rows.append(Row(peer, cells))
    pool = QThreadPool.globalInstance().maxThreadCount()
    table.notes.append(
        f"Threads: qbackground worker {worker_threads} (its default), superqt and raw share "
        f"QThreadPool.globalInstance() with {pool} (its default). superqt starts each "
        "worker through a 1 ms single-shot timer when called from a running event loop."
    )
    return table
