"""Scenario "Failing task": ``run()`` raises and ``handle_exception()`` shows it."""

from __future__ import annotations

from qbackground import TaskStatus

from ..smoke import SmokeContext, SmokeScript
from ..tasks import FailingTask, SimulatedFailure, ViewTask
from .task_page import TaskPage

__all__ = ["FailingTaskPage"]


class FailingTaskPage(TaskPage):
    """Runs a :class:`~demo_app.tasks.FailingTask` that raises at step 40 of 100."""

    title = "Failing task"
    name = "failing"
    summary = (
        "The same counting task, but <code>run()</code> raises at step 40. The exception "
        "travels to the GUI thread and reaches <code>handle_exception()</code>, which shows "
        "it and returns <code>True</code> (handled); <code>done()</code> never runs."
    )

    steps = 100
    fail_at = 40

    def make_task(self) -> ViewTask:
        return FailingTask(self, steps=self.steps, fail_at=self.fail_at, step_seconds=0.02, owner=self)

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Run the task until it fails, so the picture shows the error."""
        self.start_button.click()
        yield ctx.wait_until(self.is_idle, "the task ended", timeout=15)

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        ctx.check(self.is_idle(), "the page starts idle")
        self.start_button.click()
        yield ctx.wait_until(self.is_idle, "the task ended", timeout=15)
        record = self.record
        ctx.check(
            record.terminal == ["handle_exception"],
            "handle_exception() ran exactly once (and done() did not)",
            f"terminal callbacks: {record.terminal}",
        )
        ctx.check(
            isinstance(record.error, SimulatedFailure),
            "handle_exception() received the SimulatedFailure raised by run()",
            repr(record.error),
        )
        ctx.check(
            "SimulatedFailure" in self.result_label.text(),
            "the result label shows the error",
            repr(self.result_label.text()),
        )
        ctx.check(
            self.progress_bar.value() == self.fail_at and record.items[-1:] == [self.fail_at],
            f"progress reported before the error arrived first (bar at {self.fail_at})",
            f"bar {self.progress_bar.value()}, last item {record.items[-1:]}",
        )
        handler = self.handler
        ctx.check(
            handler is not None and handler.status is TaskStatus.FAILED,
            "the handler status is FAILED",
            f"status {handler.status.name if handler else None}",
        )
