"""The windows and the status widget take the handler ``worker.submit()`` returns."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from qtpy.QtWidgets import QMainWindow, QMessageBox
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, TaskStatus, current_lifecycle
from qbackground.widgets import (
    BackgroundTaskDialog,
    BackgroundWorkProgressWindow,
    BackgroundWorkWindow,
    TaskStatusWidget,
)

from .conftest import Unhandled
from .widget_tasks import close_boxes, open_boxes

WAIT_MS = 5000


@pytest.fixture(autouse=True)
def _no_boxes_left() -> Iterator[None]:
    yield from close_boxes()


@pytest.fixture
def owner(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def counts_to(n: int, gate: threading.Event) -> int:
    lifecycle = current_lifecycle()
    for i in range(1, n + 1):
        lifecycle.publish(i)
    gate.wait(10)
    return n


def test_a_work_window_follows_a_submitted_function(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gate: threading.Event
) -> None:
    results: list[int] = []
    handler = worker.submit(counts_to, 3, gate, owner=owner, on_result=results.append)
    window = BackgroundWorkWindow.show(handler, title="Counting", cancel_allowed=True)
    assert window.handler is handler and window.isVisible() and window.isModal()
    assert window.windowTitle() == "Counting"
    statuses: list[TaskStatus] = []
    window.ended.connect(lambda status, notice: statuses.append(status))
    gate.set()
    qtbot.waitUntil(lambda: statuses == [TaskStatus.DONE], timeout=WAIT_MS)
    assert results == [3]  # submit's own callback still runs


def test_a_progress_window_counts_what_the_function_publishes(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gate: threading.Event
) -> None:
    handler = worker.submit(counts_to, 40, gate, owner=owner)
    window = BackgroundWorkProgressWindow.show(handler, total=40)
    qtbot.waitUntil(lambda: window.progress_bar.value() == 40, timeout=WAIT_MS)
    assert window.progress_label.text() == "Processed 40 items of 40"
    assert handler.fraction == 1.0  # the count is the handler's fraction too
    ended: list[TaskStatus] = []
    window.ended.connect(lambda status, notice: ended.append(status))
    gate.set()
    qtbot.waitUntil(lambda: ended == [TaskStatus.DONE], timeout=WAIT_MS)


def test_an_error_without_on_error_is_shown_not_signalled(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gate: threading.Event
) -> None:
    def fails(gate: threading.Event) -> None:
        gate.wait(10)
        raise LookupError("no such customer")

    handler = worker.submit(fails, gate, owner=owner)
    window = BackgroundWorkWindow.show(handler, title="Lookup")
    notices: list[QMessageBox | None] = []
    window.ended.connect(lambda status, notice: notices.append(notice))
    gate.set()
    qtbot.waitUntil(lambda: len(notices) == 1, timeout=WAIT_MS)
    box = notices[0]
    assert box is not None and "LookupError: no such customer" in box.informativeText()
    assert open_boxes() == [box]
    assert unhandled.errors == []  # shown once, by the window
    box.accept()


def test_the_builder_takes_a_handler_of_an_ownerless_function(
    qtbot: QtBot, worker: BackgroundWorker, gate: threading.Event
) -> None:
    handler = worker.submit(counts_to, 5, gate)
    window = BackgroundTaskDialog(handler).with_total(5).with_cancel_allowed().open()
    assert isinstance(window, BackgroundWorkProgressWindow) and window.handler is handler
    ended: list[TaskStatus] = []
    window.ended.connect(lambda status, notice: ended.append(status))
    window.cancel_button.click()
    qtbot.waitUntil(lambda: ended == [TaskStatus.CANCELLED], timeout=WAIT_MS)


def test_a_handler_brings_its_own_worker(worker: BackgroundWorker, owner: QMainWindow, gate: threading.Event) -> None:
    handler = worker.submit(counts_to, 1, gate, owner=owner)
    with pytest.raises(TypeError, match="runs it where it was made"):
        BackgroundWorkWindow.show(handler, worker=worker)
    with pytest.raises(TypeError, match="runs it where it was made"):
        BackgroundWorkProgressWindow.show(handler, total=1, executor="thread")
    with pytest.raises(ValueError, match="has no owner"):
        BackgroundWorkWindow.show(worker.submit(counts_to, 1, gate))
    gate.set()


def test_the_status_widget_follows_submitted_functions(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gate: threading.Event
) -> None:
    status = TaskStatusWidget(worker)
    owner.statusBar().addPermanentWidget(status)
    handlers = [worker.submit(counts_to, 2, gate) for _ in range(3)]
    qtbot.waitUntil(lambda: status.running_count == 3, timeout=WAIT_MS)
    assert status.count_label.text() == "3 tasks running"
    gate.set()
    qtbot.waitUntil(lambda: status.running_count == 0, timeout=WAIT_MS)
    assert all(h.status is TaskStatus.DONE for h in handlers)
