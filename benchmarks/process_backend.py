"""Scenario 6 — the process backend: warm round trip and CPU-bound speed-up (qbackground only).

a. **Warm round trip.** With the pool of ``BackgroundWorker(processes=2)`` started and
   both processes warm, trivial tasks run one after another on ``executor="process"``,
   each started (from a fresh GUI event) after the previous ``done()``; measured on the
   GUI thread from ``execute()`` to ``done()``. The same chain on ``"thread"`` is shown
   for scale.
b. **CPU-bound work on two cores.** Counting primes below N by trial division in pure
   Python, split into two interleaved halves (odd n ≡ 3 and n ≡ 1 mod 4, so both halves
   cost the same) = two tasks started together, once on threads (the GIL serialises
   them) and once on the warm process pool. Wall time from the first submit to the
   second ``done()``, the worst GUI stall over the same span, and the totals, which must
   agree with each other and with a sieve.

Task classes live at module level because the process backend pickles them; their
GUI-side attributes (the sink ``done()`` reports to) are left out of the pickle by
``__getstate__`` and stay in the GUI process, where the callbacks run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from time import perf_counter, thread_time
from typing import Any

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import QTimer

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Completion, Heartbeat, Settings, TimedRun, gui_thread_id, settle, wait_until
from ._report import BINDING_NAMES, Check, Row, Table, fmt_ms, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "process"

PROCESSES = 2
"""Worker processes in the pool (the brief's machine has two cores)."""

ROUNDTRIP_TARGET = 0.020
"""Median warm execute() → done() on "process" must stay below this (seconds)."""

SPEEDUP_TARGET = 1.8
"""Thread wall time / process wall time for the two CPU-bound halves."""

EXECUTORS = ("process", "thread")

WARMUP_TASKS = 5
"""Sequential trivial tasks per executor before the round trip is measured."""


def count_primes(first: int, limit: int, step: int) -> int:
    """Primes among ``range(first, limit, step)`` by trial division (odd ``first`` and
    even ``step``: only odd candidates, only odd divisors). Pure Python, holds the GIL.

    Example::

        assert count_primes(3, 20, 2) == 7  # 3 5 7 11 13 17 19
    """
    found = 0
    for n in range(first, limit, step):
        d = 3
        while d * d <= n:
            if n % d == 0:
                break
            d += 2
        else:
            found += 1
    return found


def sieve_count(limit: int) -> int:
    """Primes below ``limit`` by the sieve of Eratosthenes: the reference total."""
    if limit < 3:
        return 0
    flags = bytearray([1]) * limit
    flags[0] = flags[1] = 0
    for p in range(2, int((limit - 1) ** 0.5) + 1):
        if flags[p]:
            flags[p * p :: p] = bytes(len(range(p * p, limit, p)))
    return sum(flags)


# -- a. warm round trip ------------------------------------------------------------------


class _Chain:
    """Runs ``n`` trivial tasks one after another and records execute() → done()."""

    def __init__(self, worker: BackgroundWorker, executor: str, n: int) -> None:
        self._worker = worker
        self._executor = executor
        self._n = n
        self._started_at = 0.0
        self.latencies: list[float] = []
        self.in_order = True
        self.on_gui_thread = True
        self.error: BaseException | None = None
        self.finished = Completion()

    def start_next(self) -> None:
        """Submit the next task (GUI thread)."""
        handler = self._worker.handle(_Ping(len(self.latencies), self), executor=self._executor)
        self._started_at = perf_counter()
        handler.execute()

    def hit(self, index: int) -> None:
        """``done()`` of task ``index`` ran: record, then start the next from a new event."""
        now = perf_counter()
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False
        if index != len(self.latencies):
            self.in_order = False
        self.latencies.append(now - self._started_at)
        if len(self.latencies) == self._n:
            self.finished.set()
        else:
            QTimer.singleShot(0, self.start_next)

    def fail(self, exc: BaseException) -> None:
        """A task failed: stop the chain."""
        self.error = exc
        self.finished.set()


class _Ping(BackgroundTask[None, int]):
    """Returns its index at once; ``done()`` reports to the chain (not pickled)."""

    def __init__(self, index: int, chain: _Chain) -> None:
        super().__init__()
        self.index = index
        self._chain = chain

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_chain", None)
        return state

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        return self.index

    def done(self, result: int) -> None:
        self._chain.hit(result)

    def handle_exception(self, exc: BaseException) -> bool:
        self._chain.fail(exc)
        return True


@dataclass(frozen=True)
class _ChainSample:
    latencies: list[float]
    wall: float
    ok: bool
    error: str


def _chain(worker: BackgroundWorker, executor: str, n: int, limit: float) -> _ChainSample:
    settle()
    chain = _Chain(worker, executor, n)
    started = perf_counter()
    finished = wait_until(chain.finished, limit=limit, kickoff=chain.start_next)
    wall = perf_counter() - started
    ok = (
        finished
        and chain.error is None
        and len(chain.latencies) == n
        and chain.in_order
        and chain.on_gui_thread
    )
    error = "" if chain.error is None else f"{type(chain.error).__name__}: {chain.error}"
    if not finished:
        error = error or f"timed out after {len(chain.latencies)}/{n} tasks"
    return _ChainSample(chain.latencies, wall, ok, error)


# -- b. CPU-bound halves -----------------------------------------------------------------


@dataclass(frozen=True)
class _HalfResult:
    """One half's prime count, and the wall and CPU time its ``run()`` took (seconds)."""

    count: int
    wall: float
    cpu: float


class _Tally:
    """Collects the two halves' results; ends the run when both arrived."""

    def __init__(self, parts: int, run: TimedRun) -> None:
        self._parts = parts
        self._run = run
        self.results: list[_HalfResult] = []
        self.errors: list[BaseException] = []
        self.on_gui_thread = True

    def _arrived(self) -> None:
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False
        if len(self.results) + len(self.errors) == self._parts:
            self._run.end()

    def hit(self, result: _HalfResult) -> None:
        """One half's ``done()``."""
        self.results.append(result)
        self._arrived()

    def fail(self, exc: BaseException) -> None:
        """One half's ``handle_exception()``."""
        self.errors.append(exc)
        self._arrived()


class _CountPrimes(BackgroundTask[None, _HalfResult]):
    """Counts the primes of ``range(first, limit, 4)``; ``done()`` reports to the tally."""

    def __init__(self, first: int, limit: int, tally: _Tally) -> None:
        super().__init__()
        self.first = first
        self.limit = limit
        self._tally = tally

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_tally", None)
        return state

    def run(self, lifecycle: TaskLifeCycle[None]) -> _HalfResult:
        started, cpu_started = perf_counter(), thread_time()
        count = count_primes(self.first, self.limit, 4)
        return _HalfResult(count, perf_counter() - started, thread_time() - cpu_started)

    def done(self, result: _HalfResult) -> None:
        self._tally.hit(result)

    def handle_exception(self, exc: BaseException) -> bool:
        self._tally.fail(exc)
        return True


HALVES = (3, 5)
"""First candidates of the two halves: odd n ≡ 3 and n ≡ 1 (mod 4); 2 is added apart."""


@dataclass(frozen=True)
class _CpuSample:
    wall: float
    stall: float
    total: int
    cpu: float
    """CPU seconds both halves' threads spent counting, summed."""
    longest_run: float
    """Wall seconds of the longer half's ``run()``, timed inside it."""
    ok: bool
    error: str


def _cpu(
    worker: BackgroundWorker, executor: str, limit: int, heartbeat: Heartbeat, run_limit: float
) -> _CpuSample:
    settle()
    run = TimedRun(heartbeat)
    tally = _Tally(len(HALVES), run)

    def kickoff() -> None:
        run.begin()
        for first in HALVES:
            worker.handle(_CountPrimes(first, limit, tally), executor=executor).execute()
        run.mark_submitted()

    finished = run.wait(kickoff, run_limit)
    nan = float("nan")
    if not finished or tally.errors:
        error = (
            f"{type(tally.errors[0]).__name__}: {tally.errors[0]}" if tally.errors else "timed out"
        )
        return _CpuSample(nan, nan, -1, nan, nan, False, error)
    total = sum(r.count for r in tally.results) + (1 if limit > 2 else 0)  # the even prime 2
    cpu = sum(r.cpu for r in tally.results)
    longest = max(r.wall for r in tally.results)
    return _CpuSample(run.wall, run.stall, total, cpu, longest, tally.on_gui_thread, "")


# -- driver ------------------------------------------------------------------------------


def run(settings: Settings) -> list[Table]:
    """Warm the pool, time the round-trip chains, then the CPU-bound runs (``repeat`` each)."""
    heartbeat = Heartbeat()
    worker = BackgroundWorker(processes=PROCESSES)
    chains: dict[str, _ChainSample] = {}
    cpu: dict[str, list[_CpuSample]] = {executor: [] for executor in EXECUTORS}
    limit = settings.prime_limit
    try:
        # Warm-up: the first process task spawns the pool; running both halves at once
        # makes both processes import this module. Then a short chain per executor.
        cold = _cpu(worker, "process", 2_000, heartbeat, settings.run_limit)
        _cpu(worker, "thread", 2_000, heartbeat, settings.run_limit)
        for executor in EXECUTORS:
            _chain(worker, executor, WARMUP_TASKS, settings.run_limit)
        for executor in EXECUTORS:
            chains[executor] = _chain(
                worker, executor, settings.process_roundtrips, settings.run_limit
            )
        for _ in range(settings.repeat):
            for executor in ("thread", "process"):
                cpu[executor].append(_cpu(worker, executor, limit, heartbeat, settings.run_limit))
    finally:
        worker.shutdown(timeout=10)
    expected = sieve_count(limit)
    return [_roundtrip_table(settings, chains, cold), _cpu_table(settings, cpu, expected)]


def _roundtrip_table(
    settings: Settings, chains: dict[str, _ChainSample], cold: _CpuSample
) -> Table:
    n = settings.process_roundtrips
    table = Table(
        keys=1,  # the first column names the row (the same on every binding)
        title=f"6a. Process backend: warm round trip ({n} sequential trivial tasks)",
        description=(
            f"BackgroundWorker(processes={PROCESSES}) with its pool already started and "
            "warm. Each task returns at once and is started from a fresh GUI event after "
            "the previous done(); measured on the GUI thread from execute() to done(). "
            'The same chain on executor="thread" is shown for scale.'
        ),
        columns=[
            "executor",
            "execute() → done() median",
            "max",
            "min",
            "tasks ok",
        ],
    )
    for executor in EXECUTORS:
        sample = chains[executor]
        latency = summarize(sample.latencies)
        ok_count = len(sample.latencies) if sample.ok else 0
        cells = [
            f'"{executor}"',
            fmt_ms(latency.median),
            fmt_ms(latency.high),
            fmt_ms(latency.low),
            f"{ok_count}/{n}",
        ]
        if executor == "process":
            checks = [
                Check(f"median < {_ms(ROUNDTRIP_TARGET)}", latency.median < ROUNDTRIP_TARGET),
                Check("every task done once, in order", sample.ok),
            ]
            if latency.high >= ROUNDTRIP_TARGET:
                checks.append(Check("", True, note=f"max {fmt_ms(latency.high)}"))
            if sample.error:
                checks.append(Check("", True, note=sample.error))
            table.rows.append(
                Row("qbackground", cells, f"median < {_ms(ROUNDTRIP_TARGET)}", verdict(checks))
            )
        else:
            table.rows.append(Row("qbackground", cells))
    if cold.ok:
        table.notes.append(
            f"Cold start, for reference: the first process tasks (spawning {PROCESSES} "
            f"processes that import {BINDING_NAMES[qbackground.qt.qt_binding()]}, qbackground "
            "and this module) took "
            f"{fmt_ms(cold.wall)} from submit to done()."
        )
    table.notes.append(
        "superqt and raw QThreadPool have no process backend; this scenario is "
        "qbackground only."
    )
    return table


def _cpu_table(settings: Settings, cpu: dict[str, list[_CpuSample]], expected: int) -> Table:
    limit = settings.prime_limit
    table = Table(
        keys=1,  # the first column names the row (the same on every binding)
        title=f"6b. Process backend: CPU-bound pure Python on {PROCESSES} cores "
        f"(primes below {limit:,} in 2 tasks)",
        description=(
            "Counting primes by trial division, split into two interleaved halves (odd "
            "n ≡ 3 and ≡ 1 mod 4) = two tasks started together, on threads (the GIL "
            "serialises them) or on the warm process pool. Wall time from the first submit "
            "to the second done(); worst stall = largest gap of the 5 ms GUI heartbeat over "
            "the same span. Speed-up = thread wall time / process wall time (medians). "
            "Cores busy = CPU time the two counting threads got / wall time: at most 1 "
            "under the GIL, up to 2 on processes if nothing else wants the cores. "
            "Outside run() = wall time − the longer half's run() timed inside it: what the "
            "backend adds (submit, pickling, pipes, delivery of done())."
        ),
        columns=[
            "executor",
            "wall time median (worst)",
            "worst stall median (worst)",
            "primes found",
            "cores busy (median)",
            "outside run() (median)",
            "speed-up",
        ],
    )
    walls = {
        executor: summarize([s.wall for s in cpu[executor] if s.ok]) for executor in EXECUTORS
    }
    speedup = walls["thread"].median / walls["process"].median
    totals = {executor: {s.total for s in cpu[executor]} for executor in EXECUTORS}
    for executor in ("thread", "process"):
        samples = cpu[executor]
        ok = [s for s in samples if s.ok]
        wall = walls[executor]
        stall = summarize([s.stall for s in ok])
        busy = summarize([s.cpu / s.wall for s in ok])
        outside = summarize([s.wall - s.longest_run for s in ok])
        found = totals[executor]
        all_ok = bool(samples) and len(ok) == len(samples)
        correct = all_ok and found == {expected}
        found_text = ", ".join(f"{t:,}" for t in sorted(found))
        cells = [
            f'"{executor}"',
            f"{fmt_ms(wall.median)} ({fmt_ms(wall.high)})",
            f"{fmt_ms(stall.median)} ({fmt_ms(stall.high)})",
            f"{found_text} {'✓' if correct else '✗'}",
            f"{busy.median:.2f}",
            fmt_ms(outside.median),
            f"{speedup:.2f}x" if executor == "process" else "1.00x",
        ]
        errors = [s.error for s in samples if s.error]
        if executor == "process":
            same = totals["process"] == totals["thread"] == {expected}
            checks = [
                Check(f"≥ {SPEEDUP_TARGET}x", speedup >= SPEEDUP_TARGET),
                Check("same total on both, = sieve", same and correct),
            ]
            if busy.median < SPEEDUP_TARGET:
                checks.append(
                    Check(
                        "",
                        True,
                        note=f"the processes got {busy.median:.2f} cores of CPU (other load?)",
                    )
                )
            if errors:
                checks.append(Check("", True, note=errors[0]))
            table.rows.append(
                Row(
                    "qbackground",
                    cells,
                    f"≥ {SPEEDUP_TARGET}x the thread wall time; same total",
                    verdict(checks),
                )
            )
        else:
            row = Row("qbackground", cells)
            if errors:
                row = Row("qbackground", cells, result=f"reference; {errors[0]}")
            table.rows.append(row)
    table.notes.append(
        f"Reference total from a sieve of Eratosthenes: {expected:,} primes below {limit:,}. "
        f'{settings.repeat} run(s) per executor, alternating; pool of {PROCESSES} processes, '
        "started and warmed before any measurement."
    )
    return table


def _ms(seconds: float) -> str:
    """A target in whole milliseconds ("20 ms")."""
    return f"{seconds * 1000:g} ms"
