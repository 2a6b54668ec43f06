"""The asyncio backend: many coroutines, cancellation at the next await, qasync."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qbackground import AsyncBackgroundTask, BackgroundWorker, TaskLifeCycle, TaskStatus


class Nap(AsyncBackgroundTask[int, int]):
    def __init__(self, seconds: float, index: int = 0, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.seconds = seconds
        self.index = index
        self.ended: list[str] = []
        self.saw_cancel = False

    async def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.saw_cancel = True  # seen at the await, as promised
            raise
        lifecycle.publish(self.index)
        return self.index

    def done(self, result: int) -> None:
        self.ended.append("done")

    def canceled(self) -> None:
        self.ended.append("canceled")

    def handle_timeout_exception(self) -> bool:
        self.ended.append("timeout")
        return True


@pytest.fixture
def aworker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker()
    yield worker
    assert worker.shutdown(timeout=10)


def test_ten_thousand_sleeping_coroutines(aworker: BackgroundWorker, qtbot: QtBot) -> None:
    count = 0
    gaps: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.timeout.connect(beat)
    heartbeat.start(5)

    class Counted(Nap):
        def done(self, result: int) -> None:
            nonlocal count
            count += 1

    begin = time.monotonic()
    for i in range(10_000):
        aworker.handle(Counted(0.5, i)).execute()
    last[0] = time.monotonic()
    qtbot.waitUntil(lambda: count == 10_000, timeout=30_000)
    elapsed = time.monotonic() - begin
    heartbeat.stop()
    # "About their sleep time": generous for a loaded 2-core CI box; make bench has figures.
    assert elapsed < 5.0, f"10,000 x 0.5 s naps took {elapsed:.2f} s"
    assert max(gaps) < 1.0, f"the GUI stalled {max(gaps) * 1000:.0f} ms"


def test_cancel_reaches_the_coroutine(aworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Nap(30)
    handler = aworker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: aworker._asyncio.running == 1)
    assert handler.cancel() is True
    assert task.ended == ["canceled"]
    qtbot.waitUntil(lambda: task.saw_cancel and aworker._asyncio.running == 0)
    assert handler.status is TaskStatus.CANCELLED


def test_timeout_cancels_the_coroutine(aworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Nap(30, timeout=0.1)
    aworker.handle(task).execute()
    qtbot.waitUntil(lambda: task.ended == ["timeout"] and task.saw_cancel)


def test_a_coroutine_cancelled_by_itself_is_a_failure(aworker: BackgroundWorker, qtbot: QtBot) -> None:
    errors: list[BaseException] = []

    class SelfCancel(AsyncBackgroundTask[None, None]):
        async def run(self, lifecycle: TaskLifeCycle[None]) -> None:
            raise asyncio.CancelledError("my own")

        def handle_exception(self, exc: BaseException) -> bool:
            errors.append(exc)
            return True

    aworker.handle(SelfCancel()).execute()
    qtbot.waitUntil(lambda: len(errors) == 1)
    assert isinstance(errors[0], asyncio.CancelledError)


def test_await_handler_under_qasync(aworker: BackgroundWorker, qapp: QApplication) -> None:
    import qasync  # the dev extra installs it
    loop = qasync.QEventLoop(qapp)
    results: list[Any] = []

    async def on_gui_thread() -> None:
        handler = aworker.handle(Nap(0.05, index=5))
        handler.execute()
        results.append(await handler)
        failing = aworker.handle(Nap(30, timeout=0.05))
        failing.execute()
        try:
            await failing
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            results.append(type(exc).__name__)

    try:
        loop.run_until_complete(on_gui_thread())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert results == [5, "TaskTimeoutError"]


# -- the loop implementation -------------------------------------------------------------


def test_asyncio_loop_choice_and_bad_values(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvloop

    stdlib = BackgroundWorker(asyncio_loop="asyncio")
    fast = BackgroundWorker(asyncio_loop="uvloop")
    auto = BackgroundWorker()
    try:
        assert (stdlib.asyncio_loop, fast.asyncio_loop, auto.asyncio_loop) == ("asyncio", "uvloop", "uvloop")
        assert isinstance(fast._asyncio._ensure_loop(), uvloop.Loop)
        assert not isinstance(stdlib._asyncio._ensure_loop(), uvloop.Loop)
    finally:
        for w in (stdlib, fast, auto):
            w.shutdown()
    with pytest.raises(ValueError, match="asyncio_loop must be one of 'auto', 'asyncio', 'uvloop', got 'trio'"):
        BackgroundWorker(asyncio_loop="trio")
    with pytest.raises(TypeError, match="asyncio_loop must be a str, not int"):
        BackgroundWorker(asyncio_loop=1)  # type: ignore[arg-type]
    monkeypatch.setenv("QBACKGROUND_ASYNCIO_LOOP", "ASYNCIO")
    from_env = BackgroundWorker()
    assert from_env.asyncio_loop == "asyncio"
    from_env.shutdown()
    # Without uvloop installed, "auto" falls back and "uvloop" says what to install.
    monkeypatch.setitem(sys.modules, "uvloop", None)
    monkeypatch.delenv("QBACKGROUND_ASYNCIO_LOOP")
    fallback = BackgroundWorker()
    assert fallback.asyncio_loop == "asyncio"
    fallback.shutdown()
    with pytest.raises(ValueError, match=r"pip install 'qbackground\[uvloop\]'"):
        BackgroundWorker(asyncio_loop="uvloop")
