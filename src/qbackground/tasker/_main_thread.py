"""The manager's main-thread scheduling and event-loop helpers (Rayforge's names)."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from qtpy.QtCore import QCoreApplication, QEventLoop, QObject, QThread, QTimer, Qt, Signal, Slot

from ..backends.aio import AsyncioExecutor
from ..backends.process import ProcessExecutor

if TYPE_CHECKING:
    from .._worker import BackgroundWorker
    from ._task import Task

__all__ = ["CancelHandle", "GuiPoster", "MainThreadMixin", "MainThreadScheduler", "on_gui_thread"]

R = TypeVar("R")

MainThreadScheduler = Callable[..., Any]
"""``scheduler(callback, *args, **kwargs)``: runs ``callback(*args, **kwargs)`` on the
main thread later (Rayforge's ``main_thread_scheduler``, GLib's ``idle_add``)."""


class CancelHandle(Protocol):
    """What :meth:`TaskManager.schedule_delayed_on_main_thread` returns.

    Example::

        handle = task_mgr.schedule_delayed_on_main_thread(500, refresh)
        handle.cancel()
    """

    def cancel(self) -> None:
        """The callback will not run (if it has not yet)."""


class GuiPoster(QObject):
    """Runs ``callback(*args, **kwargs)`` on the GUI thread, later, from any thread
    (the default ``main_thread_scheduler``: Qt's counterpart of GLib's ``idle_add``)."""

    _posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def __call__(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._posted.emit(functools.partial(callback, *args, **kwargs))

    @Slot(object)  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _run(self, call: Callable[[], Any]) -> None:
        call()


class _Delayed:
    __slots__ = ("cancelled", "timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.cancelled = False
        self.timer: asyncio.TimerHandle | None = None
        self.loop = loop

    def cancel(self) -> None:
        self.cancelled = True
        timer = self.timer
        if timer is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(timer.cancel)


def delayed(
    loop: asyncio.AbstractEventLoop,
    scheduler: MainThreadScheduler,
    delay_ms: int,
    callback: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> CancelHandle:
    """After ``delay_ms``, timed on ``loop``, ``scheduler(callback, *args, **kwargs)``
    unless the handle was cancelled first (Rayforge's timing, so a custom scheduler
    gets the call without a Qt event loop in between)."""
    handle = _Delayed(loop)

    def fire() -> None:
        if not handle.cancelled:
            scheduler(callback, *args, **kwargs)

    def arm() -> None:
        if not handle.cancelled:
            handle.timer = loop.call_later(max(0, delay_ms) / 1000.0, fire)

    loop.call_soon_threadsafe(arm)
    return handle


async def run_on(scheduler: MainThreadScheduler, func: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
    """Await ``func(*args, **kwargs)`` run through ``scheduler``; its value or its exception."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[R] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value)

    def invoke() -> None:
        try:
            value = func(*args, **kwargs)
        except Exception as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    scheduler(invoke)
    return await done


def wait_settled(settled: Callable[[], bool], timeout_ms: int) -> bool:
    """Wait up to ``timeout_ms`` for ``settled()``; on the GUI thread the Qt event loop
    runs meanwhile (the ends of the tasks are delivered there)."""
    deadline = monotonic() + max(0, timeout_ms) / 1000.0
    gui = on_gui_thread()
    event = threading.Event()
    while not settled():
        remaining = deadline - monotonic()
        if remaining <= 0:
            return settled()
        step = min(remaining, 0.01)
        if gui:
            loop = QEventLoop()
            QTimer.singleShot(max(1, round(step * 1000)), loop.quit)
            loop.exec()
        else:
            event.wait(step)
    return True


def on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


class MainThreadMixin:
    """The manager's Rayforge helpers: main-thread scheduling, its event loop, settling,
    the process pool, shutdown (a mixin of :class:`~qbackground.tasker.TaskManager`)."""

    _main_thread_scheduler: MainThreadScheduler
    _own_processes: ProcessExecutor | None
    _shut_down: bool
    _lock: threading.Lock
    _unfinished: dict[int, Task[Any]]
    _finishing: list[Task[Any]]

    @property
    def worker(self) -> BackgroundWorker:
        raise NotImplementedError  # TaskManager's

    def _cancel(self, task: Task[Any]) -> bool:
        raise NotImplementedError  # TaskManager's

    def schedule_on_main_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback(*args, **kwargs)`` on the main (GUI) thread later, from any thread,
        through the ``main_thread_scheduler`` (by default: the Qt event loop).

        Example::

            def work(context, label):
                text = compute()
                task_mgr.schedule_on_main_thread(label.setText, text)
        """
        self._main_thread_scheduler(callback, *args, **kwargs)

    async def run_on_main_thread(self, func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """From a coroutine: run ``func(*args, **kwargs)`` on the main thread and await its
        value (or its exception).

        Raises:
            RuntimeError: not awaited in a running event loop.
            Exception: what ``func`` raised.

        Example::

            async def connect(context, machine):
                await machine.connect()
                await task_mgr.run_on_main_thread(status_label.setText, "Connected")
        """
        return await run_on(self._main_thread_scheduler, func, args, kwargs)

    def schedule_delayed_on_main_thread(
        self, delay_ms: int, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> CancelHandle:
        """Run ``callback(*args, **kwargs)`` on the main thread after ``delay_ms``
        milliseconds (timed on :attr:`loop`, then handed to the ``main_thread_scheduler``);
        the returned handle's ``cancel()`` stops it.

        Example::

            handle = task_mgr.schedule_delayed_on_main_thread(300, rebuild_preview)
            handle.cancel()      # typed again within 300 ms: rebuild later instead
        """
        return delayed(self.loop, self._main_thread_scheduler, delay_ms, callback, args, kwargs)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio event loop ``add_coroutine`` coroutines run on (its own thread, never
        the GUI thread), as Rayforge's ``task_mgr.loop``.

        Example::

            future = asyncio.run_coroutine_threadsafe(machine.home(), task_mgr.loop)
        """
        executor = self.worker.executor("asyncio")
        assert isinstance(executor, AsyncioExecutor)
        return executor.loop

    async def run_in_executor(self, func: Callable[..., R], *args: Any) -> R:
        """From a coroutine: run the blocking ``func(*args)`` on a thread of the running
        loop's default executor and await its value.

        Example::

            async def save(context, doc, path):
                data = await task_mgr.run_in_executor(doc.serialize)
                await write(path, data)
        """
        return await asyncio.get_running_loop().run_in_executor(None, func, *args)

    def wait_until_settled(self, timeout: int) -> bool:
        """Wait up to ``timeout`` milliseconds until no task is unfinished and every
        ``when_done`` ran; True if so. On the GUI thread the Qt event loop runs while it
        waits (the tasks' ends are delivered there); elsewhere it blocks.

        Example::

            task_mgr.run_thread(export, path)
            assert task_mgr.wait_until_settled(5000)
        """

        def settled() -> bool:
            with self._lock:
                return not self._unfinished and not self._finishing

        return wait_settled(settled, timeout)

    def restart_worker_pool(self) -> None:
        """Start ``run_process`` tasks in fresh worker processes from now on (they import
        the code again: an add-on installed or updated since); the previous pool of this
        manager is shut down, its running tasks get the worker's ``process_grace``. A
        no-op before the first ``run_process``... it is cheap: processes start on first use.

        Example::

            addon_mgr.install(path)
            task_mgr.restart_worker_pool()
        """
        shared = self.worker.executor("process")
        assert isinstance(shared, ProcessExecutor)
        with self._lock:
            old = self._own_processes
            self._own_processes = ProcessExecutor(
                shared.max_workers,
                grace=shared.grace,
                flush_interval=shared.flush_interval,
                shared_memory_threshold=shared.shared_memory_threshold,
            )
        if old is not None:
            threading.Thread(target=old.shutdown, args=(None,), name="qbackground-pool-restart", daemon=True).start()

    def _process_executor(self) -> ProcessExecutor | None:
        """The pool ``run_process`` uses: this manager's after a restart, else None (the worker's)."""
        return self._own_processes

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Cancel every unfinished task, wait up to ``timeout`` seconds for them to end
        (their ``when_done`` runs), stop this manager's own process pool; later
        ``run_*`` calls raise ``TaskStateError``. The worker (shared with others) keeps
        running. True if everything ended in time. Calling it again is harmless.

        Example::

            app.aboutToQuit.connect(task_mgr.shutdown)
        """
        self._shut_down = True
        with self._lock:
            unfinished = list(self._unfinished.values())
        for task in unfinished:
            self._cancel(task)
        settled = self.wait_until_settled(round(timeout * 1000))
        with self._lock:
            own, self._own_processes = self._own_processes, None
        if own is not None:
            settled = own.shutdown(timeout) and settled
        return settled
