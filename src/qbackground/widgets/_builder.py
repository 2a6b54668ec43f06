"""``BackgroundTaskDialog``: a fluent builder for the work windows, in the style of Jmix."""

from __future__ import annotations

from typing import Self, SupportsFloat

from qbackground import BackgroundWorker
from qbackground.backends import Executor

from ._progress_window import BackgroundWorkProgressWindow, _check_total
from ._session import TaskOrHandler
from ._window import BackgroundWorkWindow

__all__ = ["BackgroundTaskDialog"]


class BackgroundTaskDialog:
    """Builds and opens a work window step by step (Jmix's ``createBackgroundTaskDialog``).

    Each ``with_*`` method returns the builder; :meth:`open` executes the task and returns
    the window: a :class:`BackgroundWorkProgressWindow` when a total or percentages were
    asked for, else a :class:`BackgroundWorkWindow`.

    Example::

        window = (
            BackgroundTaskDialog(ImportTask(rows, owner=self))
            .with_title("Import")
            .with_message("Importing rows…")
            .with_total(len(rows))
            .with_cancel_allowed()
            .with_percent_progress()
            .open()
        )

    Unlike CUBA's static ``show()`` methods, and like Jmix's builder, the task needs no
    owner: the window is then modal over the application's active window (if any) and
    the task is not bound to a window.

    Args:
        task: the task to execute, with or without an owner; or the handler of one
            (``worker.submit()`` returns one, already running), which the window follows.
        worker: the worker to execute it (default ``background_worker()``).
    """

    def __init__(self, task: TaskOrHandler, *, worker: BackgroundWorker | None = None) -> None:
        self._task = task
        self._worker = worker
        self._executor: str | Executor | None = None
        self._title: str | None = None
        self._message: str | None = None
        self._total: SupportsFloat | None = None
        self._cancel_allowed = False
        self._pausable = False
        self._percent = False

    def with_title(self, title: str) -> Self:
        """The window title.

        Example::

            BackgroundTaskDialog(task).with_title("Export").open()
        """
        self._title = title
        return self

    def with_message(self, message: str) -> Self:
        """The text above the bar, until the task's first ``set_message()``.

        Example::

            BackgroundTaskDialog(task).with_message("Exporting…").open()
        """
        self._message = message
        return self

    def with_total(self, total: SupportsFloat | None) -> Self:
        """The count that means "finished"; the last published number is the count.

        Raises:
            ValueError: ``total`` is not positive and finite.
            TypeError: ``total`` is not a number.

        Example::

            BackgroundTaskDialog(task).with_total(len(files)).open()
        """
        _check_total(total)
        self._total = total
        return self

    def with_cancel_allowed(self, allowed: bool = True) -> Self:
        """Let the user cancel (Cancel button, Escape, the title-bar close button).

        Example::

            BackgroundTaskDialog(task).with_cancel_allowed().open()
        """
        self._cancel_allowed = allowed
        return self

    def with_pause_allowed(self, allowed: bool = True) -> Self:
        """Show a Pause/Resume button (``handler.pause()``/``resume()``).

        Example::

            BackgroundTaskDialog(task).with_pause_allowed().open()
        """
        self._pausable = allowed
        return self

    def with_percent_progress(self, percent: bool = True) -> Self:
        """Show "Processed N%" instead of "Processed N items of TOTAL".

        Example::

            BackgroundTaskDialog(task).with_total(200).with_percent_progress().open()
        """
        self._percent = percent
        return self

    def with_worker(self, worker: BackgroundWorker) -> Self:
        """Execute on ``worker`` instead of ``background_worker()``.

        Example::

            BackgroundTaskDialog(task).with_worker(my_worker).open()
        """
        self._worker = worker
        return self

    def with_executor(self, executor: str | Executor | None) -> Self:
        """Where ``run()`` executes (``"thread"``, ``"process"``, ... as for ``worker.handle()``).

        Example::

            BackgroundTaskDialog(task).with_executor("process").open()
        """
        self._executor = executor
        return self

    def open(self) -> BackgroundWorkWindow:
        """Open the window, execute the task, return the window (non-blocking).

        Raises:
            ValueError: the task's owner was already deleted.
            TypeError, TaskQueueFullError: from ``worker.handle()``/``execute()``.

        Example::

            window = BackgroundTaskDialog(task).with_cancel_allowed().open()
            window.ended.connect(lambda status, notice: print(status))
        """
        window: BackgroundWorkWindow
        if self._total is not None or self._percent:
            window = BackgroundWorkProgressWindow(
                self._task,
                title=self._title,
                message=self._message,
                total=self._total,
                cancel_allowed=self._cancel_allowed,
                percent_progress=self._percent,
                pausable=self._pausable,
            )
        else:
            window = BackgroundWorkWindow(
                self._task,
                title=self._title,
                message=self._message,
                cancel_allowed=self._cancel_allowed,
                pausable=self._pausable,
            )
        window.start(worker=self._worker, executor=self._executor)
        return window
