"""Generator ``run()`` (DESIGN §11) beyond the per-backend contract
(tests/test_contract_retry.py): how each way of stopping reaches the generator, and
what is not a generator task."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterator
import time
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from qtpy.QtWidgets import QWidget

import qbackground._generator as generator_module
from qbackground import AsyncBackgroundTask, BackgroundTask, BackgroundWorker, TaskLifeCycle, TaskStatus


class Steps(BackgroundTask[int, str]):
    """Yields 0, 1, 2... (``limit`` of them, or forever), returns "finished"."""

    def __init__(self, limit: int | None = 3, fail_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit, self.fail_at = limit, fail_at
        self.items: list[int] = []
        self.closed = False  # the generator's finally ran (same process: a flag will do)
        self.ending: list[Any] = []

    def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[int, None, str]:
        try:
            i = 0
            while self.limit is None or i < self.limit:
                if i == self.fail_at:
                    raise KeyError(f"step {i}")
                yield i
                i += 1
            return "finished"
        finally:
            self.closed = True

    def progress(self, changes: list[int]) -> None:
        self.items.extend(changes)

    def done(self, result: str) -> None:
        self.ending.append(("done", result))

    def canceled(self) -> None:
        self.ending.append(("canceled",))

    def handle_exception(self, exc: BaseException) -> bool:
        self.ending.append(("error", exc))
        return True

    def handle_timeout_exception(self) -> bool:
        self.ending.append(("timeout",))
        return True


def test_a_cancel_closes_the_generator_before_the_task_counts_as_stopped(
    worker: BackgroundWorker, qtbot: QtBot
) -> None:
    # The generator is closed where it stopped, not whenever it is garbage collected:
    # a finally that releases a device has run when when_stopped() says run() is over.
    class SlowCleanup(Steps):
        def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[int, None, str]:
            try:
                while True:
                    yield 0
            finally:
                time.sleep(0.3)  # a slow release widens the window a late close() would leave
                self.closed = True

    task = SlowCleanup()
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: len(task.items) > 0, timeout=20_000)
    closed_when_stopped: list[bool] = []
    handler.when_stopped(lambda _h: closed_when_stopped.append(task.closed))
    assert handler.cancel() and task.ending == [("canceled",)]
    qtbot.waitUntil(lambda: closed_when_stopped != [], timeout=20_000)
    assert closed_when_stopped == [True]


def test_a_failure_inside_the_generator_reaches_handle_exception(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Steps(limit=10, fail_at=2)
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: handler.is_done(), timeout=20_000)
    assert task.items == [0, 1] and task.closed
    assert len(task.ending) == 1 and task.ending[0][0] == "error"
    assert isinstance(task.ending[0][1], KeyError)


def test_a_timeout_stops_the_generator_at_a_yield(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Steps(limit=None, timeout=0.2)
    handler = worker.handle(task).start()
    stopped: list[Any] = []
    handler.when_stopped(stopped.append)
    qtbot.waitUntil(lambda: stopped == [handler], timeout=20_000)
    assert task.ending == [("timeout",)] and handler.status is TaskStatus.TIMED_OUT
    assert task.closed


def test_an_owner_close_stops_the_generator(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    task = Steps(limit=None, owner=window)
    handler = worker.handle(task).start()
    qtbot.waitUntil(lambda: len(task.items) > 0, timeout=20_000)
    stopped: list[Any] = []
    handler.when_stopped(stopped.append)
    window.close()
    qtbot.waitUntil(lambda: stopped == [handler], timeout=20_000)
    assert task.ending == [] and task.closed and handler.status is TaskStatus.INTERRUPTED


def test_yield_from_a_helper_generator_works(worker: BackgroundWorker) -> None:
    def squares(n: int) -> Generator[int, None, int]:
        for i in range(n):
            yield i * i
        return n

    class Delegates(Steps):
        def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[int, None, str]:
            count = yield from squares(4)
            return f"{count} squares"

    task = Delegates()
    assert worker.handle(task).start().get_result(20) == "4 squares"
    assert task.items == [0, 1, 4, 9]


def test_every_yield_passes_the_one_checkpoint(worker: BackgroundWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    # The single place a pause-aware lifecycle.checkpoint() will join (DESIGN §11).
    seen: list[int] = []
    real = generator_module.checkpoint_at_yield

    def spy(lifecycle: TaskLifeCycle[Any], item: Any) -> None:
        seen.append(item)
        real(lifecycle, item)

    monkeypatch.setattr(generator_module, "checkpoint_at_yield", spy)
    assert worker.handle(Steps(limit=5)).start().get_result(20) == "finished"
    assert seen == [0, 1, 2, 3, 4]


def test_a_plain_run_that_returns_a_generator_gives_it_as_the_result(worker: BackgroundWorker) -> None:
    class ReturnsOne(BackgroundTask[int, Iterator[int]]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> Iterator[int]:
            return (i for i in range(3))  # the result, not a generator run()

    result = worker.handle(ReturnsOne()).start().get_result(20)
    assert list(result) == [0, 1, 2]


def test_an_async_generator_run_is_refused_at_handle(worker: BackgroundWorker) -> None:
    class Streams(AsyncBackgroundTask[int, None]):
        async def run(self, lifecycle: TaskLifeCycle[int]) -> AsyncGenerator[int, None]:  # type: ignore[override]
            yield 1

    for executor in (None, "asyncio"):
        with pytest.raises(TypeError, match=r"Streams\.run is an async generator, which cannot return a result"):
            worker.handle(Streams(), executor=executor)
