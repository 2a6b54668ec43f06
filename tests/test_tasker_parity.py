"""Issue 12: a Rayforge program ports to ``qbackground.tasker`` by changing its imports.

One test per behaviour Rayforge's own tasker has (its tests under ``tests/tasker/`` and
``tests/pipeline/test_progress.py`` of barebaric/rayforge were read for the facts; the
tests here are our own).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import QThread
from qtpy.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, TaskCancelledError, TaskLifeCycle, TaskStateError
from qbackground.tasker import ExecutionContext, Task, TaskContext, TaskManager, TaskManagerProxy
from qbackground.tasker.progress import (
    CallbackProgressContext,
    NoOpProgressContext,
    ProgressContext,
    ThrottledProgressContext,
    set_progress,
)

from . import tasker_funcs as f


@pytest.fixture(scope="module")
def worker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(threads=4, processes=1, process_grace=0.5)
    yield worker
    assert worker.shutdown(timeout=10)


@pytest.fixture
def manager(worker: BackgroundWorker) -> Iterator[TaskManager]:
    mgr = TaskManager(worker)
    yield mgr
    mgr.shutdown(timeout=10)


def _events(n: int) -> list[threading.Event]:
    return [threading.Event() for _ in range(n)]


# -- progress arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_set_total_of_no_items_or_negative_counts_as_one(manager: TaskManager, qtbot: QtBot, kind: str) -> None:
    """``context.set_total(len(items))`` with no items used to fail the whole task."""
    done: list[Task[Any]] = []
    run = manager.run_thread if kind == "thread" else manager.run_process
    task = run(f.no_items, when_done=done.append)
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.get_status() == "completed", task.exception()
    assert task.result() == "no items"


def test_sub_context_and_set_total_report_only_on_set_progress(manager: TaskManager, qtbot: QtBot) -> None:
    """Pre-creating stages after set_progress(.1) showed 0.3 (then went back); set_total(10)
    after .5 showed 0.05. As in Rayforge, only set_progress() reports."""
    gates, reached = _events(3), _events(3)
    seen: list[float] = []
    task = manager.run_thread(f.stepped, gates, reached, 0.0)
    task.status_changed.connect(lambda sender: seen.append(sender.get_progress()))
    try:
        for i, expected in enumerate([0.1, 0.1, 0.5]):
            qtbot.waitUntil(reached[i].is_set, timeout=10_000)
            qtbot.wait(50)  # a few frames: anything reported has been delivered
            assert task.get_progress() == pytest.approx(expected)
            gates[i].set()
    finally:
        for gate in gates:
            gate.set()
    qtbot.waitUntil(lambda: task.is_final(), timeout=10_000)
    assert all(b >= a for a, b in zip(seen, seen[1:])), f"the bar went backwards: {seen}"


def test_a_report_interval_holds_back_progress_until_flush_or_the_end(manager: TaskManager, qtbot: QtBot) -> None:
    read: list[float] = []
    done: list[Task[Any]] = []
    was_read = threading.Event()

    def when_event(task: Task[Any], name: str, data: Any) -> None:
        read.append(task.get_progress())
        was_read.set()

    task = manager.run_thread(f.throttled, was_read, when_done=done.append, when_event=when_event)
    qtbot.waitUntil(lambda: task in done, timeout=10_000)
    assert read == [pytest.approx(0.2)]  # 0.8 came within the interval: held back
    assert task.get_progress() == 1.0


def test_the_context_is_a_lifecycle_and_a_throttled_progress_context(manager: TaskManager, qtbot: QtBot) -> None:
    got: list[Any] = []
    task = manager.run_thread(lambda context: got.append(context))
    qtbot.waitUntil(lambda: task.is_final(), timeout=10_000)
    (context,) = got
    assert isinstance(context, TaskLifeCycle) and isinstance(context, ThrottledProgressContext)
    assert isinstance(context, ExecutionContext) and ExecutionContext is TaskContext
    assert context.task is task


@pytest.mark.parametrize(("kind", "expected"), [("thread", True), ("process", False)])
def test_context_task_is_the_task_in_this_process_and_none_in_a_worker(
    manager: TaskManager, qtbot: QtBot, kind: str, expected: bool
) -> None:
    run = manager.run_thread if kind == "thread" else manager.run_process
    task = run(f.has_task)
    qtbot.waitUntil(lambda: task.is_final(), timeout=20_000)
    assert task.result() is expected


# -- cancel and result ------------------------------------------------------------------------


def test_cancel_leaves_the_status_alone_and_sets_the_flag_even_when_finished(manager: TaskManager, qtbot: QtBot) -> None:
    called: list[str] = []

    async def coro(context: Any) -> str:
        called.append("ran")
        return "ok"

    standalone: Task[Any] = Task(coro)
    standalone.cancel()
    assert standalone.is_cancelled() and standalone.get_status() == "pending"
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(standalone.run(NoOpProgressContext()))
    assert standalone.get_status() == "canceled" and called == []

    finished = manager.run_thread(f.echo)
    qtbot.waitUntil(lambda: finished.is_final(), timeout=10_000)
    assert not finished.is_cancelled()
    assert finished.cancel() is False  # nothing left to stop...
    assert finished.is_cancelled() and finished.get_status() == "completed"  # ...but flagged


def test_result_raises_what_rayforge_raises(manager: TaskManager, qtbot: QtBot) -> None:
    gate = threading.Event()
    task = manager.run_thread(lambda context: gate.wait(10), key="result")
    with pytest.raises(asyncio.InvalidStateError):
        task.result()
    with pytest.raises(TaskStateError):  # and still qbackground's own
        task.result()
    manager.cancel_task("result")
    gate.set()
    qtbot.waitUntil(lambda: task.is_final(), timeout=10_000)
    with pytest.raises(asyncio.CancelledError):
        task.result()
    with pytest.raises(TaskCancelledError):
        task.result()


# -- visible=False ----------------------------------------------------------------------------


def test_an_invisible_process_task_stays_out_of_tasks_and_tasks_updated(manager: TaskManager, qtbot: QtBot) -> None:
    updates: list[list[Task[Any]]] = []
    manager.tasks_updated.connect(lambda sender, tasks, progress: updates.append(list(tasks)))
    done: list[Task[Any]] = []
    task = manager.run_process(f.echo, 7, visible=False, when_done=done.append)
    assert task not in manager.tasks and not manager.has_tasks()
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.result()["args"] == (7,) and task.result()["kwargs"] == {}  # no visible=
    assert all(task not in tasks for tasks in updates)
    manager.tasks_updated.disconnect()


def test_cancel_task_by_id_reaches_an_invisible_task(manager: TaskManager, qtbot: QtBot) -> None:
    done: list[Task[Any]] = []
    task = manager.run_process(f.until_cancelled, visible=False, when_done=done.append)
    assert manager.cancel_task(task.key) is False  # no key slot
    assert manager.cancel_task_by_id(task.id) is True
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.get_status() == "canceled"
    assert manager.cancel_task_by_id(task.id) is False


# -- blinker signals ----------------------------------------------------------------------------


def test_tasks_updated_gives_blinker_receivers_their_keywords(manager: TaskManager, qtbot: QtBot) -> None:
    kwargs_only: list[dict[str, Any]] = []
    tasks_and_rest: list[tuple[list[Task[Any]], dict[str, Any]]] = []
    threads: list[bool] = []

    def on_update(sender: Any, **kwargs: Any) -> None:
        kwargs_only.append(kwargs)
        threads.append(QThread.currentThread() == QApplication.instance().thread())  # type: ignore[union-attr]

    def on_tasks(sender: Any, tasks: list[Task[Any]], **kw: Any) -> None:
        tasks_and_rest.append((tasks, kw))

    manager.tasks_updated.connect(on_update)
    manager.tasks_updated.connect(on_tasks)
    task = manager.run_thread(f.echo)
    qtbot.waitUntil(lambda: task.is_final() and bool(kwargs_only) and kwargs_only[-1]["tasks"] == [], timeout=10_000)
    assert set(kwargs_only[0]) == {"tasks", "progress"} and kwargs_only[-1]["progress"] == 1.0
    assert all("progress" in kw for _, kw in tasks_and_rest)
    assert all(threads)
    manager.tasks_updated.disconnect(on_update)
    manager.tasks_updated.disconnect(on_tasks)
    assert not manager.tasks_updated.receivers


def test_status_changed_and_event_received_are_blinker_signals(manager: TaskManager, qtbot: QtBot) -> None:
    statuses: list[str] = []
    events: list[tuple[str, Any]] = []
    gate = threading.Event()

    def work(context: Any) -> str:
        gate.wait(10)
        context.send_event("preview", {"n": 1})
        context.set_message("sent")
        return "ok"

    task = manager.run_thread(work)
    task.status_changed.connect(lambda sender: statuses.append(sender.get_status()))
    task.event_received.connect(lambda sender, event_name, data: events.append((event_name, data)))
    gate.set()
    qtbot.waitUntil(lambda: task.is_final(), timeout=10_000)
    assert events == [("preview", {"n": 1})]
    assert statuses[-1] == "completed"


def test_task_public_constructor_update_and_run(qapp: QApplication) -> None:
    async def coro(context: Any, a: int, *, b: int) -> int:
        context.set_progress(0.5)
        context.set_message("half")
        return a + b

    task: Task[Any] = Task(coro, 1, key="k", b=2)
    assert (task.coro, task.args, task.kwargs, task.key) == (coro, (1,), {"b": 2}, "k")
    assert task.get_status() == "pending" and task.get_progress() == 0.0 and task.get_message() is None
    seen: list[tuple[str, float, str | None]] = []
    task.status_changed.connect(lambda sender: seen.append((sender.get_status(), sender.get_progress(), sender.get_message())))
    task.update(progress=0.25, message="hi")
    assert len(seen) == 1
    task.update(progress=0.25)  # no change: no signal
    assert len(seen) == 1
    reports: list[float] = []
    context = CallbackProgressContext(lambda: False, reports.append, lambda m: task.update(message=m), total=1.0)
    asyncio.run(task.run(context))
    assert task.get_status() == "completed" and task.result() == 3 and task.get_progress() == 1.0
    assert reports == [0.5] and seen[1][0] == "running" and seen[-1][0] == "completed"


def test_add_task_runs_a_constructed_task(manager: TaskManager, qtbot: QtBot) -> None:
    done: list[Task[Any]] = []
    task: Task[Any] = Task(f.async_echo, 5, key="added")
    manager.add_task(task, when_done=done.append)
    assert manager.get_task("added") is task
    qtbot.waitUntil(lambda: task in done, timeout=10_000)
    assert task.result()["args"] == (5,)
    with pytest.raises(TaskStateError, match="already added"):
        manager.add_task(task)


# -- main thread, loop, settling ------------------------------------------------------------------


def test_schedule_on_main_thread_uses_the_given_scheduler_or_the_gui_thread(worker: BackgroundWorker, qtbot: QtBot) -> None:
    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
    custom = TaskManager(worker, main_thread_scheduler=lambda cb, *a, **kw: calls.append((cb, a, kw)))
    custom.schedule_on_main_thread(print, "x", sep="")
    assert calls == [(print, ("x",), {"sep": ""})]

    manager = TaskManager(worker)
    ran_on: list[bool] = []
    app_thread = QApplication.instance().thread()  # type: ignore[union-attr]
    threading.Thread(
        target=manager.schedule_on_main_thread,
        args=(lambda: ran_on.append(QThread.currentThread() == app_thread),),
    ).start()
    qtbot.waitUntil(lambda: ran_on == [True], timeout=5_000)


def test_run_on_main_thread_is_awaited_from_a_coroutine(manager: TaskManager, qtbot: QtBot) -> None:
    app_thread = QApplication.instance().thread()  # type: ignore[union-attr]

    def on_gui(a: int, *, b: int) -> tuple[int, bool]:
        return a + b, QThread.currentThread() == app_thread

    def boom() -> None:
        raise ValueError("boom")

    async def coro(context: Any) -> tuple[Any, str]:
        value = await manager.run_on_main_thread(on_gui, 1, b=2)
        try:
            await manager.run_on_main_thread(boom)
        except ValueError as exc:
            return value, str(exc)
        return value, "no error"

    task = manager.add_coroutine(coro)
    qtbot.waitUntil(lambda: task.is_final(), timeout=10_000)
    assert task.result() == ((3, True), "boom")


def test_schedule_delayed_on_main_thread_waits_and_can_be_cancelled(manager: TaskManager, qtbot: QtBot) -> None:
    fired: list[tuple[float, tuple[Any, ...]]] = []
    start = time.monotonic()
    manager.schedule_delayed_on_main_thread(100, lambda *a: fired.append((time.monotonic() - start, a)), "a", "b")
    cancelled: list[str] = []
    handle = manager.schedule_delayed_on_main_thread(50, cancelled.append, "should not run")
    handle.cancel()
    qtbot.waitUntil(lambda: bool(fired), timeout=5_000)
    assert fired[0][0] >= 0.09 and fired[0][1] == ("a", "b")  # asyncio may fire within its clock resolution
    qtbot.wait(100)
    assert cancelled == []


def test_loop_and_run_in_executor(manager: TaskManager, qtbot: QtBot) -> None:
    async def coro(context: Any) -> tuple[bool, str]:
        on_loop = asyncio.get_running_loop() is manager.loop
        name = await manager.run_in_executor(lambda: threading.current_thread().name)
        return on_loop, name

    task = manager.add_coroutine(coro)
    qtbot.waitUntil(lambda: task.is_final(), timeout=10_000)
    on_loop, name = task.result()
    assert on_loop and name != threading.current_thread().name
    assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "ran"), manager.loop).result(5) == "ran"


def test_wait_until_settled(manager: TaskManager) -> None:
    assert manager.wait_until_settled(0) is True
    done: list[Task[Any]] = []
    manager.run_thread(f.nap, 0.2, when_done=done.append)
    assert manager.wait_until_settled(0) is False
    assert manager.wait_until_settled(10_000) is True  # on the GUI thread: Qt events run
    assert len(done) == 1  # when_done ran too
    gate = threading.Event()
    task = manager.run_thread(lambda context: gate.wait(10))
    started = time.monotonic()
    assert manager.wait_until_settled(200) is False
    assert time.monotonic() - started >= 0.2
    gate.set()
    assert manager.wait_until_settled(10_000) and task.is_final()


def test_shutdown_cancels_and_refuses_new_tasks(worker: BackgroundWorker) -> None:
    manager = TaskManager(worker)
    task = manager.run_thread(f.until_cancelled)
    assert manager.shutdown(timeout=10) is True
    assert task.get_status() == "canceled"
    with pytest.raises(TaskStateError, match="shut down"):
        manager.run_thread(f.echo)


def test_restart_worker_pool_runs_later_tasks_in_new_processes(manager: TaskManager, qtbot: QtBot) -> None:
    first = manager.run_process(f.pid)
    qtbot.waitUntil(lambda: first.is_final(), timeout=20_000)
    manager.restart_worker_pool()
    second = manager.run_process(f.pid)
    qtbot.waitUntil(lambda: second.is_final(), timeout=30_000)
    assert second.result() != first.result()


def test_worker_initializer_runs_in_each_worker_process_before_its_tasks(
    worker: BackgroundWorker, qtbot: QtBot, tmp_path: Path
) -> None:
    log = tmp_path / "init.log"
    manager = TaskManager(worker, worker_initializer=f.init_worker, worker_initargs=(str(log),), shared_state={"k": 1})
    try:
        tasks = [manager.run_process(f.pid) for _ in range(2)]
        qtbot.waitUntil(lambda: all(t.is_final() for t in tasks), timeout=20_000)
        lines = log.read_text().splitlines()
        assert lines == [f"{tasks[0].result()} [('k', 1)]"]  # once per process (one here)
    finally:
        manager.shutdown()
    with pytest.raises(TypeError, match="worker_initializer must be callable"):
        TaskManager(worker, worker_initializer="init")  # type: ignore[arg-type]


def test_a_scheduler_given_positionally_is_refused_with_a_hint(worker: BackgroundWorker) -> None:
    with pytest.raises(TypeError, match="main_thread_scheduler="):
        TaskManager(lambda f, *a: f(*a))  # type: ignore[arg-type]


# -- send_event_and_wait -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_send_event_and_wait_is_acknowledged_once_when_event_took_it(manager: TaskManager, qtbot: QtBot, kind: str) -> None:
    taken: list[tuple[str, Any]] = []

    def when_event(task: Task[Any], name: str, data: Any) -> None:
        if name == "refuse":
            raise RuntimeError("not adopted")
        taken.append((name, data))

    run = manager.run_thread if kind == "thread" else manager.run_process
    ok = run(f.hand_over, "frame", when_event=when_event)
    qtbot.waitUntil(lambda: ok.is_final(), timeout=30_000)
    assert ok.result() is True and taken == [("frame", {"block": "frame"})]
    refused = run(f.hand_over, "refuse", when_event=when_event)
    qtbot.waitUntil(lambda: refused.is_final(), timeout=30_000)
    assert refused.result() is False


# -- the proxy ---------------------------------------------------------------------------------------


def test_proxy_initialize_configures_the_manager_it_creates(qtbot: QtBot) -> None:
    calls: list[Any] = []
    proxy = TaskManagerProxy()
    proxy.restart_worker_pool()  # before first use: nothing to restart
    proxy.initialize(main_thread_scheduler=lambda cb, *a, **kw: calls.append(cb))
    proxy.schedule_on_main_thread(print)
    assert calls == [print]
    with pytest.raises(RuntimeError, match="already been created"):
        proxy.initialize()
    with pytest.raises(TypeError):
        TaskManagerProxy().initialize(no_such_option=1)
    assert proxy.shutdown()


# -- the progress module ---------------------------------------------------------------------------


def test_progress_contexts(monkeypatch: pytest.MonkeyPatch) -> None:
    noop = NoOpProgressContext()
    noop.set_total(0)
    noop.set_progress(0.5)
    noop.set_message("x")
    noop.flush()
    assert not noop.is_cancelled() and noop.sub_context(0.0, 0.5) is not noop

    values: list[float] = []
    messages: list[str] = []
    checks: list[int] = []
    ctx = CallbackProgressContext(lambda: (checks.append(1), True)[1], values.append, messages.append)
    ctx.set_total(200)
    ctx.set_progress(20)
    sub = ctx.sub_context(0.5, 0.5)
    sub.set_total(100)
    sub.set_progress(50)
    set_progress(ctx, 100, "half")
    set_progress(None, 1.0, "nobody")
    assert values == [pytest.approx(0.1), pytest.approx(0.75), pytest.approx(0.5)] and messages == ["half"]
    # The cancel check is throttled: one call per CANCELLED_CHECK_INTERVAL_S.
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    assert ctx.is_cancelled() is True and ctx.is_cancelled() is False and len(checks) == 1
    now[0] += ctx.CANCELLED_CHECK_INTERVAL_S + 0.001
    assert ctx.is_cancelled() is True and len(checks) == 2
    assert isinstance(ctx, ProgressContext)
