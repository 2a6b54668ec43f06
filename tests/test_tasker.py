"""The Rayforge-style facade: ``from qbackground.tasker import task_mgr`` (DESIGN §4)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, ProcessCrashedError, TaskCancelledError, TaskStateError
from qbackground.tasker import Task, TaskManager, task_mgr

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
    assert result["has_publish"] and result["context"].endswith("LifeCycle")
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


def test_cancel_before_the_gui_thread_started_it(manager: TaskManager, qtbot: QtBot) -> None:
    """From another thread: the task is returned at once and cancelled before it starts."""
    got: list[Task[Any]] = []
    done: list[Task[Any]] = []

    def elsewhere() -> None:
        task = manager.run_thread(f.echo, key="early", when_done=done.append)
        got.append(task)
        assert manager.cancel_task("early") is True

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert got[0].get_status() == "canceled" and got[0].handler is None
    qtbot.waitUntil(lambda: done == got)
    assert got[0].handler is None  # never ran


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


# -- bad input --------------------------------------------------------------------------


def test_bad_input_is_refused_with_clear_errors(manager: TaskManager) -> None:
    with pytest.raises(TypeError, match="must be callable, not str"):
        manager.run_thread("echo")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot be pickled.*define it at module level"):
        manager.run_process(lambda context: None)
    coro = f.sleeper(None, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not a coroutine object: add_coroutine\(fetch\(url\)\)"):
        manager.add_coroutine(coro)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="when_done must be callable"):
        manager.run_thread(f.echo, when_done="print")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="when_event must be callable"):
        manager.run_thread(f.echo, when_event=1)  # type: ignore[arg-type]


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
