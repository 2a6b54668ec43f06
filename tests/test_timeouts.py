"""Timeouts: counted from execute(), delivered promptly, even while get_result() blocks."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, TaskLifeCycle, TaskStatus, TaskTimeoutError

from .helpers import Gate, Recorder


def test_timeout_runs_handle_timeout_exception_only(worker: BackgroundWorker, qtbot: QtBot, unhandled: Any) -> None:
    task = Gate(timeout=0.05)
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.terminal == ["timeout"])
    assert handler.status is TaskStatus.TIMED_OUT
    assert not handler.is_alive() and handler.cancel() is False
    assert task.stopped.wait(5)  # run() saw is_interrupted()
    assert unhandled.timeouts == []
    with pytest.raises(TaskTimeoutError):
        handler.get_result()


def test_unhandled_timeout_emits_signal(worker: BackgroundWorker, qtbot: QtBot, unhandled: Any) -> None:
    task = Gate(timeout=0.02)
    task.handled = False
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: unhandled.timeouts == [task])


def test_timeout_is_prompt_while_gui_blocked_in_get_result(worker: BackgroundWorker) -> None:
    task = Gate(timeout=0.2)
    handler = worker.handle(task)
    start = time.monotonic()
    handler.execute()
    with pytest.raises(TaskTimeoutError):
        handler.get_result()
    late = time.monotonic() - start - 0.2
    assert task.terminal == ["timeout"]
    # Generous bound for a loaded CI machine; the benchmark measures the real figure.
    assert late < 0.5, f"timeout delivered {late * 1000:.0f} ms late"


def test_timeout_counts_from_execute_not_start(qapp: Any, qtbot: QtBot) -> None:
    worker = BackgroundWorker(threads=1)
    try:
        blocker = Gate()
        worker.handle(blocker).execute()
        queued = Gate(timeout=0.05)
        handler = worker.handle(queued)
        handler.execute()
        qtbot.waitUntil(lambda: queued.terminal == ["timeout"])
        assert not queued.started.is_set()  # it timed out while still queued
        blocker.release.set()
        qtbot.waitUntil(lambda: blocker.terminal == ["done"])
    finally:
        assert worker.shutdown(timeout=5)


def test_finished_before_deadline_is_not_timed_out(worker: BackgroundWorker, qtbot: QtBot) -> None:
    tasks = [Recorder(timeout=0.03) for _ in range(50)]
    for task in tasks:
        worker.handle(task).execute()
    past_deadlines = time.monotonic() + 0.1
    qtbot.waitUntil(lambda: all(t.terminal for t in tasks))
    # Keep the event loop running past every deadline: no late timeout may follow done().
    qtbot.waitUntil(lambda: time.monotonic() > past_deadlines)
    assert all(t.terminal == ["done"] for t in tasks)


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (-1, ValueError, "negative"),
        (math.nan, ValueError, "NaN"),
        ("10", TypeError, "number of seconds"),
        (True, TypeError, "number of seconds"),
        ([1], TypeError, "number of seconds"),
    ],
)
def test_bad_timeouts(value: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        Recorder(timeout=value)


def test_timeout_forms() -> None:
    assert Recorder(timeout=None).timeout is None
    assert Recorder(timeout=0).timeout is None
    assert Recorder(timeout=math.inf).timeout is None
    assert Recorder(timeout=timedelta(milliseconds=1500)).timeout == 1.5
    assert Recorder(timeout=2).timeout == 2.0


def test_many_timeouts_fire_in_deadline_order(worker: BackgroundWorker, qtbot: QtBot) -> None:
    order: list[int] = []

    class Sleeper(Recorder):
        def __init__(self, index: int, timeout: float) -> None:
            super().__init__(timeout=timeout)
            self.index = index

        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            lifecycle.sleep(10)

        def handle_timeout_exception(self) -> bool:
            order.append(self.index)
            return True

    for index, timeout in enumerate([0.09, 0.03, 0.06]):
        worker.handle(Sleeper(index, timeout)).execute()
    qtbot.waitUntil(lambda: len(order) == 3)
    assert order == [1, 2, 0]
