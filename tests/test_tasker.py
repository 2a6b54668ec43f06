"""The Rayforge-style facade: ``from qbackground.tasker import task_mgr`` (DESIGN §4)."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import time
import types
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundTaskHandler,
    BackgroundWorker,
    ProcessCrashedError,
    QBackgroundError,
    TaskCancelledError,
    TaskStateError,
    TaskStatus,
)
from qbackground.tasker import Task, TaskManager, TaskManagerProxy, task_mgr
from qbackground.widgets import TaskStatusWidget

from . import tasker_funcs as f

KINDS = ["thread", "process", "asyncio"]


@pytest.fixture(scope="module")
def manager(qapp: QApplication) -> Iterator[TaskManager]:
    """A manager on its own worker (warm process pool for the module)."""
    worker = BackgroundWorker(threads=4, processes=2, process_grace=0.5, strict=True)
    errors: list[tuple[Any, BaseException]] = []
    worker.unhandled_exception.connect(lambda task, exc: errors.append((task, exc)))
    mgr = TaskManager(worker)
    mgr.errors = errors  # type: ignore[attr-defined]
    yield mgr
    assert worker.shutdown(timeout=10)


@pytest.fixture
def errors(manager: TaskManager) -> Iterator[list[tuple[Any, BaseException]]]:
    found: list[tuple[Any, BaseException]] = manager.errors  # type: ignore[attr-defined]
    found.clear()
    yield found


def start(manager: TaskManager, kind: str, func: Any, *args: Any, **kwargs: Any) -> Task[Any]:
    if kind == "thread":
        return manager.run_thread(func, *args, **kwargs)
    if kind == "process":
        return manager.run_process(func, *args, **kwargs)
    return manager.add_coroutine(func, *args, **kwargs)


def finished(done: list[Task[Any]], task: Task[Any]) -> bool:
    return task in done


# -- arguments reach the function ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_context_first_then_positional_and_keyword_arguments(manager: TaskManager, qtbot: QtBot, kind: str) -> None:
    """Rayforge's run_thread passed no context and broke on keywords; here both work."""
    done: list[Task[Any]] = []
    func = f.async_echo if kind == "asyncio" else f.echo
    task = start(manager, kind, func, 1, "two", key=f"echo-{kind}", when_done=done.append, three=3, four=[4])
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.get_status() == "completed"
    result = task.result()
    assert result["has_publish"] and result["context"] == "TaskContext"  # a TaskLifeCycle with Rayforge progress
    assert result["args"] == (1, "two") and result["kwargs"] == {"three": 3, "four": [4]}
    assert task.get_progress() == 1.0 and task.exception() is None and task._task_exception is None


# -- events, messages and progress before when_done --------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_events_messages_and_progress_arrive_before_when_done(manager: TaskManager, qtbot: QtBot, kind: str) -> None:
    seen: list[tuple[str, Any]] = []

    def on_event(task: Task[Any], name: str, data: Any) -> None:
        assert threading.current_thread() is threading.main_thread()
        seen.append((name, data))

    def on_done(task: Task[Any]) -> None:
        seen.append(("when_done", (task.get_status(), task.get_message(), task.get_progress())))

    func = f.async_report if kind == "asyncio" else f.report
    task = start(manager, kind, func, 50, when_done=on_done, when_event=on_event, event="tick")
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][0] == "when_done", timeout=20_000)
    assert seen[:-1] == [("tick", {"i": i}) for i in range(50)]
    assert seen[-1] == ("when_done", ("completed", "step 50 of 50", 1.0))
    assert task.result() == "reported"


def test_sub_context_maps_into_a_slice_of_the_parent(manager: TaskManager, qtbot: QtBot) -> None:
    f.STAGE.clear()
    task = manager.run_thread(f.stages)
    qtbot.waitUntil(lambda: task.get_progress() == 0.5)  # 4 of 4 in the first half
    f.STAGE.set()
    qtbot.waitUntil(lambda: task.get_progress() == 0.75)  # half of the second half
    f.STAGE.set()
    qtbot.waitUntil(task.is_final)
    assert task.result() == "staged" and task.get_progress() == 1.0


# -- cancel and keys -------------------------------------------------------------------


def test_cancelling_a_process_that_ignores_it_calls_when_done_only_once_it_is_killed(
    manager: TaskManager, qtbot: QtBot
) -> None:
    """Rayforge's fault: cancel set a flag and fired when_done while the process ran on."""
    pids: list[int] = []
    done: list[tuple[str, bool]] = []

    def on_done(task: Task[Any]) -> None:
        done.append((task.get_status(), _alive(pids[0])))

    task = manager.run_process(
        f.deaf_pid, 30, key="deaf", when_done=on_done, when_event=lambda t, n, pid: pids.append(pid)
    )
    qtbot.waitUntil(lambda: bool(pids), timeout=20_000)
    assert manager.cancel_task("deaf") is True
    assert task.get_status() == "canceled" and task.is_cancelled()
    assert manager.get_task("deaf") is task  # winding down: still tracked
    assert manager.cancel_task("deaf") is False  # already decided
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert done == [("canceled", False)], "when_done ran while the process was still alive"
    assert manager.get_task("deaf") is None
    with pytest.raises(TaskCancelledError):
        task.result()


@pytest.mark.parametrize("kind", ["thread", "asyncio"])
def test_a_new_task_with_a_running_key_cancels_the_old_one_first(manager: TaskManager, qtbot: QtBot, kind: str) -> None:
    ended: list[tuple[int, str]] = []
    func, arg = (f.sleeper, 30) if kind == "asyncio" else (f.until_cancelled, None)
    args = () if arg is None else (arg,)
    old = start(manager, kind, func, *args, key="same", when_done=lambda t: ended.append((t.id, t.get_status())))
    qtbot.waitUntil(lambda: old.get_message() is not None, timeout=10_000)
    new = start(manager, kind, f.async_echo if kind == "asyncio" else f.echo, key="same",
                when_done=lambda t: ended.append((t.id, t.get_status())))
    assert manager.get_task("same") is new and old.is_cancelled()
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=10_000)
    assert sorted(ended) == sorted([(old.id, "canceled"), (new.id, "completed")])
    assert manager.cancel_task("same") is False  # nothing unfinished under that key
    assert manager.cancel_task("never used") is False


def test_a_key_replaces_a_task_that_is_still_queued(qtbot: QtBot) -> None:
    """Issue 13: the old task is cancelled while it waits in the queue, not only once it runs."""
    worker = BackgroundWorker(threads=1, strict=True)
    ended: list[tuple[str, str]] = []
    f.GATE.clear()
    f.RAN.clear()
    try:
        mgr = TaskManager(worker)
        blocker = mgr.run_thread(f.gated, when_done=lambda t: ended.append(("blocker", t.get_status())))
        qtbot.waitUntil(blocker.is_running)  # the one thread is busy: what comes next queues
        a = mgr.run_thread(f.record_run, "A", key="k", when_done=lambda t: ended.append(("A", t.get_status())))
        assert a.get_status() == "pending"
        b = mgr.run_thread(f.record_run, "B", key="k", when_done=lambda t: ended.append(("B", t.get_status())))
        assert a.get_status() == "canceled" and a.is_cancelled() and mgr.get_task("k") is b
        # A ends while the blocker still holds the thread: it was never going to run.
        qtbot.waitUntil(lambda: ended == [("A", "canceled")], timeout=10_000)
        assert blocker.is_running() and b.get_status() == "pending"
        f.GATE.set()
        qtbot.waitUntil(lambda: len(ended) == 3, timeout=10_000)
        assert ended == [("A", "canceled"), ("blocker", "completed"), ("B", "completed")]
        assert f.RAN == ["B"], "the replaced task's function ran"
        assert b.result() == "B"
        with pytest.raises(TaskCancelledError):
            a.result()
        assert mgr.get_task("k") is None
    finally:
        f.GATE.set()
        assert worker.shutdown(timeout=10)


def test_cancel_before_the_gui_thread_started_it(manager: TaskManager, qtbot: QtBot) -> None:
    """From another thread: the task is returned at once and cancelled before it starts."""
    got: list[Task[Any]] = []
    done: list[Task[Any]] = []
    no_handler: list[str] = []

    def elsewhere() -> None:
        task = manager.run_thread(f.echo, key="early", when_done=done.append)
        got.append(task)
        try:  # the GUI thread is blocked in join(): it cannot have started the task
            task.handler
        except TaskStateError as exc:
            no_handler.append(str(exc))
        assert manager.cancel_task("early") is True

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(no_handler) == 1 and "has no handler: it was submitted from another thread" in no_handler[0]
    # As in Rayforge: the status stays 'pending' until the manager gets to start it.
    assert got[0].get_status() == "pending" and got[0].is_cancelled()
    qtbot.waitUntil(lambda: done == got)
    assert got[0].get_status() == "canceled"
    with pytest.raises(TaskStateError, match="has no handler: it was cancelled before it started"):
        got[0].handler  # never ran


# -- failures -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_failure_reaches_when_done_with_its_exception(manager: TaskManager, qtbot: QtBot, kind: str, errors: list[Any]) -> None:
    done: list[Task[Any]] = []
    task = start(manager, kind, f.fail, "bad row", when_done=done.append)
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.get_status() == "failed"
    assert isinstance(task.exception(), ValueError) and task._task_exception is task.exception()
    with pytest.raises(ValueError, match="bad row"):
        task.result()
    assert errors == []  # handled by when_done


def test_a_failure_nobody_waits_for_reaches_unhandled_exception(manager: TaskManager, qtbot: QtBot, errors: list[Any]) -> None:
    task = manager.run_thread(f.fail, "unseen")
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0][1], ValueError) and task.get_status() == "failed"


def test_a_crashed_process_fails_the_task(manager: TaskManager, qtbot: QtBot) -> None:
    done: list[Task[Any]] = []
    task = manager.run_process(f.crash, when_done=done.append)
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.get_status() == "failed" and isinstance(task.exception(), ProcessCrashedError)
    assert "exited with code 7" in str(task.exception())


def test_an_error_in_when_done_reaches_unhandled_exception(manager: TaskManager, qtbot: QtBot, errors: list[Any]) -> None:
    def broken(task: Task[Any]) -> None:
        raise KeyError("in when_done")

    manager.run_thread(f.echo, when_done=broken)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0][1], KeyError)


# -- tasks_updated ----------------------------------------------------------------------


def test_tasks_updated_is_throttled_and_ends_idle(manager: TaskManager, qtbot: QtBot) -> None:
    updates: list[tuple[Any, list[Task[Any]], float]] = []
    manager.tasks_updated.connect(lambda sender, tasks, progress: updates.append((sender, list(tasks), progress)))
    try:
        first = manager.run_thread(f.busy_progress, 200_000)
        second = manager.run_thread(f.busy_progress, 200_000)
        qtbot.waitUntil(lambda: first.is_final() and second.is_final() and bool(updates) and not updates[-1][1], timeout=20_000)
    finally:
        manager.tasks_updated.disconnect()
    # 400,000 progress reports: a handful of signals (about one per frame), not thousands.
    assert len(updates) < 200, len(updates)
    assert all(sender is manager for sender, _, _ in updates)
    assert updates[-1][1:] == ([], 1.0)
    mid = [progress for _, tasks, progress in updates if tasks]
    assert mid == sorted(mid) and all(0.0 <= p <= 1.0 for p in mid)


@pytest.mark.parametrize("kind", KINDS)
def test_when_done_runs_after_tasks_updated_showed_the_task_finished(
    manager: TaskManager, qtbot: QtBot, kind: str
) -> None:
    """A bar driven by tasks_updated reads the final state inside when_done, not a frame
    behind (it read 89-93 % there, and the finished task was still listed)."""
    updates: list[tuple[list[Task[Any]], float]] = []
    seen: list[tuple[str, list[Task[Any]], float]] = []

    def on_done(task: Task[Any]) -> None:
        seen.append((task.key, list(updates[-1][0]), updates[-1][1]))

    manager.tasks_updated.connect(lambda sender, tasks, progress: updates.append((list(tasks), progress)))
    try:
        f.GATE.clear()
        slow = manager.run_thread(f.gated, key="slow", when_done=on_done)
        func = f.async_report if kind == "asyncio" else f.report
        quick = start(manager, kind, func, 200, key="quick", when_done=on_done)
        qtbot.waitUntil(lambda: len(seen) == 1, timeout=20_000)
        # The quick task is over, the slow one runs: the batch is half done.
        assert seen[0] == ("quick", [slow], 0.5)
        f.GATE.set()
        qtbot.waitUntil(lambda: len(seen) == 2, timeout=20_000)
        assert seen[1] == ("slow", [], 1.0)
        assert quick.result() == "reported" and slow.result() == "released"
    finally:
        f.GATE.set()
        manager.tasks_updated.disconnect()


def test_a_burst_of_endings_is_published_once_not_once_per_task(manager: TaskManager, qtbot: QtBot) -> None:
    """Tasks ending together get one tasks_updated before their when_done calls, so a
    flood of endings stays throttled too, and each when_done still sees itself finished."""
    updates: list[list[Task[Any]]] = []
    seen: list[bool] = []  # per when_done: was its task absent from the latest tasks_updated?
    count = 300
    manager.tasks_updated.connect(lambda sender, tasks, progress: updates.append(list(tasks)))
    try:
        for i in range(count):
            manager.run_thread(f.echo, i, when_done=lambda t: seen.append(t not in updates[-1]))
        qtbot.waitUntil(lambda: len(seen) == count, timeout=20_000)
    finally:
        manager.tasks_updated.disconnect()
    assert all(seen)
    assert len(updates) < count // 3, len(updates)  # one emission per task would be >= 300


def test_tasks_updated_never_comes_twice_within_a_frame(manager: TaskManager, qtbot: QtBot) -> None:
    """Endings spread over time (not one burst) are throttled like progress: the emission
    that runs their when_done waits for the frame."""
    stamps: list[float] = []
    done: list[Task[Any]] = []
    manager.tasks_updated.connect(lambda sender, tasks, progress: stamps.append(time.monotonic()))
    try:
        for _ in range(120):
            manager.run_thread(f.nap, 0.002, when_done=done.append)
        qtbot.waitUntil(lambda: len(done) == 120, timeout=20_000)
    finally:
        manager.tasks_updated.disconnect()
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:])]
    assert len(stamps) >= 3, stamps
    # 16 ms apart; Qt's coarse timers may fire up to 5 % early.
    assert min(gaps) >= 0.014, sorted(gaps)[:5]


def test_a_status_widget_next_to_the_manager_is_current_inside_when_done(
    manager: TaskManager, qtbot: QtBot
) -> None:
    status = TaskStatusWidget(manager.worker, hide_when_idle=False)
    qtbot.addWidget(status)
    seen: list[tuple[int, str]] = []
    f.GATE.clear()
    try:
        task = manager.run_thread(
            f.gated, when_done=lambda t: seen.append((status.running_count, status.count_label.text()))
        )
        qtbot.waitUntil(lambda: status.running_count == 1, timeout=10_000)
        f.GATE.set()
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
        assert task.get_status() == "completed"
        assert seen == [(0, "")], "the status widget still showed the task running in when_done"
    finally:
        f.GATE.set()


# -- bad input --------------------------------------------------------------------------


def test_bad_input_is_refused_with_clear_errors(manager: TaskManager) -> None:
    with pytest.raises(TypeError, match="must be callable, not str"):
        manager.run_thread("echo")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"cannot send func \(lambda\).*define it with def at module level"):
        manager.run_process(lambda context: None)
    coro = f.sleeper(None, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not a coroutine object: add_coroutine\(fetch\(url\)\)"):
        manager.add_coroutine(coro)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="when_done must be callable"):
        manager.run_thread(f.echo, when_done="print")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="when_event must be callable"):
        manager.run_thread(f.echo, when_event=1)  # type: ignore[arg-type]


def test_bad_run_process_arguments_fail_at_the_call_naming_the_argument(manager: TaskManager) -> None:
    """DESIGN §7: not later, in when_done, as an internal job class that "could not be pickled"."""

    def local(value: int) -> int:
        return value

    def refused(*args: Any, **kwargs: Any) -> str:
        with pytest.raises(TypeError) as caught:
            manager.run_process(*args, key="refused", **kwargs)
        message = str(caught.value)
        assert "FunctionJob" not in message and "class" not in message, message
        return message

    message = refused(f.echo, lambda v: v)
    assert message.startswith("run_process() cannot send args[0] (lambda) to a worker process: ")
    assert "a lambda cannot be pickled by reference" in message and "define it with def at module level" in message
    message = refused(f.echo, 1, local)
    assert message.startswith("run_process() cannot send args[1] (function) to a worker process: ")
    assert ".<locals>.local is a local (nested) function" in message and "at module level" in message
    with socket.socket() as sock:
        message = refused(f.echo, 1, conn=sock)
    assert message.startswith("run_process() cannot send keyword argument 'conn' (socket.socket) to a worker")
    assert "cannot pickle 'socket' object" in message and "Pass plain data" in message
    message = refused(f.echo, [1, lambda: 2])
    assert message.startswith("run_process() cannot send args[0] (list) to a worker process: ")
    assert "It holds a lambda or a local function" in message
    message = refused(local, 1)
    assert message.startswith("run_process() cannot send func (function) to a worker process: ")
    assert "or use run_thread()" in message
    assert manager.get_task("refused") is None and not manager.has_tasks()  # nothing started


def test_run_process_arguments_that_cannot_be_unpickled_in_the_worker_fail_the_task(
    manager: TaskManager, qtbot: QtBot
) -> None:
    done: list[Task[Any]] = []
    task = manager.run_process(f.echo, f.UnpicklesNowhere(), when_done=done.append)
    qtbot.waitUntil(lambda: task in done, timeout=20_000)
    assert task.get_status() == "failed" and isinstance(task.exception(), QBackgroundError)
    message = str(task.exception())
    assert "echo or its arguments could not be unpickled in the worker process" in message
    assert "ValueError: refuses to be unpickled" in message


def test_a_plain_function_given_to_add_coroutine_fails_with_a_hint(manager: TaskManager, qtbot: QtBot) -> None:
    done: list[Task[Any]] = []
    task = manager.add_coroutine(f.echo, when_done=done.append)
    qtbot.waitUntil(lambda: task in done, timeout=10_000)
    assert task.get_status() == "failed"
    assert "add_coroutine() needs an async function" in str(task.exception())


def test_result_before_the_end_says_so(manager: TaskManager, qtbot: QtBot) -> None:
    f.GATE.clear()
    task = manager.run_thread(f.gated)
    with pytest.raises(TaskStateError, match="has no result yet"):
        task.result()
    f.GATE.set()
    qtbot.waitUntil(task.is_final)
    assert task.result() == "released"


# -- the proxy and the seed -------------------------------------------------------------


def test_task_mgr_works_from_any_thread(qtbot: QtBot) -> None:
    done: list[Task[Any]] = []
    got: list[Task[Any]] = []
    thread = threading.Thread(
        target=lambda: got.append(task_mgr.run_thread(f.echo, 1, key="from a thread", when_done=done.append, x=2))
    )
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: done == got, timeout=10_000)
    assert got[0].result()["kwargs"] == {"x": 2}
    assert task_mgr.manager.thread() is QApplication.instance().thread()  # type: ignore[union-attr]


class _FakeBar:
    def __init__(self) -> None:
        self.fractions: list[float] = []

    def set_fraction(self, value: float) -> None:
        self.fractions.append(value)


class _FakeLabel:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def set_text(self, text: str) -> None:
        self.texts.append(text)


def test_the_seed_examples_run_unchanged(qtbot: QtBot, capfd: pytest.CaptureFixture[str]) -> None:
    """Every example of the Rayforge tasker page, unchanged but for its import line:
    the definitions are in tests/rayforge_seed.py, the calling lines are below."""
    from .rayforge_seed import (  # noqa: F401
        my_cancellable_task,
        my_cpu_task,
        my_io_task,
        my_thread_task,
        on_task_finished,
        setup_ui,
    )

    my_progress_bar, my_label = _FakeBar(), _FakeLabel()
    # "Оновлення UI"
    setup_ui(my_progress_bar, my_label)
    try:
        # "Запуск I/O-зв'язаного завдання"
        task_mgr.add_coroutine(my_io_task, "http://example.com", key="downloader")
        # "Запуск CPU-зв'язаного завдання"
        task_mgr.run_process(my_cpu_task, 50, key="calculator")
        # "Запуск потокового завдання"
        task_mgr.run_thread(my_thread_task, 2, key="thread_worker")
        # "Обробка завершення"
        task_mgr.run_process(my_cpu_task, 10, when_done=on_task_finished)
        # "Скасування", with the seed's is_cancelled() check in the function
        task_mgr.run_thread(my_cancellable_task, 1000, key="cancellable")

        downloader = task_mgr.get_task("downloader")
        calculator = task_mgr.get_task("calculator")
        thread_worker = task_mgr.get_task("thread_worker")
        cancellable = task_mgr.get_task("cancellable")
        assert None not in (downloader, calculator, thread_worker, cancellable)
        qtbot.waitUntil(lambda: calculator.get_progress() >= 0.1, timeout=20_000)  # type: ignore[union-attr]
        # У вашому UI коді:
        task_mgr.cancel_task("calculator")
        task_mgr.cancel_task("cancellable")
        qtbot.waitUntil(lambda: not task_mgr.has_tasks() and my_label.texts[-1:] == ["Очікування"], timeout=30_000)
    finally:
        task_mgr.tasks_updated.disconnect()
        # The default worker's process pool replaces the killed "calculator" process:
        # stop it here rather than let a later test see a new child process appear.
        assert task_mgr.manager.worker.shutdown(timeout=10)
    assert downloader.get_status() == "completed"  # type: ignore[union-attr]
    assert downloader.get_message() == "Завантаження завершено!"  # type: ignore[union-attr]
    assert thread_worker.result() == "Потокове завдання завершено"  # type: ignore[union-attr]
    assert calculator.get_status() == "canceled" and cancellable.get_status() == "canceled"  # type: ignore[union-attr]
    assert my_progress_bar.fractions[-1] == 1.0 and any(0.0 < p < 1.0 for p in my_progress_bar.fractions)
    assert any(text in ("Завантаження...", "Обчислення...", "Робота в потоці...") for text in my_label.texts)
    # on_task_finished's print (GUI thread) and my_cancellable_task's (its thread).
    printed: list[str] = []

    def both_printed() -> bool:
        printed.append(capfd.readouterr().out)
        text = "".join(printed)
        return "Завдання завершено з результатом: Фінальний результат" in text and "Завдання скасовано" in text

    try:
        qtbot.waitUntil(both_printed, timeout=10_000)
    except Exception:
        raise AssertionError(f"printed: {printed!r}") from None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_proxy_first_used_off_the_gui_thread_puts_its_manager_on_the_gui_thread(qtbot: QtBot) -> None:
    from qbackground.tasker import TaskManagerProxy

    proxy = TaskManagerProxy()
    got: list[Task[Any]] = []
    done: list[Task[Any]] = []
    thread = threading.Thread(target=lambda: got.append(proxy.run_thread(f.echo, 5, when_done=done.append)))
    thread.start()
    thread.join()
    assert proxy.manager.thread() is QApplication.instance().thread()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: done == got, timeout=10_000)
    assert got[0].result()["args"] == (5,)


# -- references: nothing waits for the cyclic garbage collector ------------------------------


def _three_ended_tasks(mgr: TaskManager, kind: str, qtbot: QtBot) -> list[Task[Any]]:
    """A replaced (cancelled) task with events, a completed one and a failed one."""
    done: list[Task[Any]] = []
    events: list[str] = []
    asyncio = kind == "asyncio"
    report, echo = (f.async_report, f.async_echo) if asyncio else (f.report, f.echo)
    start(mgr, kind, report, 5, key="k", when_done=done.append, when_event=lambda t, n, d: events.append(n))
    start(mgr, kind, echo, key="k", when_done=done.append)  # replaces (cancels) the first
    start(mgr, kind, f.async_fail if asyncio else f.fail, "no", when_done=done.append)
    qtbot.waitUntil(lambda: len(done) == 3, timeout=20_000)
    assert sorted(t.get_status() for t in done) == ["canceled", "completed", "failed"]
    return done  # the list when_done=done.append filled


@pytest.mark.parametrize("kind", KINDS)
def test_a_manager_whose_tasks_ended_is_freed_by_reference_counting(
    manager: TaskManager, qtbot: QtBot, kind: str
) -> None:
    """Issue 11: a manager, its tasks, their jobs and callbacks form no reference cycle once
    the tasks are over, so dropping them frees them at once, on the dropping thread (a
    cycle left them to a collection on whatever thread triggers one: Qt objects freed off
    the GUI thread, a segfault). Neither keeps the other alive: checked both ways."""
    gc.collect()
    gc.disable()
    try:
        # The manager dropped first, while its ended tasks are still held.
        mgr = TaskManager(manager.worker)
        mgr.tasks_updated.connect(lambda sender, tasks, progress: None)
        done = _three_ended_tasks(mgr, kind, qtbot)
        # A failed task's handler too: its exception's traceback keeps the frames that
        # ran it, and none of them may refer back to the handler.
        handlers = [weakref.ref(t.handler) for t in done]
        tasks = [weakref.ref(t) for t in done]
        ref = weakref.ref(mgr)
        del mgr
        assert ref() is None, f"manager kept alive by {_referrers(ref())}"
        del done
        alive = [r() for r in tasks if r() is not None]
        assert not alive, f"tasks kept alive by {[_referrers(t) for t in alive]}"
        assert all(r() is None for r in handlers)
        # The tasks dropped first, while their manager lives on.
        mgr = TaskManager(manager.worker)
        tasks = [weakref.ref(t) for t in _three_ended_tasks(mgr, kind, qtbot)]
        alive = [r() for r in tasks if r() is not None]
        assert not alive, f"tasks kept alive by {[_referrers(t) for t in alive]}"
        ref = weakref.ref(mgr)
        del mgr
        assert ref() is None, f"manager kept alive by {_referrers(ref())}"
    finally:
        gc.enable()


def test_a_task_that_could_not_start_leaves_no_cycle(qtbot: QtBot) -> None:
    """Its exception's traceback must not lead back to the task or its manager."""
    worker = BackgroundWorker(threads=1)
    assert worker.shutdown(timeout=10)
    done: list[Task[Any]] = []
    gc.collect()
    gc.disable()
    try:
        mgr = TaskManager(worker)
        task = mgr.run_thread(f.echo, when_done=done.append)
        qtbot.waitUntil(lambda: done == [task], timeout=10_000)
        assert task.get_status() == "failed" and isinstance(task.exception(), TaskStateError)
        assert "shut down" in str(task.exception())
        with pytest.raises(TaskStateError, match="has no handler: it could not start"):
            task.handler
        refs = weakref.ref(mgr), weakref.ref(task)
        del mgr, task, done
        alive = [r() for r in refs if r() is not None]
        assert not alive, f"kept alive by {[_referrers(o) for o in alive]}"
    finally:
        gc.enable()


@pytest.mark.parametrize("kind", KINDS)
def test_a_manager_dropped_while_its_tasks_run_lives_until_their_when_done(
    manager: TaskManager, qtbot: QtBot, kind: str
) -> None:
    """Its unfinished tasks hold it (the one back-reference that is needed); once their
    when_done ran, nothing does."""
    seen: list[tuple[str, float]] = []
    updates: list[float] = []
    gc.collect()
    gc.disable()
    f.GATE.clear()
    try:
        mgr = TaskManager(manager.worker)
        mgr.tasks_updated.connect(lambda sender, tasks, progress: updates.append(progress))
        func, args = (f.sleeper, (0.3,)) if kind == "asyncio" else (f.gated, ())
        if kind == "process":
            func, args = f.nap, (0.3,)
        start(mgr, kind, func, *args, when_done=lambda t: seen.append((t.get_status(), updates[-1])))
        ref = weakref.ref(mgr)
        del mgr
        assert ref() is not None, "a manager with a running task was freed"
        f.GATE.set()
        qtbot.waitUntil(lambda: bool(seen), timeout=20_000)
        assert seen == [("completed", 1.0)]
        assert ref() is None, f"manager kept alive by {_referrers(ref())}"
    finally:
        f.GATE.set()
        gc.enable()


def test_a_dropped_proxy_frees_its_manager_by_reference_counting(qtbot: QtBot) -> None:
    """Also for a task submitted from another thread (started by a queued signal)."""
    done: list[Task[Any]] = []
    gc.collect()
    gc.disable()
    try:
        proxy = TaskManagerProxy()
        thread = threading.Thread(target=lambda: proxy.run_thread(f.echo, 1, when_done=done.append))
        thread.start()
        thread.join()
        proxy.run_thread(f.echo, 2, when_done=done.append)
        qtbot.waitUntil(lambda: len(done) == 2, timeout=10_000)
        ref = weakref.ref(proxy.manager)
        del proxy
        assert ref() is None, f"manager kept alive by {_referrers(ref())}"
    finally:
        gc.enable()


def _referrers(obj: object) -> list[str]:
    """What refers to ``obj`` (frames by function name), but the caller's frame."""
    caller = sys._getframe(1)
    return [
        f"frame {r.f_code.co_name}" if isinstance(r, types.FrameType) else type(r).__name__
        for r in gc.get_referrers(obj)
        if r is not caller
    ]


# -- typing -------------------------------------------------------------------------------


def test_on_the_gui_thread_a_started_task_has_its_handler_at_once(manager: TaskManager, qtbot: QtBot) -> None:
    f.GATE.clear()
    try:
        for kind in KINDS:
            func = f.sleeper if kind == "asyncio" else f.gated
            args = (0.01,) if kind == "asyncio" else ()
            task = start(manager, kind, func, *args)
            assert isinstance(task.handler, BackgroundTaskHandler) and task.handler.task is not None
    finally:
        f.GATE.set()
    qtbot.waitUntil(lambda: not manager.has_tasks(), timeout=20_000)


def test_the_tasker_typing_cases_pass_mypy_strict() -> None:
    """tests/typing/check_tasker_types.py: ``Task.handler`` needs no assert under --strict."""
    root = Path(__file__).resolve().parents[1]
    path = root / "tests" / "typing" / "check_tasker_types.py"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "pyproject.toml", str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Success: no issues found in 1 source file" in output, output


# -- pause (issue 18) ------------------------------------------------------------------------


def test_a_task_pauses_and_resumes_and_says_so(manager: TaskManager, qtbot: QtBot) -> None:
    box = [0]
    changes: list[bool] = []
    done: list[Task[Any]] = []
    task = manager.run_thread(f.count_checkpoints, box, when_done=done.append)
    task.status_changed.connect(lambda sender: changes.append(sender.is_paused()))
    qtbot.waitUntil(lambda: box[0] > 3, timeout=10_000)
    assert task.pause() is True and task.pause() is False
    assert task.is_paused() and task.get_status() == "running"  # Rayforge's five values
    assert task.handler.status is TaskStatus.PAUSED
    assert changes[-1] is True
    qtbot.wait(100)
    held = box[0]
    qtbot.wait(300)
    assert box[0] == held, "the paused function ran on"
    assert task.resume() is True and task.resume() is False
    assert not task.is_paused() and changes[-1] is False
    qtbot.waitUntil(lambda: box[0] > held + 3, timeout=10_000)
    assert task.pause()
    task.cancel()  # a paused task is cancelled at once
    qtbot.waitUntil(lambda: done == [task], timeout=10_000)
    assert task.get_status() == "canceled" and not task.is_paused()
