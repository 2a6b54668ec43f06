"""``task_mgr``: the application's :class:`TaskManager`, reachable from any thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from ..qt import is_alive
from qtpy.QtCore import QCoreApplication, QThread

from .._errors import TaskStateError
from .._retry import Retry
from ._main_thread import CancelHandle
from ._manager import TaskManager
from ._signals import Signal
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
        self._instance: TaskManager | None = None  # Rayforge's name (its tests set it)
        self._init_kwargs: dict[str, Any] = {}

    def initialize(self, **kwargs: Any) -> None:
        """Keyword arguments for the :class:`TaskManager` this proxy will create
        (``main_thread_scheduler``, ``worker_initializer``, ``worker_initargs``,
        ``shared_state``, ``worker``); call it once at start-up, before first use.

        Raises:
            AlreadyInitializedError: the manager was already created (a
                ``RuntimeError``, as in Rayforge).
            TypeError: an argument ``TaskManager`` does not take.

        Example::

            task_mgr.initialize(worker_initializer=init_worker, worker_initargs=(config_dir,))
        """
        import inspect

        inspect.signature(TaskManager).bind(**kwargs)  # a wrong name fails here, not later
        with self._lock:
            if self._instance is not None:
                raise AlreadyInitializedError(
                    "the TaskManager has already been created; call task_mgr.initialize() "
                    "at start-up, before the first use of task_mgr"
                )
            self._init_kwargs = dict(kwargs)

    def restart_worker_pool(self) -> None:
        """See :meth:`TaskManager.restart_worker_pool`; a no-op before first use.

        Example::

            task_mgr.restart_worker_pool()
        """
        with self._lock:
            manager = self._instance
        if manager is not None:
            manager.restart_worker_pool()

    @property
    def manager(self) -> TaskManager:
        """The manager calls are forwarded to (created on first use).

        Raises:
            TaskStateError: no ``QApplication`` exists yet.

        Example::

            assert task_mgr.manager.worker is background_worker()
        """
        with self._lock:
            manager = self._instance
            app = QCoreApplication.instance()
            if app is None:
                raise TaskStateError("task_mgr needs a running Qt application: create QApplication first")
            if manager is None or not is_alive(manager) or manager.thread() != app.thread():
                manager = TaskManager(**self._init_kwargs)
                if QThread.currentThread() != app.thread():
                    manager.moveToThread(app.thread())
                self._instance = manager
            return manager

    @property
    def tasks_updated(self) -> Signal:
        """The manager's blinker signal ``tasks_updated(sender, tasks=..., progress=...)``.

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
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """See :meth:`TaskManager.add_coroutine`.

        Example::

            task_mgr.add_coroutine(my_io_task, "http://example.com", key="downloader")
        """
        return self.manager.add_coroutine(
            coro, *args, key=key, when_done=when_done, when_event=when_event, retry=retry, **kwargs
        )

    def run_thread(
        self,
        func: Callable[..., R],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """See :meth:`TaskManager.run_thread`.

        Example::

            task_mgr.run_thread(my_thread_task, 2, key="thread_worker")
        """
        return self.manager.run_thread(
            func, *args, key=key, when_done=when_done, when_event=when_event, retry=retry, **kwargs
        )

    def run_process(
        self,
        func: Callable[..., R],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: WhenEvent | None = None,
        visible: bool = True,
        retry: Retry | None = None,
        **kwargs: Any,
    ) -> Task[R]:
        """See :meth:`TaskManager.run_process`.

        Example::

            task_mgr.run_process(my_cpu_task, 50, key="calculator")
        """
        return self.manager.run_process(
            func, *args, key=key, when_done=when_done, when_event=when_event, visible=visible,
            retry=retry, **kwargs
        )

    def add_task(self, task: Task[Any], when_done: WhenDone | None = None) -> None:
        """See :meth:`TaskManager.add_task`.

        Example::

            task_mgr.add_task(Task(fetch, url, key="downloader"))
        """
        self.manager.add_task(task, when_done)

    def cancel_task_by_id(self, task_id: int) -> bool:
        """See :meth:`TaskManager.cancel_task_by_id`.

        Example::

            task_mgr.cancel_task_by_id(task.id)
        """
        return self.manager.cancel_task_by_id(task_id)

    def schedule_on_main_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """See :meth:`TaskManager.schedule_on_main_thread`.

        Example::

            task_mgr.schedule_on_main_thread(label.setText, "Done")
        """
        self.manager.schedule_on_main_thread(callback, *args, **kwargs)

    async def run_on_main_thread(self, func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """See :meth:`TaskManager.run_on_main_thread`.

        Example::

            await task_mgr.run_on_main_thread(label.setText, "Connected")
        """
        return await self.manager.run_on_main_thread(func, *args, **kwargs)

    def schedule_delayed_on_main_thread(
        self, delay_ms: int, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> CancelHandle:
        """See :meth:`TaskManager.schedule_delayed_on_main_thread`.

        Example::

            handle = task_mgr.schedule_delayed_on_main_thread(300, rebuild_preview)
        """
        return self.manager.schedule_delayed_on_main_thread(delay_ms, callback, *args, **kwargs)

    async def run_in_executor(self, func: Callable[..., R], *args: Any) -> R:
        """See :meth:`TaskManager.run_in_executor`.

        Example::

            data = await task_mgr.run_in_executor(doc.serialize)
        """
        return await self.manager.run_in_executor(func, *args)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """See :attr:`TaskManager.loop`.

        Example::

            asyncio.run_coroutine_threadsafe(machine.home(), task_mgr.loop)
        """
        return self.manager.loop

    def wait_until_settled(self, timeout: int) -> bool:
        """See :meth:`TaskManager.wait_until_settled`.

        Example::

            assert task_mgr.wait_until_settled(5000)
        """
        return self.manager.wait_until_settled(timeout)

    def shutdown(self, timeout: float = 2.0) -> bool:
        """See :meth:`TaskManager.shutdown`; a no-op (True) before first use.

        Example::

            app.aboutToQuit.connect(task_mgr.shutdown)
        """
        with self._lock:
            manager = self._instance
        return True if manager is None else manager.shutdown(timeout)

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


class AlreadyInitializedError(TaskStateError, RuntimeError):
    """``task_mgr.initialize()`` after the manager was created (Rayforge raises
    ``RuntimeError``).

    Example::

        try:
            task_mgr.initialize(worker_initializer=init_worker)
        except RuntimeError:
            pass   # too late: the manager exists
    """


task_mgr = TaskManagerProxy()
"""The application's task manager (Rayforge's ``task_mgr``): call it from any thread.

Example::

    from qbackground.tasker import task_mgr

    task_mgr.run_process(my_cpu_task, 50, key="calculator")
"""
