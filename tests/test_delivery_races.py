"""Races between a task's thread and the GUI thread that a slip in the core would lose.

* Nothing runs after ``shutdown()``: a task thread that ignores interruption and
  ends later must not get any callback (``when_stopped`` included) on the GUI thread.
* No item is lost while the GUI thread takes a batch: with the interpreter switching
  threads every microsecond, every published item arrives exactly once, in order.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from qtpy.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundWorker,
    TaskLifeCycle,
    TaskStatus,
)

from .helpers import Recorder


class _Stubborn(Recorder):
    """Ignores interruption: waits for ``release``, then keeps reporting (and
    swallowing the ``TaskInterruptedError`` each report raises) before it returns."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()
        self.late_reports_refused = 0

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish("early")
        self.started.set()
        self.release.wait(10)
        for report in (lambda: lifecycle.publish("late"), lambda: lifecycle.set_message("late")):
            try:
                report()
            except BaseException:  # noqa: BLE001 - this task ignores interruption on purpose
                self.late_reports_refused += 1
        return "finished anyway"


def test_nothing_runs_on_the_gui_thread_after_shutdown(qapp: QApplication) -> None:
    worker = BackgroundWorker(threads=1)
    task = _Stubborn()
    stopped: list[BackgroundTaskHandler[Any]] = []
    handler = worker.handle(task)
    handler.when_stopped(stopped.append)
    handler.execute()
    assert task.started.wait(5)
    assert worker.shutdown(wait=False) is False  # its thread is still busy
    assert handler.status is TaskStatus.INTERRUPTED
    qapp.processEvents()
    calls_at_shutdown = list(task.calls)

    task.release.set()  # run() now ends, long after the shutdown
    for thread in worker._threads.threads():
        thread.join(5)
        assert not thread.is_alive()
    assert task.late_reports_refused == 2

    dispatcher = worker._dispatcher
    assert not dispatcher._inbound, "the finished run() posted work to a closed dispatcher"
    for _ in range(5):
        qapp.processEvents()
    assert stopped == [], "when_stopped ran after shutdown()"
    assert task.calls == calls_at_shutdown, f"callbacks after shutdown(): {task.calls[len(calls_at_shutdown):]}"
    assert not dispatcher._frame_timer.isActive(), "the frame timer was restarted after shutdown()"


class _Flood(BackgroundTask[int, int]):
    """Publishes ``count`` consecutive integers in small bursts."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.received: list[int] = []

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        publish = lifecycle.publish
        for i in range(self.count):
            publish(i)
        return self.count

    def progress(self, changes: list[int]) -> None:
        self.received.extend(changes)


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Make the interpreter hand the GIL over every microsecond, so a task thread
    interleaves with the GUI thread inside the few bytecodes that take a batch."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def test_every_item_arrives_once_in_order_under_fast_thread_switching(
    qapp: QApplication, qtbot: QtBot, fast_switching: None
) -> None:
    # progress_interval ~0: the GUI thread takes a batch at every drain, so a flood
    # of 2,000,000 items gives it hundreds of chances to interleave with publish().
    # A core that copied and then cleared the pending items (instead of taking them
    # atomically) lost items in about 2 of 3 such floods here: five floods catch it.
    worker = BackgroundWorker(threads=1, progress_interval=1e-6)
    try:
        for _ in range(5):
            task = _Flood(2_000_000)
            handler = worker.handle(task)
            handler.execute()
            qtbot.waitUntil(lambda: handler.status is TaskStatus.DONE, timeout=60_000)
            received = task.received
            assert len(received) == task.count, f"{task.count - len(received)} items lost"
            assert received == list(range(task.count)), "items duplicated or out of order"
    finally:
        worker.shutdown(timeout=5)
