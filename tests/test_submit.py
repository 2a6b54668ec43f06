"""``worker.submit(fn, *args, ...)``: function tasks on every backend (DESIGN §2)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from qtpy.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from qbackground import (
    BackgroundWorker,
    TaskCancelledError,
    TaskStateError,
    TaskStatus,
    TaskTimeoutError,
    current_lifecycle,
)
from qbackground.dask import DaskExecutor

from . import submit_funcs as funcs

BACKENDS = ["thread", "process", "asyncio", "dask"]


class Backend:
    """One backend: its executor, and the right kind of function for it."""

    def __init__(self, name: str, worker: BackgroundWorker, executor: Any) -> None:
        self.name = name
        self.worker = worker
        self.executor = executor
        self.errors: list[tuple[Any, BaseException]] = []
        self.timeouts: list[Any] = []
        worker.unhandled_exception.connect(lambda t, e: self.errors.append((t, e)))
        worker.task_timed_out.connect(self.timeouts.append)

    def fn(self, name: str) -> Callable[..., Any]:
        """``funcs.<name>`` or, on asyncio, its ``async def`` twin."""
        if self.name == "asyncio":
            return getattr(funcs, f"{name}_async", getattr(funcs, name))  # type: ignore[no-any-return]
        return getattr(funcs, name)  # type: ignore[no-any-return]


class Ends:
    """Records the three callbacks of submit(), in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.items: list[Any] = []

    def on_result(self, value: Any) -> None:
        self.calls.append(("result", value))

    def on_error(self, exc: BaseException) -> None:
        self.calls.append(("error", exc))

    def on_progress(self, items: list[Any]) -> None:
        self.items.extend(items)
        self.calls.append(("progress", len(items)))

    @property
    def endings(self) -> list[str]:
        return [name for name, _ in self.calls if name != "progress"]

    def options(self) -> dict[str, Any]:
        return {"on_result": self.on_result, "on_error": self.on_error, "on_progress": self.on_progress}


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[Backend]:
    worker = BackgroundWorker(threads=4, processes=2, process_grace=0.5, strict=True)
    executor: Any = request.param
    if request.param == "dask":
        executor = DaskExecutor(n_workers=1)
    yield Backend(request.param, worker, executor)
    assert worker.shutdown(timeout=10)
    if isinstance(executor, DaskExecutor):
        executor.close()


def test_the_result_reaches_on_result_once(backend: Backend, qtbot: QtBot) -> None:
    ends = Ends()
    handler = backend.worker.submit(backend.fn("add"), 2, 3, executor=backend.executor, **ends.options())
    assert handler.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)  # started at once
    qtbot.waitUntil(lambda: ends.endings == ["result"], timeout=20_000)
    assert ends.calls == [("result", 5)]
    assert handler.get_result() == 5 and handler.status is TaskStatus.DONE
    assert handler.future().result() == 5


def test_progress_through_current_lifecycle_comes_before_the_result(backend: Backend, qtbot: QtBot) -> None:
    ends = Ends()
    backend.worker.submit(backend.fn("count"), 2_000, executor=backend.executor, **ends.options())
    qtbot.waitUntil(lambda: ends.endings == ["result"], timeout=20_000)
    assert ends.items == list(range(2_000))
    assert ends.calls[-1] == ("result", 2_000)


def test_an_error_reaches_on_error_with_its_type(backend: Backend, qtbot: QtBot) -> None:
    ends = Ends()
    handler = backend.worker.submit(backend.fn("fail"), "boom", executor=backend.executor, **ends.options())
    qtbot.waitUntil(lambda: ends.endings == ["error"], timeout=20_000)
    exc = ends.calls[-1][1]
    assert type(exc) is ValueError and str(exc) == "boom"
    with pytest.raises(ValueError, match="boom"):
        handler.get_result()


def test_without_on_error_an_error_goes_to_unhandled_exception(backend: Backend, qtbot: QtBot) -> None:
    before = len(backend.errors)
    backend.worker.submit(backend.fn("fail"), "nobody handles me", executor=backend.executor)
    qtbot.waitUntil(lambda: len(backend.errors) == before + 1, timeout=20_000)
    assert str(backend.errors[-1][1]) == "nobody handles me"


def test_a_timeout_reaches_on_error_as_task_timeout_error(backend: Backend, qtbot: QtBot) -> None:
    ends = Ends()
    handler = backend.worker.submit(
        backend.fn("wait_for_cancel"), None, executor=backend.executor, timeout=0.3, **ends.options()
    )
    qtbot.waitUntil(lambda: ends.endings == ["error"], timeout=20_000)
    assert isinstance(ends.calls[-1][1], TaskTimeoutError)
    assert "wait_for_cancel" in str(ends.calls[-1][1])
    assert handler.status is TaskStatus.TIMED_OUT


def test_a_cancel_calls_none_of_the_three(backend: Backend, qtbot: QtBot) -> None:
    ends = Ends()
    handler = backend.worker.submit(backend.fn("wait_for_cancel"), None, executor=backend.executor, **ends.options())
    qtbot.waitUntil(lambda: ends.items == ["started"], timeout=20_000)
    assert handler.cancel() is True
    stopped: list[object] = []
    handler.when_stopped(stopped.append)
    qtbot.waitUntil(lambda: bool(stopped), timeout=20_000)
    assert ends.endings == []
    with pytest.raises(TaskCancelledError):
        handler.get_result()


def test_owner_close_interrupts_silently(backend: Backend, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    ends = Ends()
    handler = backend.worker.submit(
        backend.fn("wait_for_cancel"), None, executor=backend.executor, owner=window, **ends.options()
    )
    qtbot.waitUntil(lambda: ends.items == ["started"], timeout=20_000)
    window.close()
    assert handler.status is TaskStatus.INTERRUPTED
    assert ends.endings == []


def test_keywords_travel_in_a_partial(backend: Backend, qtbot: QtBot) -> None:
    handler = backend.worker.submit(partial(backend.fn("scaled"), factor=3), 7, executor=backend.executor)
    assert handler.get_result(timeout=20) == 21


def test_where_it_runs(backend: Backend) -> None:
    handler = backend.worker.submit(backend.fn("where"), None, executor=backend.executor)
    pid, _ = handler.get_result(timeout=20)
    assert (pid != os.getpid()) is (backend.name in ("process", "dask"))


def test_current_lifecycle_in_a_class_based_task(backend: Backend) -> None:
    task = funcs.AsyncSameLifecycle() if backend.name == "asyncio" else funcs.SameLifecycle()
    handler = backend.worker.handle(task, executor=backend.executor)
    handler.execute()
    assert handler.get_result(timeout=20) is True


# -- on the default executor ---------------------------------------------------------


def test_an_async_function_goes_to_asyncio_by_default(qapp: QApplication) -> None:
    worker = BackgroundWorker()
    try:
        handler = worker.submit(funcs.add_async, 1, 2)
        assert worker._executor_for("asyncio") is handler._executor
        assert handler.get_result(timeout=10) == 3
    finally:
        worker.shutdown()


def test_current_lifecycle_outside_a_task_raises(qapp: QApplication) -> None:
    with pytest.raises(TaskStateError, match="outside a running task"):
        current_lifecycle()
    assert "outside a running task" in funcs.outside()


def test_bad_input_is_refused_at_the_call(qapp: QApplication) -> None:
    worker = BackgroundWorker()
    try:
        with pytest.raises(TypeError, match="takes a function first"):
            worker.submit(42)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="on_result must be callable"):
            worker.submit(funcs.add, 1, 2, on_result="print")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="unexpected keyword argument 'b'"):
            worker.submit(funcs.add, 1, b=2)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"fn \(.*<lambda>\) cannot be sent to the process executor"):
            worker.submit(lambda: 1, executor="process")
        with pytest.raises(TypeError, match=r"fn \(.*local\) cannot be sent to the process executor"):
            worker.submit(funcs.local_function_maker(), 1, executor="process")  # type: ignore[call-overload]
        with pytest.raises(TypeError, match=r"args\[1\] \(generator\) cannot be sent"):
            worker.submit(funcs.add, 1, (i for i in range(3)), executor="process")  # type: ignore[arg-type]
        assert worker.active_handlers() == []  # nothing was started
    finally:
        worker.shutdown()
