"""Scenario 5 — timeout delivery: how late ``handle_timeout_exception()`` runs.

A task with ``timeout=T`` overruns it, either sleeping (``lifecycle.sleep``, which wakes
on interruption) or spinning in pure-Python work (holding the GIL, checking
``is_interrupted()``). Lateness = (when the timeout callback ran on the GUI thread) −
(the moment just before ``execute()`` + T). Also shown: when the task's thread stopped,
counted from the same deadline.

superqt has no task timeout. The raw baseline arms a precise ``QTimer`` watchdog on the
GUI thread at submit that sets the runnable's stop flag and runs the callback — the
hand-rolled equivalent, shown for reference.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import QRunnable, QThreadPool, QTimer

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Completion, Settings, call_later, settle, spin, wait_until
from ._report import Check, Row, Table, fmt_ms, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "timeout"

TARGET = 0.020

OVERRUN = 10
"""A task runs this many times its timeout unless interrupted."""

MODES = ("sleeping", "spinning")


class _Probe:
    """One trial: the deadline, the timeout callback and the task thread's end."""

    def __init__(self) -> None:
        self.fired = Completion()
        self.exited = Completion()
        self.deadline = 0.0
        self.wrong_outcome = False


Start = Callable[[str, _Probe, float], None]
"""Starts a task in ``mode`` with ``timeout`` seconds; sets ``probe.deadline``."""


# -- qbackground -------------------------------------------------------------------------


class _Overrun(BackgroundTask[None, None]):
    """Sleeps or spins for ``OVERRUN`` times its timeout unless interrupted."""

    def __init__(self, mode: str, probe: _Probe, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._mode = mode
        self._probe = probe
        self._limit = OVERRUN * timeout

    def run(self, lifecycle: TaskLifeCycle[None]) -> None:
        try:
            if self._mode == "sleeping":
                lifecycle.sleep(self._limit)  # raises TaskInterruptedError when woken
            else:
                end = perf_counter() + self._limit
                while not lifecycle.is_interrupted() and perf_counter() < end:
                    spin()
        finally:
            self._probe.exited.set()

    def handle_timeout_exception(self) -> bool:
        self._probe.fired.set()
        return True

    def done(self, result: None) -> None:  # the timeout never came
        self._probe.wrong_outcome = True
        self._probe.fired.set()


def _qbackground(worker: BackgroundWorker) -> Start:
    def start(mode: str, probe: _Probe, timeout: float) -> None:
        handler = worker.handle(_Overrun(mode, probe, timeout))
        probe.deadline = perf_counter() + timeout
        handler.execute()

    return start


# -- raw QThreadPool + QTimer watchdog ---------------------------------------------------


class _OverrunRunnable(QRunnable):
    """Sleeps on, or spins until, its stop flag (at most ``limit`` seconds)."""

    def __init__(self, mode: str, probe: _Probe, limit: float) -> None:
        super().__init__()
        self.flag = threading.Event()
        self._mode = mode
        self._probe = probe
        self._limit = limit

    def run(self) -> None:
        try:
            if self._mode == "sleeping":
                self.flag.wait(self._limit)
            else:
                end = perf_counter() + self._limit
                while not self.flag.is_set() and perf_counter() < end:
                    spin()
        finally:
            self._probe.exited.set()


class _RawPeer:
    """Keeps the current runnable and its watchdog timer alive until the next trial."""

    def __init__(self) -> None:
        self._keep: tuple[_OverrunRunnable, QTimer] | None = None

    def start(self, mode: str, probe: _Probe, timeout: float) -> None:
        runnable = _OverrunRunnable(mode, probe, OVERRUN * timeout)
        runnable.setAutoDelete(False)

        def on_timeout() -> None:
            runnable.flag.set()
            probe.fired.set()

        probe.deadline = perf_counter() + timeout
        watchdog = call_later(round(timeout * 1000), on_timeout)
        self._keep = (runnable, watchdog)
        QThreadPool.globalInstance().start(runnable)


# -- driver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    late: float
    stopped: float
    ok: bool


def _trial(start: Start, mode: str, timeout: float, limit: float) -> _Sample:
    settle()
    probe = _Probe()
    ok = wait_until(
        probe.fired, probe.exited, limit=limit, kickoff=lambda: start(mode, probe, timeout)
    )
    nan = float("nan")
    if not ok or probe.wrong_outcome or probe.fired.at is None or probe.exited.at is None:
        return _Sample(nan, nan, False)
    return _Sample(probe.fired.at - probe.deadline, probe.exited.at - probe.deadline, True)


def run(settings: Settings) -> Table:
    """``settings.trials`` timeouts per peer and mode."""
    timeout = settings.timeout_seconds
    worker = BackgroundWorker()
    raw = _RawPeer()
    peers: dict[str, tuple[str, Start]] = {
        "qbackground": ("timeout=", _qbackground(worker)),
        "raw QThreadPool": ("QTimer watchdog,", raw.start),
    }
    table = Table(
        keys=1,  # the first column names the row (the same on every binding)
        title=f"5. Timeout delivery (timeout = {timeout * 1000:.0f} ms)",
        description=(
            "Lateness = when the timeout callback ran on the GUI thread − (execute() time + "
            "timeout); negative means early. Stopped = when the task's thread ended, from "
            f"the same deadline. Tasks would otherwise run {OVERRUN}x their timeout. "
            f"{settings.trials} trials per row; worker timeout_check_interval "
            f"{worker.timeout_check_interval * 1000:.0f} ms (default)."
        ),
        columns=[
            "task",
            "lateness median",
            "lateness max",
            "lateness min",
            "stopped median",
            "trials ok",
        ],
    )
    try:
        for peer, (how, start) in peers.items():
            for mode in MODES:
                samples = [
                    _trial(start, mode, timeout, settings.run_limit) for _ in range(settings.trials)
                ]
                table.rows.append(_row(peer, f"{how} {mode}", samples))
    finally:
        worker.shutdown(timeout=10)
    not_applicable = ["n/a: no task timeout", "—", "—", "—", "—", "—"]
    table.rows.insert(2, Row("superqt", not_applicable, "—", "not applicable"))
    return table


def _row(peer: str, task: str, samples: list[_Sample]) -> Row:
    ok = [s for s in samples if s.ok]
    late = summarize([s.late for s in ok])
    stopped = summarize([s.stopped for s in ok])
    cells = [
        task,
        fmt_ms(late.median),
        fmt_ms(late.high),
        fmt_ms(late.low),
        fmt_ms(stopped.median),
        f"{len(ok)}/{len(samples)}",
    ]
    if peer != "qbackground":
        return Row(peer, cells)
    checks = [
        Check("< 20 ms late", late.median < TARGET),
        Check("every trial timed out", len(ok) == len(samples)),
    ]
    if late.high >= TARGET:
        checks.append(Check("", True, note=f"max {fmt_ms(late.high)}"))
    return Row(peer, cells, "lateness < 20 ms", verdict(checks))
