"""``BackgroundTaskWrapper``: restartable execution of a task (CUBA's helper)."""

from __future__ import annotations

from typing import Generic, TypeVar

from ._errors import TaskStateError
from ._handler import BackgroundTaskHandler
from ._task import TaskBase
from ._worker import BackgroundWorker
from .backends import Executor

__all__ = ["BackgroundTaskWrapper"]

T = TypeVar("T")
V = TypeVar("V")


class BackgroundTaskWrapper(Generic[T, V]):
    """Runs a task again and again, cancelling the previous run each time.

    Handlers are single-shot; this keeps the current one. Good for "search as you
    type": each keystroke restarts the search, and the stale one's ``canceled()`` runs.

    Example::

        search = BackgroundTaskWrapper(SearchTask(owner=window))
        line_edit.textChanged.connect(lambda _text: search.restart())

        render = BackgroundTaskWrapper(RenderTask(owner=window), executor="process")
        slider.valueChanged.connect(lambda _value: render.restart())

    Args:
        task: the task ``restart()`` runs when given none.
        worker: the worker to use (default :func:`background_worker`).
        executor: where each run executes, as for ``worker.handle(task, executor=...)``:
            ``"thread"``, ``"process"``, ``"asyncio"`` or an
            :class:`~qbackground.backends.Executor` such as a ``DaskExecutor``; None:
            the task's default (thread, or asyncio for an ``AsyncBackgroundTask``).
            Off-process runs need a module-level task class, as for ``handle()``.

    Raises:
        TypeError: ``task``, ``worker`` or ``executor`` is of the wrong type (an
            unknown executor name raises ``ValueError`` at ``restart()``, from
            ``worker.handle()``).
    """

    def __init__(
        self,
        task: TaskBase[T, V] | None = None,
        worker: BackgroundWorker | None = None,
        *,
        executor: str | Executor | None = None,
    ) -> None:
        if task is not None and not isinstance(task, TaskBase):
            raise TypeError(f"task must be a BackgroundTask or None, not {type(task).__name__}")
        if worker is not None and not isinstance(worker, BackgroundWorker):
            raise TypeError(f"worker must be a BackgroundWorker or None, not {type(worker).__name__}")
        _check_executor(executor)
        self._task = task
        self._worker = worker
        self._executor = executor
        self._handler: BackgroundTaskHandler[V] | None = None

    @property
    def executor(self) -> str | Executor | None:
        """Where ``restart()`` runs the task (None: the task's default backend).

        Example::

            assert BackgroundTaskWrapper(task, executor="process").executor == "process"
        """
        return self._executor

    @property
    def handler(self) -> BackgroundTaskHandler[V] | None:
        """The handler of the latest run, or None before the first ``restart()``.

        Example::

            if wrapper.handler is not None and wrapper.handler.is_alive(): ...
        """
        return self._handler

    def restart(
        self, task: TaskBase[T, V] | None = None, *, executor: str | Executor | None = None
    ) -> BackgroundTaskHandler[V]:
        """Cancel the running handler (its ``canceled()`` runs) and execute a new one.

        ``task`` replaces the wrapped task, and ``executor`` (if given) the wrapper's
        executor, for this and later runs.

        Raises:
            TypeError: no task was given now or at construction (or ``task`` or
                ``executor`` is of the wrong type).
            ValueError: ``executor`` names no known backend (from ``worker.handle()``).
            TaskQueueFullError, TaskStateError: from ``worker.handle()``/``execute()``.

        Example::

            wrapper.restart(SearchTask(query=edit.text(), owner=window))
            wrapper.restart(executor="process")   # this and later runs in a process
        """
        if task is not None:
            if not isinstance(task, TaskBase):
                raise TypeError(f"task must be a BackgroundTask, not {type(task).__name__}")
            self._task = task
        if executor is not None:
            _check_executor(executor)
            self._executor = executor
        if self._task is None:
            raise TypeError("restart() needs a task: pass one here or to BackgroundTaskWrapper()")
        self.cancel()
        if self._worker is None:
            from ._default import background_worker

            self._worker = background_worker()
        handler = self._worker.handle(self._task, executor=self._executor)
        handler.execute()
        self._handler = handler
        return handler

    def cancel(self) -> bool:
        """Cancel the running handler; False if none is running.

        Example::

            stop_button.clicked.connect(wrapper.cancel)
        """
        handler = self._handler
        if handler is None or not handler.is_alive():
            return False
        return handler.cancel()

    def get_result(self, timeout: float | None = None) -> V:
        """``get_result()`` of the latest run.

        Raises:
            TaskStateError: ``restart()`` was never called.

        Example::

            wrapper.restart()
            value = wrapper.get_result(timeout=5)
        """
        if self._handler is None:
            raise TaskStateError("get_result() before restart(): nothing has run yet")
        return self._handler.get_result(timeout)


def _check_executor(executor: object) -> None:
    if executor is not None and not isinstance(executor, (str, Executor)):
        raise TypeError(
            "executor must be a backend name (\"thread\", \"process\", \"asyncio\"), an "
            f"Executor or None, not {type(executor).__name__}"
        )
