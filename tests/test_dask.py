"""The Dask executor, on a real LocalCluster (no mocks)."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import Client, LocalCluster
from qtpy.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, ProcessCrashedError, Retry, TaskStatus
from qbackground.dask import DaskExecutor

from .contract_tasks import AsyncScripted, Scripted, ScriptError
from .process_tasks import Die, SlowToStop


@pytest.fixture(scope="module")
def cluster(qapp: QApplication) -> Iterator[tuple[BackgroundWorker, DaskExecutor]]:
    worker = BackgroundWorker()
    executor = DaskExecutor(n_workers=2)
    yield worker, executor
    worker.shutdown(timeout=10)
    executor.close()


def start(cluster: tuple[BackgroundWorker, DaskExecutor], task: Any) -> Any:
    worker, executor = cluster
    handler = worker.handle(task, executor=executor)
    handler.execute()
    return handler


def test_done_with_progress_in_order(cluster: Any, qtbot: QtBot) -> None:
    task = Scripted([("publish", 5_000), ("message", "remote"), ("event", "e", [1, 2]), ("return", 42)])
    handler = start(cluster, task)
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=30_000)
    assert task.items == list(range(5_000))
    assert ("message", "remote") in task.calls and ("event", ("e", [1, 2])) in task.calls
    assert task.calls[-1] == ("done", 42) and handler.get_result() == 42
    assert sum(1 for n, _ in task.calls if n == "progress") < 100  # batched


def test_remote_exception_keeps_type_and_traceback(cluster: Any, qtbot: QtBot) -> None:
    task = Scripted([("publish", 2), ("raise", "remote failure")])
    start(cluster, task)
    qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=30_000)
    exc = task.calls[-1][1]
    assert type(exc) is ScriptError and str(exc) == "remote failure"
    assert "contract_tasks.py" in str(exc.__cause__)
    assert task.items == [0, 1]  # reports arrive before the ending


def test_cancel_reaches_the_remote_task(cluster: Any, qtbot: QtBot) -> None:
    task = Scripted([("started",), ("wait_interrupt",)])
    handler = start(cluster, task)
    qtbot.waitUntil(lambda: "started" in task.items, timeout=30_000)
    assert handler.cancel() is True and task.terminal == ["canceled"]
    qtbot.waitUntil(lambda: cluster[1].running == 0, timeout=30_000)  # the remote run stopped


def test_a_cancelled_task_counts_as_stopped_only_once_its_remote_run_returned(
    cluster: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    # Cancelling a Dask future does not stop a run() already executing on a Dask worker:
    # on_stop() and when_stopped must wait for the remote run() itself ("queue" keys rely
    # on it). The task winds down for 0.5 s after the cancel and records when it ended.
    ended = tmp_path / "ended"
    task = SlowToStop(str(ended), 0.5)
    handler = start(cluster, task)
    qtbot.waitUntil(lambda: "started" in task.items, timeout=30_000)
    stopped: list[tuple[float, bool]] = []
    handler.when_stopped(lambda _h: stopped.append((time.time(), ended.exists())))
    assert handler.cancel() is True and task.terminal == ["canceled"]
    qtbot.waitUntil(lambda: stopped != [], timeout=30_000)
    when, ended_then = stopped[0]
    assert ended_then, "when_stopped came before the remote run() returned"
    assert when >= float(ended.read_text())
    assert cluster[1].running == 0 and task.terminal == ["canceled"]


def test_a_task_cancelled_while_it_waits_for_a_dask_worker_never_runs(
    cluster: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    # Both Dask workers (one thread each) are busy: the third task waits on the cluster.
    # Cancelled there, it ends at once, while the others still run, and never runs.
    blockers = [Scripted([("started",), ("wait_interrupt",)]) for _ in range(2)]
    handlers = [start(cluster, blocker) for blocker in blockers]
    qtbot.waitUntil(lambda: all("started" in b.items for b in blockers), timeout=30_000)
    runs = tmp_path / "runs"
    waiting = Scripted([("mark", str(runs)), ("return", "ran")])
    handler = start(cluster, waiting)
    stopped: list[int] = []
    handler.when_stopped(lambda _h: stopped.append(cluster[1].running))
    assert handler.cancel() is True and waiting.terminal == ["canceled"]
    qtbot.waitUntil(lambda: stopped != [], timeout=30_000)
    assert stopped == [2]  # ended while both blockers still ran
    assert all(h.status is TaskStatus.RUNNING for h in handlers)
    for blocker_handler in handlers:
        blocker_handler.cancel()
    qtbot.waitUntil(lambda: cluster[1].running == 0, timeout=30_000)
    after = Scripted([("return", "served")])  # both workers free again: it would have run by now
    start(cluster, after)
    qtbot.waitUntil(lambda: after.terminal == ["done"], timeout=30_000)
    assert not runs.exists() and waiting.terminal == ["canceled"]


def test_a_task_class_the_dask_workers_cannot_import_fails_instead_of_hanging(
    cluster: Any, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Dask workers were started before this folder joined sys.path: unpickling the
    # task there raises ModuleNotFoundError, which must still end the job.
    (tmp_path / "qb_only_here.py").write_text(
        "from tests.contract_tasks import Scripted\n"
        "class OnlyHere(Scripted):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "qb_only_here", raising=False)
    module = importlib.import_module("qb_only_here")
    try:
        task = module.OnlyHere([("return", "unreachable")])
        start(cluster, task)
        qtbot.waitUntil(lambda: task.terminal != [], timeout=30_000)
    finally:
        sys.modules.pop("qb_only_here", None)
    assert task.terminal == ["error"]
    exc = task.calls[-1][1]
    assert isinstance(exc, ModuleNotFoundError) and "qb_only_here" in str(exc)
    qtbot.waitUntil(lambda: cluster[1].running == 0, timeout=30_000)


def test_timeout(cluster: Any, qtbot: QtBot) -> None:
    task = Scripted([("started",), ("wait_interrupt",)], timeout=0.5)
    handler = start(cluster, task)
    qtbot.waitUntil(lambda: task.terminal == ["timeout"], timeout=30_000)
    assert handler.status is TaskStatus.TIMED_OUT
    qtbot.waitUntil(lambda: cluster[1].running == 0, timeout=30_000)


def test_killed_worker_is_a_crash(cluster: Any, qtbot: QtBot) -> None:
    task = Die("exit")
    start(cluster, task)
    qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=60_000)
    exc = task.calls[-1][1]
    assert isinstance(exc, ProcessCrashedError) and "the Dask worker running Die died" in str(exc)
    after = Scripted([("return", "still serving")])
    start(cluster, after)
    qtbot.waitUntil(lambda: after.terminal == ["done"], timeout=60_000)


CRASH_RETRY = Retry(attempts=3, backoff=0.01, jitter=False, on=(ProcessCrashedError,))


def marks(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_killed_dask_worker_is_retried_and_then_succeeds(
    cluster: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    # SIGKILL inside run() on attempt 1 only. The cluster DaskExecutor started lets the
    # scheduler rerun nothing (allowed-failures 0): the crash is one failed attempt.
    runs = tmp_path / "runs"
    task = Scripted(
        [("mark", str(runs)), ("crash_until", 2, "kill"), ("attempt",), ("return", "survived")],
        retry=CRASH_RETRY,
    )
    handler = start(cluster, task)
    qtbot.waitUntil(lambda: task.terminal != [], timeout=60_000)
    assert task.terminal == ["done"], task.calls
    failures = [value for name, value in task.calls if name == "retry"]
    assert [attempt for attempt, _ in failures] == [2]
    crash = failures[0][1]
    assert isinstance(crash, ProcessCrashedError) and "the Dask worker running Scripted died" in str(crash)
    assert type(crash.__cause__).__name__ == "KilledWorker"
    assert handler.get_result() == "survived" and handler.attempt == 2
    assert marks(runs) == [1, 2]


@pytest.fixture(scope="module")
def rerunning(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A cluster the user made, whose scheduler reruns a task that killed its worker
    once (``allowed-failures`` 1; Dask's default is 3) before it raises KilledWorker."""
    make_cluster: Any = LocalCluster  # distributed is untyped
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        local = make_cluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, worker_dashboard_address=None,
            local_directory=str(tmp_path_factory.mktemp("dask")),
        )
    make_client: Any = Client
    client = make_client(local)
    worker = BackgroundWorker()
    executor = DaskExecutor(client)
    yield worker, executor
    worker.shutdown(timeout=10)
    executor.close()
    client.close()
    local.close()


def test_on_a_given_cluster_dask_reruns_first_then_the_retry_runs(
    rerunning: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    # Dask's own reruns are all attempt 1 (the same call); only its final KilledWorker
    # reaches qbackground, as one ProcessCrashedError, which Retry then runs again.
    runs = tmp_path / "runs"
    task = Scripted(
        [("mark", str(runs)), ("crash_until", 2), ("attempt",), ("return", "survived")],
        retry=CRASH_RETRY,
    )
    handler = start(rerunning, task)
    qtbot.waitUntil(lambda: task.terminal != [], timeout=60_000)
    assert task.terminal == ["done"], task.calls
    assert [attempt for attempt, _ in task.retries] == [2]
    assert marks(runs) == [1, 1, 2]  # the scheduler's rerun, then qbackground's retry
    assert handler.get_result() == "survived"


def test_on_a_given_cluster_a_crash_without_retry_is_handle_exception(
    rerunning: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    # A policy that does not list the crash does not retry it either.
    task = Scripted([("mark", str(runs)), ("crash_until", 2)], retry=Retry(on=(OSError,)))
    start(rerunning, task)
    qtbot.waitUntil(lambda: task.terminal != [], timeout=60_000)
    assert task.terminal == ["error"] and task.retries == []
    exc = task.calls[-1][1]
    assert isinstance(exc, ProcessCrashedError) and type(exc.__cause__).__name__ == "KilledWorker"
    assert marks(runs) == [1, 1]


def test_given_client_is_not_closed(qapp: QApplication, qtbot: QtBot) -> None:
    with LocalCluster(
        n_workers=1, processes=False, dashboard_address=None, worker_dashboard_address=None
    ) as local, Client(local) as client:
        worker = BackgroundWorker()
        with DaskExecutor(client) as executor:
            task = Scripted([("return", "via given client")])
            handler = worker.handle(task, executor=executor)
            handler.execute()
            assert handler.get_result(timeout=30) == "via given client"
        assert client.status == "running"  # closing the executor left it alone
        worker.shutdown()


def test_bad_input(cluster: Any) -> None:
    with pytest.raises(TypeError, match="distributed.Client"):
        DaskExecutor("tcp://scheduler:8786")  # type: ignore[arg-type]
    worker, executor = cluster
    with pytest.raises(TypeError, match="AsyncBackgroundTask"):
        worker.handle(AsyncScripted([]), executor=executor)


def test_widgets_stay_home_on_dask(cluster: Any, qtbot: QtBot) -> None:
    from .shm_tasks import WithWidgets

    task = WithWidgets(4)
    label, bar = task.label, task.bar
    start(cluster, task)
    qtbot.waitUntil(lambda: task.ended != "", timeout=30_000)
    assert task.ended == "done", task.error
    pid, seen = task.result
    assert "task.label" in seen and "QLabel" in seen  # a placeholder on the Dask worker
    assert task.label is label and label.text() == f"done in {pid}" and bar.value() == 4


def test_touching_a_widget_on_dask_names_it(cluster: Any, qtbot: QtBot) -> None:
    from qbackground import IllegalConcurrentAccessError

    from .shm_tasks import WithWidgets

    task = WithWidgets(1, touch="label")
    start(cluster, task)
    qtbot.waitUntil(lambda: task.ended != "", timeout=30_000)
    assert isinstance(task.error, IllegalConcurrentAccessError)
    assert f"task.label is a {QLabel.__module__}.QLabel, which stays in the GUI process" in str(task.error)


def test_an_unpicklable_attribute_is_named_on_dask(cluster: Any, qtbot: QtBot) -> None:
    from .shm_tasks import HoldsSocket

    task = HoldsSocket()
    try:
        start(cluster, task)
        qtbot.waitUntil(lambda: task.ended != "", timeout=30_000)
    finally:
        task.conn.close()
    assert str(task.error).startswith("task.conn: socket.socket cannot be sent to the Dask cluster (")


def test_shared_array_on_dask_is_a_plain_array(cluster: Any, qtbot: QtBot) -> None:
    from .shm_tasks import Buffers

    task = Buffers("shared", 3 << 20)
    start(cluster, task)
    qtbot.waitUntil(lambda: task.ended != "", timeout=30_000)
    assert task.ended == "done", task.error
    assert task.result[0].nbytes == 3 << 20 and int(task.result[0][0]) == 3
