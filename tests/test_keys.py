"""Keys, policies and debounce (DESIGN §8): latest wins, never two at once with "queue"."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from qbackground import AsyncBackgroundTask, BackgroundTask, BackgroundWorker, TaskLifeCycle, TaskStatus


class Slide(BackgroundTask[Any, int]):
    """A preview render: a little work, cooperative; records its callbacks (GUI side)."""

    def __init__(
        self, value: int, log: dict[str, list[int]] | None = None, work: float = 0.02, **options: Any
    ) -> None:
        super().__init__(**options)
        self.value = value
        self.work = work
        self.log = log

    def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        if self.log is not None:  # (None in a worker process)
            self.log["runs"].append(self.value)
        lifecycle.sleep(self.work)  # wakes at once on cancel
        return self.value

    def done(self, result: int) -> None:
        assert self.log is not None
        self.log["done"].append(result)

    def canceled(self) -> None:
        assert self.log is not None
        self.log["canceled"].append(self.value)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["log"] = None  # GUI side only
        return state


def _write_end(path: str | None) -> float:
    end = time.time()
    if path is not None:  # run() may run in another process: a file tells the test
        with open(path, "w") as ended:
            ended.write(repr(end))
    return end


class Span(BackgroundTask[Any, tuple[float, float]]):
    """Returns when its run() began and ended (system clock), ignoring cancel; writes
    the end to ``ended`` (a path); ``announce``: reports progress 0.5 first, so a test
    sees that run() has begun."""

    def __init__(self, seconds: float, announce: bool = False, ended: str | None = None) -> None:
        super().__init__()
        self.seconds = seconds
        self.announce = announce
        self.ended = ended

    def run(self, lifecycle: TaskLifeCycle[Any]) -> tuple[float, float]:
        start = time.time()
        if self.announce:
            lifecycle.set_progress(0.5)
            lifecycle.flush()
        time.sleep(self.seconds)
        return start, _write_end(self.ended)


class AsyncSpan(AsyncBackgroundTask[Any, tuple[float, float]]):
    def __init__(self, seconds: float, ended: str | None = None) -> None:
        super().__init__()
        self.seconds = seconds
        self.ended = ended

    async def run(self, lifecycle: TaskLifeCycle[Any]) -> tuple[float, float]:
        start = time.time()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            time.sleep(self.seconds)  # winds down slowly, blocking its loop
            _write_end(self.ended)
            raise
        return start, _write_end(self.ended)


def _log() -> dict[str, list[int]]:
    return {"done": [], "canceled": [], "runs": []}


@pytest.mark.parametrize("policy", ["replace", "queue"])
def test_a_slider_drag_of_1000_executes_ends_with_the_last_value(
    worker: BackgroundWorker, qtbot: QtBot, policy: Any
) -> None:
    log = _log()
    handlers = [worker.handle(Slide(i, log), key="preview", policy=policy) for i in range(1000)]
    for handler in handlers:
        handler.execute()
    last = handlers[-1]
    assert worker.active_handler("preview") is last
    qtbot.waitUntil(lambda: bool(log["done"]) and log["done"][-1] == 999, timeout=10_000)
    qtbot.waitUntil(lambda: not worker.active_handlers(), timeout=10_000)
    assert log["done"] == [999]
    assert sorted(log["canceled"]) == list(range(999))
    assert all(h.status is TaskStatus.CANCELLED for h in handlers[:-1])
    if policy == "queue":  # the executes of one turn coalesced: only the last one ran
        assert log["runs"] == [999]
    assert last.status is TaskStatus.DONE
    assert worker.active_handler("preview") is None
    assert not worker._keys._slots  # nothing kept per key once idle


def test_queue_throttles_a_drag_whose_moves_come_in_separate_turns(
    worker: BackgroundWorker, qtbot: QtBot
) -> None:
    """A render that started is not interrupted by "queue": its done() runs, then the newest."""
    from qtpy.QtWidgets import QApplication

    log = _log()
    first = worker.handle(Slide(0, log, work=0.3), key="preview", policy="queue")
    first.execute()
    qtbot.waitUntil(lambda: log["runs"] == [0], timeout=5_000)
    moves = [worker.handle(Slide(i, log), key="preview", policy="queue") for i in range(1, 200)]
    for move in moves:  # each move in its own turn of the event loop
        move.execute()
        QApplication.processEvents()
        assert first.is_alive() and log["runs"] == [0]  # never two at once
    qtbot.waitUntil(lambda: log["done"] == [0, 199], timeout=10_000)
    assert log["runs"] == [0, 199]
    assert sorted(log["canceled"]) == list(range(1, 199))
    assert worker.active_handler("preview") is None


def test_a_debounced_drag_runs_once(worker: BackgroundWorker, qtbot: QtBot) -> None:
    runs: list[int] = []

    def render(value: int) -> int:
        runs.append(value)
        return value

    log = _log()
    handlers = [
        worker.submit(render, i, key="preview", debounce=0.1, on_result=log["done"].append) for i in range(1000)
    ]
    assert worker.active_handler("preview") is handlers[-1]
    assert all(h.status is TaskStatus.CANCELLED for h in handlers[:-1])
    assert handlers[-1].status is TaskStatus.QUEUED
    qtbot.waitUntil(lambda: log["done"] == [999], timeout=10_000)
    assert runs == [999]


def test_debounce_waits_for_a_quiet_moment_and_the_timeout_counts_from_the_start(
    worker: BackgroundWorker, qtbot: QtBot
) -> None:
    log = _log()
    slide = Slide(1, log, work=0.05, timeout=0.3)
    begun = time.monotonic()
    handler = worker.handle(slide, key="k", debounce=0.4)
    handler.execute()
    assert handler.elapsed is None  # not started yet
    qtbot.waitUntil(lambda: log["done"] == [1], timeout=5_000)
    assert time.monotonic() - begun >= 0.4
    assert handler.status is TaskStatus.DONE  # 0.4 s wait + 0.05 s work, timeout 0.3 s


def test_parallel_only_names_the_job(worker: BackgroundWorker, qtbot: QtBot) -> None:
    log = _log()
    first = worker.handle(Slide(1, log, work=0.2), key="k", policy="parallel").start()
    second = worker.handle(Slide(2, log, work=0.2), key="k", policy="parallel").start()
    assert first.is_alive() and second.is_alive()
    assert worker.active_handler("k") is second
    qtbot.waitUntil(lambda: sorted(log["done"]) == [1, 2], timeout=5_000)


def test_get_result_of_a_debounced_handler_on_the_gui_thread(worker: BackgroundWorker) -> None:
    """The debounce clock does not live on the GUI thread: get_result() cannot hang on it."""
    log = _log()
    handler = worker.handle(Slide(5, log), key="k", debounce=0.05).start()
    assert handler.get_result(timeout=5) == 5


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[Any]:
    from qbackground.dask import DaskExecutor

    # Two Dask workers: the next task could start on the free one at once.
    with DaskExecutor(n_workers=2) as executor:
        yield executor


@pytest.mark.parametrize("cancel_first", [False, True], ids=["cancel-after", "cancel-before"])
@pytest.mark.parametrize("backend", ["thread", "process", "asyncio", "dask"])
def test_queue_starts_the_next_only_after_run_really_stopped(
    worker: BackgroundWorker,
    qtbot: QtBot,
    backend: str,
    cancel_first: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    executor: Any = request.getfixturevalue("dask_executor") if backend == "dask" else backend
    ended = tmp_path / "ended"  # when the first one's run() really returned
    task: BackgroundTask[Any, Any] | AsyncSpan
    if backend == "asyncio":
        task = AsyncSpan(0.3, ended=str(ended))
    else:  # on Dask, RUNNING comes before run() begins there: wait for its report
        task = Span(1.0, True, str(ended)) if backend == "dask" else Span(0.3, ended=str(ended))
    first = worker.handle(task, executor=executor, key="k", policy="queue").start()
    stopped: list[float] = []
    first.when_stopped(lambda h: stopped.append(time.time()))
    qtbot.waitUntil(lambda: first.status is TaskStatus.RUNNING, timeout=30_000)
    if backend == "dask":
        qtbot.waitUntil(lambda: first.fraction == 0.5, timeout=30_000)
    nxt = worker.handle(AsyncSpan(0.01) if backend == "asyncio" else Span(0.01), executor=executor, key="k", policy="queue")
    if cancel_first:  # decided, but its run() still winds down: the next one must wait
        first.cancel()
    nxt.execute()
    assert nxt._held  # waiting for its key, not handed to the executor
    first.cancel()
    assert first.status is TaskStatus.CANCELLED
    assert not stopped and nxt.status is TaskStatus.QUEUED
    assert worker.active_handler("k") is nxt
    start, _end = nxt.get_result(timeout=30)
    assert stopped, "the next one started before the first one's run() stopped"
    assert start >= stopped[0] - 0.05  # (when_stopped is posted: a little after the end)
    still_ran = "the next one started while the first one's run() still ran"
    assert ended.exists(), still_ran
    assert start >= float(ended.read_text()), still_ran
    assert nxt.status is TaskStatus.DONE


def test_a_held_handler_ends_silently_when_its_owner_closes(worker: BackgroundWorker, qtbot: QtBot) -> None:
    from qtpy.QtWidgets import QWidget

    window = QWidget()
    window.show()
    log = _log()
    slide = Slide(1, log, owner=window)
    handler = worker.handle(slide, key="k", debounce=5)
    handler.execute()
    window.close()
    qtbot.waitUntil(lambda: handler.status is TaskStatus.INTERRUPTED, timeout=5_000)
    assert log == _log()
    assert worker.active_handler("k") is None


def test_key_on_process_worker_pid_is_elsewhere(worker: BackgroundWorker) -> None:
    """Keys work on the process backend like on threads (a replaced one is cancelled)."""
    log = _log()
    first = worker.handle(Slide(1, log, work=5), executor="process", key="p").start()
    second = worker.handle(Slide(2, log, work=0.0), executor="process", key="p").start()
    assert first.status is TaskStatus.CANCELLED
    assert second.get_result(timeout=60) == 2
    assert os.getpid() > 0


def test_the_taskers_key_is_the_workers_key(worker: BackgroundWorker, qtbot: QtBot) -> None:
    """task_mgr's key= replacement runs through worker keys (one mechanism, not two)."""
    from qbackground.tasker import TaskManager

    def job(context: Any, n: int) -> int:
        context.sleep(30) if n == 1 else None
        return n

    manager = TaskManager(worker)
    first = manager.run_thread(job, 1, key="calc")
    qtbot.waitUntil(lambda: first._handler is not None, timeout=5_000)
    keyed = [k for k in worker._keys._slots if isinstance(k, tuple) and k[-1] == "calc"]
    assert len(keyed) == 1 and worker.active_handler(keyed[0]) is first._handler
    second = manager.run_thread(job, 2, key="calc")
    qtbot.waitUntil(lambda: second.get_status() == "completed", timeout=10_000)
    assert first.get_status() == "canceled" and second.result() == 2
    qtbot.waitUntil(lambda: not worker._keys._slots, timeout=10_000)
