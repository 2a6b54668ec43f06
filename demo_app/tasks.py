"""The background tasks the demo runs, and the view protocol they report to.

The tasks only compute; every GUI-thread callback is forwarded to a :class:`TaskView`
(the scenario page), so one task class can drive any page. Tasks keep no per-run
state, so a page hands the same instance to ``worker.handle()`` on every Start.
"""

from __future__ import annotations

from typing import Protocol

from qtpy.QtWidgets import QWidget

from qbackground import BackgroundTask, TaskLifeCycle

__all__ = ["CountingTask", "FailingTask", "SimulatedFailure", "TaskView", "ViewTask"]


class TaskView(Protocol):
    """Receives a task's callbacks; every method runs on the GUI thread."""

    def on_progress(self, changes: list[int]) -> None:
        """Published items since the previous call (coalesced per frame)."""

    def on_message(self, message: str) -> None:
        """The latest ``set_message()`` text."""

    def on_fraction(self, fraction: float) -> None:
        """Overall progress, 0..1."""

    def on_done(self, result: str) -> None:
        """``run()`` returned ``result``."""

    def on_canceled(self) -> None:
        """``cancel()`` stopped the task."""

    def on_exception(self, exc: BaseException) -> bool:
        """``run()`` raised ``exc``; return True when handled."""

    def on_timeout(self) -> bool:
        """The task's timeout expired; return True when handled."""


class ViewTask(BackgroundTask[int, str]):
    """A task that forwards its GUI-thread callbacks to a :class:`TaskView`.

    Subclasses implement only :meth:`run`. ``T`` is ``int`` (the step just finished),
    ``V`` is ``str`` (a short result text).
    """

    def __init__(
        self, view: TaskView, *, owner: QWidget | None = None, timeout: float | None = None
    ) -> None:
        super().__init__(timeout=timeout, owner=owner)
        self._view = view

    def progress(self, changes: list[int]) -> None:
        self._view.on_progress(changes)

    def message_changed(self, message: str) -> None:
        self._view.on_message(message)

    def fraction_changed(self, fraction: float) -> None:
        self._view.on_fraction(fraction)

    def done(self, result: str) -> None:
        self._view.on_done(result)

    def canceled(self) -> None:
        self._view.on_canceled()

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_exception(exc)

    def handle_timeout_exception(self) -> bool:
        return self._view.on_timeout()


class CountingTask(ViewTask):
    """Counts ``steps`` steps of ``step_seconds`` each, reporting every step.

    Example::

        task = CountingTask(page, steps=100, step_seconds=0.03, owner=page)
        background_worker().handle(task).execute()
    """

    RESULT = "finished"
    """What ``run()`` returns when it was not cancelled."""

    def __init__(
        self,
        view: TaskView,
        *,
        steps: int = 100,
        step_seconds: float = 0.03,
        owner: QWidget | None = None,
    ) -> None:
        super().__init__(view, owner=owner)
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        self.steps = steps
        self.step_seconds = step_seconds

    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        lifecycle.set_total(self.steps)
        for step in range(1, self.steps + 1):
            lifecycle.sleep(self.step_seconds)  # a cancel() wakes it at once
            self.report(lifecycle, step)
        return self.RESULT

    def report(self, lifecycle: TaskLifeCycle[int], step: int) -> None:
        """Tell the GUI thread that ``step`` finished."""
        lifecycle.set_message(f"Step {step} of {self.steps}")
        lifecycle.publish(step)
        lifecycle.set_progress(step)


class SimulatedFailure(RuntimeError):
    """The error :class:`FailingTask` raises on purpose."""


class FailingTask(CountingTask):
    """Counts like :class:`CountingTask`, then raises :class:`SimulatedFailure` at ``fail_at``.

    Example::

        task = FailingTask(page, steps=100, fail_at=40, owner=page)
    """

    def __init__(
        self,
        view: TaskView,
        *,
        steps: int = 100,
        fail_at: int = 40,
        step_seconds: float = 0.02,
        owner: QWidget | None = None,
    ) -> None:
        super().__init__(view, steps=steps, step_seconds=step_seconds, owner=owner)
        if not 1 <= fail_at <= steps:
            raise ValueError(f"fail_at must be between 1 and steps ({steps}), got {fail_at}")
        self.fail_at = fail_at

    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        lifecycle.set_total(self.steps)
        for step in range(1, self.steps + 1):
            lifecycle.sleep(self.step_seconds)
            self.report(lifecycle, step)
            if step == self.fail_at:
                raise SimulatedFailure(f"simulated disk error at step {step} of {self.steps}")
        return self.RESULT
