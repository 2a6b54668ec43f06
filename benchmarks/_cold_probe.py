"""One cold-process GUI-stall measurement (scenario 9): run ONE case ONCE, print ONE JSON line.

``python -m benchmarks._cold_probe --case flood|burst|burst-raw|cpu|cpu-raw --items N
--tasks N --iterations N [--limit S]``

Started by :mod:`benchmarks.gui_stalls` in a fresh interpreter per run, so what it
measures is an application's first use of qbackground: the process starts the way an app
does (``qbackground.qt`` first, which picks the binding from ``QT_API``, then the
``QApplication``), shows a ``QWidget`` holding a ``QLabel`` and a ``QProgressBar``, starts
a 5 ms precise heartbeat ``QTimer``, creates a fresh ``BackgroundWorker`` (qbackground
cases) and, 50 ms later, from a timer callback inside the running ``app.exec()``, starts
the case. No warm-up, no ``gc.freeze()``, nothing of the benchmark harness imported.

Cases:

* ``flood``: one thread task publishing ``0 .. items-1``; ``progress()`` sets the label
  and the bar to the latest item.
* ``burst`` / ``burst-raw``: ``tasks`` trivial tasks submitted in one GUI-thread loop
  (``worker.handle(T()).execute()``; raw: one ``QRunnable`` per task on
  ``QThreadPool.globalInstance()`` emitting ``Signal(int)`` to a GUI-thread slot).
* ``cpu`` / ``cpu-raw``: one pure-Python loop of ``iterations`` steps on a thread
  (qbackground: checking ``lifecycle.is_cancelled()`` every 2,000 steps; raw: a
  ``QRunnable`` doing the same loop without the check).

The JSON line (times in seconds, relative to the start of the case): ``case``,
``binding``, ``finished``, ``wall`` (start to the last ``done()``), ``submit`` (the
submit call or loop), ``worst_gap`` (largest heartbeat gap over the same span, the gap
from the start to the first tick and from the last tick to the end included),
``gap_start`` / ``gap_end`` (where that gap lay), ``ticks``, ``completed`` /
``expected`` (items delivered, tasks done, loops finished), ``in_order`` (flood items
arrived as ``0 .. n-1``), ``done_once_on_gui`` (every ``done()``/slot ran exactly once,
on the GUI thread) and ``error``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the scenario passes "offscreen"

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import Any

# first: it decides the binding, from QT_API, before anything imports qtpy
import qbackground.qt  # isort: skip
from qtpy.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from qtpy.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

__all__ = ["CASES", "main"]

CASES = ("flood", "burst", "burst-raw", "cpu", "cpu-raw")
HEARTBEAT_MS = 5
START_DELAY_MS = 50
"""The case starts this long after ``app.exec()`` began (the window is shown by then)."""
CANCEL_CHECK_EVERY = 2_000


class _Probe:
    """The heartbeat, the clock and what the case reports; all on the GUI thread."""

    def __init__(self, app: QApplication, expected: int) -> None:
        self.app = app
        self.gui = threading.get_ident()
        self.expected = expected
        self.completed = 0
        self.calls_off_gui = 0
        self.extra_done = 0
        self.in_order = True
        self.finished = False
        self.error = ""
        self.t0 = 0.0
        self.t_end = 0.0
        self.submit = 0.0
        self.armed = False
        self.last = 0.0
        self.ticks = 0
        self.worst = (0.0, 0.0)  # (gap, when it ended)
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _gap(self, now: float) -> None:
        gap = now - self.last
        if gap > self.worst[0]:
            self.worst = (gap, now)
        self.last = now

    def _tick(self) -> None:
        now = perf_counter()
        if self.armed:
            self.ticks += 1
            self._gap(now)
        else:
            self.last = now

    def begin(self) -> None:
        self.t0 = self.last = perf_counter()
        self.armed = True

    def submitted(self) -> None:
        self.submit = perf_counter() - self.t0

    def on_gui(self) -> None:
        if threading.get_ident() != self.gui:
            self.calls_off_gui += 1

    def finish(self) -> None:
        if self.finished:
            self.extra_done += 1
            return
        now = perf_counter()
        self._gap(now)
        self.armed = False
        self.t_end = now
        self.finished = True
        self.app.quit()

    def fail(self, message: str) -> None:
        self.error = self.error or message
        self.app.quit()

    def report(self, case: str) -> dict[str, Any]:
        gap, ended = self.worst
        wall = self.t_end - self.t0 if self.finished else float("nan")
        return {
            "case": case,
            "binding": qbackground.qt.qt_binding(),
            "finished": self.finished,
            "wall": wall,
            "submit": self.submit,
            "worst_gap": gap if self.finished else float("nan"),
            "gap_start": ended - gap - self.t0,
            "gap_end": ended - self.t0,
            "ticks": self.ticks,
            "completed": self.completed,
            "expected": self.expected,
            "in_order": self.in_order,
            "done_once_on_gui": self.finished
            and self.calls_off_gui == 0
            and self.extra_done == 0,
            "error": self.error,
        }


class _View(QWidget):
    def __init__(self, maximum: int) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.label = QLabel("0")
        self.bar = QProgressBar()
        self.bar.setRange(0, max(1, maximum))
        layout.addWidget(self.label)
        layout.addWidget(self.bar)

    def show_value(self, value: int) -> None:
        self.label.setText(str(value))
        self.bar.setValue(value)


# -- flood -------------------------------------------------------------------------------


class _Flood(BackgroundTask[int, int]):
    def __init__(self, n: int, probe: _Probe, view: _View) -> None:
        super().__init__()
        self.n = n
        self.probe = probe
        self.view = view
        self.next = 0

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        publish = lifecycle.publish
        for i in range(self.n):
            publish(i)
        return self.n

    def progress(self, changes: list[int]) -> None:
        probe = self.probe
        probe.on_gui()
        if probe.in_order and (changes[0] != self.next or changes[-1] != self.next + len(changes) - 1):
            probe.in_order = False
        self.next += len(changes)
        probe.completed += len(changes)
        self.view.show_value(changes[-1] + 1)

    def done(self, result: int) -> None:
        self.probe.on_gui()
        self.probe.finish()

    def handle_exception(self, exc: BaseException) -> bool:
        self.probe.fail(f"flood task raised {exc!r}")
        return True


# -- burst -------------------------------------------------------------------------------


class _Trivial(BackgroundTask[None, int]):
    def __init__(self, index: int, tally: _Tally) -> None:
        super().__init__()
        self.index = index
        self.tally = tally

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        return 1

    def done(self, result: int) -> None:
        self.tally.hit(self.index)

    def handle_exception(self, exc: BaseException) -> bool:
        self.tally.probe.fail(f"trivial task raised {exc!r}")
        return True


class _Tally:
    """Counts each task's done() (or slot call); the last one stops the clock."""

    def __init__(self, probe: _Probe, n: int, view: _View) -> None:
        self.probe = probe
        self.counts = [0] * n
        self.left = n
        self.view = view

    def hit(self, index: int) -> None:
        probe = self.probe
        probe.on_gui()
        self.counts[index] += 1
        if self.counts[index] > 1:
            probe.extra_done += 1
            return
        probe.completed += 1
        self.left -= 1
        if not self.left:
            self.view.show_value(len(self.counts))
            probe.finish()


class _Emitter(QObject):
    done = Signal(int)


class _RawTrivial(QRunnable):
    def __init__(self, index: int, emitter: _Emitter) -> None:
        super().__init__()
        self.index = index
        self.emitter = emitter

    def run(self) -> None:
        self.emitter.done.emit(self.index)


# -- cpu ---------------------------------------------------------------------------------


class _Cpu(BackgroundTask[None, int]):
    def __init__(self, n: int, probe: _Probe) -> None:
        super().__init__()
        self.n = n
        self.probe = probe

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        total = 0
        for i in range(self.n):
            total += i * i
            if not i % CANCEL_CHECK_EVERY and lifecycle.is_cancelled():
                break
        return total

    def done(self, result: int) -> None:
        self.probe.on_gui()
        self.probe.completed += 1
        self.probe.finish()

    def handle_exception(self, exc: BaseException) -> bool:
        self.probe.fail(f"CPU task raised {exc!r}")
        return True


class _RawCpu(QRunnable):
    def __init__(self, n: int, emitter: _Emitter) -> None:
        super().__init__()
        self.n = n
        self.emitter = emitter

    def run(self) -> None:
        total = 0
        for i in range(self.n):
            total += i * i
        self.emitter.done.emit(total & 1)


# -- driver ------------------------------------------------------------------------------


def _case(args: argparse.Namespace, probe: _Probe, view: _View) -> tuple[Callable[[], None], Any]:
    """The case's start (run on the GUI thread, clock running) and what must stay alive."""
    case: str = args.case
    if case == "flood":
        worker = BackgroundWorker()

        def flood() -> None:
            probe.begin()
            worker.handle(_Flood(args.items, probe, view)).execute()
            probe.submitted()

        return flood, worker
    if case == "burst":
        worker = BackgroundWorker()
        tally = _Tally(probe, args.tasks, view)

        def burst() -> None:
            probe.begin()
            for index in range(args.tasks):
                worker.handle(_Trivial(index, tally)).execute()
            probe.submitted()

        return burst, worker
    if case == "burst-raw":
        emitter = _Emitter()
        tally = _Tally(probe, args.tasks, view)
        emitter.done.connect(tally.hit)  # a bound method is held weakly: keep tally
        pool = QThreadPool.globalInstance()
        assert pool is not None

        def burst_raw() -> None:
            probe.begin()
            for index in range(args.tasks):
                pool.start(_RawTrivial(index, emitter))  # auto-deleted by the pool
            probe.submitted()

        return burst_raw, (emitter, tally)
    if case == "cpu":
        worker = BackgroundWorker()

        def cpu() -> None:
            probe.begin()
            worker.handle(_Cpu(args.iterations, probe)).execute()
            probe.submitted()

        return cpu, worker
    emitter = _Emitter()
    runnables: list[_RawCpu] = []

    def on_done(_value: int) -> None:
        probe.on_gui()
        probe.completed += 1
        probe.finish()

    emitter.done.connect(on_done)

    def cpu_raw() -> None:
        probe.begin()
        runnable = _RawCpu(args.iterations, emitter)
        runnable.setAutoDelete(False)
        runnables.append(runnable)
        pool = QThreadPool.globalInstance()
        assert pool is not None
        pool.start(runnable)
        probe.submitted()

    return cpu_raw, (emitter, runnables)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the case once in this (fresh) process and print its JSON line on stdout."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._cold_probe")
    parser.add_argument("--case", choices=CASES, required=True)
    parser.add_argument("--items", type=int, default=200_000, help="flood: items published")
    parser.add_argument("--tasks", type=int, default=5_000, help="burst: tasks submitted")
    parser.add_argument("--iterations", type=int, default=3_000_000, help="cpu: loop steps")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds before giving up")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    expected = {"flood": args.items, "burst": args.tasks, "burst-raw": args.tasks}.get(args.case, 1)
    view = _View(expected)
    view.show()
    probe = _Probe(app, expected)
    start, keep = _case(args, probe, view)
    QTimer.singleShot(START_DELAY_MS, start)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: probe.fail(f"not done after {args.limit:g} s"))
    guard.start(round((args.limit) * 1000))
    app.exec()
    guard.stop()
    probe.timer.stop()
    report = probe.report(args.case)
    if isinstance(keep, BackgroundWorker):
        keep.shutdown(timeout=10)
    else:
        pool = QThreadPool.globalInstance()
        assert pool is not None
        pool.waitForDone(10_000)
    print(json.dumps(report), flush=True)
    del keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
