"""Scenario "Run a function": ``worker.submit(fn, *args, ...)``, the simplest way in."""

from __future__ import annotations

from functools import partial

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from qbackground import BackgroundTaskHandler, TaskStatus, TaskTimeoutError, background_worker, current_lifecycle

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, selectable, show_outcome, start_cancel_row, steady

__all__ = ["SubmitPage", "count_primes"]

_CODE = """\
handler = worker.submit(
    count_primes, limit,
    owner=page, timeout=10,
    on_progress=lambda seen: bar.setValue(seen[-1]),
    on_result=lambda n: result.setText(f"{n} primes"),
    on_error=lambda exc: result.setText(f"failed: {exc}"),
)
cancel_button.clicked.connect(handler.cancel)"""


def count_primes(limit: int, *, report_every: int = 2_000) -> int:
    """The primes below ``limit``, counted by trial division: a plain function, with
    progress and cancel through :func:`qbackground.current_lifecycle`."""
    lifecycle = current_lifecycle()
    found = 0
    for n in range(2, limit):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            found += 1
        if n % report_every == 0:
            lifecycle.publish(n)  # raises TaskInterruptedError once cancelled
    lifecycle.publish(limit)
    return found


class SubmitPage(Scenario):
    """Submits :func:`count_primes` with ``worker.submit()``: no task class at all."""

    title = "Run a function"
    name = "submit"
    summary = (
        "<code>worker.submit(fn, *args, on_result=..., on_error=..., on_progress=...)</code> "
        "runs a plain function in the background with every guarantee of a task: exactly one "
        "ending on the GUI thread, owner binding, a timeout, Cancel. The function reports "
        "progress and sees a cancel through <code>current_lifecycle()</code>."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handler: BackgroundTaskHandler[int] | None = None
        self.endings: list[str] = []
        self.items: list[int] = []
        box = QGroupBox("count_primes(limit)")
        layout = QVBoxLayout(box)
        self.limit = QSpinBox()
        self.limit.setRange(10_000, 2_000_000)
        self.limit.setSingleStep(50_000)
        self.limit.setValue(300_000)
        self.limit.setSuffix("  (limit)")
        row, self.start_button, self.cancel_button, self.status = start_cancel_row(
            "Submit", self.start, self.cancel, self.limit
        )
        layout.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setFormat("%v of %m")
        layout.addWidget(self.bar)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.result_label = steady(QLabel("—"), "9,999,999 primes below 9,999,999", bold=True)
        selectable((self.result_label,))
        form.addRow("Result:", self.result_label)
        layout.addLayout(form)
        code = QLabel(f"<pre>{_CODE}</pre>")
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(code)
        self.body.addWidget(box)
        log_group, self.log = log_box("What reached the GUI thread", "Press Submit.")
        self.body.addWidget(log_group, 1)

    def is_idle(self) -> bool:
        return self.handler is None or not self.handler.is_alive()

    def start(self) -> None:
        """Submit count_primes (the Submit button)."""
        if not self.is_idle():
            return
        limit = self.limit.value()
        self.endings = []
        self.items = []
        self.bar.setRange(0, limit)
        self.bar.setValue(0)
        show_outcome(self.result_label, "counting…")
        self.log.start_section()
        self.handler = background_worker().submit(
            partial(count_primes, limit),
            owner=self,
            timeout=10,
            on_progress=self._on_progress,
            on_result=self._on_result,
            on_error=self._on_error,
        )
        self.log.stamp(f"submit(count_primes, {limit:,}) → {self.handler.status.name}")
        self.handler.when_stopped(self._on_stopped)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("running")

    def cancel(self) -> None:
        """The Cancel button: none of the three callbacks runs."""
        if self.handler is not None and self.handler.cancel():
            self.endings.append("canceled")
            self.log.stamp("cancel() → True: no on_result, no on_error")
            show_outcome(self.result_label, f"cancelled at {self.bar.value():,}", "canceled")
            self._idle()

    def _on_progress(self, seen: list[int]) -> None:
        self.items.extend(seen)
        self.bar.setValue(seen[-1])

    def _on_result(self, found: int) -> None:
        self.endings.append("result")
        self.log.stamp(f"on_result({found:,})")
        show_outcome(self.result_label, f"{found:,} primes below {self.limit.value():,}", "done")
        self._idle()

    def _on_error(self, exc: BaseException) -> None:
        self.endings.append("error")
        self.log.stamp(f"on_error({type(exc).__name__}: {exc})")
        kind = "timed out" if isinstance(exc, TaskTimeoutError) else "failed"
        show_outcome(self.result_label, f"{kind}: {exc}", "failed")
        self._idle()

    def _on_stopped(self, handler: BackgroundTaskHandler[int]) -> None:
        self.log.stamp(f"when_stopped: the function returned ({handler.status.name})")

    def _idle(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText("")

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        self.limit.setValue(1_000_000)
        self.start_button.click()
        yield ctx.wait_until(lambda: self.bar.value() >= 400_000, "40 % counted", timeout=30)

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        self.cancel()
        yield ctx.wait_until(self.is_idle, "cancelled")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        self.limit.setValue(60_000)
        self.start_button.click()
        ctx.check(not self.start_button.isEnabled(), "while the function runs, Submit is disabled")
        yield ctx.wait_until(self.is_idle, "the submitted function finished", timeout=20)
        ctx.check(self.endings == ["result"], "on_result ran exactly once", f"endings {self.endings}")
        ctx.check("6,057 primes" in self.result_label.text(), "the result is right (6,057 below 60,000)",
                  self.result_label.text())
        ctx.check(self.items == sorted(self.items) and self.items[-1] == 60_000,
                  "on_progress got every published count, in order", f"last {self.items[-1:]}")
        ctx.check(self.bar.value() == 60_000, "the bar reached the limit", f"value {self.bar.value()}")
        self.limit.setValue(2_000_000)
        self.start_button.click()
        yield ctx.wait_until(lambda: self.bar.value() >= 20_000, "the second run is under way", timeout=20)
        self.cancel_button.click()
        ctx.check(self.endings == ["canceled"], "Cancel ends it with no callback", f"endings {self.endings}")
        handler = self.handler
        ctx.check(handler is not None and handler.status is TaskStatus.CANCELLED, "the handler is CANCELLED")
        stopped = False

        def note(_h: object) -> None:
            nonlocal stopped
            stopped = True

        if handler is not None:
            handler.when_stopped(note)
        yield ctx.wait_until(lambda: stopped, "the function saw the cancel and returned", timeout=20)
        ctx.check(self.endings == ["canceled"], "nothing arrived after the cancel", f"endings {self.endings}")
