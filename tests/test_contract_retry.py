"""DESIGN §11 on every backend: retries (``retry=Retry(...)``) and generator ``run()``.

The same backends as tests/test_contract.py (its ``backend`` fixture, one worker per
backend for this module). A task counts its attempts with ``lifecycle.attempt``, which
crosses to worker processes and Dask workers, so "fail until attempt n" needs no
shared state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from qtpy.QtWidgets import QWidget

from qbackground import ProcessCrashedError, Retry, TaskCancelledError, TaskStatus, TaskTimeoutError

from .contract_tasks import ScriptError, YieldingScripted
from .test_contract import Backend, backend  # noqa: F401  # the parametrised fixture

FAST = Retry(attempts=3, backoff=0.01, jitter=False, on=(OSError,))
"""Three attempts, 10 ms then 20 ms apart."""

SLOW = Retry(attempts=3, backoff=30.0, jitter=False, on=(OSError,))
"""A backoff no test waits for: what ends it is a cancel, a timeout or a close."""


def ended(task: Any) -> bool:
    return len(task.terminal) == 1


def attempts_seen(task: Any) -> list[int]:
    return [item[1] for item in task.items if isinstance(item, tuple) and item[0] == "attempt"]


def test_a_listed_failure_runs_again_until_it_succeeds(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("attempt",), ("fail_until", 3, "flaky"), ("return", "read")], retry=FAST)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.terminal == ["done"] and task.calls[-1] == ("done", "read")
    # handle_retry ran before attempts 2 and 3, with the failure that led to each.
    assert task.retries == [(2, "flaky 1"), (3, "flaky 2")]
    # What the failed attempts published was delivered, and stays delivered.
    assert attempts_seen(task) == [1, 2, 3]
    names = [name for name, _ in task.calls]
    assert names.index("retry") > names.index("progress")  # progress of attempt 1 came first
    assert handler.status is TaskStatus.DONE and handler.attempt == 3
    assert handler.get_result() == "read"


def test_when_attempts_are_used_up_handle_exception_gets_the_last_failure(
    backend: Backend, qtbot: QtBot
) -> None:
    task = backend.task([("attempt",), ("fail_until", 99, "down")], retry=FAST)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.terminal == ["error"]
    exc = task.calls[-1][1]
    assert isinstance(exc, OSError) and str(exc) == "down 3"
    assert task.retries == [(2, "down 1"), (3, "down 2")]  # attempts=3: two retries
    assert attempts_seen(task) == [1, 2, 3]
    assert handler.status is TaskStatus.FAILED
    with pytest.raises(OSError, match="down 3"):
        handler.get_result()


def test_handle_retry_false_ends_the_task_through_handle_exception(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("attempt",), ("fail_until", 99, "down")], retry=FAST)
    task.retry_answer = False
    handler = backend.start(task)
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.retries == [(2, "down 1")]
    assert task.terminal == ["error"] and str(task.calls[-1][1]) == "down 1"
    assert attempts_seen(task) == [1] and handler.attempt == 1


def test_a_failure_of_another_type_is_not_retried(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("attempt",), ("raise", "a bug")], retry=FAST)
    backend.start(task)
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.retries == []
    assert task.terminal == ["error"] and type(task.calls[-1][1]) is ScriptError


def test_between_attempts_the_handler_is_alive_and_a_cancel_ends_it_at_once(
    backend: Backend, qtbot: QtBot
) -> None:
    task = backend.task([("attempt",), ("fail_until", 99, "down")], retry=SLOW)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: task.retries != [], timeout=30_000)
    # Waiting for attempt 2 (30 s away): alive, QUEUED, nothing decided.
    assert handler.is_alive() and handler.status is TaskStatus.QUEUED and not handler.is_done()
    stopped: list[Any] = []
    handler.when_stopped(stopped.append)
    assert handler.cancel() is True
    assert task.terminal == ["canceled"]  # at once: canceled() ran inside cancel()
    assert handler.status is TaskStatus.CANCELLED and not handler.is_alive()
    qtbot.waitUntil(lambda: stopped == [handler], timeout=10_000)  # no run() is left
    with pytest.raises(TaskCancelledError):
        handler.get_result()
    assert attempts_seen(task) == [1]


def test_the_timeout_covers_every_attempt(backend: Backend, qtbot: QtBot) -> None:
    policy = Retry(attempts=1000, backoff=0.05, max_backoff=0.05, jitter=False, on=(OSError,))
    task = backend.task([("attempt",), ("fail_until", 10_000, "down")], retry=policy, timeout=1.0)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.terminal == ["timeout"] and handler.status is TaskStatus.TIMED_OUT
    assert len(task.retries) >= 1  # it did retry, within one deadline
    assert handler.elapsed is not None and handler.elapsed < 10
    with pytest.raises(TaskTimeoutError):
        handler.get_result()


def test_owner_close_during_the_backoff_is_silent(backend: Backend, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    task = backend.task([("attempt",), ("fail_until", 99, "down")], retry=SLOW, owner=window)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: task.retries != [], timeout=30_000)
    window.close()
    assert handler.status is TaskStatus.INTERRUPTED
    assert task.terminal == []


def test_zero_backoff_retries_of_many_tasks_each_end_once(backend: Backend, qtbot: QtBot) -> None:
    # No wait between attempts: the next one is handed over as soon as the failed one's
    # slot is free (tests/test_retry.py has the one-thread, no-queue worker of this).
    policy = Retry(attempts=3, backoff=0, on=(OSError,))
    tasks = [backend.task([("attempt",), ("fail_until", 2, "once"), ("return", i)], retry=policy) for i in range(16)]
    handlers = [backend.start(task) for task in tasks]
    qtbot.waitUntil(lambda: all(ended(task) for task in tasks), timeout=60_000)
    for i, (task, handler) in enumerate(zip(tasks, handlers)):
        assert task.terminal == ["done"] and task.calls[-1] == ("done", i), task.calls
        assert task.retries == [(2, "once 1")] and attempts_seen(task) == [1, 2]
        assert handler.attempt == 2
    assert backend.errors == []


def test_a_crashed_worker_process_can_be_retried(backend: Backend, qtbot: QtBot) -> None:
    if backend.name not in ("process", "dask"):
        pytest.skip("a worker process that dies: the process and Dask backends")
    policy = Retry(attempts=2, backoff=0.01, jitter=False)  # the default on: OSError, ProcessCrashedError
    task = backend.task([("crash_until", 2), ("attempt",), ("return", "survived")], retry=policy)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.terminal == ["done"], task.calls
    assert len(task.retries) == 1 and task.retries[0][0] == 2
    failure = [value for name, value in task.calls if name == "retry"][0][1]
    assert isinstance(failure, ProcessCrashedError)
    assert attempts_seen(task) == [2] and handler.get_result() == "survived"


# -- generator run() --------------------------------------------------------------------


def _generator_backend(backend: Backend) -> None:
    if backend.name.startswith("asyncio"):
        pytest.skip("an AsyncBackgroundTask cannot be a generator (refused: tests/test_generator_tasks.py)")


def test_a_generator_run_publishes_each_yield_and_returns_the_result(
    backend: Backend, qtbot: QtBot
) -> None:
    _generator_backend(backend)
    task = YieldingScripted(500, "all yielded")
    handler = backend.worker.handle(task, executor=backend.executor)
    handler.execute()
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.items == list(range(500))
    assert task.calls[-1] == ("done", ("all yielded", 1))
    assert handler.get_result() == ("all yielded", 1)


def test_a_cancel_stops_a_generator_at_a_yield_and_closes_it(
    backend: Backend, qtbot: QtBot, tmp_path: Path
) -> None:
    _generator_backend(backend)
    marker = tmp_path / "closed"
    task = YieldingScripted(3, forever=True, marker=str(marker))
    handler = backend.worker.handle(task, executor=backend.executor)
    handler.execute()
    qtbot.waitUntil(lambda: "started" in task.items, timeout=30_000)
    closed_when_stopped: list[bool] = []
    handler.when_stopped(lambda _h: closed_when_stopped.append(marker.exists()))
    assert handler.cancel() is True
    assert task.terminal == ["canceled"]
    # The generator stopped by itself at its next yield (no kill), and its finally had
    # run by the time the task counted as stopped: on every backend, Dask included.
    qtbot.waitUntil(lambda: closed_when_stopped != [], timeout=30_000)
    assert closed_when_stopped == [True]
    assert marker.read_text() == "closed"


def test_a_generator_run_is_retried_too(backend: Backend, qtbot: QtBot) -> None:
    _generator_backend(backend)
    task = YieldingScripted(2, "ok", retry=FAST, fail_until=2)
    handler = backend.worker.handle(task, executor=backend.executor)
    handler.execute()
    qtbot.waitUntil(lambda: ended(task), timeout=30_000)
    assert task.retries == [(2, "generator attempt 1")]
    assert task.items == [0, 1, 0, 1]  # both attempts' yields, the failed one's kept
    assert task.calls[-1] == ("done", ("ok", 2)) and handler.attempt == 2
