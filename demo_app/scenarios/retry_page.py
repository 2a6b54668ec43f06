"""Scenario "Retries": a flaky device call, retried with a backoff (DESIGN §11).

The task's ``run()`` is a generator too: each step it yields is published (and is a
place where a cancel stops it).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from time import monotonic

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFormLayout, QGroupBox, QLabel, QSpinBox, QVBoxLayout, QWidget

from qbackground import BackgroundTask, BackgroundTaskHandler, Retry, TaskLifeCycle, TaskStatus, background_worker

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, selectable, show_outcome, start_cancel_row, steady

__all__ = ["DeviceRead", "RetryPage"]

_CODE = """\
class DeviceRead(BackgroundTask[str, str]):
    def __init__(self, page):
        super().__init__(owner=page, timeout=30, retry=Retry(
            attempts=4, backoff=page.backoff, max_backoff=5, on=(OSError,)))

    def run(self, lifecycle) -> Generator[str, None, str]:
        yield f"attempt {lifecycle.attempt}: connecting"   # published
        if lifecycle.attempt <= fails:
            raise ConnectionResetError("device busy")       # an OSError: retried
        return "42.0 °C"

    def handle_retry(self, attempt, exc):                   # GUI thread
        log(f"{exc}: attempt {attempt} after a backoff")
        return True"""


class DeviceRead(BackgroundTask[str, str]):
    """Reads a simulated device that is busy for its first ``fails`` attempts."""

    def __init__(self, page: RetryPage, fails: int, backoff: float) -> None:
        super().__init__(
            owner=page,
            timeout=30,
            retry=Retry(attempts=4, backoff=backoff, max_backoff=5.0, on=(OSError,)),
        )
        self.page = page
        self.fails = fails

    def run(self, lifecycle: TaskLifeCycle[str]) -> Generator[str, None, str]:
        yield f"attempt {lifecycle.attempt}: connecting"
        lifecycle.sleep(0.05)  # the round trip to the device
        if lifecycle.attempt <= self.fails:
            raise ConnectionResetError(f"device busy (attempt {lifecycle.attempt})")
        yield f"attempt {lifecycle.attempt}: reading"
        return "42.0 °C"

    def progress(self, changes: list[str]) -> None:
        self.page.on_steps(changes)

    def handle_retry(self, attempt: int, exc: BaseException) -> bool:
        return self.page.on_retry(attempt, exc)

    def done(self, result: str) -> None:
        self.page.on_ending("done", result)

    def canceled(self) -> None:
        self.page.on_ending("canceled", None)

    def handle_exception(self, exc: BaseException) -> bool:
        self.page.on_ending("error", exc)
        return True


class RetryPage(Scenario):
    """Runs :class:`DeviceRead`; the log shows each attempt, retry and wait."""

    title = "Retries"
    name = "retries"
    summary = (
        "A device call that fails now and works a moment later. <code>retry=Retry(attempts=4, "
        "backoff=…)</code> runs the task again after each <code>OSError</code>, waiting "
        "<code>backoff × 2<sup>n-1</sup></code> (with jitter: between half of it and all of it). "
        "<code>handle_retry()</code> runs on the GUI thread before each new attempt; "
        "<code>lifecycle.attempt</code> counts them. Between attempts the handler stays alive "
        "(<code>QUEUED</code>), and Cancel ends it at once, even in a wait."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handler: BackgroundTaskHandler[str] | None = None
        self._stopped = True  # the handler's run() is over (when_stopped)
        self.steps: list[str] = []
        self.endings: list[tuple[str, object]] = []
        self.retries: list[tuple[int, str, TaskStatus, bool]] = []  # attempt, failure, status, alive
        self.started_at: list[float] = []
        box = QGroupBox("DeviceRead: a flaky device")
        layout = QVBoxLayout(box)
        self.fails = QSpinBox()
        self.fails.setRange(0, 9)
        self.fails.setValue(2)
        self.fails.setPrefix("busy for ")
        self.fails.setSuffix(" attempts")
        self.backoff = QSpinBox()
        self.backoff.setRange(0, 5000)
        self.backoff.setSingleStep(100)
        self.backoff.setValue(300)
        self.backoff.setPrefix("backoff ")
        self.backoff.setSuffix(" ms")
        row, self.start_button, self.cancel_button, self.status = start_cancel_row(
            "Read", self.start, self.cancel, self.fails, self.backoff
        )
        layout.addLayout(row)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.result_label = steady(QLabel("—"), "gave up: device busy (attempt 4)", bold=True)
        selectable((self.result_label,))
        form.addRow("Result:", self.result_label)
        layout.addLayout(form)
        code = QLabel(f"<pre>{_CODE}</pre>")
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(code)
        self.body.addWidget(box)
        log_group, self.log = log_box("Attempts, retries and waits", "Press Read.")
        self.body.addWidget(log_group, 1)

    def is_idle(self) -> bool:
        # when_stopped comes after the terminal callback: a failure is decided on the
        # task's thread, before handle_exception() reaches the GUI thread.
        return self.handler is None or self._stopped

    def start(self) -> None:
        """The Read button."""
        if not self.is_idle():
            return
        self.steps, self.endings, self.retries, self.started_at = [], [], [], []
        show_outcome(self.result_label, "reading…")
        self.log.start_section()
        task = DeviceRead(self, self.fails.value(), self.backoff.value() / 1000)
        self.handler = background_worker().handle(task)
        self._stopped = False
        self.handler.when_stopped(self._on_stopped)
        self.handler.execute()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("attempt 1")

    def cancel(self) -> None:
        """The Cancel button: works while an attempt runs and during a wait alike."""
        if self.handler is not None:
            waiting = self.handler.status is TaskStatus.QUEUED
            if self.handler.cancel():
                self.log.stamp(f"cancel() → True ({'during a backoff' if waiting else 'while running'})")

    def _on_stopped(self, handler: BackgroundTaskHandler[str]) -> None:
        if handler is self.handler:
            self._stopped = True

    def on_steps(self, changes: list[str]) -> None:
        for step in changes:
            if step.endswith("connecting"):
                self.started_at.append(monotonic())
            self.steps.append(step)
            self.log.stamp(step)
        handler = self.handler
        if handler is not None and handler.is_alive():
            self.status.setText(f"attempt {handler.attempt}")

    def on_retry(self, attempt: int, exc: BaseException) -> bool:
        handler = self.handler
        status = handler.status if handler is not None else TaskStatus.CREATED
        alive = handler is not None and handler.is_alive()
        self.retries.append((attempt, str(exc), status, alive))
        retry = handler.task.retry if handler is not None else None
        if retry is not None:
            full = replace(retry, jitter=False).delay(attempt - 1)  # the longest it may wait
            wait = f"waits {full / 2:.2f}–{full:.2f} s" if retry.jitter else f"waits {full:.2f} s"
        else:  # pragma: no cover - the page's task always has a policy
            wait = ""
        self.log.stamp(f"handle_retry({attempt}, {exc}) → True: attempt {attempt} {wait} ({status.name})")
        self.status.setText(f"waiting for attempt {attempt}")
        return True

    def on_ending(self, kind: str, value: object) -> None:
        self.endings.append((kind, value))
        attempts = self.handler.attempt if self.handler is not None else 0
        if kind == "done":
            self.log.stamp(f"done({value!r}) after {attempts} attempt(s)")
            show_outcome(self.result_label, f"{value} (attempt {attempts})", "done")
        elif kind == "canceled":
            self.log.stamp("canceled(): no further attempt")
            show_outcome(self.result_label, "cancelled", "canceled")
        else:
            self.log.stamp(f"handle_exception({value}): the attempts are used up")
            show_outcome(self.result_label, f"gave up: {value}", "failed")
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText("")

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        self.fails.setValue(2)
        self.backoff.setValue(200)
        self.start_button.click()
        yield ctx.wait_until(self.is_idle, "the read ended", timeout=20)

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        ctx.check(self.is_idle(), "the page starts idle")
        # 1. Busy twice: three attempts, done() once.
        self.fails.setValue(2)
        self.backoff.setValue(150)
        self.start_button.click()
        yield ctx.wait_until(self.is_idle, "the flaky read ended", timeout=20)
        ctx.check(self.endings == [("done", "42.0 °C")], "done() ran once, after the retries",
                  f"endings {self.endings}")
        handler = self.handler
        ctx.check(handler is not None and handler.attempt == 3, "it took three attempts",
                  f"attempt {handler.attempt if handler else None}")
        ctx.check([r[0] for r in self.retries] == [2, 3], "handle_retry() ran before attempts 2 and 3",
                  f"retries {self.retries}")
        ctx.check(all(r[2] is TaskStatus.QUEUED and r[3] for r in self.retries),
                  "between attempts the handler was alive and QUEUED", f"retries {self.retries}")
        ctx.check(self.steps[:1] == ["attempt 1: connecting"] and "attempt 3: reading" in self.steps,
                  "what the failed attempts published stayed delivered", f"steps {self.steps}")
        gaps = [b - a for a, b in zip(self.started_at, self.started_at[1:])]
        ctx.check(len(gaps) == 2 and gaps[0] >= 0.075 and gaps[1] >= 0.15,
                  "the waits grew with each retry (at least half of 0.15 s, then of 0.3 s)", f"gaps {gaps}")
        ctx.report(f"from one attempt's start to the next: {', '.join(f'{g:.2f} s' for g in gaps)}")
        # 2. Busy for longer than four attempts: handle_exception() gets the last failure.
        self.fails.setValue(9)
        self.backoff.setValue(20)
        self.start_button.click()
        yield ctx.wait_until(self.is_idle, "the hopeless read ended", timeout=20)
        ctx.check(len(self.endings) == 1 and self.endings[0][0] == "error"
                  and str(self.endings[0][1]) == "device busy (attempt 4)",
                  "after four attempts handle_exception() got the last failure", f"endings {self.endings}")
        # 3. Cancel during a long backoff: at once, and nothing more runs.
        self.fails.setValue(9)
        self.backoff.setValue(5000)
        self.start_button.click()
        yield ctx.wait_until(lambda: len(self.retries) == 1, "the first attempt failed", timeout=20)
        began = monotonic()
        self.cancel_button.click()
        ctx.check(self.endings == [("canceled", None)] and monotonic() - began < 1.0,
                  "Cancel during the backoff ran canceled() at once", f"endings {self.endings}")
        ctx.check(self.handler is not None and self.handler.status is TaskStatus.CANCELLED,
                  "the handler is CANCELLED")
        ctx.check(len(self.started_at) == 1, "no further attempt started", f"starts {len(self.started_at)}")

