"""Scenario 3 — the cost of ``lifecycle.publish()`` on the task's thread (qbackground only).

``run()`` times a tight loop of N ``publish(i)`` calls while the GUI thread drains the
progress as usual (strict mode off, the default), and reports nanoseconds per item.
For scale it first times the same loop calling a do-nothing method with the same
signature (the interpreter's own call cost). Also shown: wall time from submit to
``done()``, the worst GUI stall, and that every item arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Heartbeat, Settings, TimedRun, settle
from ._report import Check, Row, Table, fmt_ms, fmt_ns, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "publish"

TARGET_NS = 1000


class _NullChannel:
    """A publish() that does nothing: the interpreter's call cost, for scale."""

    def publish(self, *changes: int) -> None:
        pass


@dataclass(frozen=True)
class _LoopTimes:
    baseline: float
    publish: float


class _PublishLoop(BackgroundTask[int, _LoopTimes]):
    """Times N no-op calls, then N ``publish(i)`` calls, on the task thread."""

    def __init__(self, n: int, run: TimedRun) -> None:
        super().__init__()
        self._n = n
        self._run = run
        self.received = 0
        self.in_order = True
        self.times: _LoopTimes | None = None

    def run(self, lifecycle: TaskLifeCycle[int]) -> _LoopTimes:
        n = self._n
        noop = _NullChannel().publish
        started = perf_counter()
        for i in range(n):
            noop(i)
        baseline = perf_counter() - started
        publish = lifecycle.publish
        started = perf_counter()
        for i in range(n):
            publish(i)
        return _LoopTimes(baseline, perf_counter() - started)

    def progress(self, changes: list[int]) -> None:
        if changes[0] != self.received:
            self.in_order = False
        self.received += len(changes)

    def done(self, result: _LoopTimes) -> None:
        self.times = result
        self._run.end()

    def handle_exception(self, exc: BaseException) -> bool:
        self._run.end()
        return False


@dataclass(frozen=True)
class _Sample:
    publish_per_item: float
    baseline_per_item: float
    wall: float
    stall: float
    complete: bool


def _measure(worker: BackgroundWorker, n: int, heartbeat: Heartbeat, limit: float) -> _Sample:
    settle()
    run = TimedRun(heartbeat)
    task = _PublishLoop(n, run)

    def kickoff() -> None:
        run.begin()
        worker.handle(task).execute()

    finished = run.wait(kickoff, limit)
    times = task.times
    nan = float("nan")
    if not finished or times is None:
        return _Sample(nan, nan, nan, nan, False)
    return _Sample(
        publish_per_item=times.publish / n,
        baseline_per_item=times.baseline / n,
        wall=run.wall,
        stall=run.stall,
        complete=task.received == n and task.in_order,
    )


def run(settings: Settings) -> Table:
    """Run the loop ``settings.repeat`` times on a default (non-strict) worker."""
    n = settings.publish_items
    heartbeat = Heartbeat()
    worker = BackgroundWorker()
    try:
        _measure(worker, min(n, 10_000), heartbeat, settings.run_limit)  # warm-up
        samples = [
            _measure(worker, n, heartbeat, settings.run_limit) for _ in range(settings.repeat)
        ]
    finally:
        worker.shutdown(timeout=10)
    return _table(settings, samples, strict=worker.strict)


def _table(settings: Settings, samples: list[_Sample], strict: bool) -> Table:
    n = settings.publish_items
    table = Table(
        title=f"3. publish() cost on the task thread ({n:,} items, strict mode off)",
        description=(
            "A tight `for i in range(N): lifecycle.publish(i)` loop timed inside run() "
            "while the GUI thread consumes the progress. Baseline = the same loop calling "
            "a no-op method with the same signature."
        ),
        columns=[
            "publish() per item median (worst)",
            "no-op call baseline",
            "wall time to done()",
            "worst stall median (worst)",
            "all delivered",
        ],
    )
    ok = [s for s in samples if s.complete]
    per_item = summarize([s.publish_per_item for s in ok])
    baseline = summarize([s.baseline_per_item for s in ok])
    wall = summarize([s.wall for s in ok])
    stall = summarize([s.stall for s in ok])
    complete = bool(samples) and len(ok) == len(samples)
    checks = [
        Check(f"< {TARGET_NS} ns/item", per_item.median * 1e9 < TARGET_NS),
        Check("every item delivered", complete),
    ]
    if per_item.high * 1e9 >= TARGET_NS:
        checks.append(Check("", True, note=f"worst run {fmt_ns(per_item.high)}"))
    table.rows.append(
        Row(
            "qbackground" + (" (strict)" if strict else ""),
            [
                f"{fmt_ns(per_item.median)} ({fmt_ns(per_item.high)})",
                fmt_ns(baseline.median),
                fmt_ms(wall.median),
                f"{fmt_ms(stall.median)} ({fmt_ms(stall.high)})",
                "✓" if complete else "✗",
            ],
            f"< {TARGET_NS} ns per item",
            verdict(checks),
        )
    )
    table.notes.append(
        "superqt and raw QThreadPool have no publish(); this scenario is qbackground only."
    )
    return table
