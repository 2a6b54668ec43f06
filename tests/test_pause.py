"""pause()/resume() details beyond the contract suite: thread and asyncio specifics,
misuse, sub-contexts, the executor hook, tasks_changed."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from qbackground import (
    AsyncBackgroundTask,
    BackgroundTask,
    BackgroundWorker,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
)
from qbackground.backends import Executor, Job

from .helpers import wait_until_still

WAIT = 10.0


class Checkpoints(BackgroundTask[None, str]):
    """Counts passes through ``checkpoint()`` on a side channel (no reports at all)."""

    def __init__(self, sub: bool = False, call: str = "checkpoint") -> None:
        super().__init__()
        self.passes = 0
        self.sub = sub
        self.call = call
        self.stop = threading.Event()

    def run(self, lifecycle: TaskLifeCycle[None]) -> str:
        target = lifecycle.sub_context(0.0, 0.5) if self.sub else lifecycle
        while not self.stop.is_set():
            if self.call == "checkpoint":
                target.checkpoint()
            elif self.call == "is_cancelled":
                target.is_cancelled()
            else:
                target.set_progress(0.5)
            self.passes += 1
            self.stop.wait(0.001)
        return "stopped"


def _held(qtbot: QtBot, task: Checkpoints) -> int:
    """Wait until the count stops growing (the task is held); the count."""
    return wait_until_still(qtbot, lambda: task.passes)


@pytest.mark.parametrize("call", ["checkpoint", "is_cancelled", "set_progress"])
@pytest.mark.parametrize("sub", [False, True], ids=["lifecycle", "sub_context"])
def test_checkpoint_holds_a_thread_task_without_any_report(
    worker: BackgroundWorker, qtbot: QtBot, sub: bool, call: str
) -> None:
    """checkpoint(), and the calls a loop makes anyway (is_cancelled(), set_progress(),
    which also hand the GIL over), hold a paused thread task."""
    task = Checkpoints(sub, call)
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.passes > 3, timeout=5000)
    assert handler.pause()
    held = _held(qtbot, task)
    qtbot.wait(200)
    assert task.passes == held
    assert handler.resume()
    qtbot.waitUntil(lambda: task.passes > held + 3, timeout=5000)
    task.stop.set()
    assert handler.get_result(timeout=WAIT) == "stopped"
    assert handler.status is TaskStatus.DONE


def test_pause_and_resume_before_execute_refuse(worker: BackgroundWorker) -> None:
    handler = worker.handle(Checkpoints())
    with pytest.raises(TaskStateError, match="before execute"):
        handler.pause()
    assert handler.resume() is False  # nothing to resume
    assert not handler.is_paused() and handler.status is TaskStatus.CREATED


def test_a_finished_task_cannot_be_paused(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Checkpoints()
    task.stop.set()
    handler = worker.handle(task)
    handler.execute()
    assert handler.get_result(timeout=WAIT) == "stopped"
    assert handler.pause() is False and handler.resume() is False
    assert handler.status is TaskStatus.DONE


def test_pause_changes_emit_tasks_changed(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Checkpoints()
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.passes > 0, timeout=5000)
    worker.flush_tasks_changed()
    with qtbot.waitSignal(worker.tasks_changed, timeout=5000):
        handler.pause()
    with qtbot.waitSignal(worker.tasks_changed, timeout=5000):
        handler.resume()
    handler.cancel()


class Ticker(AsyncBackgroundTask[int, str]):
    """A coroutine held by ``await checkpoint()``, and one that only publishes."""

    def __init__(self, awaits: bool) -> None:
        super().__init__()
        self.awaits = awaits
        self.passes = 0

    async def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        while True:
            if self.awaits:
                await lifecycle.checkpoint()
            lifecycle.publish(self.passes)  # never blocks the loop, paused or not
            self.passes += 1
            await asyncio.sleep(0.001)


def test_a_paused_coroutine_waits_in_checkpoint_and_the_loop_runs_on(
    worker: BackgroundWorker, qtbot: QtBot
) -> None:
    held_task, free_task = Ticker(awaits=True), Ticker(awaits=False)
    held = worker.handle(held_task)
    free = worker.handle(free_task)
    held.execute()
    free.execute()
    qtbot.waitUntil(lambda: held_task.passes > 3 and free_task.passes > 3, timeout=5000)
    assert held.pause() and free.pause()
    qtbot.wait(100)
    count = held_task.passes
    free_count = free_task.passes
    qtbot.wait(300)
    assert held_task.passes == count, "await checkpoint() did not hold the paused coroutine"
    # The loop was never blocked: a coroutine without checkpoints runs on, publishing.
    assert free_task.passes > free_count + 3
    assert held.status is TaskStatus.PAUSED
    assert held.resume()
    qtbot.waitUntil(lambda: held_task.passes > count + 3, timeout=5000)
    assert held.pause()
    assert held.cancel() and free.cancel()
    assert held.status is TaskStatus.CANCELLED


class Recording(Executor):
    """An executor that runs jobs on threads and records on_pause() calls."""

    name = "recording"

    def __init__(self) -> None:
        self.pauses: list[bool] = []

    def submit(self, job: Job) -> None:
        threading.Thread(target=job.run_here, daemon=True).start()

    def on_pause(self, job: Job) -> None:
        self.pauses.append(job.is_paused())

    def shutdown(self, timeout: float | None) -> bool:
        return True


def test_a_custom_executor_hears_pause_and_resume(worker: BackgroundWorker, qtbot: QtBot) -> None:
    executor = Recording()
    task = Checkpoints()
    handler = worker.handle(task, executor=executor)
    handler.execute()
    qtbot.waitUntil(lambda: task.passes > 0, timeout=5000)
    assert handler.pause() and not handler.pause()
    assert handler.resume() and not handler.resume()
    assert executor.pauses == [True, False]
    task.stop.set()
    assert handler.get_result(timeout=WAIT) == "stopped"


def test_shutdown_ends_a_paused_task(qtbot: QtBot, qapp: Any) -> None:
    worker = BackgroundWorker(threads=1)
    task = Checkpoints()
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.passes > 0, timeout=5000)
    assert handler.pause()
    assert worker.shutdown(timeout=5), "a paused task kept its thread through shutdown()"
    assert handler.status is TaskStatus.INTERRUPTED
