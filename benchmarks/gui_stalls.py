"""Scenario 9 — GUI stalls in a cold process (issue 19).

The other scenarios measure a warmed-up process. This one measures what an application
sees the first time it uses qbackground: every run is a FRESH interpreter
(``python -m benchmarks._cold_probe``, on this process's binding) that creates its
``QApplication``, shows a ``QWidget`` with a ``QLabel`` and a ``QProgressBar``, starts a
5 ms precise heartbeat ``QTimer``, creates a fresh ``BackgroundWorker`` and runs one case
once, with no warm-up and no ``gc.freeze()``. Worst gap = the largest heartbeat gap from
the start of the case to its last ``done()`` (the start and the end count, so a submit
loop is a gap).

Cases, alternated, ``settings.stall_runs`` fresh processes each (at least 5 at full size):

* progress flood: one thread task publishing 200,000 items while ``progress()`` updates
  the label and the bar. Target: worst gap ≤ 25 ms in every run; aim: median ≤ 16 ms.
* task burst: 5,000 trivial tasks submitted in one GUI-thread loop
  (``worker.handle(T()).execute()``), until the last ``done()``; raw: a ``QRunnable`` per
  task on ``QThreadPool.globalInstance()`` emitting ``Signal(int)`` to a GUI-thread slot.
  Targets: worst gap median < 100 ms (aim 50 ms); tasks/s (first submit to last done)
  ≥ 2x the raw QThreadPool's in the same run.
* CPU-bound loop: one pure-Python loop (about 0.3 s) on a thread, qbackground checking
  ``lifecycle.is_cancelled()`` every 2,000 steps, raw a ``QRunnable`` doing the same loop
  without the check. Target: worst gap ≤ 16 ms (the raw row shows what the GIL alone costs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import qbackground.qt

from ._cold_probe import CANCEL_CHECK_EVERY, CASES
from ._report import Check, Row, Table, fmt_count, fmt_ms, fmt_ratio, summarize, verdict
from ._settings import Settings

__all__ = ["NAME", "run"]

NAME = "stalls"

FLOOD_MUST = 0.025
"""Flood: the worst gap of EVERY run must stay at or below this (seconds)..."""
FLOOD_AIM = 0.016
"""...and its median at or below this."""
BURST_TARGET = 0.100
"""Burst: the median worst gap must stay below this..."""
BURST_AIM = 0.050
"""...and should stay below this."""
BURST_SPEEDUP = 2.0
"""Burst: qbackground's tasks/s must be at least this many times the raw QThreadPool's."""
CPU_TARGET = 0.016
"""CPU-bound loop: the median worst gap must stay at or below this."""

START_SECONDS = 60.0
"""Allowance for a probe's interpreter start and Qt import, on top of ``run_limit``."""

_ROOT = Path(__file__).resolve().parent.parent

QB = "qbackground"
RAW = "raw QThreadPool"
ROWS: tuple[tuple[str, str, str], ...] = (
    (QB, "progress flood", "flood"),
    (QB, "task burst", "burst"),
    (RAW, "task burst", "burst-raw"),
    (QB, "CPU-bound loop", "cpu"),
    (RAW, "CPU-bound loop", "cpu-raw"),
)
"""(peer, case column, probe case), in table order."""
assert sorted(case for *_, case in ROWS) == sorted(CASES)


@dataclass(frozen=True)
class _Sample:
    """One probe run's report (see :mod:`benchmarks._cold_probe`); NaN times if it failed."""

    finished: bool
    wall: float
    submit: float
    gap: float
    gap_start: float
    gap_end: float
    completed: int
    expected: int
    in_order: bool
    done_once_on_gui: bool
    error: str

    @property
    def complete(self) -> bool:
        return (
            self.finished
            and not self.error
            and self.completed == self.expected
            and self.in_order
            and self.done_once_on_gui
        )


def _failed(message: str) -> _Sample:
    nan = float("nan")
    return _Sample(False, nan, nan, nan, nan, nan, 0, 0, False, False, message)


def _probe(case: str, settings: Settings) -> _Sample:
    """Run one case once in a fresh interpreter on this process's binding."""
    command = [
        sys.executable,
        "-m",
        "benchmarks._cold_probe",
        "--case",
        case,
        "--items",
        str(settings.stall_items),
        "--tasks",
        str(settings.stall_tasks),
        "--iterations",
        str(settings.stall_iterations),
        "--limit",
        f"{settings.run_limit:g}",
    ]
    env = {**os.environ, "QT_API": qbackground.qt.qt_binding(), "QT_QPA_PLATFORM": "offscreen"}
    try:
        completed = subprocess.run(
            command,
            check=False,
            cwd=_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=settings.run_limit + START_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return _failed(f"{case}: the probe did not exit within {settings.run_limit + START_SECONDS:g} s")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        words = [
            line.strip()
            for line in completed.stderr.splitlines()
            if line.strip() and "propagateSizeHints" not in line
        ]
        return _failed(
            f"{case}: the probe exited with status {completed.returncode}"
            + (f" ({words[-1]})" if words else "")
        )
    data = json.loads(lines[-1])
    return _Sample(
        finished=bool(data["finished"]),
        wall=float(data["wall"]),
        submit=float(data["submit"]),
        gap=float(data["worst_gap"]),
        gap_start=float(data["gap_start"]),
        gap_end=float(data["gap_end"]),
        completed=int(data["completed"]),
        expected=int(data["expected"]),
        in_order=bool(data["in_order"]),
        done_once_on_gui=bool(data["done_once_on_gui"]),
        error=f"{case}: {data['error']}" if data["error"] else "",
    )


def run(settings: Settings) -> Table:
    """``settings.stall_runs`` fresh processes per case, the cases alternating; the table."""
    samples: dict[str, list[_Sample]] = {case: [] for *_, case in ROWS}
    for _ in range(settings.stall_runs):
        for *_, case in ROWS:
            samples[case].append(_probe(case, settings))
    return _table(settings, samples)


def _ms(seconds: float) -> str:
    """A target in whole milliseconds ("16 ms")."""
    return f"{seconds * 1000:g} ms"


def _rate(samples: list[_Sample]) -> float:
    """Median items (or tasks) per second, first submit to last done(), over complete runs."""
    return summarize([s.expected / s.wall for s in samples if s.complete and s.wall > 0]).median


def _table(settings: Settings, samples: dict[str, list[_Sample]]) -> Table:
    runs = settings.stall_runs
    table = Table(
        title=(
            f"9. GUI stalls in a cold process ({settings.stall_items:,}-item flood, "
            f"{settings.stall_tasks:,}-task burst, {settings.stall_iterations:,}-step CPU loop)"
        ),
        description=(
            f"Every run is a fresh interpreter, {runs} per case, the cases alternating: it "
            "creates the QApplication, shows a QWidget with a QLabel and a QProgressBar, "
            "starts a 5 ms precise heartbeat QTimer, creates a fresh BackgroundWorker and "
            "runs the case once, as an application starts (no warm-up, no gc.freeze()). "
            "Worst gap = largest heartbeat gap from the start of the case to its last done() "
            "(a submit loop counts); 'gap at' = where the worst run's gap lay, from the "
            "start. Submit = the execute() call, or the whole submit loop for the burst. "
            "Throughput = items or tasks / wall time (first submit to last done())."
        ),
        columns=[
            "case",
            "worst gap median (worst)",
            "gap at (worst run)",
            "wall time median (worst)",
            "submit median (worst)",
            "throughput median",
            "complete",
        ],
        keys=1,
    )
    raw_burst = _rate(samples["burst-raw"])
    for peer, label, case in ROWS:
        runs_of = samples[case]
        ok = [s for s in runs_of if s.complete]
        gap = summarize([s.gap for s in ok])
        wall = summarize([s.wall for s in ok])
        submit = summarize([s.submit for s in ok])
        worst_run = max(ok, key=lambda s: s.gap, default=None)
        at = (
            f"+{worst_run.gap_start * 1000:,.0f} → +{worst_run.gap_end * 1000:,.0f} ms"
            if worst_run is not None
            else "—"
        )
        rate = _rate(runs_of)
        if case == "flood":
            throughput = f"{fmt_count(rate)} items/s"
        elif case.startswith("burst"):
            throughput = f"{fmt_count(rate)} tasks/s"
            if peer == QB:
                throughput += f" ({fmt_ratio(rate / raw_burst)} raw)"
        else:
            throughput = "—"
        complete = len(ok) == len(runs_of) and bool(runs_of)
        what = {"flood": "items, in order", "cpu": "loop"}.get(case, "tasks")
        cells = [
            label,
            f"{fmt_ms(gap.median)} ({fmt_ms(gap.high)})",
            at,
            f"{fmt_ms(wall.median)} ({fmt_ms(wall.high)})",
            f"{fmt_ms(submit.median)} ({fmt_ms(submit.high)})",
            throughput,
            f"{len(ok)}/{len(runs_of)} runs ✓" if complete else f"✗ {len(ok)}/{len(runs_of)} runs",
        ]
        errors = [s.error or _problem(s, what) for s in runs_of if not s.complete]
        if peer != QB:
            result = "reference"
            if case == "cpu-raw" and ok and gap.median > CPU_TARGET:
                result += f"; over {_ms(CPU_TARGET)} without qbackground too (GIL, machine load)"
            if errors:
                result += f"; {errors[0]}"
            table.rows.append(Row(peer, cells, result=result))
            continue
        checks: list[Check]
        if case == "flood":
            target = (
                f"gap ≤ {_ms(FLOOD_MUST)} in every run (aim median ≤ {_ms(FLOOD_AIM)}); "
                "every item in order, done() once on the GUI thread"
            )
            checks = [
                Check(
                    f"gap ≤ {_ms(FLOOD_MUST)} in every run",
                    complete and gap.high <= FLOOD_MUST,
                    gap.median <= FLOOD_AIM,
                    aim=f"median ≤ {_ms(FLOOD_AIM)}",
                ),
                Check("every item, done() once", complete),
            ]
        elif case == "burst":
            target = (
                f"gap < {_ms(BURST_TARGET)} (aim {_ms(BURST_AIM)}); tasks/s ≥ "
                f"{BURST_SPEEDUP:g}x raw QThreadPool; every done() once on the GUI thread"
            )
            checks = [
                Check(
                    f"gap < {_ms(BURST_TARGET)}",
                    gap.median < BURST_TARGET,
                    gap.median < BURST_AIM,
                    aim=f"gap < {_ms(BURST_AIM)}",
                ),
                Check(f"≥ {BURST_SPEEDUP:g}x raw tasks/s", rate >= BURST_SPEEDUP * raw_burst),
                Check("every done() once", complete),
            ]
            if gap.high >= BURST_TARGET and len(ok) > 1:
                checks.append(Check("", True, note=f"worst run's gap {fmt_ms(gap.high)}"))
        else:
            target = f"gap ≤ {_ms(CPU_TARGET)}; done() once on the GUI thread"
            checks = [
                Check(f"gap ≤ {_ms(CPU_TARGET)}", gap.median <= CPU_TARGET),
                Check("done() once", complete),
            ]
            if gap.high > CPU_TARGET and len(ok) > 1:
                checks.append(Check("", True, note=f"worst run's gap {fmt_ms(gap.high)}"))
        if errors:
            checks.append(Check("", True, note=errors[0]))
        table.rows.append(Row(peer, cells, target, verdict(checks)))
    table.notes.append(
        "raw QThreadPool: task burst = one QRunnable per task on QThreadPool.globalInstance() "
        "emitting Signal(int) of one shared QObject to a GUI-thread slot, submitted in one "
        "loop; CPU-bound loop = one QRunnable running the same loop without a cancel check. "
        f"qbackground's loop calls lifecycle.is_cancelled() every {CANCEL_CHECK_EVERY:,} steps."
    )
    table.notes.append(
        "Each run pays the process's first-use costs (worker threads started, code paths "
        "run for the first time, a young garbage collector); the scenarios above measure "
        "warmed-up processes. Run one case by hand: python -m benchmarks._cold_probe "
        "--case flood|burst|burst-raw|cpu|cpu-raw (with QT_API set)."
    )
    return table


def _problem(sample: _Sample, what: str) -> str:
    """Why a probe run that reported no error is not complete."""
    if not sample.finished:
        return "a run did not finish"
    if sample.completed != sample.expected:
        return f"a run completed {sample.completed:,}/{sample.expected:,} {what}"
    if not sample.in_order:
        return "a run's items arrived out of order"
    return "a done() ran twice or off the GUI thread"
