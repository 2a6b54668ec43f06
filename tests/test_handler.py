"""The handler's single-shot lifecycle: execute, done, cancel, failure, get_result."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundTask,
    BackgroundWorker,
    TaskCancelledError,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
)

from .helpers import Failing, Gate, Publisher, Recorder


def test_done_runs_once_on_gui_thread(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Recorder()
    handler = worker.handle(task)
    assert handler.status is TaskStatus.CREATED and not handler.is_alive()
    handler.execute()
    assert handler.is_alive()
    qtbot.waitUntil(lambda: task.terminal == ["done"])
    assert task.calls == [("done", "result")]
    assert task.threads == {threading.get_ident()}
    assert handler.status is TaskStatus.DONE
    assert handler.is_done() and not handler.is_alive() and not handler.is_cancelled()
    assert handler.get_result() == "result"


def test_execute_twice_raises(worker: BackgroundWorker) -> None:
    handler = worker.handle(Recorder())
    handler.execute()
    with pytest.raises(TaskStateError, match="execute\\(\\) was already called"):
        handler.execute()
    handler.get_result(5)


def test_cancel_before_execute_raises(worker: BackgroundWorker) -> None:
    handler = worker.handle(Recorder())
    with pytest.raises(TaskStateError, match="before execute"):
        handler.cancel()


def test_get_result_before_execute_raises(worker: BackgroundWorker) -> None:
    with pytest.raises(TaskStateError, match="before execute"):
        worker.handle(Recorder()).get_result()


def test_cancel_on_gui_thread_runs_canceled_at_once(worker: BackgroundWorker) -> None:
    task = Gate()
    handler = worker.handle(task)
    handler.execute()
    assert task.started.wait(5)
    assert handler.cancel() is True
    # CUBA timing: canceled() already ran, inside cancel().
    assert task.terminal == ["canceled"]
    assert handler.status is TaskStatus.CANCELLED and handler.is_cancelled()
    assert not handler.is_alive() and handler.is_done()
    assert handler.cancel() is False
    assert task.stopped.wait(5), "run() must see the interruption and return"
    with pytest.raises(TaskCancelledError):
        handler.get_result()


def test_cancel_from_other_thread_delivers_on_gui_thread(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Gate()
    handler = worker.handle(task)
    handler.execute()
    assert task.started.wait(5)
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(handler.cancel()))
    thread.start()
    thread.join()
    assert results == [True]
    qtbot.waitUntil(lambda: task.terminal == ["canceled"])
    assert task.threads == {threading.get_ident()}


def test_cancel_while_queued_never_runs(qtbot: QtBot, qapp: Any) -> None:
    worker = BackgroundWorker(threads=1)
    try:
        blocker = Gate()
        worker.handle(blocker).execute()
        assert blocker.started.wait(5)
        queued_task = Gate()
        queued = worker.handle(queued_task)
        queued.execute()
        assert queued.status is TaskStatus.QUEUED
        assert queued.cancel() is True
        assert queued_task.terminal == ["canceled"]
        blocker.release.set()
        qtbot.waitUntil(lambda: blocker.terminal == ["done"])
        # The pool thread skipped the cancelled job; its run() never started.
        third = Recorder()
        worker.handle(third).execute()
        qtbot.waitUntil(lambda: third.terminal == ["done"])
        assert not queued_task.started.is_set()
    finally:
        assert worker.shutdown(timeout=5)


def test_cancel_after_run_returned_suppresses_done(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Recorder()
    handler = worker.handle(task)
    handler.execute()
    # Block the GUI thread until run() has returned, so done() is not delivered yet.
    waited = threading.Event()
    while not handler._ready:  # noqa: SLF001 - observing the window the contract names
        waited.wait(0.001)
    assert handler.status is TaskStatus.RUNNING
    assert handler.cancel() is True
    worker._dispatcher.drain()  # noqa: SLF001 - runs the stale done delivery, which must drop
    assert task.terminal == ["canceled"]
    assert handler.status is TaskStatus.CANCELLED


def test_failure_reaches_handle_exception(worker: BackgroundWorker, qtbot: QtBot, unhandled: Any) -> None:
    error = ValueError("boom")
    task = Failing(error)
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.terminal == ["error"])
    assert task.calls == [("error", error)]
    assert handler.status is TaskStatus.FAILED
    assert handler.cancel() is False
    with pytest.raises(ValueError, match="boom"):
        handler.get_result()
    assert unhandled.errors == []


def test_unhandled_failure_reaches_signal(worker: BackgroundWorker, qtbot: QtBot, unhandled: Any) -> None:
    task = Failing(KeyError("k"))
    task.handled = False
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: len(unhandled.errors) == 1)
    assert unhandled.errors[0][0] is task
    assert isinstance(unhandled.errors[0][1], KeyError)


def test_base_exception_in_run_is_reported(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Failing(SystemExit(3))
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: task.terminal == ["error"])
    assert isinstance(task.calls[0][1], SystemExit)


def test_get_result_on_gui_thread_delivers_done_first(worker: BackgroundWorker) -> None:
    task = Publisher(500)
    handler = worker.handle(task)
    handler.execute()
    assert handler.get_result(timeout=10) == 500
    assert task.terminal == ["done"]
    assert task.items == list(range(500))
    assert task.calls[-1] == ("done", 500)


def test_get_result_off_gui_thread(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Gate(result=42)
    handler = worker.handle(task)
    handler.execute()
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(handler.get_result(10)))
    thread.start()
    task.release.set()
    thread.join(10)
    assert got == [42]
    qtbot.waitUntil(lambda: task.terminal == ["done"])


def test_get_result_timeout_leaves_task_running(worker: BackgroundWorker) -> None:
    task = Gate()
    handler = worker.handle(task)
    handler.execute()
    with pytest.raises(TimeoutError, match="keeps running"):
        handler.get_result(timeout=0.05)
    assert handler.is_alive()
    off: list[BaseException] = []

    def wait_off_thread() -> None:
        try:
            handler.get_result(timeout=0.05)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            off.append(exc)

    thread = threading.Thread(target=wait_off_thread)
    thread.start()
    thread.join(5)
    assert len(off) == 1 and type(off[0]) is TimeoutError
    assert handler.is_alive()
    task.release.set()
    assert handler.get_result(5) == "gated"


def test_get_result_bad_timeout(worker: BackgroundWorker) -> None:
    handler = worker.handle(Recorder())
    handler.execute()
    with pytest.raises(ValueError, match="negative"):
        handler.get_result(timeout=-1)
    with pytest.raises(TypeError):
        handler.get_result(timeout="soon")  # type: ignore[arg-type]
    handler.get_result(5)


def test_get_result_of_cancelled_and_interrupted(worker: BackgroundWorker) -> None:
    gate = Gate()
    handler = worker.handle(gate)
    handler.execute()
    handler.cancel()
    with pytest.raises(TaskCancelledError):
        handler.get_result()
    gate2 = Gate()
    handler2 = worker.handle(gate2)
    handler2.execute()
    assert gate2.started.wait(5)
    worker.shutdown(timeout=5)
    assert handler2.status is TaskStatus.INTERRUPTED
    assert gate2.terminal == []
    with pytest.raises(TaskInterruptedError):
        handler2.get_result()


def test_task_can_be_handled_several_times(worker: BackgroundWorker) -> None:
    class Square(BackgroundTask[None, int]):
        def get_params(self) -> dict[str, int]:
            return {"n": 7}

        def run(self, lifecycle: TaskLifeCycle[None]) -> int:
            n: int = lifecycle.params["n"]
            return n * n

    task = Square()
    handlers = [worker.handle(task) for _ in range(3)]
    for handler in handlers:
        handler.execute()
    assert [h.get_result(5) for h in handlers] == [49, 49, 49]


def test_future_view_and_start(worker: BackgroundWorker) -> None:
    handler = worker.handle(Recorder()).start()
    fut = handler.future()
    assert handler.get_result(5) == "result"
    assert fut.done() and fut.result() == "result"
    gate = Gate()
    h2 = worker.handle(gate).start()
    f2 = h2.future()
    assert f2.cancel() is True
    assert gate.terminal == ["canceled"] and f2.cancelled()
    failing = worker.handle(Failing(ValueError("x"))).start()
    with pytest.raises(ValueError):
        failing.get_result(5)
    assert isinstance(failing.future().exception(), ValueError)


def test_await_handler_from_a_coroutine(worker: BackgroundWorker, qtbot: QtBot) -> None:
    import asyncio

    ok = worker.handle(Recorder()).start()
    bad = worker.handle(Failing(ValueError("awaited"))).start()
    got: list[Any] = []

    async def consumer() -> None:
        got.append(await ok)
        try:
            await bad
        except ValueError as exc:
            got.append(str(exc))

    thread = threading.Thread(target=lambda: asyncio.run(consumer()))
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive())
    assert got == ["result", "awaited"]


# -- when_stopped ----------------------------------------------------------------------


def test_when_stopped_waits_for_run_to_really_end_after_cancel(qtbot: QtBot, worker: BackgroundWorker) -> None:
    """canceled() comes at once; when_stopped only once run() has returned."""
    import threading

    from qbackground import TaskLifeCycle

    release = threading.Event()
    started = threading.Event()
    order: list[str] = []

    class Stubborn(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            started.set()
            release.wait(10)  # ignores the cancel until released
            order.append("run returned")
            return None

        def canceled(self) -> None:
            order.append("canceled")

    handler = worker.handle(Stubborn())
    handler.execute()
    handler.when_stopped(lambda h: order.append("stopped"))
    assert started.wait(5)
    assert handler.cancel()
    # A marker posted after the cancel: everything the cancel posted has run before it.
    worker.get_ui_accessor().access(lambda: order.append("marker"))
    qtbot.waitUntil(lambda: "marker" in order)
    assert order == ["canceled", "marker"]
    release.set()
    qtbot.waitUntil(lambda: order[-1:] == ["stopped"])
    assert order == ["canceled", "marker", "run returned", "stopped"]
    # Registered late: still called, on the GUI thread, once.
    late: list[object] = []
    handler.when_stopped(late.append)
    assert late == []
    qtbot.waitUntil(lambda: late == [handler])


def test_when_stopped_after_done_and_for_a_task_cancelled_while_queued(qtbot: QtBot, qapp: Any) -> None:
    worker = BackgroundWorker(threads=1)
    try:
        gate = Gate()
        first = worker.handle(gate)
        first.execute()
        queued = worker.handle(Recorder())
        queued.execute()
        events: list[str] = []
        first.when_stopped(lambda h: events.append(f"first stopped ({h.status.name})"))
        queued.when_stopped(lambda h: events.append(f"queued stopped ({h.status.name})"))
        assert queued.cancel()  # never started: stopped at once (delivered soon)
        qtbot.waitUntil(lambda: events == ["queued stopped (CANCELLED)"])
        gate.release.set()
        qtbot.waitUntil(lambda: len(events) == 2)
        assert events[1] == "first stopped (DONE)" and gate.terminal == ["done"]
    finally:
        worker.shutdown()


def test_the_future_view_leaves_the_tasks_traceback_alone(worker: BackgroundWorker, qtbot: QtBot) -> None:
    """Resolving future() must not re-raise the task's exception (that would add
    qbackground's frames to the traceback a user formats later)."""
    import traceback

    handler = worker.handle(Failing(KeyError("row 7")))
    fut = handler.future()
    handler.execute()
    qtbot.waitUntil(fut.done)
    error = fut.exception()
    assert isinstance(error, KeyError)
    text = "".join(traceback.format_exception(error))
    assert "_resolve_future" not in text and "_outcome" not in text


def test_when_stopped_comes_after_the_terminal_callback_when_decided_on_another_thread(
    qtbot: QtBot, qapp: Any
) -> None:
    """A cancel from another thread marks a queued task stopped before the GUI thread
    has delivered canceled(); when_stopped must still come second."""
    worker = BackgroundWorker(threads=1)
    try:
        gate = Gate()
        worker.handle(gate).execute()
        order: list[str] = []

        class Queued(Recorder):
            def canceled(self) -> None:
                order.append("canceled")

        queued = worker.handle(Queued())
        queued.execute()
        queued.when_stopped(lambda h: order.append("stopped"))
        canceller = threading.Thread(target=queued.cancel)
        canceller.start()
        canceller.join()
        qtbot.waitUntil(lambda: len(order) == 2)
        assert order == ["canceled", "stopped"]
        gate.release.set()
    finally:
        worker.shutdown()


def test_the_handler_is_one_slotted_object_across_its_modules(worker: BackgroundWorker) -> None:
    """The handler is split over a state module and three mixins; every layer keeps
    ``__slots__`` so a handler stays small and its attribute access fast (one layer
    without them would give every handler a ``__dict__``, silently)."""
    from qbackground._handler import BackgroundTaskHandler

    handler = worker.handle(Recorder())
    assert type(handler) is BackgroundTaskHandler
    assert not hasattr(handler, "__dict__")
    for cls in type(handler).__mro__:
        if cls.__module__.startswith("qbackground"):
            assert "__slots__" in vars(cls), f"{cls.__qualname__} has no __slots__"
    with pytest.raises(AttributeError):
        handler.unexpected = 1  # type: ignore[attr-defined]
