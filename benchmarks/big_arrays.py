"""Scenario 8 — a big NumPy array result from another process (shared memory).

A task allocates an array of N bytes, fills it (``numpy.full``, value 7) and returns it;
measured on the GUI thread from the submit to the moment the GUI thread holds the
array (``done()``, or a future's result). The peers, side by side in the same run:

* qbackground ``"process"``, the array made with ``numpy.full`` in the worker: it is
  copied once into a shared-memory segment and the GUI thread gets a view of it;
* qbackground ``"process"`` with ``lifecycle.shared_array()``: filled in place in a
  segment, only its name travels (no copy at all);
* ``concurrent.futures.ProcessPoolExecutor`` (warm): the array is pickled through a pipe;
* a plain ``threading.Thread`` in the GUI process (no process boundary: the floor);
* filling the array in place on the GUI thread (what the work itself costs).

Then 1 GB through ``shared_array`` in a fresh process: it must work, and the peak RSS of
that GUI process may grow by at most the array's size (no second copy).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from time import perf_counter
from typing import Any

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Completion, Settings, settle, wait_until
from ._report import Check, Row, Table, fmt_ms, fmt_ratio, summarize, verdict

__all__ = ["NAME", "fill", "run"]

NAME = "arrays"

SPEEDUP_TARGET = 4.0
"""ProcessPoolExecutor's time / qbackground's must reach this."""

IN_PLACE_AIM = 2.0
"""With shared_array, at most this many times the time to fill the array in place."""

QB_COPY = 'qbackground ("process"; numpy.full → shared memory)'
QB_SHARED = 'qbackground ("process"; lifecycle.shared_array())'
POOL = "concurrent.futures.ProcessPoolExecutor"
THREAD = "plain threading.Thread (same process)"
IN_PLACE = "fill in place on the GUI thread"


def fill(nbytes: int) -> Any:
    """``numpy.full(nbytes, 7, uint8)``: the work every peer does (module level: pickles).

    Example::

        assert fill(3)[2] == 7
    """
    import numpy

    return numpy.full(nbytes, 7, dtype=numpy.uint8)


class _Make(BackgroundTask[None, Any]):
    def __init__(self, nbytes: int, shared: bool, completion: Completion) -> None:
        super().__init__()
        self.nbytes = nbytes
        self.shared = shared
        self.completion = completion  # a QObject: stays in the GUI process
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, lifecycle: TaskLifeCycle[None]) -> Any:
        if not self.shared:
            return fill(self.nbytes)
        array = lifecycle.shared_array(self.nbytes, "uint8")
        array.fill(7)
        return array

    def done(self, result: Any) -> None:
        self.result = result
        self.completion.set()

    def handle_exception(self, exc: BaseException) -> bool:
        self.error = exc
        self.completion.set()
        return True


def _time_qb(worker: BackgroundWorker, nbytes: int, shared: bool, limit: float) -> float:
    settle()
    completion = Completion()
    task = _Make(nbytes, shared, completion)
    start = perf_counter()
    worker.handle(task, executor="process").execute()
    if not wait_until(completion, limit=limit) or task.error is not None:
        return float("nan")
    elapsed = perf_counter() - start
    assert int(task.result[-1]) == 7 and task.result.nbytes == nbytes
    return elapsed


def _time_future(submit: Any, nbytes: int, limit: float) -> float:
    settle()
    completion = Completion()
    start = perf_counter()
    future: Future[Any] = submit(nbytes)
    future.add_done_callback(lambda _f: completion.set())
    if not wait_until(completion, limit=limit):
        return float("nan")
    value = future.result()
    elapsed = perf_counter() - start
    assert int(value[-1]) == 7 and value.nbytes == nbytes
    return elapsed


def _thread_submit(nbytes: int) -> Future[Any]:
    future: Future[Any] = Future()
    threading.Thread(target=lambda: future.set_result(fill(nbytes)), daemon=True).start()
    return future


def _time_in_place(nbytes: int) -> float:
    start = perf_counter()
    value = fill(nbytes)
    elapsed = perf_counter() - start
    del value
    return elapsed


RSS_SCRIPT = """
import os, resource, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, {root!r})
from qbackground import BackgroundWorker
from benchmarks._harness import Completion, application, wait_until
from benchmarks.big_arrays import _Make

if __name__ == "__main__":
    app = application()
    worker = BackgroundWorker(processes=1)
    warm = Completion()
    worker.handle(_Make(10, True, warm), executor="process").execute()
    wait_until(warm, limit=60)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    done = Completion()
    task = _Make({nbytes}, True, done)
    worker.handle(task, executor="process").execute()
    ok = wait_until(done, limit=120) and task.error is None
    total = int(task.result.sum(dtype="uint64")) if ok else -1  # touch every page
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(ok and total == 7 * {nbytes}, peak - before)
    worker.shutdown(timeout=10)
"""


def _rss_growth(nbytes: int) -> tuple[bool, int]:
    root = str(Path(__file__).resolve().parent.parent)
    completed = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT.format(root=root, nbytes=nbytes)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        ok, growth = completed.stdout.split()
        return ok == "True", int(growth)
    except ValueError:
        return False, -1


def run(settings: Settings) -> Table:
    """Warm every peer, then alternate them ``settings.repeat`` times."""
    nbytes = 20_000_000 if settings.quick else 200_000_000
    big = 64 << 20 if settings.quick else 1 << 30
    limit = settings.run_limit
    samples: dict[str, list[float]] = {p: [] for p in (QB_COPY, QB_SHARED, POOL, THREAD, IN_PLACE)}
    worker = BackgroundWorker(processes=1)
    pool = ProcessPoolExecutor(max_workers=1)
    try:
        _time_qb(worker, 1000, False, limit)  # warm-up: start the processes
        _time_future(lambda n: pool.submit(fill, n), 1000, limit)
        for _ in range(settings.repeat):
            samples[QB_COPY].append(_time_qb(worker, nbytes, False, limit))
            samples[QB_SHARED].append(_time_qb(worker, nbytes, True, limit))
            samples[POOL].append(_time_future(lambda n: pool.submit(fill, n), nbytes, limit))
            samples[THREAD].append(_time_future(_thread_submit, nbytes, limit))
            samples[IN_PLACE].append(_time_in_place(nbytes))
    finally:
        worker.shutdown(timeout=10)
        pool.shutdown()
    works, growth = _rss_growth(big)
    return _table(nbytes, big, samples, works, growth)


def _table(
    nbytes: int, big: int, samples: dict[str, list[float]], works: bool, growth: int
) -> Table:
    table = Table(
        title=f"8. A {nbytes / 1e6:g} MB NumPy array result from another process",
        description=(
            "From the submit to the GUI thread holding the array (done(), or the future's "
            "result delivered to the GUI thread); median, fastest and slowest of the runs. "
            "All peers in the same run, alternated."
        ),
        columns=["median (fastest – slowest)", "vs ProcessPoolExecutor", "vs fill in place"],
    )
    pool = summarize(samples[POOL]).median
    in_place = summarize(samples[IN_PLACE]).median
    for peer, values in samples.items():
        stats = summarize(values)
        cells = [
            f"{fmt_ms(stats.median)} ({fmt_ms(stats.low)} – {fmt_ms(stats.high)})",
            f"{fmt_ratio(pool / stats.median)} faster" if peer != POOL else "—",
            f"{fmt_ratio(stats.median / in_place)}" if peer != IN_PLACE else "—",
        ]
        if peer in (QB_COPY, QB_SHARED):
            speedup = pool / stats.median
            checks = [Check(f"≥ {SPEEDUP_TARGET:g}x faster than ProcessPoolExecutor", speedup >= SPEEDUP_TARGET)]
            target = f"≥ {SPEEDUP_TARGET:g}x faster than ProcessPoolExecutor"
            if peer == QB_SHARED:
                ratio = stats.median / in_place
                checks[0] = Check(
                    checks[0].name, speedup >= SPEEDUP_TARGET, ratio <= IN_PLACE_AIM,
                    aim=f"within {IN_PLACE_AIM:g}x of fill in place",
                )
                target += f" (aim: within {IN_PLACE_AIM:g}x of fill in place)"
            table.rows.append(Row(peer, cells, target, verdict(checks)))
        else:
            table.rows.append(Row(peer, cells))
    growth_text = f"{growth / 2**20:,.0f} MiB" if growth >= 0 else "n/a"
    table.rows.append(
        Row(
            f"{big / 2**30:g} GiB through shared_array (fresh GUI process)",
            [f"works: {'yes' if works else 'no'}", f"peak RSS +{growth_text}", "—"],
            "works; peak RSS grows ≤ the array's size (+1 % for the interpreter)",
            verdict(
                [Check("works", works), Check("peak RSS ≤ array size", 0 <= growth <= big * 1.01)]
            ),
        )
    )
    table.notes.append(
        "The GUI process's peak RSS (ru_maxrss) is read before the task and after summing "
        "every byte of the received array (so every page of the mapping is counted once)."
    )
    return table
