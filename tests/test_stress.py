"""Stress: thousands of tasks with random behaviour through one worker.

Each task is configured up front from a seeded RNG (set ``QBACKGROUND_STRESS_SEED`` to
replay a failure; the seed is printed and is part of every failure message). Tasks
succeed after publishing, raise, get cancelled at a random moment (from the GUI thread
by ``QTimer`` and from another thread), time out while spinning on
``is_interrupted()``, lose their owner window, or raise from ``done()``,
``progress()`` and ``canceled()``. Afterwards every handler is checked against the
contract: exactly one terminal callback (or silence, only for a closed owner), no
progress after it, every item delivered in order for ``done()`` tasks, ``cancel()``
True exactly when ``canceled()`` ran, status matching the callback, and every callback
exception delivered to ``unhandled_exception``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from time import monotonic
from typing import Any

import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QWidget

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundWorker,
    ProgressListener,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
)

N_TASKS = int(os.environ.get("QBACKGROUND_STRESS_TASKS", "3000"))
IN_FLIGHT = 12  # small enough that cancels and closes hit queued *and* running tasks
N_OWNERS = 3
WAIT_MS = 45_000

TERMINAL = {
    "done": TaskStatus.DONE,
    "canceled": TaskStatus.CANCELLED,
    "handle_exception": TaskStatus.FAILED,
    "timeout": TaskStatus.TIMED_OUT,
}


class Rec:
    """Everything one handler's task was told to do, and everything that happened."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.kind = rng.choices(
            ["ok", "error", "cancel", "timeout"], weights=[45, 15, 30, 10]
        )[0]
        self.n_items = rng.choice([0, 1, 3, 10, 40])
        self.chunk = rng.choice([1, 2, 5])
        self.flush = rng.random() < 0.2
        self.work = rng.choice([0.0, 0.0, 0.001, 0.003])
        self.value = index * 7
        self.timeout: float | None = None
        self.spin = 0.0
        self.raise_when_interrupted = rng.random() < 0.5
        self.run_exc: BaseException | None = None
        if self.kind == "error":
            self.run_exc = ValueError(f"task {index} failed on purpose")
        elif self.kind == "cancel":
            self.spin = rng.uniform(0.0, 0.02)
        elif self.kind == "timeout":
            self.timeout = rng.uniform(0.01, 0.05)
            self.spin = rng.uniform(0.0, 0.06)
        # Cancels: delays in seconds from execute(); GUI ones via QTimer.
        self.gui_cancels: list[float] = []
        self.thread_cancels: list[float] = []
        if self.kind == "cancel" or rng.random() < 0.1:
            how = rng.choice(["gui", "thread", "both"])
            if how in ("gui", "both"):
                self.gui_cancels.append(rng.uniform(0.0, 0.03))
            if how in ("thread", "both"):
                self.thread_cancels.append(rng.uniform(0.0, 0.03))
        self.owner_index: int | None = rng.randrange(N_OWNERS) if rng.random() < 0.3 else None
        self.done_raises = rng.random() < 0.1
        self.progress_raises = rng.random() < 0.1
        self.canceled_raises = rng.random() < 0.1
        self.handle_exception_returns = rng.random() < 0.5
        self.handle_timeout_returns = rng.random() < 0.5
        self.with_listener = rng.random() < 0.3
        self.check_early_cancel = rng.random() < 0.05

        # -- what happened ---------------------------------------------------------
        self.handler: BackgroundTaskHandler[int] | None = None
        self.task: StressTask | None = None
        self.owner_gen = 0
        self.published: list[int] = []  # written by run(), read after it ended
        self.started = False
        self.returned = False  # run() got to its return statement
        self.events: list[tuple[str, Any]] = []  # GUI-thread callbacks, in order
        self.raised: list[BaseException] = []  # exceptions our callbacks raised
        self.cancel_results: list[tuple[str, bool]] = []
        self.gui_pending = 0
        self.thread_pending = 0
        self.failures: list[str] = []

    def __repr__(self) -> str:
        status = self.handler.status.name if self.handler else "-"
        return (
            f"<Rec #{self.index} {self.kind} {status} timeout={self.timeout} "
            f"owner={self.owner_index} cancels={self.cancel_results} "
            f"events={[e[0] for e in self.events]}>"
        )

    def log(self, kind: str, payload: Any = None) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.failures.append(f"{kind} ran on {threading.current_thread().name}")
        self.events.append((kind, payload))

    def terminal_kinds(self) -> list[str]:
        return [kind for kind, _ in self.events if kind in TERMINAL]

    def settled(self) -> bool:
        handler = self.handler
        if handler is None or self.gui_pending or self.thread_pending:
            return False
        status = handler.status
        if not status.is_final:
            return False
        return status is TaskStatus.INTERRUPTED or bool(self.terminal_kinds())


class StressTask(BackgroundTask[int, int]):
    def __init__(self, rec: Rec, owner: QWidget | None) -> None:
        super().__init__(timeout=rec.timeout, owner=owner)
        self.rec = rec

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        rec = self.rec
        rec.started = True
        published = rec.published
        next_item = 0

        def publish_some(count: int) -> None:
            nonlocal next_item
            items = list(range(next_item, next_item + count))
            lifecycle.publish(*items)
            published.extend(items)
            next_item += count

        for start in range(0, rec.n_items, rec.chunk):
            publish_some(min(rec.chunk, rec.n_items - start))
            if rec.flush and start % 3 == 0:
                lifecycle.flush()
        if rec.kind == "error":
            assert rec.run_exc is not None
            raise rec.run_exc
        if rec.kind == "cancel":
            end = monotonic() + rec.spin
            while monotonic() < end:
                publish_some(1)
                lifecycle.sleep(0.001)  # raises TaskInterruptedError once cancelled
        elif rec.kind == "timeout":
            end = monotonic() + rec.spin
            while not lifecycle.is_interrupted():
                if monotonic() >= end:
                    break
                time.sleep(0)  # let the GUI and deadline threads have the GIL
            if lifecycle.is_interrupted() and rec.raise_when_interrupted:
                raise TaskInterruptedError("noticed the interruption")
        elif rec.work:
            lifecycle.sleep(rec.work)
        rec.returned = True
        return rec.value

    # -- GUI-thread callbacks --------------------------------------------------------

    def progress(self, changes: list[int]) -> None:
        rec = self.rec
        rec.log("progress", list(changes))
        if rec.progress_raises and not rec.raised:
            exc = RuntimeError(f"progress() of task {rec.index} raised on purpose")
            rec.raised.append(exc)
            raise exc

    def done(self, result: int) -> None:
        rec = self.rec
        rec.log("done", result)
        if rec.done_raises:
            exc = RuntimeError(f"done() of task {rec.index} raised on purpose")
            rec.raised.append(exc)
            raise exc

    def canceled(self) -> None:
        rec = self.rec
        rec.log("canceled")
        if rec.canceled_raises:
            exc = KeyError(f"canceled() of task {rec.index} raised on purpose")
            rec.raised.append(exc)
            raise exc

    def handle_exception(self, exc: BaseException) -> bool:
        self.rec.log("handle_exception", exc)
        return self.rec.handle_exception_returns

    def handle_timeout_exception(self) -> bool:
        self.rec.log("timeout")
        return self.rec.handle_timeout_returns


class RecListener(ProgressListener[int, int]):
    def __init__(self, rec: Rec) -> None:
        self.rec = rec

    def on_progress(self, changes: list[int]) -> None:
        self.rec.log("l_progress", list(changes))

    def on_done(self, result: int) -> None:
        self.rec.log("l_done", result)

    def on_cancel(self) -> None:
        self.rec.log("l_cancel")


class Feed:
    """How far the feeder got: the next record to launch, the ones in flight."""

    def __init__(self) -> None:
        self.next = 0
        self.in_flight: set[Rec] = set()
        self.closes = 0


class ThreadCanceller:
    """Calls functions at given moments from one background thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stop = False
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._loop, name="stress-canceller", daemon=True)
        self._thread.start()

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (monotonic() + delay, next(self._seq), fn))
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    if self._heap:
                        wait = self._heap[0][0] - monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                if self._stop:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(5)


def _check_record(rec: Rec, owner_gens: list[int]) -> list[str]:
    problems = list(rec.failures)
    handler = rec.handler
    assert handler is not None
    status = handler.status
    terminals = [i for i, (kind, _) in enumerate(rec.events) if kind in TERMINAL]
    trues = [source for source, result in rec.cancel_results if result]
    expected_cancels = len(rec.gui_cancels) + len(rec.thread_cancels)

    if len(rec.cancel_results) != expected_cancels:
        problems.append(f"{len(rec.cancel_results)} of {expected_cancels} cancels ran")
    if len(trues) > 1:
        problems.append(f"cancel() returned True {len(trues)} times")
    if not status.is_final:
        problems.append("status not final at the end")
    if handler.is_alive() or not handler.is_done():
        problems.append(f"is_alive()={handler.is_alive()} is_done()={handler.is_done()}")
    if handler.is_cancelled() != (status is TaskStatus.CANCELLED):
        problems.append("is_cancelled() disagrees with status")

    if len(terminals) > 1:
        problems.append(f"{len(terminals)} terminal callbacks")
    elif not terminals:
        if status is not TaskStatus.INTERRUPTED:
            problems.append(f"no terminal callback but status {status.name}")
        if rec.owner_index is None:
            problems.append("silent without an owner")
        elif owner_gens[rec.owner_index] == rec.owner_gen:
            problems.append("silent but its owner never closed")
        if trues:
            problems.append("cancel() returned True but canceled() never ran")
    else:
        index = terminals[0]
        kind, payload = rec.events[index]
        if TERMINAL[kind] is not status:
            problems.append(f"callback {kind} but status {status.name}")
        if (kind == "canceled") != bool(trues):
            problems.append(f"callback {kind} but cancel() results {rec.cancel_results}")
        if kind == "done" and payload != rec.value:
            problems.append(f"done({payload!r}), expected {rec.value!r}")
        if kind == "handle_exception":
            if rec.kind != "error" or payload is not rec.run_exc:
                problems.append(f"handle_exception({payload!r}) for a {rec.kind} task")
        if kind == "timeout" and rec.timeout is None:
            problems.append("timed out without a timeout")
        after = [k for k, _ in rec.events[index + 1 :]]
        expected_after: list[str] = []
        if rec.with_listener and kind == "done":
            expected_after = ["l_done"]
        elif rec.with_listener and kind == "canceled":
            expected_after = ["l_cancel"]
        if after != expected_after:
            problems.append(f"after {kind}: {after}, expected {expected_after}")

    received = [item for kind, items in rec.events if kind == "progress" for item in items]
    if status is TaskStatus.DONE:
        if received != rec.published:
            problems.append(
                f"done task received {len(received)} items != {len(rec.published)} published "
                f"(first difference at {next((i for i, (a, b) in enumerate(zip(received, rec.published)) if a != b), min(len(received), len(rec.published)))})"
            )
    elif received != rec.published[: len(received)]:
        problems.append("received items are not a prefix of the published ones")
    if rec.with_listener:
        heard = [item for kind, items in rec.events if kind == "l_progress" for item in items]
        if heard != received:
            problems.append("the listener's items differ from progress()'s")
    return problems


def _phase(rec: Rec) -> str:
    """Where the task was when cancel() was called (for the coverage summary)."""
    assert rec.handler is not None
    status = rec.handler.status
    if status.is_final:
        return "decided"
    if not rec.started:
        return "queued"
    return "returned" if rec.returned else "running"


@pytest.fixture
def quiet_log(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hundreds of deliberate unhandled errors; their tracebacks would only be noise.
    monkeypatch.setattr(logging.getLogger("qbackground"), "disabled", True)


def test_stress_random_tasks(qtbot: Any, qapp: QApplication, worker: BackgroundWorker, unhandled: Any, quiet_log: None) -> None:
    seed = int(os.environ.get("QBACKGROUND_STRESS_SEED") or random.randrange(2**32))
    print(f"stress seed: {seed} (rerun with QBACKGROUND_STRESS_SEED={seed})")
    rng = random.Random(seed)
    records = [Rec(i, rng) for i in range(N_TASKS)]

    owners = [QWidget() for _ in range(N_OWNERS)]
    for owner in owners:
        owner.setWindowTitle("stress owner")
        owner.show()
    owner_gens = [0] * N_OWNERS
    canceller = ThreadCanceller()
    feed = Feed()
    started_at = monotonic()
    cancel_phases: Counter[tuple[str, bool]] = Counter()

    def gui_cancel(rec: Rec) -> None:
        rec.gui_pending -= 1
        assert rec.handler is not None
        phase = _phase(rec)
        result = rec.handler.cancel()
        rec.cancel_results.append(("gui", result))
        cancel_phases[(phase, result)] += 1
        if phase != "decided" and not result and rec.timeout is None and not rec.thread_cancels:
            # Nothing else can decide it concurrently: an undecided handler must cancel.
            rec.failures.append(f"GUI cancel() returned False while {phase}")
        if result:
            if "canceled" not in rec.terminal_kinds():
                rec.failures.append("GUI cancel() returned True before canceled() ran")
            if rec.handler.status is not TaskStatus.CANCELLED:
                rec.failures.append(f"GUI cancel() returned True, status {rec.handler.status.name}")

    def thread_cancel(rec: Rec) -> None:
        assert rec.handler is not None
        try:
            phase = _phase(rec)
            result = rec.handler.cancel()
            rec.cancel_results.append(("thread", result))
            cancel_phases[(phase, result)] += 1
        finally:
            rec.thread_pending -= 1

    def launch(rec: Rec) -> None:
        owner = owners[rec.owner_index] if rec.owner_index is not None else None
        task = StressTask(rec, owner)
        if rec.with_listener:
            task.add_progress_listener(RecListener(rec))
        handler = worker.handle(task)
        rec.task, rec.handler = task, handler
        if rec.check_early_cancel:
            try:
                handler.cancel()
                rec.failures.append("cancel() before execute() did not raise")
            except TaskStateError:
                pass
        if rec.owner_index is not None:
            rec.owner_gen = owner_gens[rec.owner_index]
        rec.gui_pending = len(rec.gui_cancels)
        rec.thread_pending = len(rec.thread_cancels)
        handler.execute()
        for delay in rec.gui_cancels:
            QTimer.singleShot(round(delay * 1000), lambda rec=rec: gui_cancel(rec))
        for delay in rec.thread_cancels:
            canceller.schedule(delay, lambda rec=rec: thread_cancel(rec))

    def top_up() -> None:
        in_flight = feed.in_flight
        for rec in [r for r in in_flight if r.settled()]:
            in_flight.discard(rec)
        while len(in_flight) < IN_FLIGHT and feed.next < N_TASKS:
            rec = records[feed.next]
            feed.next += 1
            launch(rec)
            in_flight.add(rec)

    def close_an_owner() -> None:
        if feed.next >= N_TASKS:
            return
        index = rng.randrange(N_OWNERS)
        owner_gens[index] += 1
        feed.closes += 1
        owners[index].close()  # interrupts its tasks synchronously (Close + Hide)
        owners[index].show()  # open again, so later tasks can lose it too
        QTimer.singleShot(rng.randrange(3, 25), close_an_owner)

    feeder = QTimer()
    feeder.setInterval(1)
    feeder.timeout.connect(top_up)
    feeder.start()
    QTimer.singleShot(5, close_an_owner)

    def finished() -> bool:
        return bool(
            feed.next >= N_TASKS
            and all(rec.settled() for rec in records)
            and worker._threads.active == 0
            and worker._threads.waiting == 0
            and not worker._dispatcher._inbound
        )

    try:
        qtbot.waitUntil(finished, timeout=WAIT_MS)
    except Exception:
        unsettled = [rec for rec in records if not rec.settled()][:10]
        pytest.fail(
            f"seed {seed}: tasks did not settle within {WAIT_MS} ms; launched "
            f"{feed.next}/{N_TASKS}, active={worker._threads.active}, "
            f"waiting={worker._threads.waiting}; first unsettled: {unsettled}"
        )
    finally:
        feeder.stop()
        canceller.close()
    # Nothing may arrive any more; give stray deliveries a chance to show up anyway.
    for _ in range(3):
        qapp.processEvents()
    elapsed = monotonic() - started_at

    problems: list[str] = []
    for rec in records:
        for problem in _check_record(rec, owner_gens):
            problems.append(f"{rec!r}: {problem}")
    if canceller.errors:
        problems.append(f"cancel() from a thread raised: {canceller.errors[:3]}")

    # Every exception a callback raised, and every failure handle_exception() declined,
    # reached unhandled_exception exactly once, with its task; nothing else did.
    expected_errors: Counter[tuple[int, int]] = Counter()
    expected_timeouts: Counter[int] = Counter()
    for rec in records:
        for exc in rec.raised:
            expected_errors[(id(rec.task), id(exc))] += 1
        kinds = rec.terminal_kinds()
        if kinds == ["handle_exception"] and not rec.handle_exception_returns:
            assert rec.run_exc is not None
            expected_errors[(id(rec.task), id(rec.run_exc))] += 1
        if kinds == ["timeout"] and not rec.handle_timeout_returns:
            expected_timeouts[id(rec.task)] += 1
    got_errors = Counter((id(task), id(exc)) for task, exc in unhandled.errors)
    if got_errors != expected_errors:
        problems.append(
            f"unhandled_exception mismatch: missing {expected_errors - got_errors}, "
            f"extra {[(t, e) for t, e in unhandled.errors if (id(t), id(e)) not in expected_errors][:5]}"
        )
    if Counter(id(task) for task in unhandled.timeouts) != expected_timeouts:
        problems.append("task_timed_out emissions do not match the unhandled timeouts")
    if worker.active_handlers():
        problems.append(f"active_handlers() not empty: {worker.active_handlers()[:5]}")

    outcomes = Counter(rec.handler.status.name for rec in records if rec.handler)
    print(f"{N_TASKS} tasks in {elapsed:.1f} s, owner closes {feed.closes}: {dict(outcomes)}")
    print(f"cancel() calls by phase and result: {dict(sorted(cancel_phases.items()))}")
    assert not problems, f"seed {seed}: {len(problems)} problems:\n" + "\n".join(problems[:40])
    # The run must have exercised every outcome, or it proves little.
    for status in TaskStatus:
        if status.is_final:  # (PAUSED, like RUNNING, is no ending)
            assert outcomes[status.name] > 0, f"seed {seed}: no task ended {status.name}: {outcomes}"
    for owner in owners:
        owner.close()
        owner.deleteLater()


class _Escapes(BaseException):
    """Neither an Exception nor TaskInterruptedError: the handler lets it through."""


@pytest.mark.parametrize("kind", ["task_interrupted", "other_base_exception"])
def test_base_exception_from_a_callback_does_not_strand_other_deliveries(
    qtbot: Any, worker: BackgroundWorker, unhandled: Any, quiet_log: None, kind: str
) -> None:
    """Regression: a callback raising a ``BaseException`` that is not an ``Exception``
    must not stop the callbacks queued behind it.

    ``TaskInterruptedError`` (what ``other_handler.get_result()`` of an interrupted task
    raises inside ``done()``) goes to ``unhandled_exception`` like any callback error.
    Any other BaseException passes through to Qt, but the dispatcher must re-arm its
    wake-up: once, the drain loop ended without one, and the next task's ``done()``
    waited for an unrelated post (forever, in an idle application).
    """
    calls: list[str] = []
    gate_a, gate_b = threading.Event(), threading.Event()
    error: BaseException = (
        TaskInterruptedError("as raised by get_result() of an interrupted handler")
        if kind == "task_interrupted"
        else _Escapes("passes through the handler")
    )

    class First(BackgroundTask[int, str]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> str:
            gate_a.wait(10)
            return "first"

        def done(self, result: str) -> None:
            calls.append("first.done")
            raise error

    class Second(BackgroundTask[int, str]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> str:
            gate_b.wait(10)
            return "second"

        def done(self, result: str) -> None:
            calls.append("second.done")

    first = worker.handle(First())
    second = worker.handle(Second())
    first.execute()
    second.execute()
    inbound = worker._dispatcher._inbound

    def wait_queued(count: int) -> None:
        # Poll without running the Qt loop, so both deliveries queue up in order.
        pause = threading.Event()
        deadline = monotonic() + 10
        while len(inbound) < count:
            assert monotonic() < deadline, "run() did not return"
            pause.wait(0.001)

    gate_a.set()
    wait_queued(1)  # first's done() delivery is queued ...
    gate_b.set()
    wait_queued(2)  # ... and second's behind it
    with qtbot.capture_exceptions() as escaped:
        try:
            qtbot.waitUntil(lambda: "second.done" in calls, timeout=2000)
        except Exception:
            pass
    escaped_errors = [exc for _, exc, _ in escaped]
    assert calls[:1] == ["first.done"]
    assert "second.done" in calls, (
        f"second's done() never ran: status {second.status.name}, {len(inbound)} callables "
        f"left in the dispatcher with wake_pending={worker._dispatcher._wake_pending}; "
        f"escaped into Qt: {escaped_errors}"
    )
    assert second.status is TaskStatus.DONE and first.status is TaskStatus.DONE
    if kind == "task_interrupted":
        assert [exc for _, exc in unhandled.errors] == [error], (unhandled.errors, escaped_errors)
        assert escaped_errors == []
    else:
        assert escaped_errors == [error], escaped_errors
        assert unhandled.errors == []
