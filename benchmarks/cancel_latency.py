"""Scenario 4 — cancel latency: from ``cancel()`` to the "canceled" callback.

A running task loops doing ~0.1 ms of pure-Python work per item and reports each item.
Once its first item reached the GUI, a 20 ms GUI ``QTimer`` cancels it, either right
there on the GUI thread or by starting a plain thread that cancels. Measured per trial:

* cancel → canceled: until the peer's cancellation callback runs on the GUI thread
  (qbackground ``canceled()``; superqt ``aborted``; raw: a ``canceled`` signal);
* cancel → noticed: until the task's own thread sees it and stops (the thread is free).

qbackground cancels with ``handler.cancel()`` (``canceled()`` runs at once when called on
the GUI thread), superqt with ``worker.quit()``, raw with a ``threading.Event``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from time import perf_counter

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from superqt.utils import GeneratorWorker

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

from ._harness import Completion, Settings, call_later, gui_thread_id, settle, spin, wait_until
from ._report import Check, Row, Table, fmt_ms, summarize, verdict

__all__ = ["NAME", "run"]

NAME = "cancel"

CANCEL_AFTER_MS = 20
"""How long after the first item reached the GUI the cancel is fired."""

TARGET = 0.020

MODES = ("GUI thread", "other thread")


class _Probe:
    """One trial's observations: first item, cancel time, callback and notice times."""

    def __init__(self) -> None:
        self.running = Completion()
        self.canceled = Completion()
        self.noticed = Completion()
        self.cancel_at = 0.0
        self.on_gui_thread = True

    def item(self, _value: object = None) -> None:
        """A progress delivery reached the GUI (must be the GUI thread)."""
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False
        if not self.running.is_set:
            self.running.set()


Start = Callable[[_Probe], Callable[[], None]]
"""Starts the peer's task reporting to the probe; returns its cancel function."""


# -- qbackground -------------------------------------------------------------------------


class _LoopTask(BackgroundTask[int, None]):
    """Works and publishes until cancelled; notes the moment its thread noticed."""

    def __init__(self, probe: _Probe) -> None:
        super().__init__()
        self._probe = probe

    def run(self, lifecycle: TaskLifeCycle[int]) -> None:
        try:
            i = 0
            while not lifecycle.is_cancelled():
                spin()
                lifecycle.publish(i)
                i += 1
        finally:
            self._probe.noticed.set()

    def progress(self, changes: list[int]) -> None:
        self._probe.item()

    def canceled(self) -> None:
        self._probe.canceled.set()


def _qbackground(worker: BackgroundWorker) -> Start:
    def start(probe: _Probe) -> Callable[[], None]:
        handler = worker.handle(_LoopTask(probe))
        handler.execute()

        def cancel() -> None:
            handler.cancel()

        return cancel

    return start


# -- superqt -----------------------------------------------------------------------------


def _loop_generator() -> Generator[int, None, None]:
    i = 0
    while True:
        spin()
        yield i
        i += 1


def _superqt(probe: _Probe) -> Callable[[], None]:
    worker: GeneratorWorker[int, None, None] = GeneratorWorker(_loop_generator)
    worker.yielded.connect(probe.item)
    # superqt's stubs type argument-less signals as taking one None argument, and the
    # connection type as a Python type; the calls are the documented PySide6 ones.
    worker.aborted.connect(probe.canceled.set)  # type: ignore[arg-type]
    worker.aborted.connect(
        probe.noticed.set,  # type: ignore[arg-type]
        type=Qt.ConnectionType.DirectConnection,  # type: ignore[arg-type]
    )
    worker.start()
    return worker.quit


# -- raw QThreadPool ---------------------------------------------------------------------


class _LoopSignals(QObject):
    item = Signal(int)
    canceled = Signal()


class _LoopRunnable(QRunnable):
    """Works and emits until its flag is set, then emits ``canceled``."""

    def __init__(self, probe: _Probe) -> None:
        super().__init__()
        self.flag = threading.Event()
        self.signals = _LoopSignals()
        self._probe = probe

    def run(self) -> None:
        i = 0
        flag = self.flag
        while not flag.is_set():
            spin()
            self.signals.item.emit(i)
            i += 1
        self._probe.noticed.set()
        self.signals.canceled.emit()


class _RawPeer:
    """Keeps every runnable alive until the pool is done with all of them.

    A non-auto-deleting QRunnable whose Python wrapper is freed while a pool thread is
    still returning from ``run()`` is a use-after-free (seen here as a rare segfault), so
    none is dropped before ``QThreadPool.waitForDone()``.
    """

    def __init__(self) -> None:
        self._runnables: list[_LoopRunnable] = []

    def start(self, probe: _Probe) -> Callable[[], None]:
        runnable = _LoopRunnable(probe)
        runnable.setAutoDelete(False)
        runnable.signals.item.connect(probe.item)
        runnable.signals.canceled.connect(probe.canceled.set)
        self._runnables.append(runnable)
        QThreadPool.globalInstance().start(runnable)
        return runnable.flag.set

    def release(self) -> None:
        """Drop the runnables (call after ``QThreadPool.waitForDone()``)."""
        self._runnables.clear()


# -- driver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    to_callback: float
    to_noticed: float
    ok: bool


def _trial(start: Start, mode: str, limit: float) -> _Sample:
    settle()
    probe = _Probe()
    cancels: list[Callable[[], None]] = []
    helpers: list[threading.Thread] = []
    nan = float("nan")
    if not wait_until(probe.running, limit=limit, kickoff=lambda: cancels.append(start(probe))):
        for cancel_late in cancels:  # never reported an item: stop it anyway
            cancel_late()
        return _Sample(nan, nan, False)
    cancel = cancels[0]

    def cancel_here() -> None:
        probe.cancel_at = perf_counter()
        cancel()

    def fire() -> None:
        if mode == "GUI thread":
            cancel_here()
        else:
            helper = threading.Thread(target=cancel_here, name="bench-canceller", daemon=True)
            helpers.append(helper)
            helper.start()

    timer = call_later(CANCEL_AFTER_MS, fire)
    ok = wait_until(probe.canceled, probe.noticed, limit=limit)
    timer.stop()
    for helper in helpers:
        helper.join(limit)
    if not ok or probe.canceled.at is None or probe.noticed.at is None:
        return _Sample(nan, nan, False)
    return _Sample(
        to_callback=probe.canceled.at - probe.cancel_at,
        to_noticed=probe.noticed.at - probe.cancel_at,
        ok=probe.on_gui_thread,
    )


PEER_TRIALS = 5


def run(settings: Settings) -> Table:
    """``settings.trials`` cancels per peer and mode."""
    worker = BackgroundWorker()
    raw = _RawPeer()
    peers: dict[str, tuple[str, Start]] = {
        "qbackground": ("handler.cancel()", _qbackground(worker)),
        "superqt": ("worker.quit()", _superqt),
        "raw QThreadPool": ("Event.set()", raw.start),
    }
    table = Table(
        title="4. cancel() → canceled() latency",
        description=(
            f"A task doing ~0.1 ms of Python work per reported item is cancelled "
            f"{CANCEL_AFTER_MS} ms after its first item reached the GUI, from a GUI QTimer "
            "callback or from a plain thread started by it. Callback = the peer's "
            "cancellation callback ran on the GUI thread; noticed = the task's thread "
            f"saw it and stopped. {settings.trials} trials per qbackground row, at most "
            f"{1 if settings.quick else PEER_TRIALS} per peer row: the peers' one-signal-per-item "
            "flood backs up the GUI queue, and each of their trials can take many seconds to drain."
        ),
        columns=[
            "cancel via",
            "→ callback median",
            "→ callback max",
            "→ noticed median",
            "→ noticed max",
            "trials ok",
        ],
    )
    try:
        for peer, (how, start) in peers.items():
            for mode in MODES:
                peer_trials = 1 if settings.quick else PEER_TRIALS
                trials = settings.trials if peer == "qbackground" else min(settings.trials, peer_trials)
                samples = [_trial(start, mode, settings.run_limit) for _ in range(trials)]
                table.rows.append(_row(peer, f"{how} on {mode}", samples))
    finally:
        worker.shutdown(timeout=10)
        QThreadPool.globalInstance().waitForDone(int(settings.run_limit * 1000))
        raw.release()
    table.notes.append(
        "superqt's `aborted` and the raw `canceled` signal are emitted by the task's thread "
        "once it notices, so their callback cannot come before the notice."
    )
    return table


def _row(peer: str, how: str, samples: list[_Sample]) -> Row:
    ok = [s for s in samples if s.ok]
    callback = summarize([s.to_callback for s in ok])
    noticed = summarize([s.to_noticed for s in ok])
    cells = [
        how,
        fmt_ms(callback.median),
        fmt_ms(callback.high),
        fmt_ms(noticed.median),
        fmt_ms(noticed.high),
        f"{len(ok)}/{len(samples)}",
    ]
    if peer != "qbackground":
        return Row(peer, cells)
    checks = [
        Check("< 20 ms", callback.median < TARGET),
        Check("every trial", len(ok) == len(samples)),
    ]
    if callback.high >= TARGET:
        checks.append(Check("", True, note=f"max {fmt_ms(callback.high)}"))
    return Row(peer, cells, "callback < 20 ms", verdict(checks))
