"""Progress delivery: in order, none lost, coalesced; messages, fractions, events."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundWorker,
    ProgressListener,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStateError,
)

from .helpers import Gate, Publisher, Recorder


def test_flood_is_coalesced_in_order(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Publisher(100_000)
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=20_000)
    assert task.items == list(range(100_000))
    calls = [name for name, _ in task.calls if name == "progress"]
    # Coalesced: a handful of frames, not one call per item.
    assert 1 <= len(calls) < 1000
    assert task.calls[-1] == ("done", 100_000)


def test_progress_calls_are_spaced_by_a_frame(qapp: Any, qtbot: QtBot) -> None:
    worker = BackgroundWorker(progress_interval=0.05)
    try:
        stamps: list[float] = []

        class Slow(Recorder):
            def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
                for i in range(40):
                    lifecycle.publish(i)
                    lifecycle.sleep(0.005)
                return None

            def progress(self, changes: list[Any]) -> None:
                import time

                stamps.append(time.monotonic())
                super().progress(changes)

        task = Slow()
        worker.handle(task).execute()
        qtbot.waitUntil(lambda: task.terminal == ["done"], timeout=10_000)
        assert task.items == list(range(40))
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        # The final flush before done() may come early; every other gap is >= a frame.
        assert all(gap >= 0.045 for gap in gaps[:-1]), gaps
    finally:
        worker.shutdown(timeout=5)


def test_messages_fractions_and_events(worker: BackgroundWorker, qtbot: QtBot) -> None:
    class Reporter(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            lifecycle.set_total(200)
            lifecycle.set_message("loading")
            lifecycle.set_progress(50)
            lifecycle.send_event("first", 1)
            lifecycle.send_event("second", {"x": 2})
            lifecycle.flush()
            return None

    task = Reporter()
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.terminal == ["done"])
    names = [name for name, _ in task.calls]
    assert ("message", "loading") in task.calls
    assert ("fraction", 0.25) in task.calls
    assert [v for n, v in task.calls if n == "event"] == [("first", 1), ("second", {"x": 2})]
    assert names[-1] == "done"
    assert handler.message == "loading" and handler.fraction == 0.25


def test_sub_context_maps_into_parent_slice(worker: BackgroundWorker, qtbot: QtBot) -> None:
    fractions: list[float] = []
    half_seen = threading.Event()

    class Staged(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            first = lifecycle.sub_context(0.0, 0.5)
            first.set_progress(1.0)
            lifecycle.flush()
            assert half_seen.wait(5)
            second = lifecycle.sub_context(0.5, 0.5, total=10)
            second.set_progress(5)
            second.publish("via child")
            return None

        def fraction_changed(self, fraction: float) -> None:
            fractions.append(fraction)
            if fraction == 0.5:
                half_seen.set()

    task = Staged()
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: task.terminal == ["done"])
    assert fractions == [0.5, pytest.approx(0.75)]
    assert task.items == ["via child"]


def test_listeners_run_after_task_callbacks(worker: BackgroundWorker, qtbot: QtBot) -> None:
    order: list[str] = []

    class Task(Publisher):
        def progress(self, changes: list[Any]) -> None:
            order.append("task.progress")

        def done(self, result: Any) -> None:
            order.append("task.done")

    class Listener(ProgressListener[Any, Any]):
        def on_progress(self, changes: list[Any]) -> None:
            order.append("listener.progress")

        def on_done(self, result: Any) -> None:
            order.append("listener.done")

    task = Task(3)
    listener = Listener()
    task.add_progress_listener(listener)
    task.add_progress_listener(listener)  # added once only
    worker.handle(task).execute()
    qtbot.waitUntil(lambda: "listener.done" in order)
    assert order[-2:] == ["task.done", "listener.done"]
    assert order.index("task.progress") < order.index("listener.progress")
    task.remove_progress_listener(listener)
    assert task.progress_listeners == ()


def test_listener_on_cancel(worker: BackgroundWorker) -> None:
    seen: list[str] = []

    class Listener(ProgressListener[Any, Any]):
        def on_cancel(self) -> None:
            seen.append("on_cancel")

    task = Gate()
    task.add_progress_listener(Listener())
    handler = worker.handle(task)
    handler.execute()
    handler.cancel()
    assert task.terminal == ["canceled"] and seen == ["on_cancel"]


def test_publish_after_cancel_raises_interrupted(worker: BackgroundWorker, qtbot: QtBot) -> None:
    raised: list[BaseException] = []
    published = threading.Event()
    go_on = threading.Event()

    class Task(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            lifecycle.publish(1)
            published.set()
            go_on.wait(5)
            try:
                lifecycle.publish(2)
            except BaseException as exc:
                raised.append(exc)
                raise
            return None

    task = Task()
    handler = worker.handle(task)
    handler.execute()
    assert published.wait(5)
    assert handler.cancel()
    go_on.set()
    qtbot.waitUntil(lambda: len(raised) == 1)
    assert isinstance(raised[0], TaskInterruptedError)
    assert not isinstance(raised[0], Exception)
    assert "cancelled" in str(raised[0])
    # Items published before cancel() are delivered before canceled(); none after it.
    assert task.calls == [("progress", [1]), ("canceled", None)]


def test_except_exception_cannot_swallow_interruption(worker: BackgroundWorker, qtbot: QtBot) -> None:
    started = threading.Event()
    finished = threading.Event()
    outcome: list[str] = []

    class Careless(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            started.set()
            try:
                while True:
                    try:
                        lifecycle.publish(0)
                        lifecycle.sleep(0.001)
                    except Exception:  # the trap CUBA warns about
                        outcome.append("swallowed")
            finally:
                finished.set()

    handler = worker.handle(Careless())
    handler.execute()
    assert started.wait(5)
    handler.cancel()
    assert finished.wait(5)
    assert outcome == []


def test_no_progress_after_terminal(worker: BackgroundWorker, qtbot: QtBot) -> None:
    class Canceller(Publisher):
        def progress(self, changes: list[Any]) -> None:
            super().progress(changes)
            if len(self.calls) == 1:
                assert handler.cancel()

    task = Canceller(50_000)
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: task.terminal == ["canceled"])
    assert worker.shutdown(timeout=5)
    names = [name for name, _ in task.calls]
    assert names.index("canceled") == len(names) - 1


def test_reports_after_run_returned_raise(worker: BackgroundWorker) -> None:
    leaked: list[TaskLifeCycle[Any]] = []

    class Leaky(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            leaked.append(lifecycle)
            return None

    worker.handle(Leaky()).start().get_result(5)
    with pytest.raises(TaskStateError, match="after run\\(\\) returned"):
        leaked[0].publish(1)


def test_lifecycle_bad_input(worker: BackgroundWorker) -> None:
    errors: list[BaseException] = []

    class Bad(Recorder):
        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            for call in (
                lambda: lifecycle.set_total(0),
                lambda: lifecycle.set_total(float("nan")),
                lambda: lifecycle.set_progress("x"),  # type: ignore[arg-type]
                lambda: lifecycle.set_message(3),  # type: ignore[arg-type]
                lambda: lifecycle.send_event(None),  # type: ignore[arg-type]
                lambda: lifecycle.sub_context(0.5, 2.0),
            ):
                try:
                    call()
                except (TypeError, ValueError) as exc:
                    errors.append(exc)
            return None

    worker.handle(Bad()).start().get_result(5)
    assert [type(e) for e in errors] == [ValueError, ValueError, TypeError, TypeError, TypeError, ValueError]
    assert "positive total" in str(errors[0])
    assert "between 0 and 1" in str(errors[5])


def test_lifecycle_params_are_read_only(worker: BackgroundWorker) -> None:
    seen: list[Any] = []

    class WithParams(Recorder):
        def get_params(self) -> dict[str, Any]:
            seen.append(threading.get_ident())
            return {"a": 1}

        def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
            try:
                lifecycle.params["a"] = 2  # type: ignore[index]
            except TypeError:
                return dict(lifecycle.get_params())
            return None

    handler = worker.handle(WithParams())
    assert seen == [threading.get_ident()]  # called in handle(), on the GUI thread
    assert handler.start().get_result(5) == {"a": 1}


def test_params_must_be_a_mapping(worker: BackgroundWorker) -> None:
    class Wrong(Recorder):
        def get_params(self) -> Any:
            return [("a", 1)]

    with pytest.raises(TypeError, match="Mapping"):
        worker.handle(Wrong())
