"""``task_mgr``: the application's :class:`TaskManager`, reachable from any thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QThread, SignalInstance

from .._errors import TaskStateError
from ._manager import TaskManager
from ._task import Task, WhenDone, WhenEvent

__all__ = ["TaskManagerProxy", "task_mgr"]

R = TypeVar("R")


class TaskManagerProxy:
    """Forwards to one :class:`TaskManager` living on the GUI thread; thread-safe.

    The manager is created on first use (a ``QApplication`` must exist by then), on
    the GUI thread even when that first use is on another thread. A later application
    gets a fresh manager.

    Example::

        from qbackground.tasker import task_mgr

        task_mgr.run_thread(my_thread_task, 2, key="thread_worker")
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._manager: TaskManager | None = None

    @property
    def manager(self) -> TaskManager:
        """The manager calls are forwarded to (created on first use).

        Raises:
            TaskStateError: no ``QApplication`` exists yet.

        Example::

            assert task_mgr.manager.worker is background_worker()
        """
        with self._lock:
            manager = self._manager
            app = QCoreApplication.instance()
            if app is None:
                raise TaskStateError("task_mgr needs a running Qt application: create QApplication first")
            if manager is None or not shiboken6.isValid(manager) or manager.thread() != app.thread():
                manager = TaskManager()
                if QThread.currentThread() != app.thread():
                    manager.moveToThread(app.thread())
                self._manager = manager
            return manager

    @property
    def tasks_updated(self) -> SignalInstance:
        """The manager's ``tasks_updated(sender, tasks, progress)`` signal.

        Example::

            task_mgr.tasks_updated.connect(on_tasks_updated)
        """
        return self.manager.tasks_updated

    def add_coroutine(
        self,
        coro: Callable[..., Coroutine[Any, Any, R]],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """See :meth:`TaskManager.add_coroutine`.

        Example::

            task_mgr.add_coroutine(my_io_task, "http://example.com", key="downloader")
        """
        return self.manager.add_coroutine(
            coro, *args, key=key, when_done=when_done, when_event=when_event, **kwargs
        )

    def run_thread(
        self,
        func: Callable[..., R],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """See :meth:`TaskManager.run_thread`.

        Example::

            task_mgr.run_thread(my_thread_task, 2, key="thread_worker")
        """
        return self.manager.run_thread(
            func, *args, key=key, when_done=when_done, when_event=when_event, **kwargs
        )

    def run_process(
        self,
        func: Callable[..., R],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """See :meth:`TaskManager.run_process`.

        Example::

            task_mgr.run_process(my_cpu_task, 50, key="calculator")
        """
        return self.manager.run_process(
            func, *args, key=key, when_done=when_done, when_event=when_event, **kwargs
        )

    def cancel_task(self, key: Any) -> bool:
        """See :meth:`TaskManager.cancel_task`.

        Example::

            task_mgr.cancel_task("calculator")
        """
        return self.manager.cancel_task(key)

    def get_task(self, key: Any) -> Task[Any] | None:
        """See :meth:`TaskManager.get_task`.

        Example::

            task = task_mgr.get_task("calculator")
        """
        return self.manager.get_task(key)

    @property
    def tasks(self) -> list[Task[Any]]:
        """See :attr:`TaskManager.tasks`.

        Example::

            print(len(task_mgr.tasks), "running")
        """
        return self.manager.tasks

    def has_tasks(self) -> bool:
        """See :meth:`TaskManager.has_tasks`.

        Example::

            if not task_mgr.has_tasks():
                app.quit()
        """
        return self.manager.has_tasks()

    def get_overall_progress(self) -> float:
        """See :meth:`TaskManager.get_overall_progress`.

        Example::

            print(f"{task_mgr.get_overall_progress():.0%}")
        """
        return self.manager.get_overall_progress()

    def __len__(self) -> int:
        return len(self.manager)

    def __iter__(self) -> Iterator[Task[Any]]:
        return iter(self.manager)


task_mgr = TaskManagerProxy()
"""The application's task manager (Rayforge's ``task_mgr``): call it from any thread.

Example::

    from qbackground.tasker import task_mgr

    task_mgr.run_process(my_cpu_task, 50, key="calculator")
"""
