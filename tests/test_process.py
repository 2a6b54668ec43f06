"""The process backend: crashes, stubborn tasks, pickling errors, batching."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, ProcessCrashedError, QBackgroundError, TaskStatus
from qbackground.backends import ProcessExecutor

from .contract_tasks import Scripted
from .process_tasks import (
    Args,
    Burst,
    Die,
    Pid,
    PublishThenCompute,
    Stubborn,
    UnpicklableProgress,
    UnpicklableResult,
)


@pytest.fixture(scope="module")
def pworker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(processes=2, process_grace=0.3)
    yield worker
    assert worker.shutdown(timeout=10)


def start(worker: BackgroundWorker, task: Any) -> Any:
    handler = worker.handle(task, executor="process")
    handler.execute()
    return handler


@pytest.mark.parametrize(
    ("how", "text"),
    [
        ("exit", "exited with code 9"),
        ("segfault", "killed by signal SIGSEGV"),
        ("kill", "killed by signal SIGKILL"),
    ],
)
def test_crash_fails_only_its_task(pworker: BackgroundWorker, qtbot: QtBot, how: str, text: str) -> None:
    neighbour = Scripted([("started",), ("spin", 0.8), ("return", "survived")])
    start(pworker, neighbour)
    qtbot.waitUntil(lambda: "started" in neighbour.items, timeout=20_000)
    dying = Die(how)
    handler = start(pworker, dying)
    qtbot.waitUntil(lambda: dying.terminal == ["error"], timeout=20_000)
    exc = dying.calls[-1][1]
    assert isinstance(exc, ProcessCrashedError)
    assert "the worker process running Die" in str(exc) and text in str(exc)
    assert handler.status is TaskStatus.FAILED
    qtbot.waitUntil(lambda: neighbour.terminal == ["done"], timeout=20_000)
    assert neighbour.calls[-1] == ("done", "survived")
    # The pool serves the next tasks (the dead worker was replaced).
    nxt = Pid()
    start(pworker, nxt)
    qtbot.waitUntil(lambda: nxt.terminal == ["done"], timeout=20_000)


def test_stubborn_task_is_killed_after_grace(qapp: QApplication, qtbot: QtBot) -> None:
    worker = BackgroundWorker(processes=1, process_grace=0.3)
    try:
        task = Stubborn(seconds=30)
        handler = start(worker, task)
        qtbot.waitUntil(lambda: "started" in task.items, timeout=20_000)
        pid_before = worker._processes.pids()
        assert handler.cancel() is True
        assert task.terminal == ["canceled"]  # CUBA timing: at once, not after the kill
        # The slot frees only once the process really stopped: the next task runs
        # in a replacement process.
        nxt = Pid()
        start(worker, nxt)
        qtbot.waitUntil(lambda: nxt.terminal == ["done"], timeout=20_000)
        assert nxt.calls[-1][1] not in pid_before
        assert worker._processes.processes_started == 2
        assert task.terminal == ["canceled"]  # the kill did not add a second ending
    finally:
        assert worker.shutdown(timeout=10)


def test_shutdown_returns_once_processes_stopped(qapp: QApplication, qtbot: QtBot) -> None:
    worker = BackgroundWorker(processes=2, process_grace=0.3)
    task = Stubborn(seconds=30)
    handler = start(worker, task)
    qtbot.waitUntil(lambda: "started" in task.items, timeout=20_000)
    pids = worker._processes.pids()
    assert worker.shutdown(timeout=5) is True
    assert handler.status is TaskStatus.INTERRUPTED and task.terminal == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone (and reaped), not a zombie left running


def test_unpicklable_result(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = UnpicklableResult()
    start(pworker, task)
    qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=20_000)
    assert isinstance(task.calls[-1][1], QBackgroundError)
    assert "result could not be pickled" in str(task.calls[-1][1])


def test_unpicklable_progress_item(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = UnpicklableProgress()
    start(pworker, task)
    qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=20_000)
    assert "progress item, event or message of the task could not be pickled" in str(task.calls[-1][1])


def test_class_not_importable_in_worker(qapp: QApplication, qtbot: QtBot, tmp_path: Path) -> None:
    worker = BackgroundWorker(processes=1)
    try:
        warm = Pid()
        start(worker, warm)  # the worker process starts before the module exists
        qtbot.waitUntil(lambda: warm.terminal == ["done"], timeout=20_000)
        (tmp_path / "elsewhere_task.py").write_text(
            textwrap.dedent(
                """
                from qbackground import BackgroundTask

                class Elsewhere(BackgroundTask[None, int]):
                    def run(self, lifecycle):
                        return 1

                    def handle_exception(self, exc):
                        self.error = exc
                        return True
                """
            )
        )
        sys.path.insert(0, str(tmp_path))
        try:
            import elsewhere_task  # type: ignore[import-not-found]

            task = elsewhere_task.Elsewhere()
            start(worker, task)
            qtbot.waitUntil(lambda: hasattr(task, "error"), timeout=20_000)
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("elsewhere_task", None)
        assert isinstance(task.error, QBackgroundError)
        assert "could not be unpickled in the worker process" in str(task.error)
        assert "No module named 'elsewhere_task'" in str(task.error)
    finally:
        worker.shutdown(timeout=10)


def test_progress_is_flushed_while_the_task_computes(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = PublishThenCompute()
    handler = start(pworker, task)
    qtbot.waitUntil(lambda: task.items == ["early"], timeout=20_000)
    assert ("message", "computing") in task.calls
    assert handler.is_alive() and task.terminal == []
    handler.cancel()


def test_publish_is_batched_across_the_boundary(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Burst(100_000)
    start(pworker, task)
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=20_000)
    assert task.items == list(range(100_000))
    progress_calls = sum(1 for n, _ in task.calls if n == "progress")
    assert progress_calls < 200  # batches, not one message per item


def test_args_kwargs_and_params_reach_the_worker(pworker: BackgroundWorker) -> None:
    handler = start(pworker, Args(1, "two", three=3))
    assert handler.get_result(timeout=20) == ((1, "two"), {"three": 3}, {"from": "gui"})


def test_work_runs_in_other_processes(pworker: BackgroundWorker) -> None:
    pids = {start(pworker, Pid()).get_result(timeout=20) for _ in range(6)}
    assert os.getpid() not in pids
    assert pids <= set(pworker._processes.pids())


def test_executor_bad_input() -> None:
    with pytest.raises(ValueError, match="'fork'"):
        ProcessExecutor(start_method="fork")
    with pytest.raises(ValueError, match="max_workers"):
        ProcessExecutor(max_workers=0)
    with pytest.raises(ValueError, match="grace"):
        ProcessExecutor(grace=-1)


def test_user_executor_object(qapp: QApplication) -> None:
    executor = ProcessExecutor(max_workers=1, start_method="forkserver")
    worker = BackgroundWorker()
    try:
        handler = worker.handle(Pid(), executor=executor)
        handler.execute()
        assert handler.get_result(timeout=20) != os.getpid()
    finally:
        worker.shutdown()
        assert executor.shutdown(timeout=10)


def test_a_worker_that_cannot_start_fails_the_task(qapp: QApplication, qtbot: QtBot) -> None:
    executor = ProcessExecutor(max_workers=1)
    real_spawn = executor._spawn

    def no_spawn() -> Any:
        raise OSError(24, "Too many open files")

    executor._spawn = no_spawn  # type: ignore[method-assign]
    worker = BackgroundWorker()
    try:
        task = Pid()
        worker.handle(task, executor=executor).execute()
        qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=20_000)
        assert "could not start a worker process (OSError" in str(task.calls[-1][1])
        executor._spawn = real_spawn  # type: ignore[method-assign]
        again = Pid()
        worker.handle(again, executor=executor).execute()  # the executor recovered
        qtbot.waitUntil(lambda: again.terminal == ["done"], timeout=20_000)
    finally:
        worker.shutdown()
        assert executor.shutdown(timeout=10)


def test_a_worker_that_never_serves_is_killed_and_explained(qapp: QApplication, qtbot: QtBot) -> None:
    # Nothing spawns and imports qbackground in 50 ms: the same path as a script that
    # lacks its __main__ guard (the worker re-runs the GUI and never serves).
    executor = ProcessExecutor(max_workers=1, startup_timeout=0.05)
    worker = BackgroundWorker()
    try:
        first, second = Pid(), Pid()
        worker.handle(first, executor=executor).execute()
        qtbot.waitUntil(lambda: first.terminal == ["error"], timeout=20_000)
        message = str(first.calls[-1][1])
        assert "did not start serving within 0.05 s" in message and "__main__" in message
        worker.handle(second, executor=executor).execute()
        qtbot.waitUntil(lambda: second.terminal == ["error"], timeout=5_000)  # fails fast
    finally:
        worker.shutdown()
        assert executor.shutdown(timeout=10)


def test_a_failing_manager_fails_tasks_instead_of_hanging(qapp: QApplication, qtbot: QtBot) -> None:
    executor = ProcessExecutor(max_workers=1)

    def broken_dispatch() -> None:
        raise RuntimeError("a bug in the manager")

    executor._dispatch = broken_dispatch  # type: ignore[method-assign]
    worker = BackgroundWorker()
    try:
        task = Pid()
        worker.handle(task, executor=executor).execute()
        qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=20_000)
        assert "the process executor failed (RuntimeError: a bug in the manager)" in str(task.calls[-1][1])
        from qbackground import TaskStateError

        with pytest.raises(TaskStateError, match="out of order"):
            worker.handle(Pid(), executor=executor).execute()
    finally:
        worker.shutdown()
        executor.shutdown(timeout=10)
