"""Scenario 4 — cancel latency: from ``cancel()`` to the "canceled" callback.

A running task loops doing ~0.1 ms of pure-Python work per item and reports each item.
Once its first item reached the GUI, a 20 ms GUI ``QTimer`` cancels it, either right
there on the GUI thread or by starting a plain thread that cancels. Measured per trial:

* cancel → canceled: until the peer's cancellation callback runs on the GUI thread
  (qbackground ``canceled()``; superqt ``aborted``; raw: a ``canceled`` signal);
* cancel → noticed: until the task's own thread sees it and stops (the thread is free).

qbackground cancels with ``handler.cancel()`` (``canceled()`` runs at once when called on
the GUI thread), superqt with ``worker.quit()``, raw with a ``threading.Event``.

Why the flood is bounded, and how trials end. This scenario used to take 4-5 minutes
with ``--quick`` (about 10 with full sizes), often failed the raw peer's trial and
sometimes crashed (segfault, or a Traceback at exit):

* superqt and the raw peer emit one queued signal per item (~10,000 a second). The GUI
  thread needs the GIL for every delivery while the task's thread holds it spinning, so
  it can fall behind (it does not always: both states are stable for a while). Qt runs
  its timers only between passes over the posted-event queue, and each pass handles the
  whole backlog present when it began; while the GUI is behind, each pass is longer than
  the last. The 20 ms cancel timer — and the ``wait_until`` guard timer — then fired
  seconds late, or not within the trial limit at all (a 30 s wait was seen to last 55 s).
* A trial whose cancel never fired returned without cancelling: its task flooded forever,
  every later ``settle()`` blocked the GUI for 30 s in ``QThreadPool.waitForDone`` while
  the backlog grew, the trial's probe and superqt worker were dropped while the task
  still emitted to them (seen: a segfault in ``_Probe.item``), and the interpreter exited
  with a pool thread still running Python.

So now:

* Every task — qbackground's too, the same work for all — reports each item at full
  speed for its first ``FLOOD_ITEMS`` items (about 1 s, fifty times the 20 ms before the
  cancel), then paces itself, sleeping ``PACE_SECONDS`` before each further item, until
  it notices the cancel. The backlog a flood can build is bounded, so the GUI always
  catches up and the cancel timer fires. The table shows how late the cancel timer
  fired ("timer late max") and how many cancels reached the task while it still
  flooded ("cancel in flood"): a cancel that came after the flood (the GUI was still
  behind it) measures a paced task, and its timer delay is the freeze the flood caused.
  (With a 0.2 s flood nearly every peer cancel came after it; with 1 s most come during.)
* A trial that ends unsuccessfully still cancels its task. Every trial then drains: it
  waits (at most ``DRAIN_LIMIT``) until the task's thread ended and every signal it
  emitted reached the GUI (items delivered = items reported, plus the peer's last signal:
  raw ``canceled``, superqt ``finished``, qbackground ``when_stopped``), so the next
  trial starts on an empty queue. A trial whose drain does not finish counts as failed.
* Every probe, handler, superqt worker and raw runnable is kept referenced until the end
  of the scenario, after ``QThreadPool.waitForDone()``.
* With the trials bounded, full runs give the peer rows as many trials as qbackground's
  (``--trials``, 20; they were capped at 5). ``--quick`` keeps one per peer row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from time import perf_counter

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
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

FLOOD_ITEMS = 10_000
"""Items a task reports at full speed (~0.1 ms of work each) before it paces itself."""

PACE_SECONDS = 0.001
"""After the flood, a task sleeps this long before each further item."""

DRAIN_LIMIT = 15.0
"""Seconds a trial may wait for its task to end and its signals to reach the GUI."""


class _Probe:
    """One trial's observations: first item, cancel time, callback and notice times.

    Also counts the items the task reported (on its thread) and those delivered to the
    GUI, so the trial can wait until the task's signals are all delivered.
    """

    def __init__(self) -> None:
        self.running = Completion()
        self.canceled = Completion()
        self.noticed = Completion()
        self.drained = Completion()
        """Set on the GUI thread once the last signal arrived and every item was delivered."""
        self.armed_at = 0.0
        self.cancel_at = 0.0
        self.items_at_cancel = 0
        self.on_gui_thread = True
        self.reported = 0
        """Items the task reported (incremented on the task's thread before reporting)."""
        self.delivered = 0
        self.counts_items = True
        """False for a peer that coalesces items and drops those pending at the cancel."""
        self._last_signal = False

    def work(self, index: int) -> None:
        """One item's work: ~0.1 ms of Python during the flood, then a paced sleep."""
        if index < FLOOD_ITEMS:
            spin()
        else:
            time.sleep(PACE_SECONDS)
        self.reported = index + 1

    def item(self, _value: object = None) -> None:
        """A progress delivery reached the GUI (must be the GUI thread)."""
        self.items(1)

    def items(self, count: int) -> None:
        """``count`` reported items reached the GUI in one delivery."""
        if threading.get_ident() != gui_thread_id():
            self.on_gui_thread = False
        self.delivered += count
        if not self.running.is_set:
            self.running.set()
        if self._last_signal:
            self._check_drained()

    def last_signal(self, _value: object = None) -> None:
        """The peer's last signal of the task reached the GUI thread."""
        self._last_signal = True
        self._check_drained()

    def _check_drained(self) -> None:
        if self.drained.is_set or not self._last_signal:
            return
        if not self.counts_items or self.delivered >= self.reported:
            self.drained.set()


@dataclass
class _Started:
    """A started task: how to cancel it, and what must stay referenced until the end."""

    cancel: Callable[[], object]
    keep: object


class _Peer:
    """Starts one peer's tasks and keeps every object they use alive until :meth:`release`.

    A QRunnable or QObject whose Python wrapper is freed while a pool thread still runs
    or returns from ``run()`` (or still emits to a slot on it) is a use-after-free, so
    nothing a task touches is dropped before ``QThreadPool.waitForDone()``.
    """

    def __init__(self, how: str, start: Callable[[_Probe], _Started]) -> None:
        self.how = how
        self._start = start
        self._alive: list[object] = []

    def start(self, probe: _Probe) -> Callable[[], object]:
        started = self._start(probe)
        self._alive.append((probe, started))
        return started.cancel

    def release(self) -> None:
        """Drop the references (call after ``QThreadPool.waitForDone()``)."""
        self._alive.clear()


# -- qbackground -------------------------------------------------------------------------


class _LoopTask(BackgroundTask[int, None]):
    """Works and publishes until cancelled; notes the moment its thread noticed."""

    def __init__(self, probe: _Probe) -> None:
        super().__init__()
        self._probe = probe

    def run(self, lifecycle: TaskLifeCycle[int]) -> None:
        probe = self._probe
        try:
            i = 0
            while not lifecycle.is_cancelled():
                probe.work(i)
                lifecycle.publish(i)
                i += 1
        finally:
            probe.noticed.set()

    def progress(self, changes: list[int]) -> None:
        self._probe.items(len(changes))

    def canceled(self) -> None:
        self._probe.canceled.set()


def _qbackground(worker: BackgroundWorker) -> Callable[[_Probe], _Started]:
    def start(probe: _Probe) -> _Started:
        handler = worker.handle(_LoopTask(probe))
        # qbackground coalesces progress and drops what was still queued when the task
        # was cancelled, so "drained" is: run() has really ended (when_stopped).
        probe.counts_items = False
        handler.when_stopped(lambda _handler: probe.last_signal())
        handler.execute()
        return _Started(cancel=handler.cancel, keep=handler)

    return start


# -- superqt -----------------------------------------------------------------------------


def _loop_generator(probe: _Probe) -> Generator[int, None, None]:
    i = 0
    while True:
        probe.work(i)
        yield i
        i += 1


def _superqt(probe: _Probe) -> _Started:
    worker: GeneratorWorker[int, None, None] = GeneratorWorker(_loop_generator, probe)
    worker.yielded.connect(probe.item)
    # superqt's stubs type argument-less signals as taking one None argument, and the
    # connection type as a Python type; the calls are the documented PySide6 ones.
    worker.aborted.connect(probe.canceled.set)  # type: ignore[arg-type]
    worker.aborted.connect(
        probe.noticed.set,  # type: ignore[arg-type]
        type=Qt.ConnectionType.DirectConnection,  # type: ignore[arg-type]
    )
    worker.finished.connect(probe.last_signal)
    worker.start()
    return _Started(cancel=worker.quit, keep=worker)


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
        probe = self._probe
        while not flag.is_set():
            probe.work(i)
            self.signals.item.emit(i)
            i += 1
        probe.noticed.set()
        self.signals.canceled.emit()


def _raw(probe: _Probe) -> _Started:
    runnable = _LoopRunnable(probe)
    runnable.setAutoDelete(False)
    runnable.signals.item.connect(probe.item)
    runnable.signals.canceled.connect(probe.canceled.set)
    runnable.signals.canceled.connect(probe.last_signal)
    QThreadPool.globalInstance().start(runnable)
    return _Started(cancel=runnable.flag.set, keep=runnable)


# -- driver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    to_callback: float
    to_noticed: float
    ok: bool
    timer_late: float = float("nan")
    """How much later than ``CANCEL_AFTER_MS`` the GUI timer fired the cancel."""
    after_flood: bool = False
    """The cancel reached the task once its ``FLOOD_ITEMS`` were reported."""


def _trial(peer: _Peer, mode: str, limit: float) -> _Sample:
    settle()
    probe = _Probe()
    cancels: list[Callable[[], object]] = []
    helpers: list[threading.Thread] = []
    fired: list[bool] = []
    nan = float("nan")
    failed = _Sample(nan, nan, False)

    def finish(sample: _Sample) -> _Sample:
        """Make sure the task was cancelled, then wait until it ended and drained."""
        if not fired:
            for cancel_late in cancels:  # the trial failed before its cancel: stop it anyway
                cancel_late()
        for helper in helpers:
            helper.join(limit)
        if cancels and not wait_until(probe.drained, limit=DRAIN_LIMIT):
            return failed
        return sample

    def kickoff() -> None:
        cancels.append(peer.start(probe))

    if not wait_until(probe.running, limit=limit, kickoff=kickoff):
        return finish(failed)
    cancel = cancels[0]

    def cancel_here() -> None:
        probe.items_at_cancel = probe.reported
        probe.cancel_at = perf_counter()
        cancel()

    def fire() -> None:
        fired.append(True)
        if mode == "GUI thread":
            cancel_here()
        else:
            helper = threading.Thread(target=cancel_here, name="bench-canceller", daemon=True)
            helpers.append(helper)
            helper.start()

    probe.armed_at = perf_counter()
    timer = call_later(CANCEL_AFTER_MS, fire)
    ok = wait_until(probe.canceled, probe.noticed, limit=limit)
    timer.stop()
    if not ok or probe.canceled.at is None or probe.noticed.at is None:
        return finish(failed)
    return finish(
        _Sample(
            to_callback=probe.canceled.at - probe.cancel_at,
            to_noticed=probe.noticed.at - probe.cancel_at,
            ok=probe.on_gui_thread,
            timer_late=probe.cancel_at - probe.armed_at - CANCEL_AFTER_MS / 1000,
            after_flood=probe.items_at_cancel >= FLOOD_ITEMS,
        )
    )


QUICK_PEER_TRIALS = 1
"""Trials per superqt/raw row with ``--quick`` (a peer trial can last the whole ~1 s flood)."""


def run(settings: Settings) -> Table:
    """``settings.trials`` cancels per peer and mode (``QUICK_PEER_TRIALS`` per peer row
    with ``--quick``)."""
    worker = BackgroundWorker()
    peers: dict[str, _Peer] = {
        "qbackground": _Peer("handler.cancel()", _qbackground(worker)),
        "superqt": _Peer("worker.quit()", _superqt),
        "raw QThreadPool": _Peer("Event.set()", _raw),
    }
    peer_trials = min(settings.trials, QUICK_PEER_TRIALS) if settings.quick else settings.trials
    table = Table(
        keys=1,  # the first column names the row (the same on every binding)
        title="4. cancel() → canceled() latency",
        description=(
            f"A task doing ~0.1 ms of Python work per reported item is cancelled "
            f"{CANCEL_AFTER_MS} ms after its first item reached the GUI, from a GUI QTimer "
            "callback or from a plain thread started by it. Callback = the peer's "
            "cancellation callback ran on the GUI thread; noticed = the task's thread "
            "saw it and stopped. So that a one-signal-per-item flood stays bounded, every "
            f"task reports its first {FLOOD_ITEMS:,} items at full speed "
            f"(~{FLOOD_ITEMS / 10_000:g} s) and then sleeps {PACE_SECONDS * 1000:g} ms "
            "before each further item; every trial waits "
            "until its task ended and all its signals reached the GUI. "
            + (
                f"{settings.trials} trials per qbackground row, {peer_trials} per peer row."
                if peer_trials != settings.trials
                else f"{settings.trials} trials per row."
            )
        ),
        columns=[
            "cancel via",
            "→ callback median",
            "→ callback max",
            "→ noticed median",
            "→ noticed max",
            "timer late max",
            "cancel in flood",
            "trials ok",
        ],
    )
    try:
        for name, peer in peers.items():
            for mode in MODES:
                trials = settings.trials if name == "qbackground" else peer_trials
                samples = [_trial(peer, mode, settings.run_limit) for _ in range(trials)]
                table.rows.append(_row(name, f"{peer.how} on {mode}", samples))
    finally:
        worker.shutdown(timeout=10)
        QThreadPool.globalInstance().waitForDone(int(settings.run_limit * 1000))
        for peer in peers.values():
            peer.release()
    table.notes.extend(
        [
            "superqt's `aborted` and the raw `canceled` signal are emitted by the task's "
            "thread once it notices, so their callback cannot come before the notice.",
            f"Timer late = how much later than {CANCEL_AFTER_MS} ms the GUI QTimer fired the "
            "cancel (the GUI thread was busy, or waiting for the GIL). Cancel in flood = "
            "trials whose cancel reached the task while it still reported at full speed. "
            "When a flood backs the GUI's queue up, Qt runs timers only between passes over "
            "the backlog, so the cancel can fire hundreds of ms late, or only once the task's "
            f"{FLOOD_ITEMS:,} full-speed items are done: such a trial measures a cancel "
            "against a paced task (no backlog behind "
            f"the callback; noticing can take up to the {PACE_SECONDS * 1000:g} ms sleep), "
            "and its timer delay is the GUI freeze the flood caused.",
        ]
    )
    return table


def _row(peer: str, how: str, samples: list[_Sample]) -> Row:
    ok = [s for s in samples if s.ok]
    callback = summarize([s.to_callback for s in ok])
    noticed = summarize([s.to_noticed for s in ok])
    late = summarize([s.timer_late for s in ok])
    cells = [
        how,
        fmt_ms(callback.median),
        fmt_ms(callback.high),
        fmt_ms(noticed.median),
        fmt_ms(noticed.high),
        fmt_ms(late.high),
        f"{sum(not s.after_flood for s in ok)}/{len(ok)}",
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
