"""Owner binding: a closed or deleted owner interrupts its tasks silently."""

from __future__ import annotations

from typing import Any

import pytest
from qbackground.qt import delete
from qtpy.QtCore import QEvent, QObject
from qtpy.QtGui import QCloseEvent
from qtpy.QtWidgets import QDialog, QLabel, QMainWindow, QWidget
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, TaskInterruptedError, TaskStatus
from qbackground._owner import _OwnerWatch

from .helpers import Gate


def _run(worker: BackgroundWorker, owner: QWidget) -> tuple[Gate, Any]:
    task = Gate(owner=owner)
    handler = worker.handle(task)
    handler.execute()
    assert task.started.wait(5)
    return task, handler


def test_closing_window_interrupts_silently(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = QMainWindow()
    label = QLabel("child", window)
    window.setCentralWidget(label)
    qtbot.addWidget(window)
    window.show()
    task, handler = _run(worker, label)  # a child widget: its window counts
    assert window.close()
    assert handler.status is TaskStatus.INTERRUPTED
    assert not handler.is_alive() and handler.cancel() is False
    assert task.stopped.wait(5)
    worker._dispatcher.drain()
    assert task.calls == []
    with pytest.raises(TaskInterruptedError):
        handler.get_result()


def test_rejected_close_does_not_interrupt(worker: BackgroundWorker, qtbot: QtBot) -> None:
    class Stubborn(QWidget):
        def closeEvent(self, event: QCloseEvent) -> None:
            event.ignore()

    window = Stubborn()
    qtbot.addWidget(window)
    window.show()
    task, handler = _run(worker, window)
    assert not window.close()
    qtbot.waitUntil(lambda: not worker._owners._watches[id(window)]._closing)
    window.hide()  # hiding alone does not count either
    assert handler.is_alive()
    task.release.set()
    qtbot.waitUntil(lambda: task.terminal == ["done"])


def test_hiding_is_not_closing(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    task, handler = _run(worker, window)
    window.hide()
    window.show()
    assert handler.is_alive()
    task.release.set()
    qtbot.waitUntil(lambda: task.terminal == ["done"])


def test_deleted_owner_interrupts_and_never_calls_back(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = QWidget()
    task, handler = _run(worker, window)
    task.release.set()  # run() returns; done() would touch the deleted owner
    assert task.stopped.wait(5)  # block the GUI: the done() delivery stays queued
    delete(window)
    worker._dispatcher.drain()
    assert task.calls == []
    assert handler.status is TaskStatus.INTERRUPTED


@pytest.mark.parametrize("finish", ["accept", "reject", "done"])
def test_dialog_finishing_interrupts(worker: BackgroundWorker, qtbot: QtBot, finish: str) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    task, handler = _run(worker, dialog)
    if finish == "done":
        dialog.done(5)
    else:
        getattr(dialog, finish)()
    assert handler.status is TaskStatus.INTERRUPTED
    assert task.calls == []


def test_owner_with_several_tasks_and_unbinding(worker: BackgroundWorker, qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    first, h1 = _run(worker, window)
    second, h2 = _run(worker, window)
    first.release.set()
    qtbot.waitUntil(lambda: first.terminal == ["done"])
    assert id(window) in worker._owners._watches
    window.close()
    assert h1.status is TaskStatus.DONE and h2.status is TaskStatus.INTERRUPTED
    assert id(window) not in worker._owners._watches  # the watch went with its last task


def test_owner_must_be_a_widget() -> None:
    with pytest.raises(TypeError, match="QWidget"):
        Gate(owner="window")  # type: ignore[arg-type]


def test_idle_owner_has_no_event_filter(
    worker: BackgroundWorker, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[QEvent.Type] = []
    original = _OwnerWatch.eventFilter

    def counting(self: _OwnerWatch, watched: QObject, event: QEvent) -> bool:
        seen.append(event.type())
        return original(self, watched, event)

    monkeypatch.setattr(_OwnerWatch, "eventFilter", counting)
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    task, handler = _run(worker, window)
    window.setWindowTitle("busy")  # the filter is installed while the task runs...
    assert seen, "the owner's window was not watched while its task ran"
    task.release.set()
    qtbot.waitUntil(lambda: task.terminal == ["done"])
    assert worker._owners._watches == {}
    # ...and removed once no task needs it: a close event now is nobody's business.
    seen.clear()
    window.setWindowTitle("idle")
    assert window.close()
    assert seen == [], f"the event filter still sees the idle owner's events: {seen}"
    assert task.terminal == ["done"]
