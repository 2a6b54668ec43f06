"""The §2 contract, run on every backend: thread, process and asyncio."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from qtpy.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundTaskWrapper,
    BackgroundWorker,
    TaskCancelledError,
    TaskInterruptedError,
    TaskStatus,
    TaskTimeoutError,
)
from qbackground._handler import BackgroundTaskHandler
from qbackground.dask import DaskExecutor

from .contract_tasks import AsyncScripted, Scripted, ScriptError, Step

BACKENDS = ["thread", "process", "asyncio", "asyncio-uvloop", "dask"]
"""``asyncio`` runs on the standard library's loop, ``asyncio-uvloop`` on uvloop's."""


class Backend:
    def __init__(self, name: str, worker: BackgroundWorker, executor: Any = None) -> None:
        self.name = name
        self.worker = worker
        self.executor = executor if executor is not None else name.partition("-")[0]
        self.errors: list[tuple[Any, BaseException]] = []
        worker.unhandled_exception.connect(lambda t, e: self.errors.append((t, e)))

    def task(self, steps: list[Step], **kwargs: Any) -> Any:
        cls = AsyncScripted if self.name.startswith("asyncio") else Scripted
        return cls(steps, **kwargs)

    def start(self, task: Any) -> BackgroundTaskHandler[Any]:
        handler = self.worker.handle(task, executor=self.executor)
        handler.execute()
        return handler


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[Backend]:
    # One worker per backend for the module: worker processes start once (warm pool).
    loop = "uvloop" if request.param == "asyncio-uvloop" else "asyncio"
    worker = BackgroundWorker(threads=4, processes=2, process_grace=0.5, strict=True, asyncio_loop=loop)
    assert worker.asyncio_loop == loop
    dask_executor = DaskExecutor(n_workers=2) if request.param == "dask" else None
    yield Backend(request.param, worker, dask_executor)
    assert worker.shutdown(timeout=10)
    if dask_executor is not None:
        dask_executor.close()


def wait_started(qtbot: QtBot, task: Any) -> None:
    qtbot.waitUntil(lambda: "started" in task.items, timeout=20_000)


def test_done_after_every_item_in_order(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("publish", 20_000), ("message", "m"), ("event", "e", 1), ("return", 7)])
    handler = backend.start(task)
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=20_000)
    assert task.items == list(range(20_000))
    names = [n for n, _ in task.calls]
    assert names[-1] == "done" and task.calls[-1] == ("done", 7)
    assert ("message", "m") in task.calls and ("event", ("e", 1)) in task.calls
    assert handler.status is TaskStatus.DONE and handler.get_result() == 7


def test_an_empty_publish_is_one_progress_call(backend: Backend, qtbot: QtBot) -> None:
    # CUBA, Jmix and Swing call progress([]) for publish() with no changes: a heartbeat.
    task = backend.task([("beat",), ("return", 1)])
    backend.start(task)
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=20_000)
    assert task.calls == [("progress", 0), ("done", 1)]
    assert task.items == []


def test_empty_publishes_coalesce_with_items(worker: BackgroundWorker, qtbot: QtBot) -> None:
    # The GUI thread is blocked (in this test) while the task publishes, so each group of
    # publishes is one batch: heartbeats ride along with items, several make one call.
    import threading

    published, go, second = threading.Event(), threading.Event(), threading.Event()

    class Beats(Scripted):
        def run(self, lifecycle: Any) -> Any:
            lifecycle.publish()
            lifecycle.publish(1, 2)
            lifecycle.publish()
            published.set()
            go.wait(10)
            lifecycle.publish()
            lifecycle.publish()
            second.set()
            return None

    task = Beats([])
    worker.handle(task).execute()
    assert published.wait(10)
    qtbot.waitUntil(lambda: task.items == [1, 2], timeout=20_000)
    go.set()
    assert second.wait(10)
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=20_000)
    assert task.calls == [("progress", 2), ("progress", 0), ("done", None)]


def test_a_wrapper_restarts_on_its_executor(backend: Backend, qtbot: QtBot) -> None:
    first_task = backend.task([("started",), ("wait_interrupt",)])
    wrapper: BackgroundTaskWrapper[Any, Any] = BackgroundTaskWrapper(
        first_task, backend.worker, executor=backend.executor
    )
    assert wrapper.executor is backend.executor
    first = wrapper.restart()
    wait_started(qtbot, first_task)
    second = wrapper.restart(backend.task([("pid",)]))
    assert first.status is TaskStatus.CANCELLED
    qtbot.waitUntil(lambda: second.is_done(), timeout=20_000)
    pid = second.get_result()
    off_process = backend.name in ("process", "dask")
    assert (pid != os.getpid()) is off_process, f"{backend.name} ran run() in pid {pid}"
    assert first_task.terminal == ["canceled"]
    # restart(executor=...) switches this and later runs.
    third = wrapper.restart(executor="thread" if not backend.name.startswith("asyncio") else "asyncio")
    qtbot.waitUntil(lambda: third.is_done(), timeout=20_000)
    assert third.get_result() == os.getpid()


def test_failure_keeps_type_and_message(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("publish", 3), ("raise", "scripted failure")])
    handler = backend.start(task)
    qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=20_000)
    exc = task.calls[-1][1]
    assert type(exc) is ScriptError and str(exc) == "scripted failure"
    assert task.items == [0, 1, 2]
    if backend.name in ("process", "dask"):
        assert "scripted failure" in str(exc.__cause__)  # the remote traceback
        assert "contract_tasks.py" in str(exc.__cause__)
    with pytest.raises(ScriptError):
        handler.get_result()


def test_cancel_running(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("started",), ("wait_interrupt",)])
    handler = backend.start(task)
    wait_started(qtbot, task)
    assert handler.cancel() is True
    assert task.terminal == ["canceled"]
    assert handler.cancel() is False
    with pytest.raises(TaskCancelledError):
        handler.get_result()
    # The backend keeps serving: the next task runs to completion.
    after = backend.task([("return", "next")])
    backend.start(after)
    qtbot.waitUntil(lambda: after.terminal == ["done"], timeout=20_000)


def test_timeout(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("started",), ("wait_interrupt",)], timeout=0.3)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: task.terminal == ["timeout"], timeout=20_000)
    assert handler.status is TaskStatus.TIMED_OUT
    with pytest.raises(TaskTimeoutError):
        handler.get_result()


def test_owner_closed_is_silent(backend: Backend, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    task = backend.task([("started",), ("wait_interrupt",)], owner=window)
    handler = backend.start(task)
    wait_started(qtbot, task)
    window.close()
    assert handler.status is TaskStatus.INTERRUPTED
    with pytest.raises(TaskInterruptedError):
        handler.get_result()
    assert task.terminal == []


def test_get_result_on_gui_thread(backend: Backend) -> None:
    task = backend.task([("publish", 100), ("progress", 5, 10), ("return", "value")])
    handler = backend.start(task)
    assert handler.get_result(timeout=20) == "value"
    assert task.items == list(range(100))
    assert handler.fraction == 0.5
    assert task.calls[-1] == ("done", "value")


def test_unhandled_error_reaches_signal(backend: Backend, qtbot: QtBot) -> None:
    class_name = "AsyncScripted" if backend.name.startswith("asyncio") else "Scripted"
    task = backend.task([("raise", "nobody handles me")])
    task.handled = False
    before = len(backend.errors)
    backend.start(task)
    qtbot.waitUntil(lambda: len(backend.errors) == before + 1, timeout=20_000)
    assert type(backend.errors[-1][0]).__name__ == class_name
    assert str(backend.errors[-1][1]) == "nobody handles me"


def test_many_tasks_each_end_once(backend: Backend, qtbot: QtBot) -> None:
    tasks = [backend.task([("publish", 50), ("return", i)]) for i in range(60)]
    handlers = [backend.start(t) for t in tasks]
    for handler in handlers[::3]:
        handler.cancel()
    qtbot.waitUntil(lambda: all(len(t.terminal) == 1 for t in tasks), timeout=30_000)
    for task, handler in zip(tasks, handlers, strict=True):
        expected = "canceled" if handler.status is TaskStatus.CANCELLED else "done"
        assert task.terminal == [expected]
        if expected == "done":
            assert task.items == list(range(50))


def test_wrong_kind_of_task_is_refused(qapp: QApplication) -> None:
    worker = BackgroundWorker()
    try:
        with pytest.raises(TypeError, match="runs AsyncBackgroundTask subclasses"):
            worker.handle(Scripted([]), executor="asyncio")
        with pytest.raises(TypeError, match="runs on the 'asyncio' executor, not 'process'"):
            worker.handle(AsyncScripted([]), executor="process")
        with pytest.raises(TypeError, match="runs on the 'asyncio' executor, not 'thread'"):
            worker.handle(AsyncScripted([]), executor="thread")
        # None picks the right one by itself.
        assert worker.handle(AsyncScripted([]))._executor is worker._asyncio
        assert worker.handle(Scripted([]))._executor is worker._threads
    finally:
        worker.shutdown()


def test_unpicklable_task_fails_clearly(qapp: QApplication, qtbot: QtBot) -> None:
    import threading

    worker = BackgroundWorker(processes=1)
    try:
        task = Scripted([("return", 1)])
        task.lock = threading.Lock()  # type: ignore[attr-defined]
        worker.handle(task, executor="process").execute()
        qtbot.waitUntil(lambda: task.terminal == ["error"], timeout=20_000)
        message = str(task.calls[-1][1])
        assert "task.lock: _thread.lock cannot be sent to a worker process" in message
        assert worker._processes.processes_started == 1  # the pool is fine
    finally:
        worker.shutdown(timeout=10)


def test_get_ui_accessor_refuses_other_threads(worker: BackgroundWorker) -> None:
    # CUBA and Jmix check UI access in getUIAccessor(): get it on the GUI thread.
    import threading

    from qbackground import IllegalConcurrentAccessError

    raised: list[BaseException] = []

    def off_gui() -> None:
        try:
            worker.get_ui_accessor()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=off_gui, name="not-the-gui")
    thread.start()
    thread.join()
    assert len(raised) == 1 and isinstance(raised[0], IllegalConcurrentAccessError)
    assert "GUI thread" in str(raised[0]) and "not-the-gui" in str(raised[0])
    worker.get_ui_accessor()  # fine on the GUI thread


def test_a_wrapper_checks_its_executor(worker: BackgroundWorker) -> None:
    with pytest.raises(TypeError, match="executor must be a backend name"):
        BackgroundTaskWrapper(worker=worker, executor=5)  # type: ignore[arg-type]
    wrapper: BackgroundTaskWrapper[Any, Any] = BackgroundTaskWrapper(Scripted([]), worker, executor="nope")
    with pytest.raises(ValueError, match="unknown executor 'nope'"):
        wrapper.restart()


# -- pause / resume (issue 18) -------------------------------------------------------------


def _ticks(task: Any) -> int:
    return sum(1 for item in task.items if isinstance(item, tuple) and item[0] == "tick")


def _settled_ticks(qtbot: QtBot, task: Any, quiet: float = 0.4) -> int:
    """The tick count once no new tick arrived for ``quiet`` seconds (reports already
    sent when the pause came may still be on their way)."""
    count = -1
    while True:
        before = _ticks(task)
        if before == count:
            return count
        count = before
        qtbot.wait(round(quiet * 1000))


def test_pause_holds_the_task_and_resume_runs_it_on(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("ticks",)])
    handler = backend.start(task)
    qtbot.waitUntil(lambda: _ticks(task) >= 3, timeout=20_000)
    assert handler.pause() is True
    assert handler.pause() is False  # already paused
    assert handler.status is TaskStatus.PAUSED and handler.is_paused() and handler.is_alive()
    held = _settled_ticks(qtbot, task)
    qtbot.wait(500)
    assert _ticks(task) == held, "the task kept running while paused"
    assert handler.status is TaskStatus.PAUSED
    assert handler.resume() is True
    assert handler.resume() is False  # not paused any more
    assert handler.status is TaskStatus.RUNNING and not handler.is_paused()
    qtbot.waitUntil(lambda: _ticks(task) >= held + 3, timeout=20_000)
    assert handler.cancel() is True
    assert task.terminal == ["canceled"]


def test_cancel_ends_a_paused_task_at_once(backend: Backend, qtbot: QtBot) -> None:
    task = backend.task([("ticks",)])
    handler = backend.start(task)
    qtbot.waitUntil(lambda: _ticks(task) >= 1, timeout=20_000)
    assert handler.pause() is True
    _settled_ticks(qtbot, task)
    stopped: list[Any] = []
    handler.when_stopped(stopped.append)
    assert handler.cancel() is True
    assert task.terminal == ["canceled"] and handler.status is TaskStatus.CANCELLED
    assert not handler.is_paused() and not handler.is_alive()
    assert handler.pause() is False and handler.resume() is False
    # run() really ends (woken from its pause), well before the process backend's grace
    # kill could have ended it instead.
    qtbot.waitUntil(lambda: stopped == [handler], timeout=20_000)
    assert task.terminal == ["canceled"]


def test_owner_close_ends_a_paused_task_silently(backend: Backend, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    task = backend.task([("ticks",)], owner=window)
    handler = backend.start(task)
    qtbot.waitUntil(lambda: _ticks(task) >= 1, timeout=20_000)
    assert handler.pause() is True
    stopped: list[Any] = []
    handler.when_stopped(stopped.append)
    window.close()
    assert handler.status is TaskStatus.INTERRUPTED
    qtbot.waitUntil(lambda: stopped == [handler], timeout=20_000)
    assert task.terminal == []


def test_a_paused_task_never_times_out_and_its_clock_runs_on_after_resume(
    backend: Backend, qtbot: QtBot
) -> None:
    # Paused at once: queued (it starts paused) or just started (held at its next tick).
    task = backend.task([("ticks",)], timeout=1.0)
    handler = backend.start(task)
    assert handler.pause() is True
    assert handler.status is TaskStatus.PAUSED
    qtbot.wait(2000)  # twice the timeout
    assert task.terminal == [] and handler.status is TaskStatus.PAUSED
    held = _settled_ticks(qtbot, task)
    assert held <= 3, f"{held} ticks while paused from the start"
    assert handler.resume() is True
    resumed = time.monotonic()
    qtbot.waitUntil(lambda: task.terminal == ["timeout"], timeout=20_000)
    # Nearly all of the second was left when it was paused.
    assert time.monotonic() - resumed > 0.5
    assert _ticks(task) > held
