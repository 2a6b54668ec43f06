"""Scenario 1 — progress flood: one task reports every item of a long loop.

Each peer's task produces ``0 .. n-1`` as fast as it can; every delivery on the GUI
thread updates a ``QLabel`` and a ``QProgressBar`` and checks the items arrive complete
and in order. Measured: wall time from submit to the final "done" callback, and the
worst GUI stall (largest heartbeat gap) in between.

* qbackground: ``lifecycle.publish(i)``; ``progress()`` receives coalesced lists.
* superqt: a generator ``thread_worker`` yielding each item (one ``yielded`` signal each).
* raw: a ``QRunnable`` emitting one ``Signal(int)`` per item on the global ``QThreadPool``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import QObject, QRunnable, QThreadPool, Signal
from superqt.utils import thread_worker

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Heartbeat, ProgressView, Settings, TimedRun, gui_thread_id, settle
from ._report import Check, Row, Table, fmt_count, fmt_ms, fmt_ratio, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "flood"

PEERS = ("qbackground", "superqt", "raw QThreadPool")


class _Sink:
    """GUI-side consumer: shows the latest value and keeps what arrived for checking.

    The order check runs after the clock stops (:meth:`verify`), so it does not count
    as GUI work for any peer; a callback only shows the value and keeps a reference.
    """

    def __init__(self, view: ProgressView) -> None:
        self._view = view
        self._singles: list[int] = []
        self._batches: list[list[int]] = []
        self.on_gui_thread = True

    def take_one(self, value: int) -> None:
        """One item per call (superqt ``yielded``, raw signal)."""
        self._singles.append(value)
        self._view.show_value(value)

    def take_many(self, values: list[int]) -> None:
        """A coalesced batch (qbackground ``progress()``)."""
        self._batches.append(values)
        self._view.show_value(values[-1])

    def check_thread(self) -> None:
        """Note a callback that ran off the GUI thread."""
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False

    def verify(self) -> tuple[int, bool]:
        """(items received, whether they were exactly ``0 .. received-1`` in order)."""
        received = list(self._singles)
        for batch in self._batches:
            received.extend(batch)
        return len(received), received == list(range(len(received)))


@dataclass(frozen=True)
class _Sample:
    wall: float
    stall: float
    received: int
    in_order: bool
    on_gui_thread: bool
    finished: bool


# -- qbackground -------------------------------------------------------------------------


class _FloodTask(BackgroundTask[int, int]):
    """Publishes ``0 .. n-1`` one item per ``publish()`` call."""

    def __init__(self, n: int, sink: _Sink, run: TimedRun) -> None:
        super().__init__()
        self._n = n
        self._sink = sink
        self._run = run

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        publish = lifecycle.publish
        for i in range(self._n):
            publish(i)
        return self._n

    def progress(self, changes: list[int]) -> None:
        self._sink.check_thread()
        self._sink.take_many(changes)

    def done(self, result: int) -> None:
        self._sink.check_thread()
        self._run.end()

    def handle_exception(self, exc: BaseException) -> bool:
        self._run.end()
        return False


def _start_qbackground(worker: BackgroundWorker) -> Callable[[int, _Sink, TimedRun], None]:
    def start(n: int, sink: _Sink, run: TimedRun) -> None:
        worker.handle(_FloodTask(n, sink, run)).execute()

    return start


# -- superqt -----------------------------------------------------------------------------


def _flood_items(n: int) -> Generator[int, None, int]:
    for i in range(n):
        yield i
    return n


_flood_generator = thread_worker(_flood_items, start_thread=False)
"""Calling it returns an unstarted ``GeneratorWorker`` (``yielded`` once per item)."""


def _start_superqt(n: int, sink: _Sink, run: TimedRun) -> None:
    worker = _flood_generator(n)

    def on_item(value: int) -> None:
        sink.check_thread()
        sink.take_one(value)

    worker.yielded.connect(on_item)
    # superqt's stubs type argument-less signals as taking one None argument.
    worker.finished.connect(run.end)  # type: ignore[arg-type]
    worker.start()


# -- raw QThreadPool ---------------------------------------------------------------------


class _FloodSignals(QObject):
    item = Signal(int)
    done = Signal()


class _FloodRunnable(QRunnable):
    """Emits one ``item`` signal per value, then ``done``."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self._n = n
        self.signals = _FloodSignals()

    def run(self) -> None:
        emit = self.signals.item.emit
        for i in range(self._n):
            emit(i)
        self.signals.done.emit()


class _RawPeer:
    """Keeps each runnable (and its signals object) alive until its ``done`` arrives."""

    def __init__(self) -> None:
        self._alive: list[_FloodRunnable] = []

    def start(self, n: int, sink: _Sink, run: TimedRun) -> None:
        runnable = _FloodRunnable(n)
        runnable.setAutoDelete(False)

        def on_item(value: int) -> None:
            sink.check_thread()
            sink.take_one(value)

        def on_done() -> None:
            run.end()
            self._alive.remove(runnable)

        runnable.signals.item.connect(on_item)
        runnable.signals.done.connect(on_done)
        self._alive.append(runnable)
        QThreadPool.globalInstance().start(runnable)


# -- driver ------------------------------------------------------------------------------


def _measure(
    start: Callable[[int, _Sink, TimedRun], None], n: int, heartbeat: Heartbeat, limit: float
) -> _Sample:
    view = ProgressView(n - 1)
    settle()  # the window is shown and painted before the clock starts
    sink = _Sink(view)
    run = TimedRun(heartbeat)

    def kickoff() -> None:
        run.begin()
        start(n, sink, run)

    finished = run.wait(kickoff, limit)
    view.close()
    view.deleteLater()
    received, in_order = sink.verify()
    settle()
    return _Sample(
        wall=run.wall if finished else float("nan"),
        stall=run.stall if finished else float("nan"),
        received=received,
        in_order=in_order,
        on_gui_thread=sink.on_gui_thread,
        finished=finished,
    )


def run(settings: Settings) -> Table:
    """Run every peer ``settings.repeat`` times and build the table."""
    n = settings.flood_items
    heartbeat = Heartbeat()
    worker = BackgroundWorker()
    raw = _RawPeer()
    starters: dict[str, Callable[[int, _Sink, TimedRun], None]] = {
        "qbackground": _start_qbackground(worker),
        "superqt": _start_superqt,
        "raw QThreadPool": raw.start,
    }
    samples: dict[str, list[_Sample]] = {peer: [] for peer in PEERS}
    try:
        for peer in PEERS:  # warm-up: threads, imports, first paint
            _measure(starters[peer], min(n, 1_000), heartbeat, settings.run_limit)
        for _ in range(settings.repeat):
            for peer in PEERS:
                samples[peer].append(_measure(starters[peer], n, heartbeat, settings.run_limit))
    finally:
        worker.shutdown(timeout=10)
    return _table(settings, samples)


def _table(settings: Settings, samples: dict[str, list[_Sample]]) -> Table:
    n = settings.flood_items
    table = Table(
        title=f"1. Progress flood ({n:,} items from one task)",
        description=(
            "Wall time from submit to the final done callback while every delivery "
            "updates a QLabel and a QProgressBar; worst stall = largest gap of a 5 ms "
            "GUI heartbeat over the same span. Ratio = superqt wall time / peer's wall time."
        ),
        columns=[
            "wall time median (worst)",
            "items/s",
            "worst stall median (worst)",
            "delivered in order",
            "superqt / peer",
        ],
    )
    walls = {peer: summarize([s.wall for s in samples[peer] if s.finished]) for peer in PEERS}
    superqt_wall = walls["superqt"].median
    for peer in PEERS:
        runs = samples[peer]
        wall = walls[peer]
        stall = summarize([s.stall for s in runs if s.finished])
        complete = all(
            s.finished and s.received == n and s.in_order and s.on_gui_thread for s in runs
        )
        delivered = (
            f"{min(s.received for s in runs):,}/{n:,} ✓"
            if complete
            else f"✗ ({_problems(runs, n)})"
        )
        ratio = superqt_wall / wall.median
        cells = [
            f"{fmt_ms(wall.median)} ({fmt_ms(wall.high)})",
            fmt_count(n / wall.median),
            f"{fmt_ms(stall.median)} ({fmt_ms(stall.high)})",
            delivered,
            fmt_ratio(ratio),
        ]
        if peer == "qbackground":
            checks = [
                Check("≥20x superqt", ratio >= 20, ratio >= 50, aim="50x superqt"),
                Check(
                    "stall < 25 ms", stall.median < 0.025, stall.median < 0.016, aim="stall < 16 ms"
                ),
                Check("all items in order", complete),
            ]
            if stall.high >= 0.025:
                checks.append(Check("", True, note=f"worst run's stall {fmt_ms(stall.high)}"))
            table.rows.append(
                Row(
                    peer,
                    cells,
                    "≥20x superqt (aim 50x); stall < 25 ms (aim 16 ms); every item, in order",
                    verdict(checks),
                )
            )
        else:
            table.rows.append(Row(peer, cells))
    table.notes.append(
        "raw QThreadPool: one QRunnable emitting Signal(int) per item to a slot on the GUI "
        "thread; superqt: thread_worker generator, one `yielded` per item."
    )
    return table


def _problems(runs: list[_Sample], n: int) -> str:
    issues: list[str] = []
    if not all(s.finished for s in runs):
        issues.append("did not finish in time")
    if any(s.received != n for s in runs):
        issues.append("received " + "/".join(f"{s.received:,}" for s in runs))
    if not all(s.in_order for s in runs):
        issues.append("out of order")
    if not all(s.on_gui_thread for s in runs):
        issues.append("callback off the GUI thread")
    return ", ".join(issues)
