"""Chaos: 10,000 random tasks per run across the thread, process and asyncio backends.

Every task is planned up front from a seeded RNG (``QBACKGROUND_CHAOS_SEED`` replays a
run; the seed is printed and is part of every failure message; ``QBACKGROUND_CHAOS_TASKS``
changes the count). Tasks succeed after publishing, raise, get cancelled at a random
moment (from the GUI thread by ``QTimer`` and from another thread), time out, lose their
owner window, and raise from ``done()``, ``progress()``, ``canceled()``,
``handle_exception()`` and ``handle_timeout_exception()``. Afterwards:

* exactly-once: one terminal callback per handler (silence only for a closed owner), its
  kind matching the status and ``cancel()``'s result, no ``progress()`` after it;
* no lost progress: a ``done()`` task received every item it published, in order; any
  other task received a gap-free prefix;
* every callback exception and every declined failure reached ``unhandled_exception``
  exactly once, every declined timeout ``task_timed_out`` exactly once;
* no leaks: after shutdown no thread and no child process is left (the ``bg_worker``
  fixture's check, run here explicitly so the figures are printed).

``tests/test_stress.py`` does the same in depth on the thread backend alone (3,000
tasks); this suite trades depth for breadth across backends.
"""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from time import monotonic
from typing import Any

import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from qbackground import TaskStatus
from qbackground.testing import CheckedWorker, os_thread_ids

from .chaos_tasks import AsyncChaosTask, ChaosTask, PlannedError
from .test_stress import ThreadCanceller

N_TASKS = int(os.environ.get("QBACKGROUND_CHAOS_TASKS", "10000"))
BACKEND_SHARE = {"thread": 0.5, "asyncio": 0.3, "process": 0.2}
IN_FLIGHT = {"thread": 16, "asyncio": 24, "process": 4}
N_OWNERS = 3
WAIT_MS = 150_000

TERMINAL = {
    "done": TaskStatus.DONE,
    "canceled": TaskStatus.CANCELLED,
    "handle_exception": TaskStatus.FAILED,
    "timeout": TaskStatus.TIMED_OUT,
}


class CallbackError(RuntimeError):
    """Raised on purpose by a callback."""


class Rec:
    """One task's plan and everything that happened to it, on the GUI side."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.backend = rng.choices(list(BACKEND_SHARE), weights=list(BACKEND_SHARE.values()))[0]
        self.kind = rng.choices(["ok", "error", "cancel", "timeout", "owner"], weights=[40, 15, 25, 10, 10])[0]
        self.n_items = rng.choice([0, 1, 3, 10, 50])
        self.chunk = rng.choice([1, 2, 7])
        self.flush = rng.random() < 0.2
        self.work = rng.choice([0.0, 0.0, 0.0005, 0.002])
        self.timeout: float | None = None
        self.cancels: list[tuple[str, float]] = []
        self.owner_index: int | None = None
        if self.kind == "cancel":
            where = rng.choice(["gui", "thread", "both"])
            if where in ("gui", "both"):
                self.cancels.append(("gui", rng.uniform(0.0, 0.015)))
            if where in ("thread", "both"):
                self.cancels.append(("thread", rng.uniform(0.0, 0.015)))
        elif self.kind == "timeout":
            self.timeout = rng.uniform(0.005, 0.03)
        elif self.kind == "owner":
            self.owner_index = rng.randrange(N_OWNERS)
        # Races on ordinary tasks: a cancel or a deadline against the natural end.
        if self.kind in ("ok", "error") and rng.random() < 0.1:
            self.cancels.append((rng.choice(["gui", "thread"]), rng.uniform(0.0, 0.004)))
        if self.kind == "ok" and rng.random() < 0.05:
            self.timeout = rng.uniform(0.0005, 0.004)
        if self.kind in ("ok", "error", "cancel") and self.owner_index is None and rng.random() < 0.1:
            self.owner_index = rng.randrange(N_OWNERS)  # may or may not close in time
        self.raises = {
            name: rng.random() < 0.08
            for name in ("done", "progress", "canceled", "handle_exception", "timeout")
        }
        self.handle_exception_returns = rng.random() < 0.5
        self.handle_timeout_returns = rng.random() < 0.5

        # -- what happened ---------------------------------------------------------------
        self.task: Any = None
        self.handler: Any = None
        self.owner_gen = 0
        self.events: list[tuple[str, Any]] = []
        self.raised: list[BaseException] = []
        self.cancel_results: list[tuple[str, bool]] = []
        self.pending_cancels = 0

    def __repr__(self) -> str:
        status = self.handler.status.name if self.handler is not None else "-"
        return (
            f"<task #{self.index} {self.backend}/{self.kind} {status} items={self.n_items} "
            f"timeout={self.timeout} owner={self.owner_index} cancels={self.cancel_results} "
            f"callbacks={[e[0] for e in self.events]}>"
        )

    def plan(self, owner: QWidget | None) -> Any:
        kind = "wait" if self.kind in ("cancel", "timeout", "owner") else self.kind
        cls = AsyncChaosTask if self.backend == "asyncio" else ChaosTask
        return cls(self, kind, self.n_items, self.chunk, self.flush, self.work, self.timeout, owner)

    def on_callback(self, name: str, payload: Any) -> bool:
        self.events.append((name, payload))
        if self.raises.get(name) and not any(n == name for n, _ in self.events[:-1]):
            exc = CallbackError(f"{name}() of task {self.index} raised on purpose")
            self.raised.append(exc)
            raise exc
        if name == "handle_exception":
            return self.handle_exception_returns
        if name == "timeout":
            return self.handle_timeout_returns
        return False

    def terminals(self) -> list[int]:
        return [i for i, (name, _) in enumerate(self.events) if name in TERMINAL]

    def settled(self) -> bool:
        handler = self.handler
        if handler is None or self.pending_cancels:
            return False
        status = handler.status
        return status.is_final and (status is TaskStatus.INTERRUPTED or bool(self.terminals()))


def check(rec: Rec, owner_gens: list[int]) -> list[str]:
    problems = []
    handler = rec.handler
    status = handler.status
    terminals = rec.terminals()
    trues = [source for source, result in rec.cancel_results if result]
    if len(rec.cancel_results) != len(rec.cancels):
        problems.append(f"{len(rec.cancel_results)} of {len(rec.cancels)} cancels ran")
    if len(trues) > 1:
        problems.append(f"cancel() returned True {len(trues)} times")
    if not status.is_final or handler.is_alive():
        problems.append(f"not decided at the end: {status.name}")
    if len(terminals) > 1:
        problems.append(f"{len(terminals)} terminal callbacks")
    elif not terminals:
        if status is not TaskStatus.INTERRUPTED:
            problems.append(f"no terminal callback, status {status.name}")
        if rec.owner_index is None or owner_gens[rec.owner_index] == rec.owner_gen:
            problems.append("silent although no owner of it closed")
        if trues:
            problems.append("cancel() returned True but canceled() never ran")
    else:
        name, payload = rec.events[terminals[0]]
        if TERMINAL[name] is not status:
            problems.append(f"callback {name} but status {status.name}")
        if (name == "canceled") != bool(trues):
            problems.append(f"callback {name} but cancel() results {rec.cancel_results}")
        if name == "done" and (rec.kind not in ("ok", "cancel") or payload != rec.n_items):
            problems.append(f"done({payload!r}) for a {rec.kind} task")
        if name == "handle_exception" and not (rec.kind == "error" and isinstance(payload, PlannedError)):
            problems.append(f"handle_exception({payload!r}) for a {rec.kind} task")
        if name == "timeout" and rec.timeout is None:
            problems.append("timed out without a timeout")
        after = [n for n, _ in rec.events[terminals[0] + 1 :]]
        if after:
            problems.append(f"callbacks after {name}: {after}")
    received = [item for name, items in rec.events if name == "progress" for item in items]
    if received != list(range(len(received))):
        problems.append(f"items lost or out of order: {received[:20]}")
    if status is TaskStatus.DONE and len(received) != rec.n_items:
        problems.append(f"done() after {len(received)} of {rec.n_items} items")
    return problems


@pytest.fixture
def quiet_log(monkeypatch: pytest.MonkeyPatch) -> None:
    # Thousands of deliberate unhandled errors: their tracebacks are only noise.
    monkeypatch.setattr(logging.getLogger("qbackground"), "disabled", True)


@pytest.mark.qbackground(threads=8, processes=2, process_grace=1.0, shutdown_timeout=10)
def test_chaos(qtbot: QtBot, qapp: QApplication, bg_worker: CheckedWorker, quiet_log: None) -> None:
    seed = int(os.environ.get("QBACKGROUND_CHAOS_SEED") or random.randrange(2**32))
    print(f"chaos seed: {seed} (replay with QBACKGROUND_CHAOS_SEED={seed})")
    rng = random.Random(seed)
    records = [Rec(i, rng) for i in range(N_TASKS)]
    queues = {name: [r for r in records if r.backend == name] for name in BACKEND_SHARE}
    threads_before = len(os_thread_ids())

    owners = [QWidget() for _ in range(N_OWNERS)]
    for owner in owners:
        owner.show()
    owner_gens = [0] * N_OWNERS
    canceller = ThreadCanceller()
    next_of = dict.fromkeys(BACKEND_SHARE, 0)
    in_flight: dict[str, set[Rec]] = {name: set() for name in BACKEND_SHARE}
    closes = 0
    started_at = monotonic()

    def cancel(rec: Rec, source: str) -> None:
        try:
            rec.cancel_results.append((source, rec.handler.cancel()))
        finally:
            rec.pending_cancels -= 1

    def launch(rec: Rec) -> None:
        owner = owners[rec.owner_index] if rec.owner_index is not None else None
        rec.task = rec.plan(owner)
        rec.handler = bg_worker.handle(rec.task, executor=rec.backend)
        if rec.owner_index is not None:
            rec.owner_gen = owner_gens[rec.owner_index]
        rec.pending_cancels = len(rec.cancels)
        rec.handler.execute()
        for source, delay in rec.cancels:
            if source == "gui":
                QTimer.singleShot(round(delay * 1000), lambda rec=rec: cancel(rec, "gui"))
            else:
                canceller.schedule(delay, lambda rec=rec: cancel(rec, "thread"))

    def top_up() -> None:
        for name, flying in in_flight.items():
            for rec in [r for r in flying if r.settled()]:
                flying.discard(rec)
            queue = queues[name]
            while len(flying) < IN_FLIGHT[name] and next_of[name] < len(queue):
                rec = queue[next_of[name]]
                next_of[name] += 1
                launch(rec)
                flying.add(rec)

    def close_an_owner() -> None:
        nonlocal closes
        if all(next_of[n] >= len(queues[n]) for n in queues) and not any(
            r.kind == "owner" and not r.settled() for f in in_flight.values() for r in f
        ):
            return
        index = rng.randrange(N_OWNERS)
        owner_gens[index] += 1
        closes += 1
        owners[index].close()  # interrupts its tasks (Close + Hide)
        owners[index].show()
        QTimer.singleShot(rng.randrange(2, 20), close_an_owner)

    feeder = QTimer()
    feeder.setInterval(1)
    feeder.timeout.connect(top_up)
    feeder.start()
    QTimer.singleShot(5, close_an_owner)

    def finished() -> bool:
        return all(next_of[n] >= len(queues[n]) for n in queues) and all(r.settled() for r in records)

    try:
        qtbot.waitUntil(finished, timeout=WAIT_MS)
    except Exception:
        stuck = [r for r in records if r.handler is not None and not r.settled()][:10]
        pytest.fail(f"seed {seed}: tasks did not settle within {WAIT_MS} ms; first unsettled: {stuck}")
    finally:
        feeder.stop()
        canceller.close()
    for _ in range(3):
        qapp.processEvents()  # a stray late callback would show up now
    elapsed = monotonic() - started_at

    problems = [f"{rec!r}: {p}" for rec in records for p in check(rec, owner_gens)]
    if canceller.errors:
        problems.append(f"cancel() from a thread raised: {canceller.errors[:3]}")

    # Every callback exception and every declined failure: unhandled_exception once.
    expected: Counter[tuple[int, int]] = Counter()
    expected_timeouts: Counter[int] = Counter()
    for rec in records:
        for exc in rec.raised:
            expected[(id(rec.task), id(exc))] += 1
        terminal = [rec.events[i] for i in rec.terminals()]
        if terminal and terminal[0][0] == "handle_exception":
            if not rec.handle_exception_returns or rec.raises["handle_exception"]:
                expected[(id(rec.task), id(terminal[0][1]))] += 1
        if terminal and terminal[0][0] == "timeout":
            if not rec.handle_timeout_returns or rec.raises["timeout"]:
                expected_timeouts[id(rec.task)] += 1
    got = Counter((id(task), id(exc)) for task, exc in bg_worker.unhandled)
    if got != expected:
        problems.append(f"unhandled_exception: missing {len(expected - got)}, extra {len(got - expected)}")
    if Counter(id(task) for task in bg_worker.timed_out) != expected_timeouts:
        problems.append("task_timed_out does not match the declined timeouts")
    bg_worker.expect_unhandled((CallbackError, PlannedError))

    outcomes = Counter(f"{r.backend}/{r.handler.status.name}" for r in records)
    items = sum(len([i for n, it in r.events if n == "progress" for i in it]) for r in records)
    threads_peak = len(os_thread_ids())
    leaks = bg_worker.finish()  # shut down; threads, processes, unhandled errors
    threads_after = len(os_thread_ids())
    print(
        f"chaos: {N_TASKS} tasks in {elapsed:.1f} s ({N_TASKS / elapsed:.0f}/s), {closes} owner closes, "
        f"{items} progress items delivered, {len(bg_worker.unhandled)} unhandled errors, "
        f"OS threads {threads_before} before / {threads_peak} at the end / {threads_after} after "
        f"shutdown; violations {len(problems)}, leaks {len(leaks)}"
    )
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    assert not problems, f"seed {seed}: {len(problems)} violations:\n" + "\n".join(problems[:40])
    assert not leaks, f"seed {seed}: " + "\n".join(leaks)
    # The run must have produced every ending on every backend, or it proves little.
    for backend in BACKEND_SHARE:
        for status in ("DONE", "FAILED", "CANCELLED", "TIMED_OUT", "INTERRUPTED"):
            assert outcomes[f"{backend}/{status}"] > 0, f"seed {seed}: no {backend} task ended {status}"
    for owner in owners:
        owner.close()
        owner.deleteLater()
