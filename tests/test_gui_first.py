"""The GUI thread first (issue 19): the two places where task threads step aside.

* a task's reporting calls let go of the GIL every few milliseconds (``_pacing``), never
  on the GUI thread itself;
* a task thread that posts while the GUI left a wake-up unanswered yields
  (``_dispatcher``), unless the GUI thread is busy elsewhere for long; nothing waits
  for the event loop, so a GUI thread that blocks on a task right after a burst of
  submits sees it start.

How much this buys is measured in ``make bench`` (scenario 9, GUI stalls in a cold
process); these tests pin the behaviour down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from time import monotonic, perf_counter
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from qtpy.QtWidgets import QApplication

import qbackground._dispatcher as dispatcher_module
import qbackground._local as local_module
from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle
from qbackground._pacing import INTERVAL, YIELD
from qbackground.backends import Executor, Job


class _Stamp(BackgroundTask[None, int]):
    """Records when its run() started."""

    def __init__(self, starts: list[float], index: int) -> None:
        super().__init__()
        self._starts = starts
        self._index = index

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        self._starts.append(perf_counter())  # list.append is atomic under the GIL
        return self._index


@pytest.fixture
def pool(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(threads=4, strict=False)
    yield worker
    assert worker.shutdown(timeout=10)


def test_the_gui_thread_may_block_right_after_a_burst(pool: BackgroundWorker) -> None:
    """Nothing waits for the event loop: a GUI thread that submits a burst and then
    blocks on the last task (no event loop runs) sees it start promptly."""
    started = threading.Event()

    class Last(BackgroundTask[None, None]):
        def run(self, lifecycle: TaskLifeCycle[None]) -> None:
            started.set()

    starts: list[float] = []
    for i in range(500):
        pool.handle(_Stamp(starts, i)).execute()
    begin = monotonic()
    pool.handle(Last()).execute()
    assert started.wait(10), "the last task of a burst did not start while the GUI thread waited"
    assert monotonic() - begin < 5


class _Counter:
    """Wraps ``time.sleep`` in a module and counts the hand-overs (sleeps of ``length``)."""

    def __init__(self, module: Any, length: float, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[float, str]] = []
        real = module.sleep

        def sleep(seconds: float) -> None:
            if seconds == length:
                self.calls.append((seconds, threading.current_thread().name))
            real(seconds)

        monkeypatch.setattr(module, "sleep", sleep)


class _Flood(BackgroundTask[int, int]):
    """Publishes, sets progress and checks for cancel for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._seconds = seconds

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        end = monotonic() + self._seconds
        count = 0
        while monotonic() < end:
            lifecycle.publish(count)
            lifecycle.set_progress(0.5)
            lifecycle.is_cancelled()
            count += 1
        return count


def test_reporting_calls_hand_the_gil_over(
    pool: BackgroundWorker, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    handovers = _Counter(local_module, YIELD, monkeypatch)
    seconds = 0.2
    handler = pool.handle(_Flood(seconds))
    handler.execute()
    qtbot.waitUntil(handler.is_done, timeout=10_000)
    assert handler.get_result(0) > 0
    # About one per INTERVAL of reporting; the sleeps themselves stretch the interval.
    assert seconds / INTERVAL / 4 <= len(handovers.calls) <= seconds / INTERVAL + 2, handovers.calls[:3]
    assert all(name != threading.main_thread().name for _, name in handovers.calls)


class _OnTheCaller(Executor):
    """Runs each job at once on the thread that submits it (here: the GUI thread)."""

    name = "inline"

    def submit(self, job: Job) -> None:
        job.run_here()

    def shutdown(self, timeout: float | None) -> bool:
        return True


def test_a_task_on_the_gui_thread_never_sleeps(
    pool: BackgroundWorker, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    handovers = _Counter(local_module, YIELD, monkeypatch)
    handler = pool.handle(_Flood(0.05), executor=_OnTheCaller())
    handler.execute()
    qtbot.waitUntil(handler.is_done, timeout=10_000)
    assert handler.get_result(0) > 0
    assert handovers.calls == []


def test_a_post_yields_while_the_gui_leaves_a_wake_up_unanswered(
    pool: BackgroundWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    yields = _Counter(dispatcher_module, dispatcher_module.YIELD, monkeypatch)
    dispatcher = pool._dispatcher

    def post_from_a_thread() -> None:
        thread = threading.Thread(target=dispatcher.post, args=(lambda: None,), name="poster")
        thread.start()
        thread.join(5)

    dispatcher.post(lambda: None)  # a wake-up is now pending, just posted
    assert dispatcher._wake_pending
    # "Just now" = within LAG; a thread may take milliseconds to start on a loaded
    # machine, so LAG is stretched for this one check.
    monkeypatch.setattr(dispatcher_module, "LAG", 5.0)
    post_from_a_thread()
    assert yields.calls == [], "yielded although the GUI was asked just now"
    monkeypatch.setattr(dispatcher_module, "LAG", 0.002)
    dispatcher._woken_at = dispatcher._served_at = monotonic() - 10 * dispatcher_module.LAG
    post_from_a_thread()
    assert len(yields.calls) == 1, "a post did not yield to a GUI thread that lags behind"
    dispatcher.post(lambda: None)  # the GUI thread itself never yields to itself
    assert len(yields.calls) == 1
    dispatcher._woken_at = dispatcher._served_at = monotonic() - 2 * dispatcher_module.GIVE_UP
    post_from_a_thread()
    assert len(yields.calls) == 1, "yielded to a GUI thread that is busy elsewhere"
    dispatcher.drain()


def test_a_post_never_yields_to_a_gui_thread_waiting_for_work(
    pool: BackgroundWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In get_result() the GUI thread waits for work, it does not lag: a post wakes it
    at once (a yield there slowed a script's loop of get_result() calls by half)."""
    yields = _Counter(dispatcher_module, dispatcher_module.YIELD, monkeypatch)
    dispatcher = pool._dispatcher
    dispatcher.post(lambda: None)
    dispatcher._woken_at = dispatcher._served_at = monotonic() - 10 * dispatcher_module.LAG
    dispatcher._waiters += 1  # as wait_for_work() does while the GUI thread waits
    try:
        thread = threading.Thread(target=dispatcher.post, args=(lambda: None,), name="poster")
        thread.start()
        thread.join(5)
    finally:
        dispatcher._waiters -= 1
    assert yields.calls == []
    dispatcher.drain()
