"""The executor interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

__all__ = ["Executor", "Job"]


class Job(Protocol):
    """What an executor runs: a handler seen from the executor's side."""

    def run_here(self) -> None:
        """Run the task on the calling thread; calls ``on_start``/``on_stop``."""


class Executor(ABC):
    """Runs jobs somewhere and accounts for the slots they use.

    Accounting protocol (the handler calls these, each exactly once per job):
    ``submit`` admits a job as *waiting*; then either ``on_start`` (it began: waiting →
    active) followed by ``on_stop`` (it really stopped), or ``on_unqueue`` (it was
    cancelled before it began).

    Example::

        class InlineExecutor(Executor):
            name = "inline"
            def submit(self, job): job.run_here()
            def shutdown(self, timeout): return True
    """

    name: str = "executor"
    """A short name for this executor, used in messages ("thread", "process", "asyncio", "dask")."""

    def check_task(self, task: Any) -> None:
        """Raise ``TypeError`` if this executor cannot run ``task`` (default: accept)."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Queue ``job``; raise ``TaskQueueFullError`` when no slot may wait."""

    @abstractmethod
    def shutdown(self, timeout: float | None) -> bool:
        """Stop accepting jobs and wait up to ``timeout`` for running ones; True if all stopped."""

    def on_start(self) -> None:
        """A waiting job began running."""

    def on_stop(self) -> None:
        """A running job's ``run()`` has really returned."""

    def on_unqueue(self) -> None:
        """A waiting job was cancelled before it began."""

    def on_interrupt(self, job: Any) -> None:
        """A running job was cancelled, timed out or interrupted (any thread).

        In-process threads need nothing: the lifecycle's flags already changed. Other
        backends forward the news (to a process, to a coroutine) here.
        """
