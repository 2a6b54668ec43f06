"""The progress windows of ``qbackground.widgets``, driven like a user would.

Every test waits on a condition or a signal; tasks block on events the test opens.
Windows are shown (never ``exec()``-ed), and message boxes are opened, so nothing here
blocks the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from qbackground.qt import delete, is_alive
from qtpy.QtCore import QCoreApplication, Qt, QTranslator
from qtpy.QtWidgets import QMainWindow, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from qbackground import (
    AsyncBackgroundTask,
    BackgroundWorker,
    TaskLifeCycle,
    TaskQueueFullError,
    TaskStateError,
    TaskStatus,
)
from qbackground.widgets import (
    BackgroundTaskDialog,
    BackgroundWorkProgressWindow,
    BackgroundWorkWindow,
)

from .conftest import Unhandled
from .widget_tasks import Gates, Recording, Scripted, close_boxes, open_boxes

WAIT_MS = 5000


@pytest.fixture
def gates() -> Iterator[Gates]:
    g = Gates()
    yield g
    g.open_all()


@pytest.fixture(autouse=True)
def _no_boxes_left() -> Iterator[None]:
    yield from close_boxes()


@pytest.fixture
def owner(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    window.setWindowTitle("Owner")
    qtbot.addWidget(window)
    window.show()
    return window


class Ended:
    """Records the ``ended`` signal and whether the window was already closed then."""

    def __init__(self, window: BackgroundWorkWindow) -> None:
        self.window = window
        self.status: TaskStatus | None = None
        self.notice: QMessageBox | None = None
        self.visible_at_end: bool | None = None
        self.progress_text: str | None = None
        self.count = 0
        window.ended.connect(self._on_ended)

    def _on_ended(self, status: TaskStatus, notice: QMessageBox | None) -> None:
        self.count += 1
        self.status = status
        self.notice = notice
        self.visible_at_end = self.window.isVisible()
        if isinstance(self.window, BackgroundWorkProgressWindow):
            self.progress_text = self.window.progress_label.text()

    def wait(self, qtbot: QtBot) -> None:
        qtbot.waitUntil(lambda: self.count > 0, timeout=WAIT_MS)


# -- opening ------------------------------------------------------------------------------


def test_show_opens_a_modal_window_and_returns_at_once(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    task = Scripted([("wait", go)], owner=owner)
    window = BackgroundWorkWindow.show(task, worker=worker)
    # show() returned while run() still waits: it did not block.
    assert not go.is_set()
    assert isinstance(window, BackgroundWorkWindow)
    assert window.isVisible() and window.isModal()
    assert window.windowModality() is Qt.WindowModality.ApplicationModal
    assert window.parentWidget() is owner
    # CUBA's default texts (backgroundWork.caption, backgroundWork.defaultText)
    assert window.windowTitle() == "Performing operation"
    assert window.message_label.text() == "Please wait for operation to complete"
    assert window.task is task
    handler = window.handler
    assert handler is not None and handler in worker.active_handlers()
    # busy bar, no Cancel, no close button
    assert (window.progress_bar.minimum(), window.progress_bar.maximum()) == (0, 0)
    assert window.button_box.isHidden()
    assert not window.windowFlags() & Qt.WindowType.WindowCloseButtonHint
    ended = Ended(window)
    go.set()
    ended.wait(qtbot)
    assert ended.status is TaskStatus.DONE and ended.notice is None
    assert ended.visible_at_end is False, "the window closes itself before ended is emitted"
    assert task.terminal == ["done"]
    assert handler.status is TaskStatus.DONE
    qtbot.waitUntil(lambda: not is_alive(window), timeout=WAIT_MS)
    assert not open_boxes()


def test_title_and_message_are_shown(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    go = gates.new()
    window = BackgroundWorkWindow.show(
        Scripted([("wait", go)], owner=owner), "Export", "Exporting 3 files", worker=worker
    )
    assert window.windowTitle() == "Export"
    assert window.message_label.text() == "Exporting 3 files"
    assert window.time_label.text().startswith("Elapsed 0:0")
    go.set()
    Ended(window).wait(qtbot)


def test_a_task_without_owner_is_refused_by_the_static_show(worker: BackgroundWorker) -> None:
    for opener in (
        lambda task: BackgroundWorkWindow.show(task, worker=worker),
        lambda task: BackgroundWorkProgressWindow.show(task, total=3, worker=worker),
    ):
        with pytest.raises(ValueError, match="no owner.*BackgroundTaskDialog"):
            opener(Scripted())
    assert worker.active_handlers() == []


@pytest.mark.parametrize("total", [None, 4])
def test_the_builder_takes_an_ownerless_task(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates, total: int | None
) -> None:
    # Jmix's builder needs no owner screen; CUBA's static show() does.
    go = gates.new()
    task = Scripted([("publish", 2), ("wait", go)])
    window = BackgroundTaskDialog(task, worker=worker).with_total(total).open()
    assert window.isVisible() and window.isModal()
    assert window.handler in worker.active_handlers()
    if isinstance(window, BackgroundWorkProgressWindow):
        qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 2 items of 4", timeout=WAIT_MS)
    ended = Ended(window)
    go.set()
    ended.wait(qtbot)
    assert ended.status is TaskStatus.DONE and task.terminal == ["done"]


def test_handler_is_there_from_start_and_refused_before(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    window = BackgroundWorkWindow(Scripted([("wait", go)], owner=owner))
    with pytest.raises(TaskStateError, match="before start"):
        window.handler
    window.start(worker=worker)
    handler = window.handler
    assert handler.status is TaskStatus.RUNNING or handler.status is TaskStatus.QUEUED
    go.set()
    Ended(window).wait(qtbot)
    assert window.handler is handler and handler.status is TaskStatus.DONE


def test_a_deleted_owner_is_refused(qtbot: QtBot, worker: BackgroundWorker) -> None:
    gone = QWidget()
    task = Scripted(owner=gone)
    delete(gone)
    with pytest.raises(ValueError, match="deleted"):
        BackgroundWorkWindow.show(task, worker=worker)


def test_a_window_runs_its_task_once(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    go = gates.new()
    window = BackgroundWorkWindow.show(Scripted([("wait", go)], owner=owner), worker=worker)
    with pytest.raises(TaskStateError):
        window.start(worker=worker)
    go.set()
    Ended(window).wait(qtbot)


def test_show_on_an_instance_is_qwidget_show(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    window = BackgroundWorkWindow(Scripted([("wait", go)], owner=owner), title="Later")
    assert not window.isVisible()
    window.start(worker=worker)
    window.hide()
    window.show()  # the instance's show() is Qt's, not the factory
    assert window.isVisible()
    go.set()
    Ended(window).wait(qtbot)


def test_a_full_queue_raises_and_leaves_no_window(qtbot: QtBot, owner: QMainWindow, gates: Gates) -> None:
    small = BackgroundWorker(threads=1, max_queued=0)
    try:
        go = gates.new()
        first = BackgroundWorkWindow.show(Scripted([("wait", go)], owner=owner), worker=small)
        before = set(owner.findChildren(BackgroundWorkWindow))
        with pytest.raises(TaskQueueFullError):
            BackgroundWorkWindow.show(Scripted(owner=owner), worker=small)
        qtbot.waitUntil(lambda: set(owner.findChildren(BackgroundWorkWindow)) == before, timeout=WAIT_MS)
        assert first.isVisible()
        go.set()
        Ended(first).wait(qtbot)
    finally:
        assert small.shutdown(timeout=5)


# -- progress -----------------------------------------------------------------------------


def test_progress_window_counts_items_of_total(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    first, second = gates.new(), gates.new()
    task = Scripted([("publish", 1), ("publish", 3), ("wait", first), ("publish", 7), ("wait", second)], owner=owner)
    listener = Recording()
    task.add_progress_listener(listener)
    window = BackgroundWorkProgressWindow.show(task, title="Import", total=10, worker=worker)
    ended = Ended(window)
    assert window.total == 10 and not window.percent_progress
    assert (window.progress_bar.minimum(), window.progress_bar.maximum()) == (0, 10)
    assert window.progress_label.text() == "Processed 0 items of 10"
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 3 items of 10", timeout=WAIT_MS)
    assert window.progress_bar.value() == 3 and window.count == 3
    first.set()
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 7 items of 10", timeout=WAIT_MS)
    assert window.progress_bar.value() == 7
    second.set()
    ended.wait(qtbot)
    # The task's own callbacks and the user's listener ran as usual.
    assert task.items == [1, 3, 7] and listener.items == [1, 3, 7]
    assert task.terminal == ["done"] and listener.calls == ["on_done"]
    # The window's own listener is gone; the user's stays.
    assert task.progress_listeners == (listener,)


def test_percent_progress(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    go = gates.new()
    task = Scripted([("publish", 50), ("wait", go), ("publish", 199)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=200, percent_progress=True, worker=worker)
    ended = Ended(window)
    assert window.progress_label.text() == "Processed 0%"
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 25%", timeout=WAIT_MS)
    assert window.progress_bar.value() == 50
    go.set()
    ended.wait(qtbot)
    # Rounded up, as CUBA and Jmix do (Math.ceil): 199 of 200 shows 100 %.
    assert ended.progress_text == "Processed 100%"


@pytest.mark.parametrize(
    ("count", "total", "text"),
    [(0, 3, "Processed 0%"), (1, 3, "Processed 34%"), (2, 3, "Processed 67%"), (3, 3, "Processed 100%"),
     (7, 100, "Processed 7%"), (1, 1000, "Processed 1%")],
)
def test_percentages_round_up_like_cuba(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates, count: int, total: int, text: str
) -> None:
    go = gates.new()
    task = Scripted([("publish", -1), ("publish", count), ("wait", go)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=total, percent_progress=True, worker=worker)
    qtbot.waitUntil(lambda: task.items[-1:] == [count], timeout=WAIT_MS)
    assert window.progress_label.text() == text
    go.set()
    Ended(window).wait(qtbot)


@pytest.mark.parametrize("percent_progress", [False, True])
def test_set_progress_alone_drives_the_progress_window(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates, percent_progress: bool
) -> None:
    # The task speaks only set_total()/set_progress(); the window counts with it.
    first, second = gates.new(), gates.new()
    task = Scripted([("progress", (3, 10)), ("wait", first), ("progress", (1, 3)), ("wait", second)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=10, percent_progress=percent_progress, worker=worker)
    expected = "Processed 30%" if percent_progress else "Processed 3 items of 10"
    qtbot.waitUntil(lambda: window.progress_label.text() == expected, timeout=WAIT_MS)
    assert window.progress_bar.value() == 3 and window.count == 3
    first.set()
    expected = "Processed 34%" if percent_progress else "Processed 3.33333 items of 10"
    qtbot.waitUntil(lambda: window.progress_label.text() == expected, timeout=WAIT_MS)
    assert window.progress_bar.value() == 3
    second.set()
    Ended(window).wait(qtbot)
    assert task.items == [], "nothing was published"


def test_a_fractional_total_scales_the_bar(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    task = Scripted([("publish", 1.25), ("wait", go)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=2.5, worker=worker)
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 1.25 items of 2.5", timeout=WAIT_MS)
    assert window.progress_bar.value() * 2 == window.progress_bar.maximum()
    go.set()
    Ended(window).wait(qtbot)


def test_no_total_means_a_busy_bar(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    first, second = gates.new(), gates.new()
    task = Scripted([("publish", 4), ("wait", first), ("progress", (3, 4)), ("wait", second)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, worker=worker)
    assert window.total is None
    assert (window.progress_bar.minimum(), window.progress_bar.maximum()) == (0, 0)
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 4 items", timeout=WAIT_MS)
    assert window.progress_bar.maximum() == 0, "still indeterminate"
    # A task that also reports set_progress() fills the bar and shows a percentage.
    first.set()
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 75%", timeout=WAIT_MS)
    bar = window.progress_bar
    assert bar.maximum() > 0 and bar.value() * 4 == bar.maximum() * 3
    second.set()
    Ended(window).wait(qtbot)


def test_work_window_fills_its_bar_from_set_progress(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    window = BackgroundWorkWindow.show(Scripted([("progress", (1, 2)), ("wait", go)], owner=owner), worker=worker)
    bar = window.progress_bar
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() * 2 == bar.maximum(), timeout=WAIT_MS)
    go.set()
    Ended(window).wait(qtbot)


def test_set_message_replaces_the_message_live(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    first, second = gates.new(), gates.new()
    task = Scripted([("message", "Reading"), ("wait", first), ("message", "Writing"), ("wait", second)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, message="Starting", total=1, worker=worker)
    assert window.message_label.text() == "Starting"
    qtbot.waitUntil(lambda: window.message_label.text() == "Reading", timeout=WAIT_MS)
    first.set()
    qtbot.waitUntil(lambda: window.message_label.text() == "Writing", timeout=WAIT_MS)
    second.set()
    Ended(window).wait(qtbot)
    assert task.messages == ["Reading", "Writing"], "the task's own message_changed() still runs"


def test_elapsed_and_remaining_time(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    go = gates.new()
    task = Scripted([("publish", 50), ("wait", go)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=100, worker=worker)
    assert window.time_label.text() == "Elapsed 0:00"
    # Half done: once a second has passed, an estimate appears (the task stalls, so the
    # estimate is about as long as the time elapsed so far).
    qtbot.waitUntil(lambda: "left" in window.time_label.text(), timeout=WAIT_MS)
    assert window.time_label.text().startswith("Elapsed 0:0")
    assert "about 0:0" in window.time_label.text()
    go.set()
    Ended(window).wait(qtbot)


def test_items_that_are_not_numbers_are_reported(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    go = gates.new()
    task = Scripted([("publish", "x"), ("wait", go)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=2, worker=worker)
    ended = Ended(window)
    qtbot.waitUntil(lambda: task.items == ["x"], timeout=WAIT_MS)
    go.set()
    ended.wait(qtbot)
    assert unhandled.errors == [], "shown by the window, not reported twice"
    assert ended.status is TaskStatus.DONE
    assert ended.notice is not None and "must publish numbers" in ended.notice.informativeText()


def test_total_must_be_positive(owner: QMainWindow) -> None:
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="total"):
            BackgroundWorkProgressWindow(Scripted(owner=owner), total=bad)
    with pytest.raises(TypeError, match="total"):
        BackgroundWorkProgressWindow(Scripted(owner=owner), total="10")  # type: ignore[arg-type]


# -- cancel and close -----------------------------------------------------------------------


def _cancellable(worker: BackgroundWorker, owner: QWidget, gates: Gates) -> tuple[Scripted, BackgroundWorkWindow, Ended]:
    task = Scripted([("publish", 1), ("wait", gates.new())], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=5, cancel_allowed=True, worker=worker)
    return task, window, Ended(window)


def _check_cancelled(qtbot: QtBot, task: Scripted, window: BackgroundWorkWindow, ended: Ended) -> None:
    ended.wait(qtbot)
    assert ended.status is TaskStatus.CANCELLED and ended.notice is None
    assert ended.visible_at_end is False
    assert task.terminal == ["canceled"]
    handler = window.handler
    assert handler is not None and handler.status is TaskStatus.CANCELLED
    assert not open_boxes()


def test_cancel_button(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    task, window, ended = _cancellable(worker, owner, gates)
    assert window.cancel_allowed and window.button_box.isVisible()
    assert window.windowFlags() & Qt.WindowType.WindowCloseButtonHint
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    # cancel() runs canceled() at once on the GUI thread, and the window closes with it.
    assert ended.count == 1
    _check_cancelled(qtbot, task, window, ended)


def test_escape_cancels_when_allowed(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    task, window, ended = _cancellable(worker, owner, gates)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    _check_cancelled(qtbot, task, window, ended)


def test_title_bar_close_cancels_when_allowed(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    task, window, ended = _cancellable(worker, owner, gates)
    assert window.close()
    _check_cancelled(qtbot, task, window, ended)


def test_enter_presses_cancel(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    task, window, ended = _cancellable(worker, owner, gates)
    assert window.cancel_button.isDefault()
    qtbot.keyClick(window, Qt.Key.Key_Return)
    _check_cancelled(qtbot, task, window, ended)


def test_space_on_the_focused_cancel_button(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    task, window, ended = _cancellable(worker, owner, gates)
    qtbot.keyClick(window.cancel_button, Qt.Key.Key_Space)
    _check_cancelled(qtbot, task, window, ended)


def test_without_cancel_allowed_nothing_closes_the_window(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    task = Scripted([("wait", go)], owner=owner)
    window = BackgroundWorkWindow.show(task, worker=worker)
    ended = Ended(window)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert not window.close(), "the close request is ignored"
    window.reject()
    assert window.isVisible() and ended.count == 0
    handler = window.handler
    assert handler is not None and handler.is_alive()
    go.set()
    ended.wait(qtbot)
    assert ended.status is TaskStatus.DONE and task.terminal == ["done"]


def test_cancel_method_works_without_cancel_allowed(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    task = Scripted([("wait", gates.new())], owner=owner)
    window = BackgroundWorkWindow.show(task, worker=worker)
    ended = Ended(window)
    assert window.cancel()
    _check_cancelled(qtbot, task, window, ended)
    assert not window.cancel(), "nothing left to cancel"


def test_nothing_arrives_after_cancel(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    go = gates.new()
    task = Scripted([("publish", 1), ("wait", go), ("publish", 2)], owner=owner)
    listener = Recording()
    task.add_progress_listener(listener)
    window = BackgroundWorkProgressWindow.show(task, total=2, cancel_allowed=True, worker=worker)
    ended = Ended(window)
    qtbot.waitUntil(lambda: task.items == [1], timeout=WAIT_MS)
    window.cancel_button.click()
    ended.wait(qtbot)
    assert listener.calls == ["on_cancel"]
    assert task.progress_listeners == (listener,)


# -- how a task ends ---------------------------------------------------------------------


def test_an_unhandled_error_is_shown(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    def explode() -> None:
        raise LookupError("row 17 has no e-mail")

    try:
        explode()
    except LookupError as exc:
        error = exc
    task = Scripted([("publish", 2), ("raise", error)], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, title="Import", total=4, worker=worker)
    ended = Ended(window)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.FAILED
    assert task.terminal == ["handle_exception"]
    # The window shows it, so the worker does not report it again (CUBA marks it handled).
    assert unhandled.errors == []
    box = ended.notice
    assert box is not None and box.isVisible() and open_boxes() == [box]
    assert box.icon() is QMessageBox.Icon.Critical
    assert box.windowTitle() == "Import"
    assert box.isModal() and box.parentWidget() is owner
    assert "LookupError: row 17 has no e-mail" in box.informativeText()
    details = box.detailedText()
    assert details.startswith("Traceback") and "explode" in details and "_resolve_future" not in details
    # The task's own frames only: qbackground's frames that ran it are left out.
    assert "run_here" not in details and f"{os.sep}qbackground{os.sep}" not in details
    assert details.splitlines()[1].strip().endswith(", in run"), "starts at the task's run()"
    box.accept()
    qtbot.waitUntil(lambda: not open_boxes(), timeout=WAIT_MS)


def test_a_shown_error_is_logged_once_and_not_signalled(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, caplog: pytest.LogCaptureFixture
) -> None:
    task = Scripted([("raise", KeyError("email"))], owner=owner)
    with caplog.at_level("WARNING", logger="qbackground"):
        window = BackgroundWorkWindow.show(task, worker=worker)
        ended = Ended(window)
        ended.wait(qtbot)
    assert ended.notice is not None and "KeyError" in ended.notice.informativeText()
    assert unhandled.errors == [] and unhandled.timeouts == []
    records = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert len(records) == 1 and "shown to the user" in records[0].getMessage()
    # Without a window the same task reaches the worker's signal as before.
    worker.handle(Scripted([("raise", KeyError("email"))], owner=owner)).execute()
    qtbot.waitUntil(lambda: len(unhandled.errors) == 1, timeout=WAIT_MS)


def test_a_heartbeat_reaches_the_task_and_leaves_the_count(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    go = gates.new()
    task = Scripted([("publish", 2), ("wait", go), ("beat", None), ("wait", gates.new())], owner=owner)
    window = BackgroundWorkProgressWindow.show(task, total=4, worker=worker)
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 2 items of 4", timeout=WAIT_MS)
    calls = task.calls.count("progress")
    go.set()
    qtbot.waitUntil(lambda: task.calls.count("progress") == calls + 1, timeout=WAIT_MS)
    assert task.items == [2], "progress([]) delivered no item"
    assert window.progress_label.text() == "Processed 2 items of 4" and window.count == 2
    ended = Ended(window)
    window.cancel()
    ended.wait(qtbot)
    assert unhandled.errors == [] and ended.notice is None


def test_a_handled_error_shows_nothing(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled
) -> None:
    task = Scripted([("raise", RuntimeError("handled"))], owner=owner, handles_errors=True)
    window = BackgroundWorkWindow.show(task, worker=worker)
    ended = Ended(window)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.FAILED and ended.notice is None
    assert task.terminal == ["handle_exception"]
    assert unhandled.errors == [] and not open_boxes()


def test_an_error_in_a_callback_is_shown(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled
) -> None:
    class BrokenDone(Scripted):
        def done(self, result: str) -> None:
            super().done(result)
            raise ValueError("done() broke")

    window = BackgroundWorkWindow.show(BrokenDone(owner=owner), worker=worker)
    ended = Ended(window)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.DONE
    assert ended.notice is not None and "ValueError: done() broke" in ended.notice.informativeText()
    assert unhandled.errors == []


def test_an_unhandled_timeout_shows_a_warning(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    task = Scripted([("wait", gates.new())], owner=owner, timeout=0.2)
    window = BackgroundWorkWindow.show(task, title="Export", worker=worker)
    ended = Ended(window)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.TIMED_OUT
    assert task.terminal == ["handle_timeout"]
    assert unhandled.timeouts == [], "the window shows it; task_timed_out stays silent"
    box = ended.notice
    assert box is not None and open_boxes() == [box]
    assert box.icon() is QMessageBox.Icon.Warning
    assert "0.2 seconds" in box.text()
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not open_boxes(), timeout=WAIT_MS)


def test_a_handled_timeout_shows_nothing(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    task = Scripted([("wait", gates.new())], owner=owner, timeout=0.2, handles_timeout=True)
    window = BackgroundWorkWindow.show(task, worker=worker)
    ended = Ended(window)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.TIMED_OUT and ended.notice is None
    assert unhandled.timeouts == [] and not open_boxes()


def test_closing_the_owner_ends_silently(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    task = Scripted([("wait", gates.new())], owner=owner)
    window = BackgroundWorkWindow.show(task, cancel_allowed=True, worker=worker)
    ended = Ended(window)
    owner.close()
    ended.wait(qtbot)
    assert ended.status is TaskStatus.INTERRUPTED and ended.notice is None
    assert task.terminal == [] and unhandled.errors == []


def test_worker_shutdown_closes_the_window(qtbot: QtBot, owner: QMainWindow, gates: Gates) -> None:
    own = BackgroundWorker(threads=1)
    task = Scripted([("wait", gates.new())], owner=owner)
    window = BackgroundWorkWindow.show(task, worker=own)
    ended = Ended(window)
    assert own.shutdown(timeout=5)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.INTERRUPTED and ended.notice is None


def test_the_window_follows_its_own_handler_only(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, unhandled: Unhandled, gates: Gates
) -> None:
    go = gates.new()
    window = BackgroundWorkWindow.show(Scripted([("wait", go)], owner=owner), worker=worker)
    ended = Ended(window)
    # Another task fails unhandled and times out meanwhile: not this window's business.
    worker.handle(Scripted([("raise", OSError("other"))], owner=owner)).execute()
    worker.handle(Scripted([("wait", gates.new())], owner=owner, timeout=0.05)).execute()
    qtbot.waitUntil(lambda: len(unhandled.errors) == 1 and len(unhandled.timeouts) == 1, timeout=WAIT_MS)
    assert window.isVisible()
    go.set()
    ended.wait(qtbot)
    assert ended.status is TaskStatus.DONE and ended.notice is None


class _AsyncCount(AsyncBackgroundTask[int, str]):
    async def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        import asyncio

        for i in range(1, 4):
            await asyncio.sleep(0.01)
            lifecycle.publish(i)
        return "async done"


def test_an_async_task_in_a_progress_window(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow) -> None:
    window = BackgroundWorkProgressWindow.show(_AsyncCount(owner=owner), total=3, worker=worker)
    ended = Ended(window)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.DONE
    assert window.count == 3


# -- the builder -------------------------------------------------------------------------------


def test_builder_opens_a_progress_window(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    task = Scripted([("publish", 30), ("wait", go)], owner=owner)
    window = (
        BackgroundTaskDialog(task)
        .with_title("Import")
        .with_message("Importing rows…")
        .with_total(120)
        .with_cancel_allowed(True)
        .with_percent_progress(True)
        .with_worker(worker)
        .with_executor("thread")
        .open()
    )
    assert isinstance(window, BackgroundWorkProgressWindow)
    assert window.isVisible() and window.isModal()
    assert window.windowTitle() == "Import"
    assert window.message_label.text() == "Importing rows…"
    assert window.total == 120 and window.percent_progress and window.cancel_allowed
    qtbot.waitUntil(lambda: window.progress_label.text() == "Processed 25%", timeout=WAIT_MS)
    ended = Ended(window)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    ended.wait(qtbot)
    assert ended.status is TaskStatus.CANCELLED


def test_builder_without_total_opens_a_work_window(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    window = BackgroundTaskDialog(Scripted([("wait", go)], owner=owner), worker=worker).open()
    assert type(window) is BackgroundWorkWindow
    assert not window.cancel_allowed
    go.set()
    Ended(window).wait(qtbot)


def test_builder_checks_the_total_at_once(owner: QMainWindow) -> None:
    with pytest.raises(ValueError):
        BackgroundTaskDialog(Scripted(owner=owner)).with_total(0)


# -- translation ---------------------------------------------------------------------------------


class _Shouting(QTranslator):
    """A translator for the widgets' context that upper-cases everything."""

    def translate(self, context: str, source: str, disambiguation: Any = None, n: int = -1) -> str:
        if context != "qbackground.widgets":
            return ""
        # Upper-case the words, keep the {placeholders} for str.format().
        return re.sub(r"\{\w*\}|[^{]+", lambda m: m.group(0) if m.group(0)[0] == "{" else m.group(0).upper(), source)


def test_texts_are_translatable(qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates) -> None:
    translator = _Shouting()
    QCoreApplication.installTranslator(translator)
    try:
        go = gates.new()
        window = BackgroundWorkProgressWindow.show(
            Scripted([("publish", 2), ("wait", go)], owner=owner), total=5, worker=worker
        )
        assert window.windowTitle() == "PERFORMING OPERATION"
        assert window.message_label.text() == "PLEASE WAIT FOR OPERATION TO COMPLETE"
        # Placeholders are filled in after translation.
        qtbot.waitUntil(lambda: window.progress_label.text() == "PROCESSED 2 ITEMS OF 5", timeout=WAIT_MS)
        go.set()
        Ended(window).wait(qtbot)
    finally:
        QCoreApplication.removeTranslator(translator)


# -- Pause/Resume (pausable=True, issue 18) ------------------------------------------------


def test_pausable_window_pauses_and_resumes_the_task(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    task = Scripted([("wait", gates.new())], owner=owner)
    window = BackgroundWorkWindow.show(task, worker=worker, pausable=True)
    assert window.pausable and window.pause_button is not None
    assert window.button_box.isVisible() and window.pause_button.isVisible()
    assert not window.cancel_button.isVisible(), "Cancel is still opt-in"
    button = window.pause_button
    assert button.text() == "Pause"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.handler.status is TaskStatus.PAUSED and button.text() == "Resume"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.handler.status in (TaskStatus.QUEUED, TaskStatus.RUNNING) and button.text() == "Pause"
    # Paused elsewhere: the button follows at the window's next tick.
    window.handler.pause()
    qtbot.waitUntil(lambda: button.text() == "Resume", timeout=5000)
    ended = Ended(window)
    assert window.cancel()  # a paused task is cancelled at once
    _check_cancelled(qtbot, task, window, ended)


def test_windows_are_not_pausable_by_default(
    qtbot: QtBot, worker: BackgroundWorker, owner: QMainWindow, gates: Gates
) -> None:
    go = gates.new()
    window = BackgroundWorkProgressWindow.show(Scripted([("wait", go)], owner=owner), total=3, worker=worker)
    assert not window.pausable and window.pause_button is None
    paused = BackgroundTaskDialog(Scripted([("wait", go)], owner=owner)).with_pause_allowed().with_total(3)
    paused = paused.with_worker(worker)
    opened = paused.open()
    assert opened.pausable and opened.pause_button is not None
    assert opened.toggle_pause() and opened.handler.is_paused()
    assert opened.toggle_pause() and not opened.handler.is_paused()
    go.set()
