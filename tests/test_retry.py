"""Retries (DESIGN §11) beyond the per-backend contract (tests/test_contract_retry.py):
the backoff arithmetic, where the wait happens, the GUI-thread hooks, shutdown, and
``retry=`` on ``worker.submit()`` and the tasker."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from qtpy.QtWidgets import QApplication

from qbackground import (
    BackgroundTask,
    BackgroundWorker,
    ProcessCrashedError,
    ProgressListener,
    Retry,
    TaskLifeCycle,
    TaskQueueFullError,
    TaskStatus,
)
from qbackground.backends import Job, ThreadExecutor
from qbackground.tasker import Task, TaskManager

from . import submit_funcs, tasker_funcs
from .conftest import Unhandled
from .helpers import wait_until_still


# -- the policy -----------------------------------------------------------------------


def test_the_defaults_are_the_designs() -> None:
    policy = Retry()
    assert (policy.attempts, policy.backoff, policy.max_backoff, policy.jitter) == (3, 0.5, 30.0, True)
    assert policy.on == (OSError, ProcessCrashedError)
    assert policy.retries(ConnectionResetError()) and policy.retries(ProcessCrashedError("died"))
    assert not policy.retries(ValueError())
    assert Retry(backoff=1) == Retry(backoff=1.0)  # a frozen value, compared by fields


def test_the_backoff_doubles_up_to_its_cap() -> None:
    policy = Retry(backoff=0.5, max_backoff=3.0, jitter=False)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert policy.delay(10**6) == 3.0  # no overflow for a huge count
    assert Retry(backoff=0, max_backoff=0, jitter=False).delay(5) == 0
    with pytest.raises(ValueError, match="counts failed attempts from 1"):
        policy.delay(0)


def test_jitter_is_equal_jitter_between_half_and_all_of_the_backoff() -> None:
    policy = Retry(backoff=1.0, max_backoff=8.0, jitter=True)
    rng = random.Random(18)
    for failures, full in ((1, 1.0), (2, 2.0), (3, 4.0), (9, 8.0)):
        delays = [policy.delay(failures, rng) for _ in range(500)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 4  # really spread, not a constant


# -- the handler between attempts ---------------------------------------------------------


class Flaky(BackgroundTask[int, int]):
    """Fails with OSError until attempt ``succeed_on``; records when each attempt began."""

    def __init__(self, succeed_on: int, retry: Retry, **kwargs: Any) -> None:
        super().__init__(retry=retry, **kwargs)
        self.succeed_on = succeed_on
        self.started: list[float] = []
        self.calls: list[Any] = []

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        self.started.append(time.monotonic())
        lifecycle.publish(lifecycle.attempt)
        if lifecycle.attempt < self.succeed_on:
            raise OSError(f"attempt {lifecycle.attempt}")
        return lifecycle.attempt

    def progress(self, changes: list[int]) -> None:
        self.calls.append(("progress", changes))

    def handle_retry(self, attempt: int, exc: BaseException) -> bool:
        self.calls.append(("retry", attempt, str(exc)))
        return True

    def done(self, result: int) -> None:
        self.calls.append(("done", result))

    def handle_exception(self, exc: BaseException) -> bool:
        self.calls.append(("error", str(exc)))
        return True


def test_the_wait_between_attempts_is_the_backoff(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Flaky(3, Retry(attempts=3, backoff=0.3, jitter=False))
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
    first, second = task.started[1] - task.started[0], task.started[2] - task.started[1]
    assert first >= 0.3 and second >= 0.6, (first, second)
    assert first < 3 and second < 4  # (a loaded machine is slow, not that slow)
    assert task.calls == [
        ("progress", [1]), ("retry", 2, "attempt 1"),
        ("progress", [2]), ("retry", 3, "attempt 2"),
        ("progress", [3]), ("done", 3),
    ]


def test_a_backoff_holds_no_pool_thread(qapp: QApplication, qtbot: QtBot) -> None:
    # One thread: while the flaky task waits for its second attempt, another task runs.
    worker = BackgroundWorker(threads=1)
    try:
        flaky = Flaky(2, Retry(attempts=2, backoff=1.0, jitter=False))
        first = worker.handle(flaky).start()
        qtbot.waitUntil(lambda: len(flaky.started) == 1 and first.status is TaskStatus.QUEUED, timeout=20_000)
        other = Flaky(1, Retry(attempts=1))
        worker.handle(other).start()
        qtbot.waitUntil(lambda: ("done", 1) in other.calls, timeout=20_000)
        assert len(flaky.started) == 1  # the other task ran inside the backoff
        qtbot.waitUntil(lambda: first.is_done(), timeout=20_000)
        assert flaky.calls[-1] == ("done", 2)
    finally:
        assert worker.shutdown(timeout=10)


def test_get_result_on_the_gui_thread_waits_through_the_backoffs(worker: BackgroundWorker) -> None:
    # The GUI thread is blocked in get_result(): the wake-up comes from the deadline
    # thread, not from a QTimer that could not fire.
    task = Flaky(3, Retry(attempts=3, backoff=0.05, jitter=False))
    assert worker.handle(task).start().get_result(timeout=20) == 3
    assert [c[0] for c in task.calls].count("retry") == 2


def test_handle_retry_raising_ends_the_task_and_is_reported(
    worker: BackgroundWorker, unhandled: Unhandled, qtbot: QtBot
) -> None:
    class Broken(Flaky):
        def handle_retry(self, attempt: int, exc: BaseException) -> bool:
            raise RuntimeError("a bug in handle_retry")

    task = Broken(3, Retry(attempts=3, backoff=0.01))
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
    assert task.calls[-1] == ("error", "attempt 1") and handler.status is TaskStatus.FAILED
    assert [str(exc) for _, exc in unhandled.errors] == ["a bug in handle_retry"]
    assert len(task.started) == 1


def test_handle_retry_may_cancel_the_handler(worker: BackgroundWorker, qtbot: QtBot) -> None:
    handlers: list[Any] = []

    class Cancels(Flaky):
        def handle_retry(self, attempt: int, exc: BaseException) -> bool:
            handlers[0].cancel()
            return True

        def canceled(self) -> None:
            self.calls.append(("canceled",))

    task = Cancels(3, Retry(attempts=3, backoff=0.01))
    handlers.append(worker.handle(task))
    handlers[0].execute()
    qtbot.waitUntil(lambda: handlers[0].is_done(), timeout=20_000)
    # Nothing to wait for but an absence: a wrongly scheduled attempt 2 would start
    # within its 10 ms backoff, so serve the GUI thread well past it.
    qtbot.wait(200)
    assert task.calls == [("progress", [1]), ("canceled",)] and len(task.started) == 1


def test_after_a_cancel_in_the_backoff_no_attempt_starts(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Flaky(3, Retry(attempts=3, backoff=0.2, jitter=False))
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: any(c[0] == "retry" for c in task.calls), timeout=20_000)
    assert handler.cancel()
    # An absence again: serve the GUI thread well past the 0.2 s the wake-up was due.
    qtbot.wait(700)
    assert len(task.started) == 1 and handler.status is TaskStatus.CANCELLED
    pool = worker._threads
    assert (pool.active, pool.waiting) == (0, 0)  # its slot was given back exactly once


class RetriesIntoCheckpoints(BackgroundTask[None, str]):
    """Fails with OSError on attempt 1; attempt 2 counts passes through ``checkpoint()``
    (on a side channel: no reports) until ``stop`` is set."""

    def __init__(self) -> None:
        super().__init__(retry=Retry(attempts=3, backoff=0.2, jitter=False, on=(OSError,)))
        self.started: list[int] = []
        self.passes = 0
        self.stop = threading.Event()
        self.calls: list[Any] = []

    def run(self, lifecycle: TaskLifeCycle[None]) -> str:
        self.started.append(lifecycle.attempt)
        if lifecycle.attempt == 1:
            raise OSError("attempt 1")
        while not self.stop.is_set():
            lifecycle.checkpoint()
            self.passes += 1
            self.stop.wait(0.001)
        return "ran"

    def handle_retry(self, attempt: int, exc: BaseException) -> bool:
        self.calls.append(("retry", attempt, str(exc)))
        return True

    def done(self, result: str) -> None:
        self.calls.append(("done", result))

    def canceled(self) -> None:
        self.calls.append(("canceled",))

    def handle_exception(self, exc: BaseException) -> bool:
        self.calls.append(("error", str(exc)))
        return True


def _paused_in_the_backoff(worker: BackgroundWorker, qtbot: QtBot) -> tuple[Any, RetriesIntoCheckpoints]:
    """Start the task and pause it while it waits out its 0.2 s backoff."""
    task = RetriesIntoCheckpoints()
    handler = worker.handle(task).start()
    qtbot.waitUntil(
        lambda: task.calls == [("retry", 2, "attempt 1")] and handler.status is TaskStatus.QUEUED,
        timeout=20_000,
    )
    assert handler.pause()
    assert task.started == [1], "the backoff was over before the pause (machine too slow?)"
    assert handler.is_paused() and handler.status is TaskStatus.PAUSED and handler.is_alive()
    return handler, task


def _stays(qtbot: QtBot, task: RetriesIntoCheckpoints, passes: int) -> None:
    """The count stays at ``passes`` over a short hold."""
    assert wait_until_still(qtbot, lambda: task.passes) == passes


def test_a_pause_in_the_backoff_holds_the_next_attempt(worker: BackgroundWorker, qtbot: QtBot) -> None:
    handler, task = _paused_in_the_backoff(worker, qtbot)
    # Past the backoff the second attempt starts, held at its first checkpoint.
    qtbot.waitUntil(lambda: task.started == [1, 2], timeout=20_000)
    _stays(qtbot, task, 0)
    assert handler.is_paused() and handler.status is TaskStatus.PAUSED and handler.attempt == 2
    assert handler.resume() and not handler.is_paused()
    qtbot.waitUntil(lambda: task.passes > 5, timeout=20_000)
    assert handler.status is TaskStatus.RUNNING
    task.stop.set()
    qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
    assert handler.status is TaskStatus.DONE and handler.get_result() == "ran"
    assert task.calls == [("retry", 2, "attempt 1"), ("done", "ran")]  # exactly one done()
    assert task.started == [1, 2]


def test_a_cancel_while_paused_in_the_backoff_ends_it_at_once(
    worker: BackgroundWorker, qtbot: QtBot
) -> None:
    handler, task = _paused_in_the_backoff(worker, qtbot)
    assert handler.cancel()
    assert handler.status is TaskStatus.CANCELLED and not handler.is_paused()
    qtbot.waitUntil(lambda: task.calls[-1:] == [("canceled",)], timeout=5000)
    # An absence: serve the GUI thread well past the 0.2 s the next attempt was due.
    qtbot.wait(700)
    assert task.calls == [("retry", 2, "attempt 1"), ("canceled",)]  # one canceled()
    assert task.started == [1] and task.passes == 0
    pool = worker._threads
    assert (pool.active, pool.waiting) == (0, 0)


def test_exactly_one_ending_for_listeners_too(worker: BackgroundWorker, qtbot: QtBot) -> None:
    class Counter(ProgressListener[int, int]):
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def on_progress(self, changes: list[int]) -> None:
            self.seen.append(("progress", changes))

        def on_done(self, result: int) -> None:
            self.seen.append(("done", result))

        def on_cancel(self) -> None:
            self.seen.append(("cancel",))

    task = Flaky(3, Retry(attempts=3, backoff=0.01))
    listener = Counter()
    task.add_progress_listener(listener)
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
    assert listener.seen == [("progress", [1]), ("progress", [2]), ("progress", [3]), ("done", 3)]


def test_shutdown_during_a_backoff_ends_it_silently_at_once(qapp: QApplication, qtbot: QtBot) -> None:
    worker = BackgroundWorker(threads=2)
    task = Flaky(2, Retry(attempts=2, backoff=30.0, jitter=False))
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: any(c[0] == "retry" for c in task.calls), timeout=20_000)
    began = time.monotonic()
    assert worker.shutdown(timeout=10)
    assert time.monotonic() - began < 5  # not the 30 s backoff
    assert handler.status is TaskStatus.INTERRUPTED
    qapp.processEvents()
    assert [c[0] for c in task.calls] == ["progress", "retry"]  # no ending callback: silence


def test_a_task_without_retry_fails_at_once(worker: BackgroundWorker, qtbot: QtBot) -> None:
    class Once(Flaky):
        def __init__(self) -> None:
            BackgroundTask.__init__(self)
            self.succeed_on, self.started, self.calls = 2, [], []

    task = Once()
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
    assert task.calls == [("progress", [1]), ("error", "attempt 1")] and handler.attempt == 1


def test_a_sub_context_reports_the_attempt(worker: BackgroundWorker) -> None:
    seen: list[int] = []

    class Nested(BackgroundTask[int, int]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> int:
            seen.append(lifecycle.sub_context(0.0, 0.5).attempt)
            if lifecycle.attempt < 2:
                raise OSError("again")
            return lifecycle.attempt

    assert worker.handle(Nested(retry=Retry(backoff=0.01))).start().get_result(20) == 2
    assert seen == [1, 2]


# -- a retry and its own previous attempt's slot ------------------------------------------


class LateRelease(ThreadExecutor):
    """One thread, no queue; a pool thread slow to give its slot back: the first
    ``on_stop()`` waits (up to 0.5 s) for the next ``submit()``, as a thread preempted
    between an attempt's failure and its ``on_stop()`` would."""

    def __init__(self) -> None:
        super().__init__(max_threads=1, max_queued=0)
        self.refused: list[BaseException] = []
        self._submits = 0
        self._stops = 0
        self._changed = threading.Condition()

    def submit(self, job: Job) -> None:
        with self._changed:
            self._submits += 1
            self._changed.notify_all()
        try:
            super().submit(job)
        except TaskQueueFullError as exc:
            self.refused.append(exc)
            raise

    def on_stop(self) -> None:
        with self._changed:
            self._stops += 1
            if self._stops == 1:
                seen = self._submits
                self._changed.wait_for(lambda: self._submits > seen, timeout=0.5)
        super().on_stop()


def test_a_retry_is_not_refused_for_its_own_previous_attempts_slot(qapp: QApplication, qtbot: QtBot) -> None:
    # The next attempt is handed over only once the failed one's on_stop() gave the
    # slot back; before, a zero backoff resubmitted into the still-taken slot and the
    # task ended in TaskQueueFullError.
    worker = BackgroundWorker()
    executor = LateRelease()
    try:
        task = Flaky(2, Retry(attempts=3, backoff=0, on=(OSError,)))
        handler = worker.handle(task, executor=executor).start()
        qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
        assert executor.refused == []
        assert task.calls == [("progress", [1]), ("retry", 2, "attempt 1"), ("progress", [2]), ("done", 2)]
        assert handler.attempt == 2 and executor.active == 0 and executor.waiting == 0
    finally:
        assert worker.shutdown(timeout=10)
        assert executor.shutdown(timeout=10)


def test_zero_backoff_retries_on_one_thread_without_a_queue(qapp: QApplication, qtbot: QtBot) -> None:
    # The user-facing case: threads=1, max_queued=0, many tasks that fail once.
    worker = BackgroundWorker(threads=1, max_queued=0)
    try:
        for _ in range(200):
            task = Flaky(2, Retry(attempts=3, backoff=0, on=(OSError,)))
            handler = worker.handle(task).start()
            qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
            assert task.calls[-1] == ("done", 2), task.calls
            assert [c[0] for c in task.calls].count("retry") == 1
    finally:
        assert worker.shutdown(timeout=10)


# -- submit() and the tasker ------------------------------------------------------------------


@pytest.mark.parametrize("executor", [None, "process"])
def test_submit_takes_retry(qapp: QApplication, qtbot: QtBot, executor: str | None) -> None:
    worker = BackgroundWorker(processes=1)
    try:
        results: list[Any] = []
        errors: list[BaseException] = []
        policy = Retry(attempts=3, backoff=0.01)
        worker.submit(submit_funcs.flaky, 3, retry=policy, executor=executor, on_result=results.append)
        worker.submit(submit_funcs.flaky, 9, retry=policy, executor=executor, on_error=errors.append)
        qtbot.waitUntil(lambda: len(results) == 1 and len(errors) == 1, timeout=30_000)
        assert results == [3]
        assert isinstance(errors[0], OSError) and str(errors[0]) == "flaky attempt 3"
    finally:
        assert worker.shutdown(timeout=10)


@pytest.fixture(scope="module")
def manager(qapp: QApplication) -> Iterator[TaskManager]:
    worker = BackgroundWorker(threads=2, processes=1, process_grace=0.5)
    yield TaskManager(worker)
    assert worker.shutdown(timeout=10)


@pytest.mark.parametrize("kind", ["thread", "process", "coroutine"])
def test_the_tasker_takes_retry(manager: TaskManager, qtbot: QtBot, kind: str) -> None:
    done: list[Task[Any]] = []
    policy = Retry(attempts=3, backoff=0.01)
    start = {
        "thread": manager.run_thread,
        "process": manager.run_process,
        "coroutine": manager.add_coroutine,
    }[kind]
    func: Any = tasker_funcs.async_flaky if kind == "coroutine" else tasker_funcs.flaky
    good = start(func, 3, retry=policy, when_done=done.append)
    bad = start(func, 5, retry=policy, when_done=done.append)
    qtbot.waitUntil(lambda: len(done) == 2, timeout=30_000)
    assert good.get_status() == "completed" and good.result() == 3
    assert bad.get_status() == "failed"
    assert isinstance(bad.exception(), OSError) and str(bad.exception()) == "flaky attempt 3"
    assert done.count(good) == 1 and done.count(bad) == 1  # when_done once, after the last attempt
