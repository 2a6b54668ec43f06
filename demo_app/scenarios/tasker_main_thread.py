"""The task_mgr page's "main thread" box: Rayforge's scheduling helpers and
``send_event_and_wait`` (an acknowledged event from a worker process)."""

from __future__ import annotations

import time
from typing import Any

from qbackground.qt import is_alive
from qtpy.QtCore import QCoreApplication, QThread
from qtpy.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from qbackground.tasker import CancelHandle, Task, task_mgr

from ..tasker_funcs import hand_over_frame
from .widgets import sized_buttons, status_label

__all__ = ["MainThreadBox"]


class MainThreadBox(QGroupBox):
    """Buttons for ``send_event_and_wait`` and ``schedule_delayed_on_main_thread``."""

    delay_ms = 800
    """How long the delayed call waits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Main thread (Rayforge's helpers)", parent)
        self.acks: list[bool] = []
        """What each hand-over's ``send_event_and_wait`` returned, in order."""
        self.adopted: list[Any] = []
        """The frames ``when_event`` took."""
        self.delayed_runs: list[tuple[float, bool]] = []
        """Each delayed call that ran: (seconds after scheduling, on the GUI thread)."""
        self._handle: CancelHandle | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.hand_button = QPushButton("run_process(visible=False) · send_event_and_wait")
        self.hand_button.setToolTip(
            "task_mgr.run_process(hand_over_frame, size, visible=False, when_event=...): the worker "
            "process waits until when_event took the frame"
        )
        self.hand_button.clicked.connect(self.hand_over)
        self.delay_button = QPushButton(f"schedule_delayed_on_main_thread({self.delay_ms} ms)")
        self.delay_button.clicked.connect(self.schedule)
        self.cancel_delay_button = QPushButton("Cancel the delayed call")
        self.cancel_delay_button.clicked.connect(self.cancel_delayed)
        for button in sized_buttons((self.hand_button, self.delay_button, self.cancel_delay_button)):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.label = status_label()
        self.label.setText("Hand a frame over, or schedule a call on the GUI thread.")
        layout.addWidget(self.label)

    def hand_over(self) -> Task[bool]:
        """``task_mgr.run_process(hand_over_frame, 1 << 20, visible=False, ...)``."""
        self.label.setText("handing over a frame…")
        return task_mgr.run_process(
            hand_over_frame, 1 << 20, visible=False, when_event=self._when_event, when_done=self._when_done
        )

    def schedule(self) -> CancelHandle:
        """``task_mgr.schedule_delayed_on_main_thread(delay_ms, ...)``; keeps the handle."""
        started = time.monotonic()
        if self._handle is not None:
            self._handle.cancel()
        self._handle = task_mgr.schedule_delayed_on_main_thread(self.delay_ms, self._delayed, started)
        self.label.setText(f"a call is due in {self.delay_ms} ms (Cancel stops it)")
        return self._handle

    def cancel_delayed(self) -> None:
        """``handle.cancel()``: the delayed call does not run."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self.label.setText("the delayed call was cancelled")

    def _delayed(self, started: float) -> None:
        if not is_alive(self.label):
            return
        app = QCoreApplication.instance()
        on_gui = app is not None and QThread.currentThread() == app.thread()
        self.delayed_runs.append((time.monotonic() - started, on_gui))
        self._handle = None
        self.label.setText(f"the delayed call ran after {self.delayed_runs[-1][0]:.2f} s, on the GUI thread: {on_gui}")

    def _when_event(self, task: Task[Any], name: str, data: Any) -> None:
        self.adopted.append(data)
        if is_alive(self.label):
            self.label.setText(f"when_event took {name} {data!r}; the worker process goes on")

    def _when_done(self, task: Task[Any]) -> None:
        if task.get_status() == "completed":
            self.acks.append(bool(task.result()))
        if is_alive(self.label):
            self.label.setText(f"send_event_and_wait returned {task.result() if task.get_status() == 'completed' else task.get_status()}")
