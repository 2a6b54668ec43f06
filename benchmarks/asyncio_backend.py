"""Scenario 7 — the asyncio backend: many concurrent coroutines that only wait.

N ``AsyncBackgroundTask`` coroutines, each doing ``await asyncio.sleep(S)`` and returning
its index, are submitted in one GUI-thread loop (they run on qbackground's private
asyncio loop thread, the default executor for an ``AsyncBackgroundTask``). Measured from
the first submit to the last ``done()`` on the GUI thread: wall time, overhead = wall − S
(what it costs beyond the sleep every coroutine shares), the GUI-thread submit cost per
task, the worst GUI stall (submit loop included) and that every ``done()`` ran once, on
the GUI thread.

* qbackground: ``worker.handle(task).execute()`` per coroutine task, once on a worker
  whose private loop is uvloop's (the default when uvloop is installed) and once on one
  made with ``asyncio_loop="asyncio"`` (the standard library's pure-Python loop, whose
  timer heap alone costs a few microseconds per sleeping coroutine).
* raw asyncio loop thread: ``asyncio.run_coroutine_threadsafe(coro, loop)`` per coroutine
  on a loop running in a plain thread; each future's done-callback appends the result to
  a deque that a 5 ms precise GUI ``QTimer`` drains (the hand-written pattern).
* superqt's ``thread_worker`` runs one generator or function per thread: it has no way to
  run coroutines concurrently, so it gets no row of numbers.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import Qt, QTimer

from qbackground import AsyncBackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import HEARTBEAT_MS, Heartbeat, Settings, TimedRun, gui_thread_id, settle
from ._report import Check, Row, Table, fmt_ms, fmt_us, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "asyncio"

UVLOOP = "qbackground (uvloop)"
STDLIB = "qbackground (asyncio loop)"
PEERS = (UVLOOP, STDLIB, "raw asyncio loop thread")

OVERHEAD_TARGET = 0.3
"""Overhead (wall − sleep) must stay below this fraction of the sleep (150 ms of 0.5 s)..."""

OVERHEAD_AIM = 0.1
"""... and should stay below this one (50 ms)."""

BASELINE_SHARE = 0.5
"""...and at most this share of the hand-written baseline's overhead in the same run."""

STALL_AIM = 0.050
"""Aim: the GUI thread never stalls longer than this, submit loop included (seconds)."""

BURST = 1_000
"""Tasks submitted per GUI event (the submit loop runs in bursts)."""


class _Tally:
    """Counts results by task index; ends the run when all ``n`` arrived (or failed)."""

    def __init__(self, n: int, run: TimedRun) -> None:
        self._n = n
        self._run = run
        self._seen = bytearray(n)
        self.count = 0
        self.duplicates = 0
        self.errors: list[BaseException] = []
        self.on_gui_thread = True

    @property
    def settled(self) -> bool:
        """Every task reported (done or failed)."""
        return self.count + len(self.errors) >= self._n

    def _check_thread(self) -> None:
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False

    def hit(self, index: int) -> None:
        """Task ``index`` is done (must run on the GUI thread)."""
        self._check_thread()
        if self._seen[index]:
            self.duplicates += 1
        self._seen[index] = 1
        self.count += 1
        if self.settled:
            self._run.end()

    def fail(self, exc: BaseException) -> None:
        """A task failed (must run on the GUI thread)."""
        self._check_thread()
        self.errors.append(exc)
        if self.settled:
            self._run.end()


Submit = Callable[[int, float, _Tally], None]
"""Submits coroutine ``i`` sleeping ``seconds`` and reporting to the tally (GUI thread)."""


# -- qbackground -------------------------------------------------------------------------


class _Nap(AsyncBackgroundTask[None, int]):
    """Awaits ``asyncio.sleep(seconds)`` and returns its index."""

    def __init__(self, index: int, seconds: float, tally: _Tally) -> None:
        super().__init__()
        self._index = index
        self._seconds = seconds
        self._tally = tally

    async def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        await asyncio.sleep(self._seconds)
        return self._index

    def done(self, result: int) -> None:
        self._tally.hit(result)

    def handle_exception(self, exc: BaseException) -> bool:
        self._tally.fail(exc)
        return True


def _qbackground(worker: BackgroundWorker) -> Submit:
    def submit(index: int, seconds: float, tally: _Tally) -> None:
        worker.handle(_Nap(index, seconds, tally)).execute()

    return submit


# -- raw asyncio loop thread -------------------------------------------------------------


async def _nap(index: int, seconds: float) -> int:
    await asyncio.sleep(seconds)
    return index


class _RawPeer:
    """An asyncio loop in a plain thread; results come back through a polled deque."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="bench-asyncio", daemon=True
        )
        self._thread.start()
        ready.wait()
        self._arrived: deque[Future[int]] = deque()
        self._tally: _Tally | None = None
        self._poll = QTimer()
        self._poll.setTimerType(Qt.TimerType.PreciseTimer)
        self._poll.setInterval(HEARTBEAT_MS)
        self._poll.timeout.connect(self._drain)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(ready.set)
        self._loop.run_forever()

    def submit(self, index: int, seconds: float, tally: _Tally) -> None:
        """Schedule the coroutine on the loop thread; start polling if not yet."""
        if self._tally is not tally:
            self._tally = tally
            self._poll.start()
        future = asyncio.run_coroutine_threadsafe(_nap(index, seconds), self._loop)
        future.add_done_callback(self._arrived.append)  # deque.append is thread-safe

    def _drain(self) -> None:
        tally = self._tally
        arrived = self._arrived
        while arrived and tally is not None:
            future = arrived.popleft()
            error = future.exception()
            if error is None:
                tally.hit(future.result())
            else:
                tally.fail(error)
        if tally is not None and tally.settled:
            self._poll.stop()
            self._tally = None

    def close(self) -> None:
        """Stop the loop and its thread."""
        self._poll.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()


# -- driver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    wall: float
    submit_loop: float
    submit_per_task: float
    stall: float
    complete: bool
    error: str


def _measure(
    submit: Submit, n: int, seconds: float, heartbeat: Heartbeat, limit: float
) -> _Sample:
    settle()
    run = TimedRun(heartbeat)
    tally = _Tally(n, run)

    def burst(first: int) -> None:
        # Submit in bursts, one GUI event each, so the GUI thread keeps painting.
        for index in range(first, min(n, first + BURST)):
            submit(index, seconds, tally)
        if first + BURST < n:
            QTimer.singleShot(0, lambda: burst(first + BURST))
        else:
            run.mark_submitted()

    def kickoff() -> None:
        run.begin()
        burst(0)

    finished = run.wait(kickoff, limit)
    complete = (
        finished
        and tally.count == n
        and not tally.duplicates
        and not tally.errors
        and tally.on_gui_thread
    )
    error = f"{type(tally.errors[0]).__name__}: {tally.errors[0]}" if tally.errors else ""
    if not finished:
        error = error or f"timed out with {tally.count:,}/{n:,} done"
    nan = float("nan")
    return _Sample(
        wall=run.wall if finished else nan,
        submit_loop=run.submitted - run.started if run.submitted else nan,
        submit_per_task=(run.submitted - run.started) / n if run.submitted else nan,
        stall=run.stall if finished else nan,
        complete=complete,
        error=error,
    )


def run(settings: Settings) -> Table:
    """Warm both loops up, then alternate the peers ``settings.repeat`` times."""
    n = settings.async_tasks
    seconds = settings.async_sleep
    heartbeat = Heartbeat()
    workers = [BackgroundWorker(asyncio_loop="asyncio")]
    submitters: dict[str, Submit] = {STDLIB: _qbackground(workers[0])}
    try:
        workers.append(BackgroundWorker(asyncio_loop="uvloop"))
        submitters[UVLOOP] = _qbackground(workers[-1])
    except ValueError:  # uvloop not installed: its row says so
        pass
    raw = _RawPeer()
    submitters["raw asyncio loop thread"] = raw.submit
    peers = [peer for peer in PEERS if peer in submitters]
    samples: dict[str, list[_Sample]] = {peer: [] for peer in PEERS}
    try:
        for peer in peers:  # warm-up: start the loop threads
            _measure(submitters[peer], min(n, 100), 0.01, heartbeat, settings.run_limit)
        for _ in range(settings.repeat):
            for peer in peers:
                samples[peer].append(
                    _measure(submitters[peer], n, seconds, heartbeat, settings.run_limit)
                )
    finally:
        for worker in workers:
            worker.shutdown(timeout=10)
        raw.close()
    return _table(settings, samples)


def _table(settings: Settings, samples: dict[str, list[_Sample]]) -> Table:
    n = settings.async_tasks
    seconds = settings.async_sleep
    target = OVERHEAD_TARGET * seconds
    aim = OVERHEAD_AIM * seconds
    table = Table(
        title=f"7. asyncio backend: {n:,} concurrent coroutines awaiting "
        f"asyncio.sleep({seconds:g})",
        description=(
            "AsyncBackgroundTask coroutines submitted from the GUI thread in bursts of 1,000 (one "
            "GUI event each); from the first "
            "submit to the last done() on the GUI thread. Overhead = wall time − the sleep "
            "every coroutine shares; it splits into the GUI-thread submit loop (shown with its "
            "cost per task, task creation included) and the rest = wall − submit loop − sleep "
            "(the last coroutines' start, their done() deliveries). Worst stall = largest gap "
            "of the 5 ms GUI heartbeat, submit loop included."
        ),
        columns=[
            "wall time median (worst)",
            "overhead median (worst)",
            "submit loop (per task)",
            "rest",
            "worst stall median (worst)",
            "all done once",
        ],
    )
    for peer in PEERS:
        runs = samples[peer]
        if not runs:
            table.rows.append(Row(peer, ["n/a: uvloop not installed"] + ["—"] * 5, result="not run"))
            continue
        ok = [s for s in runs if s.complete]
        wall = summarize([s.wall for s in ok])
        stall = summarize([s.stall for s in ok])
        submit = summarize([s.submit_per_task for s in runs])
        loop = summarize([s.submit_loop for s in ok])
        rest = summarize([s.wall - s.submit_loop - seconds for s in ok])
        complete = bool(runs) and len(ok) == len(runs)
        overhead_median = wall.median - seconds
        overhead_worst = wall.high - seconds
        cells = [
            f"{fmt_ms(wall.median)} ({fmt_ms(wall.high)})",
            f"{fmt_ms(overhead_median)} ({fmt_ms(overhead_worst)})",
            f"{fmt_ms(loop.median)} ({fmt_us(submit.median)})",
            fmt_ms(rest.median),
            f"{fmt_ms(stall.median)} ({fmt_ms(stall.high)})",
            "✓" if complete else "✗",
        ]
        errors = [s.error for s in runs if s.error]
        if peer.startswith("qbackground"):
            raw_ok = [s for s in samples["raw asyncio loop thread"] if s.complete]
            baseline = summarize([s.wall for s in raw_ok]).median - seconds if raw_ok else float("nan")
            checks = [
                Check(
                    f"overhead < {_ms(target)}",
                    overhead_median < target,
                    overhead_median < aim,
                    aim=f"overhead < {_ms(aim)}",
                ),
                Check(
                    f"overhead ≤ {BASELINE_SHARE:.0%} of the baseline's",
                    overhead_median <= BASELINE_SHARE * baseline,
                ),
                Check(
                    "every done() once",
                    complete,
                    stall.median <= STALL_AIM,
                    aim=f"stall ≤ {_ms(STALL_AIM)}",
                ),
            ]
            if overhead_worst >= target:
                checks.append(
                    Check("", True, note=f"worst run's overhead {fmt_ms(overhead_worst)}")
                )
            if errors:
                checks.append(Check("", True, note=errors[0]))
            table.rows.append(
                Row(
                    peer,
                    cells,
                    f"overhead < {_ms(target)} and ≤ {BASELINE_SHARE:.0%} of the raw "
                    f"baseline's (aim {_ms(aim)}, stall ≤ {_ms(STALL_AIM)}); every done() once",
                    verdict(checks),
                )
            )
        else:
            result = "reference" + (f"; {errors[0]}" if errors else "")
            table.rows.append(Row(peer, cells, result=result))
    table.rows.append(
        Row("superqt", ["n/a: no coroutine support", *["—"] * 5], "—", "not applicable")
    )
    table.notes.append(
        "raw asyncio loop thread: asyncio.run_coroutine_threadsafe() per coroutine on a loop "
        f"in a plain thread, results collected by a {HEARTBEAT_MS} ms precise GUI QTimer "
        "polling a deque (so its last done is up to one poll late)."
    )
    table.notes.append(
        "superqt's thread_worker runs one function or generator per QThreadPool thread; "
        "it cannot run thousands of coroutines at once."
    )
    return table


def _ms(seconds: float) -> str:
    """A target in whole milliseconds ("20 ms")."""
    return f"{seconds * 1000:g} ms"
