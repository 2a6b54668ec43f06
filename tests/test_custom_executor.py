"""A custom executor written only against the public ``Executor``/``Job`` interface
passes the contract's basics: done after every report, errors, cancel, timeout.

Two styles, as docs/backends.md describes them: ``Driven`` runs ``run()`` in this
process with the lifecycle ``job.begin()`` returns; ``Relayed`` runs it "elsewhere" — a
thread with a stand-in lifecycle of its own, as a remote worker would have — and relays
what the task reports with ``job.replay()`` and the cancel through ``on_interrupt``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any, cast

import pytest
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundTaskHandler,
    BackgroundWorker,
    TaskCancelledError,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
    TaskTimeoutError,
    current_lifecycle,
)
from qbackground.backends import Executor, Job, running_task

from .contract_tasks import Scripted, ScriptError, Step


class _Counting(Executor):
    """One thread serving a queue; counts the accounting calls the handler makes."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.counts = {"start": 0, "stop": 0, "unqueue": 0}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, name=f"custom-{self.name}", daemon=True)
        self.thread.start()

    def submit(self, job: Job) -> None:
        self.jobs.put(job)

    def shutdown(self, timeout: float | None) -> bool:
        self.jobs.put(None)
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def on_start(self) -> None:
        self._count("start")

    def on_stop(self) -> None:
        self._count("stop")

    def on_unqueue(self) -> None:
        self._count("unqueue")

    def _serve(self) -> None:
        while (job := self.jobs.get()) is not None:
            self.run_job(job)

    def run_job(self, job: Job) -> None:
        raise NotImplementedError


class Driven(_Counting):
    """Runs ``run()`` on its thread with the lifecycle ``begin()`` returns."""

    name = "driven"

    def run_job(self, job: Job) -> None:
        lifecycle = job.begin()
        if lifecycle is None:
            return  # cancelled while it waited
        try:
            with running_task(lifecycle):
                value = job.task.run(lifecycle)
        except BaseException as exc:
            job.fail(exc)
        else:
            job.succeed(value)
        finally:
            self.on_stop()


class StandIn:
    """The lifecycle a remote worker would give ``run()``: it buffers reports and knows
    only what the executor relays to it (the cancel)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.items: list[Any] = []
        self.events: list[tuple[str, Any]] = []
        self.message: str | None = None
        self.stop = threading.Event()
        self.cancelled = False
        self.urgent = False
        self.beat = False  # publish() with no changes since the last relay
        self.lock = threading.Lock()  # the task's thread writes, the relay thread takes

    def _check(self) -> None:
        if self.stop.is_set():
            raise TaskInterruptedError("stopped by the GUI side")

    def publish(self, *changes: Any) -> None:
        self._check()
        with self.lock:
            self.items.extend(changes)
            self.beat = self.beat or not changes

    def set_message(self, message: str) -> None:
        with self.lock:
            self.message = message

    def send_event(self, name: str, data: Any = None) -> None:
        with self.lock:
            self.events.append((name, data))

    def flush(self) -> None:
        with self.lock:
            self.urgent = True

    def is_cancelled(self) -> bool:
        return self.cancelled

    def is_interrupted(self) -> bool:
        return self.stop.is_set()

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            self._check()

    def take(self) -> tuple[list[Any], list[tuple[str, Any]], str | None, bool, bool]:
        with self.lock:
            report = (self.items, self.events, self.message, self.urgent, self.beat)
            self.items, self.events, self.message, self.urgent, self.beat = [], [], None, False, False
        return report


class Relayed(_Counting):
    """Runs ``run()`` with a :class:`StandIn` and relays its reports after each step."""

    name = "relayed"

    def __init__(self) -> None:
        self.remote: dict[Job, StandIn] = {}
        super().__init__()

    def on_interrupt(self, job: Job) -> None:
        stand_in = self.remote.get(job)
        if stand_in is not None:  # what a remote executor sends over its wire
            stand_in.cancelled = job.is_cancelled()
            stand_in.stop.set()

    def run_job(self, job: Job) -> None:
        # Registered before begin(): a cancel right after it must find the stand-in.
        stand_in = self.remote[job] = StandIn(job.params)
        if job.begin() is None:
            del self.remote[job]
            return
        task = job.task
        relay = threading.Event()

        def pump() -> None:  # the "reader thread" of a remote executor
            while not relay.wait(0.002):
                self._relay(job, stand_in)

        reader = threading.Thread(target=pump, name="custom-relay", daemon=True)
        reader.start()
        try:
            remote = cast("TaskLifeCycle[Any]", stand_in)  # duck-typed, as a remote one may be
            with running_task(remote):  # on the "remote" side, around run()
                value = task.run(remote)
        except BaseException as exc:
            outcome: tuple[str, Any] = ("fail", exc)
        else:
            outcome = ("succeed", value)
        relay.set()
        reader.join()
        self._relay(job, stand_in)  # the last reports go before the ending
        del self.remote[job]
        if outcome[0] == "succeed":
            job.succeed(outcome[1])
        else:
            job.fail(outcome[1])
        self.on_stop()

    def _relay(self, job: Job, stand_in: StandIn) -> None:
        items, events, message, urgent, beat = stand_in.take()
        if items or events or message is not None or urgent or beat:
            job.replay(items, events, message, flush=urgent, heartbeat=beat)


EXECUTORS = [Driven, Relayed]


@pytest.fixture(params=EXECUTORS, ids=lambda cls: cls.name)
def executor(request: pytest.FixtureRequest) -> Iterator[_Counting]:
    made: _Counting = request.param()
    yield made
    assert made.shutdown(timeout=5)


def start(worker: BackgroundWorker, executor: Executor, steps: list[Step], **kw: Any) -> tuple[Scripted, BackgroundTaskHandler[Any]]:
    task = Scripted(steps, **kw)
    return task, worker.handle(task, executor=executor).start()


def balanced(executor: _Counting) -> bool:
    with executor.lock:
        counts = dict(executor.counts)
    return counts["start"] == counts["stop"]


def test_done_after_every_report_in_order(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    task, handler = start(
        worker, executor, [("publish", 2_000), ("message", "m"), ("event", "e", 1), ("return", 7)]
    )
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=10_000)
    assert task.items == list(range(2_000))
    assert ("message", "m") in task.calls and ("event", ("e", 1)) in task.calls
    assert task.calls[-1] == ("done", 7)
    assert handler.status is TaskStatus.DONE and handler.get_result() == 7
    qtbot.waitUntil(lambda: balanced(executor), timeout=5_000)
    assert executor.counts == {"start": 1, "stop": 1, "unqueue": 0}


def test_error_keeps_its_type(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    task, handler = start(worker, executor, [("publish", 3), ("raise", "scripted failure")])
    qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=10_000)
    exc = task.calls[-1][1]
    assert type(exc) is ScriptError and str(exc) == "scripted failure"
    assert task.items == [0, 1, 2]
    assert handler.status is TaskStatus.FAILED
    with pytest.raises(ScriptError):
        handler.get_result()


def test_cancel_running(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    task, handler = start(worker, executor, [("started",), ("wait_interrupt",)])
    qtbot.waitUntil(lambda: "started" in task.items, timeout=10_000)
    stopped: list[object] = []
    assert handler.cancel() is True
    handler.when_stopped(stopped.append)
    assert task.terminal == ["canceled"]
    with pytest.raises(TaskCancelledError):
        handler.get_result()
    qtbot.waitUntil(lambda: stopped == [handler], timeout=10_000)  # run() really ended
    assert balanced(executor)
    after, _ = start(worker, executor, [("return", "next")])
    qtbot.waitUntil(lambda: after.terminal == ["done"], timeout=10_000)
    assert task.terminal == ["canceled"]


def test_cancel_while_waiting(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    first, first_handler = start(worker, executor, [("started",), ("wait_interrupt",)])
    qtbot.waitUntil(lambda: "started" in first.items, timeout=10_000)
    waiting, waiting_handler = start(worker, executor, [("return", "never")])
    assert waiting_handler.cancel() is True  # its job is still in the executor's queue
    assert waiting.terminal == ["canceled"] and executor.counts["unqueue"] == 1
    assert first_handler.cancel() is True
    later, _ = start(worker, executor, [("return", "later")])
    qtbot.waitUntil(lambda: later.terminal == ["done"], timeout=10_000)
    assert executor.counts == {"start": 2, "stop": 2, "unqueue": 1}  # begin() said None once
    assert waiting.terminal == ["canceled"]


def test_timeout(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    task, handler = start(worker, executor, [("started",), ("wait_interrupt",)], timeout=0.2)
    qtbot.waitUntil(lambda: task.terminal == ["timeout"], timeout=10_000)
    assert handler.status is TaskStatus.TIMED_OUT
    with pytest.raises(TaskTimeoutError):
        handler.get_result()
    qtbot.waitUntil(lambda: balanced(executor), timeout=10_000)


def _beat_once() -> str:
    current_lifecycle().publish()  # a heartbeat: "still alive", no new items
    return "beat"


def test_a_heartbeat_reaches_progress(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    seen: list[list[Any]] = []
    results: list[str] = []
    worker.submit(_beat_once, executor=executor, on_progress=lambda items: seen.append(list(items)), on_result=results.append)
    qtbot.waitUntil(lambda: results == ["beat"], timeout=10_000)
    assert seen == [[]]


def _count_up(n: int) -> int:
    lifecycle = current_lifecycle()
    for i in range(n):
        lifecycle.publish(i)
    return n


def test_submitted_functions_find_their_lifecycle(worker: BackgroundWorker, executor: _Counting, qtbot: QtBot) -> None:
    seen: list[Any] = []
    results: list[int] = []
    handler = worker.submit(
        _count_up, 4, executor=executor, on_progress=seen.extend, on_result=results.append
    )
    qtbot.waitUntil(lambda: results == [4], timeout=10_000)
    assert seen == [0, 1, 2, 3] and handler.status is TaskStatus.DONE


class Careless(Executor):
    """Records what misusing the job interface raises, then drives it correctly."""

    name = "careless"

    def __init__(self) -> None:
        self.errors: list[str] = []

    def _expect_state_error(self, call: Any, *args: Any) -> None:
        try:
            call(*args)
        except TaskStateError as exc:
            self.errors.append(str(exc))

    def submit(self, job: Job) -> None:
        self._expect_state_error(job.succeed, 1)
        self._expect_state_error(job.replay, [1])
        lifecycle = job.begin()
        assert lifecycle is not None
        self._expect_state_error(job.begin)
        job.replay([1, 2])
        job.succeed("value")
        self._expect_state_error(job.fail, ValueError("late"))
        self.on_stop()

    def shutdown(self, timeout: float | None) -> bool:
        return True


def test_misuse_of_the_job_interface_is_a_clear_error(worker: BackgroundWorker, qtbot: QtBot) -> None:
    executor = Careless()
    task = Scripted([])
    handler = worker.handle(task, executor=executor).start()  # submit() runs inline here
    assert executor.errors == [
        "succeed() before begin(): a job ends only after it began",
        "replay() before begin(): a job reports only while it runs",
        "begin() was already called for this job; a job begins once",
        "fail() after the job's ending was already reported; call succeed() or fail() once",
    ]
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=5_000)
    assert task.items == [1, 2] and handler.get_result() == "value"


def test_the_public_job_interface_is_all_the_builtin_backends_use() -> None:
    """No built-in backend reaches into the handler: ``job._x`` appears nowhere."""
    import re
    from pathlib import Path

    import qbackground

    root = Path(qbackground.__file__).parent
    sources = [*(root / "backends").glob("*.py"), *root.glob("*dask*.py")]
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in sources
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\bjob\._[a-z]", line)
    ]
    assert offenders == []
