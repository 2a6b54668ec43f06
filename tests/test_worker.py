"""The worker: configuration, bad input, queue limits, UIAccessor, strict mode, shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from qtpy.QtWidgets import QLabel, QWidget

from qbackground.qt import delete
from qbackground import (
    BackgroundTask,
    BackgroundTaskWrapper,
    BackgroundWorker,
    IllegalConcurrentAccessError,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskQueueFullError,
    TaskStateError,
    TaskStatus,
    background_worker,
)

from .helpers import Gate, Recorder

# -- configuration ---------------------------------------------------------------------


def test_env_defaults(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QBACKGROUND_THREADS", "3")
    monkeypatch.setenv("QBACKGROUND_MAX_QUEUED", "7")
    monkeypatch.setenv("QBACKGROUND_TIMEOUT_CHECK_INTERVAL", "0.05")
    monkeypatch.setenv("QBACKGROUND_STRICT", "yes")
    worker = BackgroundWorker()
    try:
        assert (worker.threads, worker.max_queued, worker.timeout_check_interval, worker.strict) == (
            3,
            7,
            0.05,
            True,
        )
        explicit = BackgroundWorker(threads=1, max_queued=0, strict=False)
        assert (explicit.threads, explicit.max_queued, explicit.strict) == (1, 0, False)
        explicit.shutdown()
    finally:
        worker.shutdown()


@pytest.mark.parametrize(
    ("env", "value", "text"),
    [
        ("QBACKGROUND_THREADS", "many", "QBACKGROUND_THREADS='many' is not a whole number"),
        ("QBACKGROUND_THREADS", "0", "threads must be at least 1"),
        ("QBACKGROUND_MAX_QUEUED", "-1", "max_queued must be at least 0"),
        ("QBACKGROUND_TIMEOUT_CHECK_INTERVAL", "soon", "not a number of seconds"),
        ("QBACKGROUND_TIMEOUT_CHECK_INTERVAL", "0", "positive"),
        ("QBACKGROUND_STRICT", "maybe", "QBACKGROUND_STRICT='maybe'"),
    ],
)
def test_bad_env_values(qapp: Any, monkeypatch: pytest.MonkeyPatch, env: str, value: str, text: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ValueError, match=text):
        BackgroundWorker()


def test_bad_arguments(qapp: Any) -> None:
    with pytest.raises(TypeError, match="threads must be an int"):
        BackgroundWorker(threads=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads must be at least 1"):
        BackgroundWorker(threads=0)
    with pytest.raises(TypeError, match="strict must be a bool"):
        BackgroundWorker(strict="on")  # type: ignore[arg-type]


def test_worker_off_gui_thread_raises(qapp: Any) -> None:
    errors: list[BaseException] = []

    def make() -> None:
        try:
            BackgroundWorker()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=make)
    thread.start()
    thread.join()
    assert isinstance(errors[0], IllegalConcurrentAccessError)


# -- bad input to handle() ------------------------------------------------------------


def test_handle_rejects_non_tasks(worker: BackgroundWorker) -> None:
    with pytest.raises(TypeError, match="takes a BackgroundTask instance, not function"):
        worker.handle(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not the class Recorder: write handle\\(Recorder\\(...\\)\\)"):
        worker.handle(Recorder)  # type: ignore[arg-type]


def test_handle_unknown_executor(worker: BackgroundWorker) -> None:
    with pytest.raises(ValueError, match="unknown executor 'gpu'; known: asyncio, process, thread"):
        worker.handle(Recorder(), executor="gpu")
    with pytest.raises(TypeError, match="executor must be"):
        worker.handle(Recorder(), executor=42)  # type: ignore[arg-type]


def test_handle_off_gui_thread(worker: BackgroundWorker) -> None:
    errors: list[BaseException] = []

    def call() -> None:
        try:
            worker.handle(Recorder())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join()
    assert isinstance(errors[0], IllegalConcurrentAccessError)
    assert "handle() must be called on the GUI thread" in str(errors[0])


def test_queue_full(qapp: Any, qtbot: QtBot) -> None:
    worker = BackgroundWorker(threads=1, max_queued=1)
    try:
        running, waiting, extra = Gate(), Gate(), Gate()
        worker.handle(running).execute()
        assert running.started.wait(5)
        worker.handle(waiting).execute()
        handler = worker.handle(extra)
        with pytest.raises(TaskQueueFullError, match="max_queued=1"):
            handler.execute()
        assert handler.status is TaskStatus.CREATED  # it may be executed later
        running.release.set()
        qtbot.waitUntil(lambda: waiting.started.is_set())
        handler.execute()
        waiting.release.set()
        extra.release.set()
        qtbot.waitUntil(lambda: extra.terminal == ["done"])
    finally:
        assert worker.shutdown(timeout=5)


def test_queue_slot_freed_by_cancel_while_queued(qapp: Any) -> None:
    worker = BackgroundWorker(threads=1, max_queued=1)
    try:
        running = Gate()
        worker.handle(running).execute()
        assert running.started.wait(5)
        queued = worker.handle(Gate())
        queued.execute()
        queued.cancel()
        worker.handle(Gate()).execute()  # the cancelled one no longer takes the slot
    finally:
        worker.shutdown(timeout=5)


def test_at_most_threads_run_at_once(qapp: Any, qtbot: QtBot) -> None:
    worker = BackgroundWorker(threads=2)
    try:
        gates = [Gate() for _ in range(5)]
        for gate in gates:
            worker.handle(gate).execute()
        qtbot.waitUntil(lambda: sum(g.started.is_set() for g in gates) == 2)
        assert worker._threads.active == 2 and worker._threads.waiting == 3
        for gate in gates:
            gate.release.set()
        qtbot.waitUntil(lambda: all(g.terminal == ["done"] for g in gates))
        assert len(worker._threads.threads()) == 2
    finally:
        assert worker.shutdown(timeout=5)


# -- callbacks that raise ---------------------------------------------------------------


def test_exceptions_in_callbacks_reach_unhandled(worker: BackgroundWorker, qtbot: QtBot, unhandled: Any) -> None:
    class Rude(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            lifecycle.publish(1)
            lifecycle.flush()
            return None

        def progress(self, changes: list[Any]) -> None:
            raise RuntimeError("in progress")

        def done(self, result: Any) -> None:
            raise RuntimeError("in done")

    class RudeCancel(Gate):
        def canceled(self) -> None:
            raise RuntimeError("in canceled")

    class RudeError(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            raise ValueError("task")

        def handle_exception(self, exc: BaseException) -> bool:
            raise RuntimeError("in handle_exception")

    class RudeTimeout(Gate):
        def handle_timeout_exception(self) -> bool:
            raise RuntimeError("in handle_timeout_exception")

    worker.handle(Rude()).execute()
    gate = RudeCancel()
    worker.handle(gate).start().cancel()
    worker.handle(RudeError()).execute()
    worker.handle(RudeTimeout(timeout=0.02)).execute()
    qtbot.waitUntil(lambda: len(unhandled.errors) == 6)
    messages = sorted(str(exc) for _, exc in unhandled.errors)
    # handle_exception raising means nobody handled "task" either: both are reported.
    assert messages == sorted(
        ["in progress", "in done", "in canceled", "in handle_exception", "task", "in handle_timeout_exception"]
    )
    assert unhandled.timeouts != []  # the timeout raised instead of returning True
    # The dispatcher keeps working.
    after = Recorder()
    worker.handle(after).execute()
    qtbot.waitUntil(lambda: after.terminal == ["done"])


# -- UIAccessor ---------------------------------------------------------------------------


def test_accessor_access_and_synchronously(worker: BackgroundWorker, qtbot: QtBot) -> None:
    label = QLabel("before")
    qtbot.addWidget(label)
    accessor = worker.get_ui_accessor(label)
    ran_on: list[int] = []
    results: list[Any] = []

    def background() -> None:
        accessor.access(lambda: ran_on.append(threading.get_ident()))
        results.append(accessor.access_synchronously(label.text))
        accessor.access_synchronously(lambda: label.setText("after"))

    thread = threading.Thread(target=background)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive())
    assert ran_on == [threading.get_ident()]
    assert results == ["before"] and label.text() == "after"
    assert accessor.access_synchronously(lambda: 5) == 5  # direct call on the GUI thread


def test_accessor_errors(worker: BackgroundWorker, qtbot: QtBot, unhandled: Any) -> None:
    accessor = worker.get_ui_accessor()
    caught: list[BaseException] = []

    def boom() -> None:
        raise KeyError("sync")

    def background() -> None:
        accessor.access(lambda: 1 / 0)
        try:
            accessor.access_synchronously(boom)
        except KeyError as exc:
            caught.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive())
    assert len(caught) == 1
    assert len(unhandled.errors) == 1 and isinstance(unhandled.errors[0][1], ZeroDivisionError)


def test_accessor_with_deleted_owner(worker: BackgroundWorker, qtbot: QtBot) -> None:
    owner = QWidget()
    accessor = worker.get_ui_accessor(owner)
    delete(owner)
    ran: list[int] = []
    errors: list[BaseException] = []

    def background() -> None:
        accessor.access(lambda: ran.append(1))
        try:
            accessor.access_synchronously(lambda: ran.append(2))
        except TaskInterruptedError as exc:
            errors.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive())
    assert ran == [] and len(errors) == 1
    with pytest.raises(TypeError):
        worker.get_ui_accessor("window")  # type: ignore[arg-type]


def test_get_result_serves_access_synchronously(worker: BackgroundWorker) -> None:
    """get_result() on the GUI thread must not deadlock a task waiting on the GUI."""
    label = QLabel("from the GUI")
    accessor = worker.get_ui_accessor()  # on the GUI thread, as CUBA requires

    class Asker(BackgroundTask[None, str]):
        def run(self, lifecycle: TaskLifeCycle[None]) -> str:
            return accessor.access_synchronously(label.text)

    worker_strict_off = worker  # strict mode is on: access_synchronously runs label.text on the GUI
    assert worker_strict_off.handle(Asker()).start().get_result(timeout=10) == "from the GUI"


def test_check_ui_access(worker: BackgroundWorker) -> None:
    worker.check_ui_access()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            worker.check_ui_access()
        except IllegalConcurrentAccessError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call, name="not-gui")
    thread.start()
    thread.join()
    assert "not-gui" in str(errors[0])


# -- strict mode ---------------------------------------------------------------------------


def test_strict_mode_catches_widget_calls(worker: BackgroundWorker, qtbot: QtBot) -> None:
    label = QLabel("untouched")
    qtbot.addWidget(label)
    caught: list[BaseException] = []

    class Toucher(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            try:
                label.setText("from a thread")
            except IllegalConcurrentAccessError as exc:
                caught.append(exc)
            lifecycle.publish(0)  # reinstalls the hook that raised
            label.setText("again")  # raises again, now out of run()

    task = Toucher()
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: task.terminal == ["error"])
    assert "QLabel.setText() was called from a background task's thread" in str(caught[0])
    assert isinstance(task.calls[-1][1], IllegalConcurrentAccessError)
    assert label.text() == "untouched"


def test_strict_mode_off_by_default(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QBACKGROUND_STRICT", raising=False)
    worker = BackgroundWorker()
    try:
        assert not worker.strict and worker._profiler is None
    finally:
        worker.shutdown()


# -- shutdown, default worker, wrapper ---------------------------------------------------------


def test_shutdown_interrupts_and_joins(qapp: Any) -> None:
    worker = BackgroundWorker(threads=3)
    gates = [Gate() for _ in range(6)]
    handlers = [worker.handle(g) for g in gates]
    for handler in handlers:
        handler.execute()
    assert all(g.started.wait(5) for g in gates[:3])
    assert worker.shutdown(timeout=5) is True
    assert all(h.status is TaskStatus.INTERRUPTED for h in handlers)
    assert all(g.calls == [] for g in gates)
    assert not any(t.is_alive() for t in worker._threads.threads())
    assert worker.shutdown() is True  # twice is harmless
    with pytest.raises(TaskStateError, match="shut down"):
        worker.handle(Recorder())


def test_handler_outliving_worker_shutdown(qapp: Any) -> None:
    worker = BackgroundWorker()
    handler = worker.handle(Recorder())
    worker.shutdown()
    with pytest.raises(TaskStateError, match="shut down"):
        handler.execute()


def test_accessor_kept_by_another_thread_after_shutdown(qapp: Any) -> None:
    """An accessor handed to some library's thread neither keeps a shut-down worker
    alive nor hangs its caller: access_synchronously() says the worker is gone."""
    import gc
    import weakref

    worker = BackgroundWorker()
    accessor = worker.get_ui_accessor()
    worker.shutdown()
    ref = weakref.ref(worker)
    del worker
    gc.collect()
    assert ref() is None, "the accessor kept its shut-down worker alive"
    outcome: list[BaseException] = []

    def other_thread() -> None:
        try:
            accessor.access_synchronously(lambda: 1)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], TaskInterruptedError), outcome


def test_default_worker(qapp: Any) -> None:
    first = background_worker()
    assert background_worker() is first
    first.shutdown()
    second = background_worker()
    assert second is not first and not second.is_shut_down


def test_wrapper_restart_cancels_previous(worker: BackgroundWorker, qtbot: QtBot) -> None:
    first = Gate()
    wrapper: BackgroundTaskWrapper[Any, Any] = BackgroundTaskWrapper(first, worker)
    assert wrapper.handler is None and wrapper.cancel() is False
    h1 = wrapper.restart()
    assert first.started.wait(5)
    second = Gate(result="second")
    h2 = wrapper.restart(second)
    assert h1.status is TaskStatus.CANCELLED and first.terminal == ["canceled"]
    assert wrapper.handler is h2
    second.release.set()
    assert wrapper.get_result(5) == "second"
    with pytest.raises(TaskStateError):
        BackgroundTaskWrapper(worker=worker).get_result()
    with pytest.raises(TypeError, match="needs a task"):
        BackgroundTaskWrapper(worker=worker).restart()


def test_app_quit_with_running_tasks_exits_fast(tmp_path: Any) -> None:
    script = tmp_path / "quit.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from qtpy.QtCore import QTimer
            from qtpy.QtWidgets import QApplication
            from qbackground import BackgroundTask, background_worker

            class Forever(BackgroundTask[None, None]):
                def run(self, lifecycle):
                    while not lifecycle.is_interrupted():
                        lifecycle.sleep(0.01)

            app = QApplication([])
            for _ in range(50):
                background_worker().handle(Forever()).execute()
            QTimer.singleShot(100, app.quit)
            start = time.monotonic()
            app.exec()
            print("quit-took", time.monotonic() - start)
            """
        )
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "QThread" not in done.stderr and "Destroyed while" not in done.stderr
    took = float(done.stdout.split()[-1])
    assert took < 2.0


def test_shutdown_timeout_with_a_task_that_ignores_interruption(qapp: Any) -> None:
    import time

    worker = BackgroundWorker(threads=1)
    release = threading.Event()
    started = threading.Event()

    class Stubborn(BackgroundTask[None, None]):
        def run(self, lifecycle: TaskLifeCycle[None]) -> None:
            started.set()
            release.wait(10)  # never looks at the lifecycle

    handler = worker.handle(Stubborn())
    handler.execute()
    assert started.wait(5)
    begin = time.monotonic()
    assert worker.shutdown(timeout=0.2) is False  # the thread could not be stopped
    assert 0.15 < time.monotonic() - begin < 2.0
    assert handler.status is TaskStatus.INTERRUPTED
    release.set()
    assert worker.shutdown(timeout=5) is True  # and once run() returns, it is joined
    assert not any(t.is_alive() for t in worker._threads.threads())


# -- tasks_changed ---------------------------------------------------------------------


class _Chatty(BackgroundTask[None, int]):
    """Sets its message and fraction many times, as a busy task does."""

    def __init__(self, steps: int, release: threading.Event) -> None:
        super().__init__()
        self.steps = steps
        self.release = release

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        lifecycle.set_total(self.steps)
        for i in range(self.steps):
            lifecycle.set_message(f"step {i}")
            lifecycle.set_progress(i + 1)
        self.release.wait(10)
        return self.steps


def test_tasks_changed_is_coalesced_per_frame_and_follows_start_news_and_end(
    qtbot: QtBot, worker: BackgroundWorker
) -> None:
    emitted: list[tuple[int, list[tuple[str, float]]]] = []

    def snapshot() -> None:
        running = worker.active_handlers()
        emitted.append((len(running), sorted((h.message or "", h.fraction or 0.0) for h in running)))

    worker.tasks_changed.connect(snapshot)
    release = threading.Event()
    handlers = [worker.handle(_Chatty(2_000, release)) for _ in range(4)]
    for handler in handlers:
        handler.execute()
    # 4 tasks x 2,000 messages and fractions: news arrives, but at most once per frame.
    qtbot.waitUntil(lambda: bool(emitted) and emitted[-1][1] == [("step 1999", 1.0)] * 4, timeout=5000)
    during = len(emitted)
    assert during < 60, f"{during} emissions for 16,000 reports: not coalesced"
    release.set()
    qtbot.waitUntil(lambda: all(h.is_done() for h in handlers) and bool(emitted) and emitted[-1][0] == 0)
    assert emitted[-1] == (0, [])


_FREED_OFF_THREAD = textwrap.dedent(
    """
    import gc, os, threading
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from qtpy.QtCore import QEventLoop, QTimer
    from qtpy.QtWidgets import QApplication
    from qbackground import BackgroundTask, BackgroundWorker

    class Chat(BackgroundTask):
        def run(self, lifecycle):
            lifecycle.set_message("busy")  # arms the worker's tasks_changed timer
            return 1

    app = QApplication([])
    for round in range(60):
        worker = BackgroundWorker(threads=2)
        handlers = [worker.handle(Chat()) for _ in range(5)]
        for handler in handlers:
            handler.execute()
        handlers[-1].get_result(5)
        worker._note_activity()
        if round % 2:
            worker.shutdown()
        else:  # shut down from another thread: the GUI thread releases the Qt side
            stopper = threading.Thread(target=worker.shutdown)
            stopper.start()
            stopper.join()
        holder = [worker, handlers]
        del worker, handlers, handler

        def drop():
            holder.clear()
            gc.collect()  # frees the worker here, off the GUI thread

        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()
        dropper = threading.Thread(target=drop)
        dropper.start()
        dropper.join()
        QTimer.singleShot(5, loop.quit)
        loop.exec()
    print("survived")
    """
)


def test_a_shut_down_worker_freed_by_a_pool_thread_leaves_qt_intact() -> None:
    """Regression: a garbage collection on another thread freed a shut-down worker
    whose QTimers were still registered with the GUI thread (a segfault later)."""
    result = subprocess.run(
        [sys.executable, "-c", _FREED_OFF_THREAD], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "survived" in result.stdout
    assert "Timers cannot be stopped" not in result.stderr


def test_flush_tasks_changed_emits_a_pending_change_at_once(qtbot: QtBot, worker: BackgroundWorker) -> None:
    emitted: list[int] = []
    worker.tasks_changed.connect(lambda: emitted.append(len(worker.active_handlers())))
    worker.flush_tasks_changed()
    assert emitted == []  # nothing pending: nothing emitted
    task = Gate()
    handler = worker.handle(task)
    handler.execute()
    worker.flush_tasks_changed()  # the start is pending for the next frame: now instead
    assert emitted == [1]
    worker.flush_tasks_changed()
    assert emitted == [1]  # once per change
    task.release.set()
    qtbot.waitUntil(lambda: handler.status is TaskStatus.DONE, timeout=5000)


def test_executor_by_name(worker: BackgroundWorker) -> None:
    from qbackground.backends import AsyncioExecutor, Executor

    assert isinstance(worker.executor("thread"), Executor)
    asyncio_backend = worker.executor("asyncio")
    assert isinstance(asyncio_backend, AsyncioExecutor)
    assert asyncio_backend.loop is asyncio_backend.loop  # started once, on first use
    with pytest.raises(ValueError, match="unknown executor 'gpu'; known: asyncio, process, thread"):
        worker.executor("gpu")
    with pytest.raises(TypeError, match="takes a backend name"):
        worker.executor(3)  # type: ignore[arg-type]
