"""Scenario "Pause and resume": a simulated download with Pause and Resume buttons."""

from __future__ import annotations

from time import monotonic

from qtpy.QtWidgets import QBoxLayout, QHBoxLayout, QPushButton, QWidget

from qbackground import TaskLifeCycle, TaskStatus, background_worker

from ..smoke import SmokeContext, SmokeScript
from ..tasks import CountingTask, TaskView, ViewTask
from .task_page import TaskPage
from .widgets import sized_buttons

__all__ = ["DownloadFileTask", "PausePage"]


class DownloadFileTask(CountingTask):
    """A "download" of ``steps`` chunks; every report is a checkpoint that holds a pause.

    Example::

        task = DownloadFileTask(page, steps=100, step_seconds=0.03, timeout=5, owner=page)
    """

    RESULT = "downloaded"

    def __init__(
        self,
        view: TaskView,
        *,
        steps: int,
        step_seconds: float,
        timeout: float | None = None,
        owner: QWidget | None = None,
    ) -> None:
        ViewTask.__init__(self, view, owner=owner, timeout=timeout)
        self.steps = steps
        self.step_seconds = step_seconds

    def report(self, lifecycle: TaskLifeCycle[int], step: int) -> None:
        lifecycle.checkpoint()  # paused: wait here (set_message and publish would too)
        lifecycle.set_message(f"Received {step} of {self.steps} kB")
        lifecycle.publish(step)
        lifecycle.set_progress(step)


class PausePage(TaskPage):
    """Runs a :class:`DownloadFileTask` with Pause and Resume next to Start and Cancel."""

    title = "Pause and resume"
    name = "pause"
    summary = (
        "A download of 100 chunks on a worker thread, with a 5 s timeout. Pause calls "
        "<code>handler.pause()</code>: the task waits at its next checkpoint (its next "
        "<code>set_message()</code>, <code>publish()</code>, <code>sleep()</code> or "
        "<code>lifecycle.checkpoint()</code>) and its timeout clock stops, so a pause "
        "longer than the time left does not time it out. Resume runs it on from there; "
        "Cancel ends a paused task at once."
    )

    steps = 100
    step_seconds = 0.03  # 3 s of work against a 5 s timeout
    timeout = 5.0
    smoke_pause = 2.5
    """Seconds the smoke test keeps the download paused: longer than its time left."""

    def make_task(self) -> ViewTask:
        return DownloadFileTask(
            self, steps=self.steps, step_seconds=self.step_seconds, timeout=self.timeout, owner=self
        )

    def _build(self) -> None:
        super()._build()
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        row = QHBoxLayout()
        for button in sized_buttons((self.pause_button, self.resume_button)):
            row.addWidget(button)
        row.addStretch(1)
        box = self.start_button.parentWidget()
        assert box is not None
        layout = box.layout()
        assert isinstance(layout, QBoxLayout)
        layout.insertLayout(1, row)  # under Start and Cancel

    # -- user actions ----------------------------------------------------------------

    def pause(self) -> None:
        """Pause the download (the Pause button)."""
        handler = self.handler
        if handler is not None:
            self.log.stamp(f"Pause clicked: pause() returned {handler.pause()}")
        self._update_status()

    def resume(self) -> None:
        """Resume the download (the Resume button)."""
        handler = self.handler
        if handler is not None:
            self.log.stamp(f"Resume clicked: resume() returned {handler.resume()}")
        self._update_status()

    def _update_status(self) -> None:
        super()._update_status()
        handler = self.handler
        alive = handler is not None and handler.is_alive()
        paused = handler is not None and handler.is_paused()
        if hasattr(self, "pause_button"):
            self.pause_button.setEnabled(alive and not paused)
            self.resume_button.setEnabled(paused)

    # -- smoke --------------------------------------------------------------------------

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        ctx.check(
            not self.pause_button.isEnabled() and not self.resume_button.isEnabled(),
            "Pause and Resume are disabled while idle",
        )
        self.start_button.click()
        started = monotonic()
        yield ctx.wait_until(lambda: self.progress_bar.value() >= 20, "the download reached 20 %", timeout=15)
        self.pause_button.click()
        handler = self.handler
        assert handler is not None
        ctx.check(
            handler.status is TaskStatus.PAUSED and handler.is_alive(),
            "Pause: the handler is PAUSED (and alive)",
            f"status {handler.status.name}",
        )
        ctx.check(
            self.resume_button.isEnabled() and not self.pause_button.isEnabled(),
            "while paused, Resume is enabled and Pause disabled",
        )
        yield ctx.pause(0.3, "reports already on their way arrived")
        held = len(self.record.items)
        # Past the task's 5 s timeout, counted from Start, if the clock did not stop.
        wait = max(self.smoke_pause, self.timeout + 0.3 - (monotonic() - started))
        yield ctx.pause(wait, "the download stays paused past its timeout")
        ctx.check(
            len(self.record.items) == held and handler.status is TaskStatus.PAUSED,
            "nothing arrived while paused, and a paused task does not time out",
            f"{held} → {len(self.record.items)} items, status {handler.status.name}",
        )
        self.resume_button.click()
        ctx.check(handler.status is TaskStatus.RUNNING, "Resume: the handler is RUNNING again")
        yield ctx.wait_until(self.is_idle, "the download finished", timeout=15)
        ctx.check(
            self.record.terminal == ["done"] and handler.status is TaskStatus.DONE,
            "the resumed download finished with done() (its clock ran on from the pause)",
            f"terminal {self.record.terminal}, status {handler.status.name}",
        )
        ctx.check(
            self.record.items == list(range(1, self.steps + 1)),
            "every chunk arrived once, in order",
            f"{len(self.record.items)} items",
        )
        # Pause, then Cancel: a paused task ends at once.
        self.start_button.click()
        yield ctx.wait_until(lambda: self.progress_bar.value() >= 10, "the second download reached 10 %", timeout=15)
        self.pause_button.click()
        self.cancel_button.click()
        handler = self.handler
        assert handler is not None
        ctx.check(
            self.record.terminal == ["canceled"] and handler.status is TaskStatus.CANCELLED,
            "Cancel of a paused download ran canceled() at once",
            f"terminal {self.record.terminal}",
        )
        stopped: list[object] = []
        handler.when_stopped(stopped.append)
        yield ctx.wait_until(lambda: bool(stopped), "the paused task's run() really ended", timeout=5)
        ctx.check(self.is_idle() and not background_worker().active_handlers(), "the page and the worker are idle")
