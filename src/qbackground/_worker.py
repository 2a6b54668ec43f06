"""``BackgroundWorker``: hands tasks to executors and their news to the GUI thread."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Coroutine, Hashable, Mapping
from datetime import timedelta
from threading import get_ident
from types import MappingProxyType
from typing import Any, TypeVar, TypeVarTuple, overload

from qtpy.QtCore import QCoreApplication, QObject, QThread, QTimer, Qt, Signal, Slot
from qtpy.QtWidgets import QWidget

from ._accessor import UIAccessor
from ._config import resolve_bool, resolve_choice, resolve_count, resolve_seconds
from ._deadlines import DeadlineWatch
from ._dispatcher import Dispatcher
from ._gui_release import GuiThreadFinalized, install as install_gui_release
from ._errors import IllegalConcurrentAccessError, TaskStateError
from ._handler import BackgroundTaskHandler
from ._group import TaskGroup
from ._keys import KeyedJobs, Policy, check_key_options
from ._owner import OwnerRegistry
from ._strict import make_profiler
from ._function_task import check_sendable, make_function_task
from ._task import TaskBase, normalize_timeout
from ._async import AsyncBackgroundTask
from .backends import AsyncioExecutor, Executor, ProcessExecutor, ThreadExecutor
from .backends.aio import LOOP_CHOICES, resolve_loop

__all__ = ["BackgroundWorker"]

_log = logging.getLogger("qbackground")

V = TypeVar("V")
Ts = TypeVarTuple("Ts")

_EMPTY: Mapping[str, Any] = MappingProxyType({})

_LIVE: set[BackgroundWorker] = set()
"""Workers not yet shut down (see the end of ``BackgroundWorker.__init__``)."""


def _weak_reporter(worker: BackgroundWorker) -> Callable[[BaseException], None]:
    """``worker._dispatch_error`` without a strong reference to the worker."""
    method = weakref.WeakMethod(worker._dispatch_error)

    def report(exc: BaseException) -> None:
        bound = method()
        if bound is not None:
            bound(exc)
        else:  # pragma: no cover - the worker is gone; the error must still be seen
            _log.error("Unhandled exception", exc_info=(type(exc), exc, exc.__traceback__))

    return report


def _default_threads() -> int:
    return min(32, (os.cpu_count() or 1) + 4)


class BackgroundWorker(GuiThreadFinalized, QObject):
    """Runs :class:`BackgroundTask` objects and brings their news to the GUI thread.

    Create it on the GUI thread once a ``QApplication`` exists (or use
    :func:`background_worker` for the process-wide one). Arguments left ``None`` come from
    ``QBACKGROUND_THREADS``, ``QBACKGROUND_MAX_QUEUED``,
    ``QBACKGROUND_TIMEOUT_CHECK_INTERVAL`` and ``QBACKGROUND_STRICT``.

    Example::

        worker = BackgroundWorker(threads=4, strict=True)
        worker.unhandled_exception.connect(lambda task, exc: show_error(exc))
        worker.handle(MyTask(owner=window)).execute()

    Args:
        threads: most tasks running at once on the thread backend
            (default ``min(32, cpu_count + 4)``).
        max_queued: most tasks waiting for a thread; one more raises
            ``TaskQueueFullError`` at ``execute()`` (default: unbounded).
        timeout_check_interval: the longest a timeout may be delivered after its
            deadline (default 0.02 s).
        strict: raise ``IllegalConcurrentAccessError`` when a task's thread calls a
            ``QWidget`` method (default off; on in the test fixtures).
        progress_interval: the shortest time between two ``progress()`` calls of one
            task (default 1/60 s, one frame).
        processes: worker processes of the ``"process"`` executor (default
            ``os.cpu_count()``; started on its first task).
        process_grace: seconds a cancelled or timed-out process task may take to stop
            by itself before its process is killed and replaced (default 2 s).
        shared_memory_threshold: buffers of this many bytes or more (NumPy arrays,
            ``bytearray``, ``memoryview``) travel to and from worker processes through
            shared memory instead of a pipe (default 1 MiB,
            ``QBACKGROUND_SHARED_MEMORY_THRESHOLD``).
        asyncio_loop: the event loop of the ``"asyncio"`` executor: ``"auto"`` (the
            default: uvloop when installed, else the standard library's), ``"asyncio"``
            or ``"uvloop"`` (``QBACKGROUND_ASYNCIO_LOOP``).
        parent: the usual ``QObject`` parent.

    Raises:
        IllegalConcurrentAccessError: created off the GUI thread.
        TaskStateError: no ``QCoreApplication`` exists yet.
    """

    unhandled_exception = Signal(object, object)
    """``(task or None, exception)``: an error no task callback handled (GUI thread)."""

    task_timed_out = Signal(object)
    """``(task)``: a timeout whose ``handle_timeout_exception()`` returned False."""

    tasks_changed = Signal()
    """A task of this worker started or ended, or reported a new message or fraction.

    Emitted on the GUI thread at most once per frame (``progress_interval``), however
    many tasks run, so a status bar can follow hundreds of tasks cheaply: read
    :meth:`active_handlers` and each handler's ``message`` and ``fraction``.

    Example::

        def refresh():
            running = worker.active_handlers()
            label.setText(f"{len(running)} running")

        worker.tasks_changed.connect(refresh)
    """

    # Internal: shutdown() off the GUI thread asks the GUI thread to release Qt objects.
    _release_requested = Signal()

    def __init__(
        self,
        *,
        threads: int | None = None,
        max_queued: int | None = None,
        timeout_check_interval: float | None = None,
        strict: bool | None = None,
        progress_interval: float | None = None,
        processes: int | None = None,
        process_grace: float | None = None,
        asyncio_loop: str | None = None,
        shared_memory_threshold: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        app = QCoreApplication.instance()
        if app is None:
            raise TaskStateError(
                "BackgroundWorker needs a running Qt application: create QApplication first"
            )
        if QThread.currentThread() is not app.thread():
            raise IllegalConcurrentAccessError(
                "BackgroundWorker must be created on the GUI thread (the QApplication's thread)"
            )
        install_gui_release()  # this object is destroyed on the GUI thread (_gui_release)
        super().__init__(parent)
        max_threads = resolve_count(threads, "QBACKGROUND_THREADS", _default_threads(), minimum=1)
        assert max_threads is not None
        self._max_queued = resolve_count(max_queued, "QBACKGROUND_MAX_QUEUED", None, minimum=0)
        self._check_interval = resolve_seconds(
            timeout_check_interval, "QBACKGROUND_TIMEOUT_CHECK_INTERVAL", 0.02
        )
        self._strict = resolve_bool(strict, "QBACKGROUND_STRICT", False)
        frame = resolve_seconds(progress_interval, "QBACKGROUND_PROGRESS_INTERVAL", 1 / 60)
        self._asyncio_loop, new_loop = resolve_loop(
            resolve_choice(asyncio_loop, "QBACKGROUND_ASYNCIO_LOOP", "auto", LOOP_CHOICES)
        )
        self._profiler = make_profiler() if self._strict else None
        # The dispatcher reports through a weak method: a bound method would make a
        # worker <-> dispatcher cycle that only the cyclic collector could free.
        self._dispatcher = Dispatcher(
            frame_interval=frame, on_error=_weak_reporter(self), owner=self
        )
        self._deadlines = DeadlineWatch()
        self._owners = OwnerRegistry()
        self._threads = ThreadExecutor(max_threads, self._max_queued)
        self._asyncio = AsyncioExecutor(new_loop)
        self._processes = ProcessExecutor(
            resolve_count(processes, "QBACKGROUND_PROCESSES", None, minimum=1),
            grace=resolve_seconds(process_grace, "QBACKGROUND_PROCESS_GRACE", 2.0),
            shared_memory_threshold=resolve_count(
                shared_memory_threshold, "QBACKGROUND_SHARED_MEMORY_THRESHOLD", 1 << 20, minimum=1
            ),
        )
        # The executors this worker owns (and shuts down); user-made Executor objects
        # passed to handle() are their creator's to shut down.
        self._executors: dict[str, Executor] = {
            "thread": self._threads,
            "process": self._processes,
            "asyncio": self._asyncio,
        }
        self._alive: set[BackgroundTaskHandler[Any]] = set()
        self._keys = KeyedJobs(self._dispatcher.post, self._deadlines)
        self._task_kinds: dict[type, bool] = {}  # see handle()
        # tasks_changed is coalesced: the first change of a frame arms this timer, its
        # timeout emits once for everything that changed meanwhile.
        self._activity_due = False
        self._activity_timer = QTimer(self)
        self._activity_timer.setSingleShot(True)
        self._activity_timer.setInterval(max(1, round(frame * 1000)))
        self._activity_timer.timeout.connect(self._emit_tasks_changed)
        self._release_requested.connect(self._release_qt_objects, Qt.ConnectionType.QueuedConnection)
        self._is_shut_down = False
        self._shutdown_lock = threading.Lock()
        app.aboutToQuit.connect(self._on_about_to_quit)
        # Kept alive until shutdown(): otherwise the last reference to this QObject could
        # be dropped by a pool thread (through a finished handler), and Qt objects must
        # be deleted on their own thread.
        _LIVE.add(self)

    # -- settings ------------------------------------------------------------------

    @property
    def threads(self) -> int:
        """Most tasks running at once on the thread backend.

        Example::

            assert BackgroundWorker(threads=2).threads == 2
        """
        return self._threads.max_threads

    @property
    def max_queued(self) -> int | None:
        """Most tasks waiting for a thread, or None for no limit.

        Example::

            assert BackgroundWorker(max_queued=10).max_queued == 10
        """
        return self._max_queued

    @property
    def timeout_check_interval(self) -> float:
        """The longest a timeout may be delivered after its deadline, in seconds.

        Example::

            assert BackgroundWorker().timeout_check_interval == 0.02
        """
        return self._check_interval

    @property
    def strict(self) -> bool:
        """Whether widget calls from task threads raise ``IllegalConcurrentAccessError``.

        Example::

            assert BackgroundWorker(strict=True).strict
        """
        return self._strict

    @property
    def asyncio_loop(self) -> str:
        """The event loop the ``"asyncio"`` executor uses: ``"asyncio"`` or ``"uvloop"``.

        Example::

            assert BackgroundWorker(asyncio_loop="asyncio").asyncio_loop == "asyncio"
        """
        return self._asyncio_loop

    @property
    def is_shut_down(self) -> bool:
        """True once :meth:`shutdown` was called.

        Example::

            worker.shutdown()
            assert worker.is_shut_down
        """
        return self._is_shut_down

    # -- API -------------------------------------------------------------------------

    def handle(
        self,
        task: TaskBase[Any, V],
        *,
        executor: str | Executor | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
    ) -> BackgroundTaskHandler[V]:
        """Prepare ``task`` for execution and return its handler (GUI thread).

        ``executor`` picks where ``run()`` executes: ``"thread"`` (the default),
        ``"process"`` (worker processes, no GIL), ``"asyncio"`` (the default for an
        ``AsyncBackgroundTask``), or an :class:`~qbackground.backends.Executor` object.

        Calls the task's ``get_params()`` once, here, and binds its owner.

        ``key`` names a job (any hashable; see :meth:`active_handler`); ``policy`` says
        what ``execute()`` does while a handler with that key is alive: ``"replace"``
        cancels it (its ``canceled()`` runs) and starts this one; ``"queue"`` waits
        (``QUEUED``) until its ``run()`` has really stopped, a newer one replacing a
        waiting one; ``"parallel"`` only names the job. ``debounce=s`` starts only once
        ``s`` seconds passed with no newer ``execute()`` for the key (each superseded
        handler ends ``CANCELLED``); the timeout counts from the real start.

        Raises:
            IllegalConcurrentAccessError: called off the GUI thread.
            TypeError: ``task`` is not a ``BackgroundTask`` or ``AsyncBackgroundTask``, or
                ``executor`` is neither
                a name nor an ``Executor``.
            ValueError: ``executor`` names no known backend; an unknown ``policy``; a
                negative ``debounce``, or one without a ``key``.
            TypeError: the executor cannot run this kind of task (an
                ``AsyncBackgroundTask`` on ``"process"``, a plain task on ``"asyncio"``).
            TaskStateError: the worker was shut down.

        Example::

            handler = worker.handle(MyTask())
            handler.execute()

            # a slider: the newest value wins, started once the drag pauses for 0.2 s
            worker.handle(Preview(value), key="preview", debounce=0.2).execute()
        """
        if get_ident() != self._dispatcher.gui_ident:
            raise IllegalConcurrentAccessError(
                "BackgroundWorker.handle() must be called on the GUI thread; "
                "use UIAccessor.access() to start work from another thread"
            )
        # Whether the task's class is async, checked once per class: ABC isinstance()
        # checks cost about a microsecond each on this hot path.
        is_async = self._task_kinds.get(type(task))
        if is_async is None:
            is_async = self._task_kind(task)
        if executor is None:
            # The default is always the right kind: no check_task() needed.
            runner: Executor = self._asyncio if is_async else self._threads
        else:
            runner = self._executor_for(executor)
            runner.check_task(task)
        self._check_open()
        params = task.get_params()
        if params is None:
            frozen = _EMPTY
        elif isinstance(params, Mapping):
            frozen = MappingProxyType(dict(params))
        else:
            raise TypeError(
                f"{type(task).__name__}.get_params() must return a Mapping or None, "
                f"not {type(params).__name__}"
            )
        handler = BackgroundTaskHandler(self, task, runner, frozen)
        if key is not None or policy != "replace" or debounce is not None:
            seconds = check_key_options(key, policy, debounce)
            if key is not None:
                handler._gate = self._keys.gate(key, policy, seconds)
        return handler

    def group(
        self, *, owner: QWidget | None = None, fail_fast: bool = False, max_parallel: int | None = None
    ) -> TaskGroup[Any]:
        """A :class:`TaskGroup`: handlers followed, bounded and cancelled together (GUI thread).

        Example::

            group = worker.group(owner=window, fail_fast=True, max_parallel=4)
            for path in paths:
                group.handle(ImportFile(path)).execute()

        Raises:
            TypeError, ValueError: a bad ``owner``, ``fail_fast`` or ``max_parallel``.
        """
        self.check_ui_access()
        self._check_open()
        return TaskGroup(self, self._owners, owner=owner, fail_fast=fail_fast, max_parallel=max_parallel)

    def active_handler(self, key: Hashable) -> BackgroundTaskHandler[Any] | None:
        """The alive handler executed with ``key`` (the newest), or None (GUI thread).

        Example::

            running = worker.active_handler("preview")
            if running is not None:
                running.cancel()
        """
        return self._keys.active(key)

    def _task_kind(self, task: object) -> bool:
        """Validate ``task`` (TypeError if it is not one); True for an async task."""
        if not isinstance(task, TaskBase):
            if isinstance(task, type) and issubclass(task, TaskBase):
                raise TypeError(
                    f"handle() takes a task instance, not the class {task.__name__}: "
                    f"write handle({task.__name__}(...))"
                )
            raise TypeError(
                f"handle() takes a BackgroundTask instance, not {type(task).__name__}; "
                "subclass BackgroundTask (or AsyncBackgroundTask) and implement run(lifecycle)"
            )
        if len(self._task_kinds) > 4096:  # classes made on the fly: keep it bounded
            self._task_kinds.clear()
        is_async = self._task_kinds[type(task)] = isinstance(task, AsyncBackgroundTask)
        return is_async

    @overload
    def submit(
        self,
        fn: Callable[[*Ts], Coroutine[Any, Any, V]],
        *args: *Ts,
        owner: QWidget | None = None,
        timeout: float | timedelta | None = None,
        executor: str | Executor | None = None,
        on_result: Callable[[V], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_progress: Callable[[list[Any]], object] | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
    ) -> BackgroundTaskHandler[V]: ...

    @overload
    def submit(
        self,
        fn: Callable[[*Ts], V],
        *args: *Ts,
        owner: QWidget | None = None,
        timeout: float | timedelta | None = None,
        executor: str | Executor | None = None,
        on_result: Callable[[V], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_progress: Callable[[list[Any]], object] | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
    ) -> BackgroundTaskHandler[V]: ...

    # mypy wrongly reports that an implementation taking *args: Any does not accept
    # the overloads' *args: *Ts (a known TypeVarTuple limitation); the calls are checked.
    def submit(  # type: ignore[misc]
        self,
        fn: Callable[..., Any],
        *args: Any,
        owner: QWidget | None = None,
        timeout: float | timedelta | None = None,
        executor: str | Executor | None = None,
        on_result: Callable[[Any], object] | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_progress: Callable[[list[Any]], object] | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
    ) -> BackgroundTaskHandler[Any]:
        """Run ``fn(*args)`` in the background now; its news comes back on the GUI thread.

        The simple way in (Jmix's ``UiAsyncTasks``, ``concurrent.futures``' ``submit``):
        no task class to write, and every guarantee a :class:`BackgroundTask` has —
        exactly one ending, owner binding, timeouts, cancel, ``get_result()``,
        ``await`` and ``future()`` on the returned handler — on every backend. An
        ``async def`` ``fn`` runs on ``"asyncio"`` unless ``executor`` says otherwise;
        for ``"process"`` and Dask, ``fn`` must be a module-level function (or a
        ``functools.partial`` of one) and the arguments picklable. Keywords for ``fn``
        travel in a ``functools.partial``: the keywords here are the options.

        Inside ``fn``, :func:`~qbackground.current_lifecycle` gives the task's
        lifecycle: ``publish()`` items for ``on_progress``, ``is_cancelled()``,
        ``sleep()``.

        Args:
            owner: a widget whose window closing interrupts the task silently.
            timeout: seconds from now; ``None`` or ``0`` for no limit.
            executor: as for :meth:`handle`.
            on_result: ``on_result(value)`` on the GUI thread when ``fn`` returned.
            on_error: ``on_error(exc)`` on the GUI thread when ``fn`` raised, or with a
                ``TaskTimeoutError`` when the timeout expired; without it an error goes
                to :attr:`unhandled_exception` (a timeout to :attr:`task_timed_out`).
            on_progress: ``on_progress(items)`` on the GUI thread, about once a frame,
                with what ``fn`` published.
            key: names the job, as for :meth:`handle` (``submit(fn, x,
                key="preview", debounce=0.2)``: the newest call wins).
            policy: ``"replace"``, ``"queue"`` or ``"parallel"``, as for :meth:`handle`.
            debounce: seconds with no newer call before the start, as for :meth:`handle`.

        A cancel calls none of the three.

        Raises:
            TypeError: ``fn`` or a callback is not callable; ``fn`` or an argument
                cannot be sent to a worker process or cluster; an unknown keyword.
            IllegalConcurrentAccessError: called off the GUI thread.
            TaskStateError: the worker was shut down.

        Example::

            from functools import partial

            handler = worker.submit(
                partial(load_table, path, encoding="utf-8"),
                owner=window,
                timeout=30,
                on_result=table.set_rows,
                on_error=lambda exc: status.showMessage(str(exc)),
            )
            cancel_button.clicked.connect(handler.cancel)
        """
        task = make_function_task(
            fn,
            args,
            timeout=timeout,
            owner=owner,
            on_result=on_result,
            on_error=on_error,
            on_progress=on_progress,
        )
        if executor is not None:
            where = self._executor_for(executor)
            if where is not self._threads and where is not self._asyncio:
                check_sendable(fn, args, f"the {where.name} executor")
        handler = self.handle(task, executor=executor, key=key, policy=policy, debounce=debounce)
        handler.execute()
        return handler

    def get_ui_accessor(self, owner: QWidget | None = None) -> UIAccessor:
        """A :class:`UIAccessor` for code on other threads; bound to ``owner`` if given.

        Get it on the GUI thread and hand it to the other thread, as CUBA and Jmix
        require (both check UI access here).

        Raises:
            IllegalConcurrentAccessError: called off the GUI thread.
            TypeError: ``owner`` is not a ``QWidget``.

        Example::

            accessor = worker.get_ui_accessor(window)
            threading.Thread(target=lambda: accessor.access(window.raise_)).start()
        """
        if not self._dispatcher.is_gui_thread():
            raise IllegalConcurrentAccessError(
                "get_ui_accessor() must be called on the GUI thread; get the accessor there "
                f"and pass it to {threading.current_thread().name!r}"
            )
        if owner is not None and not isinstance(owner, QWidget):
            raise TypeError(f"owner must be a QWidget or None, not {type(owner).__name__}")
        return UIAccessor(self, owner)

    def check_ui_access(self) -> None:
        """Raise ``IllegalConcurrentAccessError`` unless called on the GUI thread.

        Example::

            def refresh(self):
                worker.check_ui_access()
                self.table.reset()
        """
        if not self._dispatcher.is_gui_thread():
            raise IllegalConcurrentAccessError(
                f"this code must run on the GUI thread, not on {threading.current_thread().name!r}"
            )

    def active_handlers(self) -> list[BackgroundTaskHandler[Any]]:
        """Handlers executed and not yet decided, in no particular order.

        Example::

            for handler in worker.active_handlers():
                handler.cancel()
        """
        return list(self._alive)

    def flush_tasks_changed(self) -> None:
        """Emit a pending :attr:`tasks_changed` now instead of at the next frame (GUI thread).

        ``tasks_changed`` is coalesced to once a frame; code about to act on "the task
        is over" (a ``when_done``-style callback) calls this first, so every view that
        follows the signal, such as ``TaskStatusWidget``, is current by then. Nothing
        happens when no change is pending.

        Example::

            def on_export_finished():
                worker.flush_tasks_changed()   # the status bar no longer lists the export
                QMessageBox.information(window, "Export", "Done")
        """
        if self._activity_due:
            self._activity_timer.stop()
            self._emit_tasks_changed()

    def shutdown(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Interrupt every task silently (status ``INTERRUPTED``) and stop the threads.

        With ``wait`` it joins the threads for up to ``timeout`` seconds (None: until
        they stop) and returns True if all stopped; a task that never checks for
        interruption keeps its daemon thread, which does not block interpreter exit.
        Calling it again is harmless. Connected to ``QCoreApplication.aboutToQuit``.

        Example::

            app.aboutToQuit.connect(lambda: worker.shutdown(timeout=2))
        """
        limit = normalize_timeout(timeout, "shutdown() timeout")
        with self._shutdown_lock:
            first = not self._is_shut_down
            self._is_shut_down = True
        if first:
            for handler in list(self._alive):
                handler._interrupt()
            self._deadlines.close(0)
            if self._dispatcher.is_gui_thread():
                self._owners.clear()
        stopped = True
        for runner in self._executors.values():
            stopped = runner.shutdown(limit if wait else 0.0) and stopped
        if first:
            self._dispatcher.close()
            # Qt's half: timers stopped on the GUI thread, and only then the worker may
            # be freed anywhere (see Dispatcher.stop_timer).
            if self._dispatcher.is_gui_thread():
                self._release_qt_objects()
            else:
                self._release_requested.emit()  # queued to the GUI thread
        return stopped

    @Slot()  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _release_qt_objects(self) -> None:
        # Stop, not delete: shutdown() may run inside one of our own event handlers
        # (a done() that shuts the worker down), where deleting them would free an
        # object still on the stack.
        self._activity_timer.stop()
        self._dispatcher.stop_timer()
        _LIVE.discard(self)

    # -- internals -------------------------------------------------------------------

    def _executor_for(self, executor: str | Executor) -> Executor:
        if isinstance(executor, str):
            found = self._executors.get(executor)
            if found is None:
                raise ValueError(
                    f"unknown executor {executor!r}; known: {', '.join(sorted(self._executors))}"
                )
            return found
        if isinstance(executor, Executor):
            return executor
        raise TypeError(
            f"executor must be a backend name or an Executor, not {type(executor).__name__}"
        )

    def _check_open(self) -> None:
        if self._is_shut_down:
            raise TaskStateError("the worker was shut down; create a new BackgroundWorker")

    def _track(self, handler: BackgroundTaskHandler[Any]) -> None:
        self._alive.add(handler)
        if not handler.is_alive():  # decided before we tracked it
            self._alive.discard(handler)

    def _forget(self, handler: BackgroundTaskHandler[Any]) -> None:
        self._alive.discard(handler)
        if handler._task.timeout is not None:
            self._deadlines.note_dead()

    def _note_activity(self) -> None:
        """A task started, ended or reported news (GUI thread): emit ``tasks_changed`` soon."""
        if not self._activity_due and not self._is_shut_down:
            self._activity_due = True
            self._activity_timer.start()

    @Slot()  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _emit_tasks_changed(self) -> None:
        self._activity_due = False
        self.tasks_changed.emit()

    def _report_unhandled(self, task: TaskBase[Any, Any] | None, exc: BaseException) -> None:
        _log.error(
            "Unhandled exception in %s",
            type(task).__name__ if task is not None else "a UIAccessor call",
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        try:
            self.unhandled_exception.emit(task, exc)
        except RuntimeError:  # pragma: no cover - the worker's C++ object is gone
            pass

    def _report_timeout(self, task: TaskBase[Any, Any]) -> None:
        _log.warning("%s timed out after %s s and did not handle it", type(task).__name__, task.timeout)
        try:
            self.task_timed_out.emit(task)
        except RuntimeError:  # pragma: no cover
            pass

    def _dispatch_error(self, exc: BaseException) -> None:
        self._report_unhandled(None, exc)

    @Slot()  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _on_about_to_quit(self) -> None:
        self.shutdown(wait=True, timeout=1.0)
