"""The executor interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from .._current import running

if TYPE_CHECKING:
    from .._lifecycle import TaskLifeCycle

__all__ = ["Executor", "Job", "running_task"]


def running_task(lifecycle: TaskLifeCycle[Any]) -> AbstractContextManager[None]:
    """Inside this block, :func:`~qbackground.current_lifecycle` returns ``lifecycle``.

    An executor that calls ``run()`` itself wraps the call in it, so a function that
    ``worker.submit()`` runs (or any code ``run()`` calls) finds its lifecycle; the
    built-in backends and :meth:`Job.run_here` do the same. It holds for the calling
    thread, or the calling asyncio task, only; a task that runs in another process
    enters it there, around ``run()``, with the lifecycle it gets there.

    Example::

        lifecycle = job.begin()
        if lifecycle is not None:
            with running_task(lifecycle):
                value = job.task.run(lifecycle)
    """
    return running(lifecycle)


class Job(Protocol):
    """One task execution, as an executor sees it: what :meth:`Executor.submit` gets.

    The worker's :class:`~qbackground.BackgroundTaskHandler` implements it. An executor
    either calls :meth:`run_here` on a thread of its own (in-process: that is the whole
    protocol), or drives the job itself: :meth:`begin`, then the task's ``run()`` here
    or elsewhere (replaying its reports with :meth:`replay`), then exactly one of
    :meth:`succeed` or :meth:`fail`, then its own :meth:`Executor.on_stop`. It is
    told through :meth:`Executor.on_interrupt` when a running job is cancelled, timed
    out or interrupted. The ending (``done()``, ``canceled()``, ``handle_exception()``,
    ``handle_timeout_exception()``) always runs on the GUI thread, and the handler
    decides it: a ``cancel()`` still wins over a ``succeed()`` that was not delivered.

    Example::

        class InlineExecutor(Executor):
            name = "inline"

            def submit(self, job: Job) -> None:
                lifecycle = job.begin()
                if lifecycle is None:
                    return  # cancelled while it waited
                try:
                    with running_task(lifecycle):  # current_lifecycle() inside run()
                        value = job.task.run(lifecycle)
                except BaseException as exc:
                    job.fail(exc)
                else:
                    job.succeed(value)
                finally:
                    self.on_stop()

            def shutdown(self, timeout: float | None) -> bool:
                return True
    """

    @property
    def task(self) -> Any:
        """The task object (a ``BackgroundTask``, or an ``AsyncBackgroundTask`` for an
        executor whose ``check_task`` accepts one); an off-process executor pickles it.

        Example::

            payload = pickle.dumps(job.task)
        """

    @property
    def params(self) -> Mapping[str, Any]:
        """The task's ``get_params()`` mapping, copied at ``handle()`` (never None).

        Example::

            connection.send(("run", pickle.dumps(job.task), dict(job.params)))
        """

    def is_cancelled(self) -> bool:
        """True when ``cancel()`` decided the job (False for a timeout or an interrupt).

        Example::

            def on_interrupt(self, job: Job) -> None:
                self._send(("cancel", job.is_cancelled()))
        """

    def is_paused(self) -> bool:
        """True while ``handler.pause()`` holds the job (see :meth:`Executor.on_pause`).

        Example::

            def on_pause(self, job: Job) -> None:
                self._send(("pause", job.is_paused()))
        """

    def run_here(self) -> None:
        """Run the task on the calling thread: ``begin()``, ``run()``, ``succeed()`` or
        ``fail()``, and the executor's ``on_stop()``, in one call.

        Example::

            threading.Thread(target=job.run_here, daemon=True).start()
        """

    def begin(self) -> TaskLifeCycle[Any] | None:
        """The job starts: its lifecycle, or None if it was decided while it waited.

        On None, drop the job (its slot was released through ``on_unqueue()``).
        Otherwise ``on_start()`` was called and exactly one of :meth:`succeed` or
        :meth:`fail` must follow.

        Raises:
            TaskStateError: the job was not submitted, or ``begin()`` already ran.

        Example::

            lifecycle = job.begin()
            if lifecycle is None:
                return
        """

    def replay(
        self,
        items: Sequence[Any] = (),
        events: Sequence[tuple[str, Any]] = (),
        message: str | None = None,
        fraction: float | None = None,
        *,
        flush: bool = False,
        heartbeat: bool = False,
    ) -> None:
        """Replay reports of a task that runs elsewhere: published ``items``,
        ``(name, data)`` events, the latest message and fraction (None: unchanged);
        ``flush=True`` delivers at once; ``heartbeat=True`` relays a ``publish()``
        with no changes (one ``progress([])``).

        Raises:
            TaskStateError: called before :meth:`begin`.

        Example::

            job.replay([3, 4], message="half way", fraction=0.5)
        """

    def succeed(self, value: Any) -> None:
        """``run()`` returned ``value``; ``done(value)`` follows on the GUI thread.

        Raises:
            TaskStateError: before :meth:`begin`, or the ending was already reported.

        Example::

            job.succeed(result)
            self.on_stop()
        """

    def fail(self, exc: BaseException) -> None:
        """``run()`` raised ``exc`` (or the task could not be started);
        ``handle_exception(exc)`` follows on the GUI thread.

        When the task's ``Retry`` takes ``exc``, the same job comes back to
        ``submit()`` for its next attempt, possibly as soon as this call returned
        (:meth:`run_here` calls ``on_stop()`` first, so its slot is already free): an
        executor that drives jobs itself and bounds its slots releases the failed
        attempt's slot before calling ``fail()``, or must not refuse that submit.

        Raises:
            TaskStateError: before :meth:`begin`, or the ending was already reported.

        Example::

            job.fail(ProcessCrashedError("the worker process died"))
            self.on_stop()
        """


class Executor(ABC):
    """Runs jobs somewhere and accounts for the slots they use.

    Accounting protocol, each step exactly once per job: ``submit`` admits a job as
    *waiting*; then either ``on_start`` (the job began — :meth:`Job.begin` calls it:
    waiting → active) followed by ``on_stop`` (it really stopped: :meth:`Job.run_here`
    calls it, an executor that drives the job itself calls it after :meth:`Job.succeed`
    or :meth:`Job.fail`), or ``on_unqueue`` (the handler calls it when the job is
    cancelled before it began). See :class:`Job` for the calls an executor makes.

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

    def on_pause(self, job: Job) -> None:
        """A job was paused or resumed (any thread): read :meth:`Job.is_paused` now.

        In-process executors need nothing (the job's lifecycle already holds the task
        at its next checkpoint). An executor that runs the task elsewhere forwards the
        state it reads, so that the remote lifecycle's ``pause()``/``resume()`` follow;
        calls may come from two threads in either order, and the last state forwarded
        must win. A queued job may be paused too: forward its state once it starts.

        Example::

            def on_pause(self, job: Job) -> None:
                self._send(("pause", job.is_paused()))
        """

    def on_interrupt(self, job: Job) -> None:
        """A running job was cancelled, timed out or interrupted (any thread).

        In-process threads need nothing: the lifecycle's flags already changed. Other
        backends forward the news (to a process, to a coroutine) here.
        """
