"""``TaskStatusWidget``: a status bar following every running task of a worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from qbackground import BackgroundTaskHandler, BackgroundWorker, TaskStatus
from qbackground.widgets import TaskStatusWidget

from .widget_tasks import Gates, Scripted

WAIT_MS = 10000


@pytest.fixture
def gates() -> Iterator[Gates]:
    g = Gates()
    yield g
    g.open_all()


@pytest.fixture
def main_window(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    return window


def _status_bar_widget(worker: BackgroundWorker, window: QMainWindow) -> TaskStatusWidget:
    status = TaskStatusWidget(worker)
    window.statusBar().addPermanentWidget(status)
    return status


def test_idle_widget_is_hidden_in_a_status_bar(worker: BackgroundWorker, main_window: QMainWindow) -> None:
    status = _status_bar_widget(worker, main_window)
    assert status.worker is worker
    assert status.isHidden() and status.running_count == 0
    assert status.overall_fraction is None and status.latest_message is None


def test_hundreds_of_tasks_are_followed_cheaply(
    qtbot: QtBot, worker: BackgroundWorker, main_window: QMainWindow, gates: Gates
) -> None:
    status = _status_bar_widget(worker, main_window)
    go = gates.new()
    count = 300
    handlers: list[BackgroundTaskHandler[str]] = []
    for i in range(count):
        task = Scripted([("message", f"task {i}"), ("progress", (1, 4)), ("wait", go)], owner=main_window)
        handler = worker.handle(task)
        handler.execute()
        handlers.append(handler)
    # The worker runs 4 at once; the other 296 wait, and count as running tasks too.
    qtbot.waitUntil(lambda: status.running_count == count and status.latest_message is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: status.overall_fraction == 0.25, timeout=WAIT_MS)
    assert status.isVisible()
    assert status.count_label.text() == f"{count} tasks running"
    assert status.latest_message is not None and status.latest_message.startswith("task ")
    assert status.message_label.text() == status.latest_message
    bar = status.progress_bar
    assert bar.maximum() > 0 and bar.value() * 4 == bar.maximum()
    assert status.cancel_button.isEnabled()
    tooltip = status.toolTip().splitlines()
    assert len(tooltip) == 11 and tooltip[-1] == "…"
    # Cancel All (the button) cancels every one of them, queued or running.
    qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert all(h.status is TaskStatus.CANCELLED for h in handlers)
    qtbot.waitUntil(lambda: status.running_count == 0, timeout=WAIT_MS)
    assert status.isHidden() and not status.cancel_button.isEnabled()
    assert status.latest_message is None and status.message_label.text() == ""
    # One refresh per frame at most, never one per task event (300 starts, 300 messages,
    # 300 fractions, 300 ends).
    assert status.refresh_count < count / 5, status.refresh_count


def test_the_latest_message_wins(qtbot: QtBot, worker: BackgroundWorker, main_window: QMainWindow, gates: Gates) -> None:
    status = _status_bar_widget(worker, main_window)
    a_go, a_end, b_go = gates.new(), gates.new(), gates.new()
    a = Scripted([("message", "a1"), ("wait", a_go), ("message", "a2"), ("wait", a_end)], owner=main_window)
    b = Scripted([("wait", b_go), ("message", "b1"), ("wait", gates.new())], owner=main_window)
    worker.handle(a).execute()
    handler_b = worker.handle(b)
    handler_b.execute()
    qtbot.waitUntil(lambda: status.latest_message == "a1", timeout=WAIT_MS)
    assert status.count_label.text() == "2 tasks running"
    b_go.set()
    qtbot.waitUntil(lambda: status.latest_message == "b1", timeout=WAIT_MS)
    a_go.set()
    qtbot.waitUntil(lambda: status.latest_message == "a2", timeout=WAIT_MS)
    a_end.set()  # a ends: the message of a task still running is shown
    qtbot.waitUntil(lambda: status.running_count == 1, timeout=WAIT_MS)
    assert status.latest_message == "b1"
    assert status.count_label.text() == "1 task running"
    assert status.cancel_all() == 1
    assert handler_b.status is TaskStatus.CANCELLED


def test_the_bar_is_busy_until_a_task_reports_a_fraction(
    qtbot: QtBot, worker: BackgroundWorker, main_window: QMainWindow, gates: Gates
) -> None:
    status = _status_bar_widget(worker, main_window)
    go = gates.new()
    worker.handle(Scripted([("wait", go), ("progress", (3, 4)), ("wait", gates.new())], owner=main_window)).execute()
    worker.handle(Scripted([("wait", gates.new())], owner=main_window)).execute()
    qtbot.waitUntil(lambda: status.running_count == 2, timeout=WAIT_MS)
    assert status.overall_fraction is None
    assert (status.progress_bar.minimum(), status.progress_bar.maximum()) == (0, 0)
    go.set()
    # The mean of the tasks that report one: the silent task does not drag it down.
    qtbot.waitUntil(lambda: status.overall_fraction == 0.75, timeout=WAIT_MS)
    assert status.progress_bar.value() * 4 == status.progress_bar.maximum() * 3
    status.cancel_all()
    qtbot.waitUntil(lambda: status.running_count == 0, timeout=WAIT_MS)


def test_a_top_level_widget_can_stay_visible_when_idle(qtbot: QtBot, worker: BackgroundWorker, gates: Gates) -> None:
    status = TaskStatusWidget(worker, hide_when_idle=False)
    qtbot.addWidget(status)
    status.show()
    assert status.isVisible() and status.count_label.text() == ""
    worker.handle(Scripted([("message", "working"), ("wait", gates.new())], owner=status)).execute()
    qtbot.waitUntil(lambda: status.message_label.text() == "working", timeout=WAIT_MS)
    status.cancel_all()
    qtbot.waitUntil(lambda: status.running_count == 0, timeout=WAIT_MS)
    assert status.isVisible()


def test_long_messages_are_elided(qtbot: QtBot, worker: BackgroundWorker, main_window: QMainWindow, gates: Gates) -> None:
    status = _status_bar_widget(worker, main_window)
    long = "Copying " + "very " * 60 + "long file name"
    worker.handle(Scripted([("message", long), ("wait", gates.new())], owner=main_window)).execute()
    qtbot.waitUntil(lambda: status.latest_message == long, timeout=WAIT_MS)
    shown = status.message_label.text()
    assert shown.endswith("…") and len(shown) < len(long)
    assert status.message_label.toolTip() == long
    status.cancel_all()


def test_counts_published_into_a_progress_window_reach_the_status_widget(
    qtbot: QtBot, worker: BackgroundWorker, main_window: QMainWindow, gates: Gates
) -> None:
    # The task speaks only publish(count); the window's total makes it a fraction that
    # every other view (handler.fraction, tasks_changed, this widget) shows too.
    from qbackground.widgets import BackgroundWorkProgressWindow

    status = _status_bar_widget(worker, main_window)
    changes: list[None] = []
    worker.tasks_changed.connect(lambda: changes.append(None))
    first, second = gates.new(), gates.new()

    class Fractions(Scripted):
        def fraction_changed(self, fraction: float) -> None:
            self.calls.append(f"fraction {fraction:g}")

    task = Fractions([("publish", 1), ("wait", first), ("publish", 3), ("wait", second)], owner=main_window)
    window = BackgroundWorkProgressWindow.show(task, total=4, worker=worker)
    handler = window.handler
    qtbot.waitUntil(lambda: handler.fraction == 0.25, timeout=WAIT_MS)
    assert "fraction 0.25" in task.calls
    qtbot.waitUntil(lambda: status.overall_fraction == 0.25, timeout=WAIT_MS)
    seen = len(changes)
    first.set()
    qtbot.waitUntil(lambda: status.overall_fraction == 0.75, timeout=WAIT_MS)
    assert handler.fraction == 0.75 and len(changes) > seen
    assert status.progress_bar.value() * 4 == status.progress_bar.maximum() * 3
    assert window.progress_label.text() == "Processed 3 items of 4"
    second.set()
    qtbot.waitUntil(lambda: status.running_count == 0, timeout=WAIT_MS)


def test_report_fraction_checks_its_input_and_thread(
    qtbot: QtBot, worker: BackgroundWorker, main_window: QMainWindow, gates: Gates
) -> None:
    import threading

    from qbackground import IllegalConcurrentAccessError

    handler = worker.handle(Scripted([("wait", gates.new())], owner=main_window))
    handler.execute()
    for bad, error in (("0.5", TypeError), (float("nan"), ValueError)):
        with pytest.raises(error):
            handler.report_fraction(bad)  # type: ignore[arg-type]
    handler.report_fraction(1.5)
    assert handler.fraction == 1.0, "clamped"
    raised: list[BaseException] = []

    def off_gui() -> None:
        try:
            handler.report_fraction(0.5)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=off_gui)
    thread.start()
    thread.join()
    assert len(raised) == 1 and isinstance(raised[0], IllegalConcurrentAccessError)
    handler.cancel()
    handler.report_fraction(0.1)
    assert handler.fraction == 1.0, "ignored after the end"


def test_paused_tasks_are_counted_and_marked(qtbot: QtBot, worker: BackgroundWorker) -> None:
    gate = threading.Event()
    status = TaskStatusWidget(worker, hide_when_idle=False)
    qtbot.addWidget(status)
    task = Scripted([("wait", gate)])
    handler = worker.handle(task)
    handler.execute()
    qtbot.waitUntil(lambda: status.running_count == 1, timeout=5000)
    assert "paused" not in status.count_label.text()
    assert handler.pause()
    qtbot.waitUntil(lambda: "(1 paused)" in status.count_label.text(), timeout=5000)
    assert "[paused]" in status.toolTip()
    assert handler.resume()
    qtbot.waitUntil(lambda: "paused" not in status.count_label.text(), timeout=5000)
    gate.set()
