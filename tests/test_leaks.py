"""Leaks: 100,000 tasks through one worker leave threads, QObjects and memory bounded.

After a warm-up (so pools, caches and the allocator reach their steady state) the test
runs the tasks in waves of 2,000 (a mix: plain, publishing, failing and handled,
cancelled at once, with a never-expiring timeout, bound to an owner widget, and asyncio
coroutines), then compares with the warm-up snapshot:

=====================================  ===========================================
measure                                bound (after 100,000 tasks)
=====================================  ===========================================
OS threads (``/proc/self/task``)       no growth at all
``QObject`` wrappers alive (``gc``)     at most 5 more
more handlers alive, without timeout   at most 16 (whatever the last wave left in
                                       local variables of the loops)
more handlers alive, with a timeout    at most 1,024: the timeout thread drops
                                       finished tasks lazily, in batches of 256+
resident memory (RSS)                  at most 24 MiB more (≈ 250 bytes per task)
=====================================  ===========================================

``docs/testing.md`` lists the same bounds and the figures measured here.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from time import monotonic
from typing import Any

import pytest
from qtpy.QtCore import QObject
from qtpy.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from qbackground import (
    AsyncBackgroundTask,
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundWorker,
    TaskLifeCycle,
)
from qbackground._local import LocalLifeCycle
from qbackground.testing import child_processes, os_thread_ids, rss_bytes

N_TASKS = int(os.environ.get("QBACKGROUND_LEAK_TASKS", "100000"))
WAVE = 2_000
WARM_UP = 6_000
MAX_QOBJECT_GROWTH = 5
MAX_HANDLERS = 16
MAX_TIMED_HANDLERS = 1_024
MAX_RSS_GROWTH = 24 * 2**20


class Ending:
    """Counts terminal callbacks (the only thing the tasks share)."""

    def __init__(self) -> None:
        self.count = 0


class Plain(BackgroundTask[int, int]):
    def __init__(self, ending: Ending, kind: int, owner: QWidget | None = None, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout, owner=owner)
        self.ending = ending
        self.kind = kind

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        if self.kind == 1:
            lifecycle.publish(1, 2, 3)
            lifecycle.set_message("three")
        elif self.kind == 2:
            raise ValueError("handled on purpose")
        return self.kind

    def done(self, result: int) -> None:
        self.ending.count += 1

    def canceled(self) -> None:
        self.ending.count += 1

    def handle_exception(self, exc: BaseException) -> bool:
        self.ending.count += 1
        return True


class Coro(AsyncBackgroundTask[int, int]):
    def __init__(self, ending: Ending) -> None:
        super().__init__()
        self.ending = ending

    async def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        await asyncio.sleep(0)
        lifecycle.publish(1)
        return 1

    def done(self, result: int) -> None:
        self.ending.count += 1


def _qobjects() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, QObject))


def _handlers() -> list[BackgroundTaskHandler[Any]]:
    return [obj for obj in gc.get_objects() if isinstance(obj, BackgroundTaskHandler)]


def _snapshot(qapp: QApplication) -> dict[str, int]:
    for _ in range(3):
        qapp.processEvents()
    gc.collect()
    return {
        "threads": len(os_thread_ids()),
        "qobjects": _qobjects(),
        "handlers": sum(1 for h in _handlers() if h.task.timeout is None),
        "handlers_with_timeout": sum(1 for h in _handlers() if h.task.timeout is not None),
        "lifecycles": sum(1 for obj in gc.get_objects() if isinstance(obj, LocalLifeCycle)),
        "rss": rss_bytes(),
    }


@pytest.fixture
def lworker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(threads=4, strict=False)
    yield worker
    worker.shutdown(timeout=10)


def _wave(worker: BackgroundWorker, qtbot: QtBot, owner: QWidget, start: int, count: int) -> None:
    ending = Ending()
    expected = 0
    for i in range(start, start + count):
        pick = i % 20
        task: Any
        if pick < 4:
            task = Coro(ending)
        elif pick == 4:
            task = Plain(ending, 1, owner=owner)
        elif pick == 5:
            task = Plain(ending, 0, timeout=600.0)  # never expires: its deadline must go
        elif pick == 6:
            task = Plain(ending, 2)
        else:
            task = Plain(ending, pick % 2)
        handler = worker.handle(task)
        handler.execute()
        expected += 1
        if pick == 7:
            handler.cancel()  # canceled() at once; done() never
    qtbot.waitUntil(lambda: ending.count == expected and not worker.active_handlers(), timeout=60_000)


def test_100k_tasks_leave_no_trace(qapp: QApplication, qtbot: QtBot, lworker: BackgroundWorker) -> None:
    owner = QWidget()
    owner.show()
    children_before = set(child_processes())
    done = 0
    while done < WARM_UP:
        _wave(lworker, qtbot, owner, done, WAVE)
        done += WAVE
    before = _snapshot(qapp)
    started = monotonic()
    done = 0
    while done < N_TASKS:
        count = min(WAVE, N_TASKS - done)
        _wave(lworker, qtbot, owner, done, count)
        done += count
    elapsed = monotonic() - started
    after = _snapshot(qapp)
    growth = {key: after[key] - before[key] for key in before}
    print(
        f"leaks: {N_TASKS} tasks in {elapsed:.1f} s ({N_TASKS / elapsed:.0f}/s); before {before}; "
        f"after {after}; growth {growth} (RSS {growth['rss'] / 2**20:+.1f} MiB, "
        f"{growth['rss'] / N_TASKS:+.0f} B/task)"
    )
    assert growth["threads"] <= 0, f"OS threads grew by {growth['threads']}"
    assert growth["qobjects"] <= MAX_QOBJECT_GROWTH, f"QObjects grew by {growth['qobjects']}"
    # Growth, not totals: other tests of the session may keep their own handlers.
    assert growth["handlers"] <= MAX_HANDLERS, f"{growth['handlers']} more handlers without a timeout alive"
    assert growth["handlers_with_timeout"] <= MAX_TIMED_HANDLERS, growth
    assert growth["lifecycles"] <= MAX_HANDLERS + MAX_TIMED_HANDLERS, growth
    assert growth["rss"] <= MAX_RSS_GROWTH, f"RSS grew by {growth['rss'] / 2**20:.1f} MiB"
    assert lworker.shutdown(timeout=10)
    owner.close()
    owner.deleteLater()
    qapp.processEvents()
    assert set(child_processes()) <= children_before
