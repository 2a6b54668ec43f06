"""CloseGuard (DESIGN §10): a window with alive tasks asks, stops them, then closes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from qtpy.QtCore import QCoreApplication, QEvent
from qtpy.QtWidgets import QMessageBox, QWidget
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
    # The user is told, not only the log: a non-blocking box with the count.
    notice = guard.notice
    assert notice is not None and notice.isVisible() and not notice.isModal()
    assert "closed anyway: 1 task(s) did not stop within 0.3 s" in notice.text()
    notice.close()  # WA_DeleteOnClose
    qtbot.waitUntil(lambda: guard.notice is None, timeout=5_000)
    release.set()


def test_no_notice_when_the_tasks_stop_in_time(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    guard = CloseGuard(window, worker, ask=False, timeout=5)
    worker.handle(Busy(owner=window)).start()
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert not guard.timed_out and guard.notice is None


def test_quitting_the_application_goes_through_the_guard(
    worker: BackgroundWorker, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # QCoreApplication.quit() sends the application a Quit event (from the GUI
    # thread); send that event as the Quit path does, and record the guard's own
    # quit() instead of really quitting the test's QApplication.
    quits: list[bool] = []
    monkeypatch.setattr(QCoreApplication, "quit", staticmethod(lambda: quits.append(window.isVisible())))
    window = _window(qtbot)
    guard = CloseGuard(window, worker)
    handler = worker.handle(Busy(owner=window)).start()
    app = QCoreApplication.instance()
    assert app is not None
    accepted = QCoreApplication.sendEvent(app, QEvent(QEvent.Type.Quit))
    assert accepted  # the guard took the Quit event: the application does not quit yet
    qtbot.waitUntil(lambda: guard.question is not None, timeout=5_000)
    assert window.isVisible() and handler.is_alive() and quits == []
    assert guard.question is not None
    _button(guard.question, "Stop tasks and close").click()
    qtbot.waitUntil(lambda: quits != [], timeout=5_000)
    assert quits == [False]  # quit again only after the window closed
    assert handler.status is TaskStatus.CANCELLED and handler._run_over


def test_quitting_without_tasks_is_not_held(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = _window(qtbot)
    guard = CloseGuard(window, worker)
    app = QCoreApplication.instance()
    assert app is not None
    assert guard.eventFilter(app, QEvent(QEvent.Type.Quit)) is False
    assert guard.question is None and window.isVisible()


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
