"""CloseGuard (DESIGN §10): a window with alive tasks asks, stops them, then closes."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle, TaskStatus
from qbackground.widgets import CloseGuard


class Busy(BackgroundTask[Any, int]):
    """Cooperative: stops at once on cancel."""

    def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        lifecycle.set_message("copying files")
        lifecycle.set_progress(0.25)
        lifecycle.sleep(30)
        return 1


class Deaf(BackgroundTask[Any, int]):
    """Ignores cancel until ``release`` is set (thread backend)."""

    def __init__(self, release: threading.Event, **options: Any) -> None:
        super().__init__(**options)
        self.release = release

    def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        self.release.wait(30)
        return 1


class Deaf2(BackgroundTask[Any, int]):
    """Computes for ``seconds`` without looking at the lifecycle (process backend)."""

    def __init__(self, seconds: float, **options: Any) -> None:
        super().__init__(**options)
        self.seconds = seconds

    def run(self, lifecycle: TaskLifeCycle[Any]) -> int:
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            pass
        return 1


def _window(qtbot: QtBot) -> QWidget:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    return window


def _button(box: QMessageBox, text: str) -> Any:
    [button] = [b for b in box.buttons() if b.text() == text]
    return button


def test_keep_working(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    guard = CloseGuard(window, worker)
    handler = worker.handle(Busy(owner=window)).start()
    qtbot.waitUntil(lambda: handler.message == "copying files", timeout=5_000)
    window.close()
    assert window.isVisible() and guard.question is not None
    assert guard.question.isModal()
    assert "Busy: copying files — 25%" in guard.question.text()
    _button(guard.question, "Keep working").click()
    assert guard.question is None and window.isVisible() and handler.is_alive()
    handler.cancel()


def test_stop_tasks_and_close(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    guard = CloseGuard(window, worker)
    handler = worker.handle(Busy(owner=window)).start()
    window.close()
    assert guard.question is not None
    _button(guard.question, "Stop tasks and close").click()
    assert handler.status is TaskStatus.CANCELLED and guard.winding_down is not None
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert not guard.timed_out and handler._run_over


def test_a_deaf_task_closes_after_the_timeout(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    guard = CloseGuard(window, worker, ask=False, timeout=0.3)
    release = threading.Event()
    handler = worker.handle(Deaf(release, owner=window)).start()
    qtbot.waitUntil(lambda: handler.status is TaskStatus.RUNNING, timeout=5_000)
    window.close()
    assert guard.question is None and window.isVisible()  # ask=False: no question
    assert guard.winding_down is not None and guard.winding_down.isVisible()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert guard.timed_out and not handler._run_over
    release.set()


def test_process_tasks_wind_down_before_the_window_closes(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    guard = CloseGuard(window, worker, ask=False, timeout=30)
    handler = worker.handle(Deaf2(0.5, owner=window), executor="process").start()
    qtbot.waitUntil(lambda: handler.status is TaskStatus.RUNNING, timeout=30_000)
    stopped: list[bool] = []
    handler.when_stopped(lambda h: stopped.append(window.isVisible()))
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert stopped == [True]  # run() stopped while the window was still open
    assert not guard.timed_out


def test_a_window_without_tasks_closes_at_once(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    CloseGuard(window, worker)
    window.close()
    assert not window.isVisible()
