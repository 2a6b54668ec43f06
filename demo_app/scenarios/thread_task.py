"""Scenario "Thread task": progress bar, live message and a Cancel button."""

from __future__ import annotations

from qbackground import TaskStatus, background_worker

from ..smoke import SmokeContext, SmokeScript
from ..tasks import CountingTask, ViewTask
from .task_page import TaskPage

__all__ = ["ThreadTaskPage"]


class ThreadTaskPage(TaskPage):
    """Runs a :class:`~demo_app.tasks.CountingTask` (100 steps of 30 ms) on a thread."""

    title = "Thread task"
    name = "thread"
    summary = (
        "A task counts to 100 on a worker thread. <code>set_message()</code> feeds the "
        "message line, <code>set_progress()</code> the bar and <code>publish()</code> the "
        "<code>progress()</code> callback, all delivered on the GUI thread. Cancel wakes the "
        "task's <code>lifecycle.sleep()</code> at once and <code>canceled()</code> runs."
    )

    steps = 100
    cancel_at = 25
    """The smoke test clicks Cancel once the bar shows at least this many percent."""

    def make_task(self) -> ViewTask:
        return CountingTask(self, steps=self.steps, step_seconds=0.03, owner=self)

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        yield from self._smoke_finish(ctx)
        yield from self._smoke_cancel(ctx)

    def _smoke_finish(self, ctx: SmokeContext) -> SmokeScript:
        ctx.check(self.is_idle(), "the page starts idle (Start enabled, Cancel disabled)")
        self.start_button.click()
        ctx.check(
            not self.start_button.isEnabled() and self.cancel_button.isEnabled(),
            "while running, Start is disabled and Cancel enabled",
        )
        yield ctx.wait_until(self.is_idle, "the task finished", timeout=15)
        record = self.record
        ctx.check(record.terminal == ["done"], "done() ran exactly once", f"terminal callbacks: {record.terminal}")
        ctx.check(
            self.progress_bar.value() == 100,
            "the progress bar reached 100",
            f"value {self.progress_bar.value()}",
        )
        ctx.check(
            CountingTask.RESULT in self.result_label.text(),
            "the result label shows the result",
            f"label {self.result_label.text()!r}",
        )
        expected = f"Step {self.steps} of {self.steps}"
        ctx.check(
            self.message_label.text() == expected,
            "the message label shows the last set_message()",
            f"label {self.message_label.text()!r}, expected {expected!r}",
        )
        ctx.check(
            record.items == list(range(1, self.steps + 1)),
            "progress() received every published item, in order",
            f"{len(record.items)} items, last {record.items[-1:]}",
        )
        ctx.check(
            0 < record.progress_calls <= len(record.items),
            "progress() calls were coalesced (never more calls than items)",
            f"{record.progress_calls} calls for {len(record.items)} items",
        )
        handler = self.handler
        ctx.check(
            handler is not None and handler.status is TaskStatus.DONE,
            "the handler status is DONE",
            f"status {handler.status.name if handler else None}",
        )

    def _smoke_cancel(self, ctx: SmokeContext) -> SmokeScript:
        self.start_button.click()
        yield ctx.wait_until(
            lambda: self.progress_bar.value() >= self.cancel_at,
            f"the progress bar shows {self.cancel_at} %",
            timeout=15,
        )
        self.cancel_button.click()
        record = self.record
        ctx.check(
            record.terminal == ["canceled"],
            "clicking Cancel part way ran canceled() (at once, inside cancel())",
            f"terminal callbacks: {record.terminal}",
        )
        ctx.check(self.is_idle(), "after Cancel the UI is idle again (Start enabled, Cancel disabled)")
        bar_at_cancel = self.progress_bar.value()
        ctx.check(
            self.cancel_at <= bar_at_cancel < 100,
            "the progress bar stopped part way",
            f"value {bar_at_cancel}",
        )
        ctx.check("Cancelled" in self.result_label.text(), "the result label says Cancelled", self.result_label.text())
        handler = self.handler
        ctx.check(
            handler is not None and handler.status is TaskStatus.CANCELLED and not handler.is_alive(),
            "the handler status is CANCELLED",
            f"status {handler.status.name if handler else None}",
        )
        yield ctx.pause(0.3, "late callbacks had time to arrive")
        ctx.check(
            record.late_callbacks == 0 and record.terminal == ["canceled"],
            "no callback arrived after canceled()",
            f"{record.late_callbacks} late callbacks, terminal {record.terminal}",
        )
        ctx.check(
            self.progress_bar.value() == bar_at_cancel,
            "the progress bar did not move after canceled()",
            f"{bar_at_cancel} → {self.progress_bar.value()}",
        )
        ctx.check(
            not background_worker().active_handlers(),
            "the worker has no active handlers left",
            f"{background_worker().active_handlers()}",
        )
