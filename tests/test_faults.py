"""Faults: killed worker processes, tasks that ignore cancellation, quitting with running
tasks, double shutdown, and handlers that outlive their worker.

``tests/test_process.py`` covers a worker that kills itself and a cancelled task that
ignores the cancel; ``tests/test_worker.py`` an app that quits with 50 thread tasks. This
file adds the faults that come from outside or from the other backends.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from qbackground.qt import delete
from qtpy.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import (
    AsyncBackgroundTask,
    BackgroundWorker,
    ProcessCrashedError,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
)
from qbackground.testing import CheckedWorker, child_processes, wait_task

from .contract_tasks import AsyncScripted, Scripted

# -- module-level tasks: the process backend pickles them by reference ------------------


class ReportPid(Scripted):
    """Publishes its worker's pid, then waits: until interrupted, or forever if deaf."""

    def __init__(self, deaf: bool = False, timeout: float | None = None) -> None:
        super().__init__([], timeout=timeout)
        self.deaf = deaf

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish(os.getpid())
        lifecycle.flush()
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.deaf:
                time.sleep(0.001)  # never looks at the lifecycle
            else:
                lifecycle.sleep(0.005)
        return "late"


class Quick(Scripted):
    def __init__(self) -> None:
        super().__init__([("publish", 3), ("return", "quick")])


def _pid_of(qtbot: QtBot, task: Scripted) -> int:
    qtbot.waitUntil(lambda: bool(task.items), timeout=30_000)
    pid = task.items[0]
    assert isinstance(pid, int)
    return pid


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# -- a worker process killed from outside ---------------------------------------------------


@pytest.mark.qbackground(processes=2, process_grace=0.3)
def test_process_killed_mid_task(bg_worker: CheckedWorker, qtbot: QtBot) -> None:
    victim, neighbour = ReportPid(), ReportPid()
    victim_handler = bg_worker.handle(victim, executor="process").start()
    neighbour_handler = bg_worker.handle(neighbour, executor="process").start()
    victim_pid, neighbour_pid = _pid_of(qtbot, victim), _pid_of(qtbot, neighbour)
    assert victim_pid != neighbour_pid

    os.kill(victim_pid, signal.SIGKILL)
    wait_task(victim_handler, timeout=10)
    assert victim.terminal == ["error"]
    exc = victim.calls[-1][1]
    assert isinstance(exc, ProcessCrashedError)
    assert "the worker process running ReportPid was killed by signal SIGKILL" in str(exc)
    # The neighbour runs on; the pool replaced the dead worker and serves new tasks.
    assert neighbour_handler.is_alive() and not _gone(neighbour_pid)
    nxt = Quick()
    wait_task(bg_worker.handle(nxt, executor="process").start(), timeout=30)
    assert nxt.terminal == ["done"] and nxt.items == [0, 1, 2]
    assert victim_pid not in bg_worker._processes.pids()
    assert bg_worker._processes.processes_started == 3
    with wait_task(neighbour_handler, now=False):
        assert neighbour_handler.cancel()
    assert neighbour.terminal == ["canceled"]
    # bg_worker then checks that no process or thread is left behind.


@pytest.mark.qbackground(processes=1, process_grace=5.0)
def test_process_killed_while_winding_down_after_cancel(bg_worker: CheckedWorker, qtbot: QtBot) -> None:
    task = ReportPid(deaf=True)
    handler = bg_worker.handle(task, executor="process").start()
    pid = _pid_of(qtbot, task)
    assert handler.cancel() is True
    assert task.terminal == ["canceled"]
    os.kill(pid, signal.SIGKILL)  # the crash of a cancelled task is no news
    nxt = Quick()
    wait_task(bg_worker.handle(nxt, executor="process").start(), timeout=30)  # slot freed
    assert nxt.terminal == ["done"]
    assert task.terminal == ["canceled"] and handler.status is TaskStatus.CANCELLED


# -- tasks that ignore cancellation -------------------------------------------------------------


@pytest.mark.qbackground(processes=1, process_grace=0.3)
def test_timed_out_process_task_ignoring_it_is_killed_after_grace(bg_worker: CheckedWorker, qtbot: QtBot) -> None:
    # Warm the pool first: the timeout counts from execute(), and a cold process start
    # on a loaded machine could outlast it before the task reports its pid.
    wait_task(bg_worker.handle(Quick(), executor="process").start(), timeout=30)
    task = ReportPid(deaf=True, timeout=1.0)
    handler = bg_worker.handle(task, executor="process")
    with wait_task(handler):
        handler.execute()
    pid = task.items[0]
    assert task.terminal == ["timeout"] and handler.status is TaskStatus.TIMED_OUT
    started = time.monotonic()
    nxt = Quick()
    wait_task(bg_worker.handle(nxt, executor="process").start(), timeout=30)
    # The slot came back only when the grace ran out and the deaf process was killed.
    qtbot.waitUntil(lambda: _gone(pid), timeout=5_000)
    assert nxt.terminal == ["done"] and time.monotonic() - started < 10
    assert task.terminal == ["timeout"]  # the kill did not add an ending


class Swallower(AsyncBackgroundTask[int, str]):
    """Catches the first CancelledError and carries on, as a careless coroutine does."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.swallowed = threading.Event()
        self.finished = threading.Event()
        self.endings: list[str] = []

    async def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.swallowed.set()
        await asyncio.sleep(0.05)  # keeps going after the cancel
        self.finished.set()
        return "finished anyway"

    def done(self, result: str) -> None:
        self.endings.append("done")

    def canceled(self) -> None:
        self.endings.append("canceled")


def test_coroutine_that_swallows_cancel(bg_worker: CheckedWorker, qtbot: QtBot) -> None:
    task = Swallower()
    handler = bg_worker.handle(task).start()
    assert task.started.wait(5)
    assert handler.cancel() is True and task.endings == ["canceled"]
    stopped: list[object] = []
    handler.when_stopped(stopped.append)  # posted after anything run()'s return posts
    qtbot.waitUntil(lambda: bool(stopped), timeout=5_000)
    assert task.finished.is_set() and task.swallowed.is_set()
    assert task.endings == ["canceled"] and handler.status is TaskStatus.CANCELLED


# -- quitting the application with 50 running tasks ----------------------------------------


QUIT_SCRIPT = '''
import asyncio, sys, time
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication
from qbackground import AsyncBackgroundTask, BackgroundTask, BackgroundWorker


class Forever(BackgroundTask[int, None]):
    def run(self, lifecycle):
        lifecycle.publish(1)
        while True:
            lifecycle.sleep(0.01)


class Deaf(BackgroundTask[int, None]):
    def run(self, lifecycle):
        lifecycle.publish(1)
        while True:
            time.sleep(0.01)   # ignores interruption entirely


class AsyncForever(AsyncBackgroundTask[int, None]):
    async def run(self, lifecycle):
        lifecycle.publish(1)
        while True:
            await asyncio.sleep(0.01)


class Note:
    started = 0


def started(_changes):
    Note.started += 1


if __name__ == "__main__":
    app = QApplication([])
    worker = BackgroundWorker(threads=22, processes=2, process_grace=0.3)
    plan = [(Forever, "thread")] * 18 + [(Deaf, "thread")] * 2 + [(Forever, "process")] * 10
    plan += [(AsyncForever, "asyncio")] * 20
    for cls, executor in plan:
        task = cls()
        task.progress = started
        worker.handle(task, executor=executor).execute()
    running = 18 + 2 + 2 + 20          # the process pool runs 2 of its 10 at once

    def quit_when_running():
        if Note.started >= running:
            print("quit-at", time.time(), flush=True)
            app.quit()
        else:
            QTimer.singleShot(10, quit_when_running)

    QTimer.singleShot(10, quit_when_running)
    app.exec()
'''


def test_app_quit_with_50_tasks_on_every_backend_exits_fast_and_quietly(tmp_path: Path) -> None:
    script = tmp_path / "quit_app.py"
    script.write_text(textwrap.dedent(QUIT_SCRIPT))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    exited = time.time()
    assert proc.returncode == 0, err
    quit_at = float(out.split("quit-at")[1].split()[0])
    took = exited - quit_at
    print(f"quit with 50 tasks (thread, process, asyncio): process exited {took:.2f} s after quit()")
    assert took < 2.0, f"exit took {took:.2f} s"
    assert err == "", f"the application printed on exit:\n{err}"


# -- shutdown() twice; handlers outliving their worker ------------------------------------------


def _start_everywhere(worker: BackgroundWorker, qtbot: QtBot) -> list[tuple[Any, Any]]:
    tasks = [
        (ReportPid(), "thread"),
        (ReportPid(), "process"),
        (AsyncScripted([("started",), ("wait_interrupt",)]), "asyncio"),
    ]
    started = [(task, worker.handle(task, executor=executor).start()) for task, executor in tasks]
    for task, _ in started:
        qtbot.waitUntil(lambda task=task: bool(task.items), timeout=30_000)
    return started


def test_shutdown_twice(qapp: QApplication, qtbot: QtBot) -> None:
    children = set(child_processes())
    worker = BackgroundWorker(processes=1, process_grace=0.3)
    started = _start_everywhere(worker, qtbot)
    assert worker.shutdown(timeout=10) is True
    begin = time.monotonic()
    assert worker.shutdown(timeout=10) is True  # harmless and immediate
    assert worker.shutdown(wait=False) is True
    assert time.monotonic() - begin < 0.5
    for task, handler in started:
        assert handler.status is TaskStatus.INTERRUPTED and task.terminal == []
    with pytest.raises(TaskStateError, match="shut down"):
        worker.handle(Quick())
    assert set(child_processes()) <= children


def test_shutdown_without_waiting_then_waiting(qapp: QApplication, qtbot: QtBot) -> None:
    worker = BackgroundWorker(processes=1, process_grace=0.3)
    started = _start_everywhere(worker, qtbot)
    worker.shutdown(wait=False)
    assert all(h.status is TaskStatus.INTERRUPTED for _, h in started)
    assert worker.shutdown(timeout=10) is True  # now it joins what is winding down


def test_handlers_outlive_their_worker(qapp: QApplication, qtbot: QtBot) -> None:
    worker = BackgroundWorker(processes=1, process_grace=0.3)
    finished = Quick()
    finished_handler = worker.handle(finished).start()
    wait_task(finished_handler)
    running = _start_everywhere(worker, qtbot)
    never = worker.handle(Quick())  # handled, never executed
    futures = [h.future() for _, h in running]
    assert worker.shutdown(timeout=10)
    delete(worker)  # the C++ object is gone; the handlers keep the wrapper
    del worker
    gc.collect()
    qapp.processEvents()

    assert finished_handler.status is TaskStatus.DONE and finished_handler.get_result(1) == "quick"
    assert finished_handler.cancel() is False
    for task, handler in running:
        assert handler.status is TaskStatus.INTERRUPTED and not handler.is_alive() and handler.is_done()
        assert handler.cancel() is False
        with pytest.raises(TaskInterruptedError):
            handler.get_result(1)
        assert task.terminal == []
    assert all(f.done() for f in futures)
    with pytest.raises(TaskStateError, match="shut down"):
        never.execute()
    with pytest.raises(TaskStateError, match="before execute"):
        never.cancel()
    assert never.status is TaskStatus.CREATED
