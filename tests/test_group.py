"""Task groups (DESIGN §9): thread, process and asyncio members in one group."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from qtpy.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from qbackground import (
    AsyncBackgroundTask,
    BackgroundTask,
    BackgroundWorker,
    TaskCancelledError,
    TaskGroup,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
    TaskTimeoutError,
)


class Value(BackgroundTask[Any, int]):
    """Returns ``value`` after ``work`` s (cooperative), or raises when ``fail``."""

    def __init__(self, value: int, work: float = 0.0, fail: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.value, self.work, self.fail = value, work, fail

    def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        lifecycle.set_message(f"value {self.value}")
        lifecycle.sleep(self.work)
        if self.fail:
            raise ValueError(f"member {self.value} failed")
        return self.value


class AsyncValue(AsyncBackgroundTask[Any, int]):
    def __init__(self, value: int, work: float = 0.0) -> None:
        super().__init__()
        self.value, self.work = value, work

    async def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        await asyncio.sleep(self.work)
        return self.value


class Held(BackgroundTask[Any, int]):
    """Runs until ``release`` is set (thread backend only)."""

    running = 0
    peak = 0
    lock = threading.Lock()

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        with Held.lock:
            Held.running += 1
            Held.peak = max(Held.peak, Held.running)
        try:
            self.release.wait(10)
            return 1
        finally:
            with Held.lock:
                Held.running -= 1


def _mixed(group: TaskGroup[Any], fail_process: bool = False) -> list[Any]:
    return [
        group.handle(Value(1, 0.05)).start(),
        group.handle(Value(2, 0.2, fail=fail_process), executor="process").start(),
        group.handle(AsyncValue(3, 0.05)).start(),
    ]


def test_results_in_order_and_when_done_once(worker: BackgroundWorker, qtbot: QtBot) -> None:
    group = worker.group()
    calls: list[list[Any]] = []
    group.when_done(lambda g: calls.append(g.get_results()))
    members = _mixed(group)
    assert group.handlers == members and group.is_alive()
    assert group.get_results(timeout=60) == [1, 2, 3]
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    assert calls == [[1, 2, 3]] and group.fraction == 1.0 and not group.is_alive()
    with pytest.raises(TaskStateError, match="already ended"):
        group.handle(Value(4))


def test_fail_fast_cancels_the_siblings(worker: BackgroundWorker, qtbot: QtBot) -> None:
    group = worker.group(fail_fast=True)
    slow = group.handle(Value(1, 30)).start()
    slow_async = group.handle(AsyncValue(3, 30)).start()
    bad = group.handle(Value(2, 0.1, fail=True), executor="process").start()
    ended: list[TaskGroup[Any]] = []
    group.when_done(ended.append)
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    assert bad.status is TaskStatus.FAILED
    assert slow.status is TaskStatus.CANCELLED and slow_async.status is TaskStatus.CANCELLED
    with pytest.raises(ValueError, match="member 2 failed"):
        group.get_results(timeout=5)


def test_a_member_failing_while_another_is_cancelled(worker: BackgroundWorker, qtbot: QtBot) -> None:
    """The race: a cancel and a failure land together; each member still ends once."""
    unhandled: list[BaseException] = []
    worker.unhandled_exception.connect(lambda task, exc: unhandled.append(exc))
    for _ in range(20):
        group = worker.group(fail_fast=True)
        failing = group.handle(Value(1, 0.0, fail=True)).start()
        other = group.handle(Value(2, 0.0)).start()
        other.cancel()
        ended: list[Any] = []
        group.when_done(ended.append)
        qtbot.waitUntil(lambda: bool(ended), timeout=5_000)
        assert len(ended) == 1
        assert failing.status is TaskStatus.FAILED and other.status is TaskStatus.CANCELLED
    qtbot.wait(50)
    assert len(unhandled) == 20  # one per failure, no more


def test_the_group_cancelled_while_members_finish(worker: BackgroundWorker, qtbot: QtBot) -> None:
    for _ in range(20):
        group = worker.group()
        members = _mixed(group)[::2]  # thread and asyncio: fast
        ended: list[Any] = []
        group.when_done(ended.append)
        time.sleep(0.04)  # let them (nearly) finish: the race this test is about
        group.cancel()
        qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
        assert len(ended) == 1
        assert all(m.status in (TaskStatus.DONE, TaskStatus.CANCELLED) for m in members)
        with pytest.raises(TaskStateError):
            group.handle(Value(5))
    if any(m.status is TaskStatus.CANCELLED for m in members):
        with pytest.raises(TaskCancelledError):
            group.get_results()


def test_max_parallel_bounds_the_members(qapp: Any, qtbot: QtBot) -> None:
    worker = BackgroundWorker(threads=8)
    try:
        Held.peak = 0
        release = threading.Event()
        group = worker.group(max_parallel=2)
        members = [group.handle(Held(release)).start() for _ in range(6)]
        other = worker.handle(Held(release)).start()  # the worker's limit is untouched
        qtbot.waitUntil(lambda: Held.running == 3, timeout=5_000)
        assert sum(m.status is TaskStatus.QUEUED for m in members) == 4
        assert len(worker.active_handlers()) == 7  # waiting members count as tasks
        release.set()
        assert group.get_results(timeout=10) == [1] * 6
        assert other.get_result(timeout=10) == 1
        assert Held.peak == 3
    finally:
        worker.shutdown(timeout=5)


def test_the_owner_closing_interrupts_every_member(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = QWidget()
    window.show()
    group = worker.group(owner=window, max_parallel=1)
    members = [group.handle(Value(i, 30)).start() for i in range(3)]
    members.append(group.handle(AsyncValue(9, 30)).start())
    window.close()
    qtbot.waitUntil(lambda: all(m.status is TaskStatus.INTERRUPTED for m in members), timeout=5_000)


def test_nested_groups(worker: BackgroundWorker, qtbot: QtBot) -> None:
    outer = worker.group(fail_fast=True)
    slow = outer.handle(Value(1, 30)).start()
    inner = outer.group()
    inner.handle(Value(2, 0.05, fail=True)).start()
    ended: list[Any] = []
    outer.when_done(ended.append)
    qtbot.waitUntil(lambda: bool(ended), timeout=10_000)
    assert slow.status is TaskStatus.CANCELLED
    with pytest.raises(ValueError, match="member 2 failed"):
        outer.get_results()
    ok = worker.group()
    ok.handle(Value(1)).start()
    ok.group().handle(Value(2)).start()
    assert ok.get_results(timeout=10) == [1, [2]]


class Deadline(Value):
    """A member whose timeout is handled (shown through the group)."""

    def handle_timeout_exception(self) -> bool:
        return True


def test_fail_fast_a_member_timing_out_cancels_the_siblings(worker: BackgroundWorker, qtbot: QtBot) -> None:
    group = worker.group(fail_fast=True)
    late = group.handle(Deadline(1, 30, timeout=0.2)).start()
    sibling = group.handle(Value(2, 30)).start()
    waiting_async = group.handle(AsyncValue(3, 30)).start()
    ended: list[TaskGroup[Any]] = []
    group.when_done(ended.append)
    qtbot.waitUntil(lambda: bool(ended), timeout=30_000)
    assert late.status is TaskStatus.TIMED_OUT
    assert sibling.status is TaskStatus.CANCELLED and waiting_async.status is TaskStatus.CANCELLED
    assert ended == [group] and not group.is_alive()
    with pytest.raises(TaskTimeoutError):
        group.get_results(timeout=5)


def test_members_count_in_the_status_widget(worker: BackgroundWorker, qtbot: QtBot) -> None:
    from qbackground.widgets import TaskStatusWidget

    status = TaskStatusWidget(worker, hide_when_idle=False)
    qtbot.addWidget(status)
    release = threading.Event()
    group = worker.group()
    members = [group.handle(Held(release)).start() for _ in range(3)]
    qtbot.waitUntil(lambda: all(m.status is TaskStatus.RUNNING for m in members), timeout=10_000)
    qtbot.waitUntil(lambda: status.running_count == 3, timeout=5_000)
    assert status.count_label.text() == "3 tasks running"
    assert status.cancel_all() == 3  # Cancel All reaches the members too
    qtbot.waitUntil(lambda: not group.is_alive(), timeout=5_000)
    assert all(m.status is TaskStatus.CANCELLED for m in members)
    qtbot.waitUntil(lambda: status.running_count == 0, timeout=5_000)
    release.set()
