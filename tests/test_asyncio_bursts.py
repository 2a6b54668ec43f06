"""The asyncio backend under a burst of starts: chunked starts, the collector hold.

Each test holds the private loop inside a callback while the GUI thread submits, so
the whole burst waits for the loop at once (as when the GUI outruns it), then lets go.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from qtpy.QtWidgets import QApplication

from qbackground import AsyncBackgroundTask, BackgroundTaskHandler, BackgroundWorker, TaskLifeCycle, TaskStatus
from qbackground.backends import _collector_hold

BURST = 3_000  # about three start chunks


class Waiting(AsyncBackgroundTask[None, int]):
    """Calls ``probe(index)`` at its first step, then waits to be cancelled."""

    def __init__(self, index: int, probe: Callable[[int], None]) -> None:
        super().__init__()
        self.index = index
        self.probe = probe

    async def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        self.probe(self.index)
        await asyncio.sleep(60)
        return self.index


@pytest.fixture(params=["asyncio", "uvloop"])
def lworker(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(asyncio_loop=request.param)
    yield worker
    assert worker.shutdown(timeout=10)
    assert gc.isenabled()


def _burst(worker: BackgroundWorker, probe: Callable[[int], None]) -> list[BackgroundTaskHandler[int]]:
    """Submit ``BURST`` tasks while the loop is held, so it finds all of them waiting."""
    loop = worker._asyncio.loop
    entered, gate = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        entered.set()
        assert gate.wait(30)

    loop.call_soon_threadsafe(hold_the_loop)
    assert entered.wait(10)
    try:
        handlers = [worker.handle(Waiting(i, probe)) for i in range(BURST)]
        for handler in handlers:
            handler.execute()
    finally:
        gate.set()
    return handlers


def _sync_with_loop(worker: BackgroundWorker) -> None:
    """Return once every callback the loop had queued before this call has run."""
    for _ in range(2):  # twice: what those callbacks queued in turn runs too
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), worker._asyncio.loop).result(10)


def _cancel_all(handlers: list[BackgroundTaskHandler[int]], worker: BackgroundWorker, qtbot: QtBot) -> None:
    for handler in handlers:
        handler.cancel()
    qtbot.waitUntil(lambda: worker._asyncio.running == 0, timeout=10_000)


def test_a_long_burst_starts_its_first_coroutines_before_its_last_ones_begin(
    lworker: BackgroundWorker, qtbot: QtBot
) -> None:
    # Starts go in chunks, each followed by its coroutines' first steps: the first
    # coroutines run while most of the burst still waits (spread starts, spread ends).
    queued_at_first_step: list[int] = []
    started = [0]
    handlers: list[BackgroundTaskHandler[int]] = []

    def probe(index: int) -> None:
        if index == 0:
            queued_at_first_step.append(sum(h.status is TaskStatus.QUEUED for h in handlers))
        started[0] += 1

    handlers.extend(_burst(lworker, probe))
    qtbot.waitUntil(lambda: started[0] == BURST, timeout=10_000)
    assert len(queued_at_first_step) == 1
    assert queued_at_first_step[0] >= BURST - 1_100, (
        f"{BURST - queued_at_first_step[0]} tasks had begun before the first one's first step"
    )
    _cancel_all(handlers, lworker, qtbot)


def test_a_burst_holds_the_collector_until_its_first_steps_only(
    lworker: BackgroundWorker, qtbot: QtBot
) -> None:
    enabled_at_first_step: list[bool] = []
    young_collections: list[int] = []
    loop_thread: list[int] = []

    def probe(index: int) -> None:
        if not loop_thread:
            loop_thread.append(threading.get_ident())
        enabled_at_first_step.append(gc.isenabled())

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] >= 1 and threading.get_ident() in loop_thread:
            young_collections.append(info["generation"])

    gc.callbacks.append(on_gc)
    try:
        handlers = _burst(lworker, probe)
        qtbot.waitUntil(lambda: len(enabled_at_first_step) == BURST, timeout=10_000)
        # Held through every first step of the burst ...
        assert not any(enabled_at_first_step)
        # ... and given back right after them, while the coroutines still wait, with
        # one young collection that moves the burst up at once.
        qtbot.waitUntil(gc.isenabled, timeout=5_000)
        _sync_with_loop(lworker)
        assert young_collections[:1] == [1]
        assert all(h.status is TaskStatus.RUNNING for h in handlers)
    finally:
        gc.callbacks.remove(on_gc)
    _cancel_all(handlers, lworker, qtbot)


def test_a_collector_the_application_disabled_stays_disabled(
    lworker: BackgroundWorker, qtbot: QtBot
) -> None:
    started = [0]

    def probe(index: int) -> None:
        started[0] += 1

    gc.disable()
    try:
        handlers = _burst(lworker, probe)
        qtbot.waitUntil(lambda: started[0] == BURST, timeout=10_000)
        _sync_with_loop(lworker)
        assert not gc.isenabled()
        _cancel_all(handlers, lworker, qtbot)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_hold_older_than_its_limit_lets_young_collections_run(
    lworker: BackgroundWorker, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A steady stream of starts must not keep the collector off: past HOLD_LIMIT the
    # hold ends between two chunks (here at once), even though more starts wait.
    monkeypatch.setattr(_collector_hold, "HOLD_LIMIT", 0.0)
    collections = [0]
    seen_at_first_step: dict[int, int] = {}

    def probe(index: int) -> None:
        seen_at_first_step[index] = collections[0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] >= 1:
            collections[0] += 1

    gc.callbacks.append(on_gc)
    try:
        handlers = _burst(lworker, probe)
        qtbot.waitUntil(lambda: len(seen_at_first_step) == BURST, timeout=10_000)
    finally:
        gc.callbacks.remove(on_gc)
    assert seen_at_first_step[BURST - 1] > seen_at_first_step[0], "no collection within the burst"
    _cancel_all(handlers, lworker, qtbot)
