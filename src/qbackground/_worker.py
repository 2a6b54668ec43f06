"""``BackgroundWorker``: hands tasks to executors and their news to the GUI thread."""

from __future__ import annotations

import os
import threading
from typing import Any

from qtpy.QtCore import QCoreApplication, QObject, QThread, QTimer, Qt, Signal, Slot
from qtpy.QtWidgets import QWidget

from ._accessor import UIAccessor
from ._config import resolve_bool, resolve_choice, resolve_count, resolve_seconds
from ._deadlines import DeadlineWatch
from ._dispatcher import Dispatcher
from ._gui_release import GuiThreadFinalized, install as install_gui_release
from ._errors import IllegalConcurrentAccessError, TaskStateError
from ._handler import BackgroundTaskHandler
from ._keys import KeyedJobs
from ._owner import OwnerRegistry
from ._strict import make_profiler
from ._task import TaskBase, normalize_timeout
from ._worker_link import WorkerLink, weak_error_reporter
from ._worker_submit import SubmitMixin
from .backends import AsyncioExecutor, Executor, ProcessExecutor, ThreadExecutor
from .backends.aio import LOOP_CHOICES, resolve_loop

__all__ = ["BackgroundWorker"]

_LIVE: set[BackgroundWorker] = set()
"""Workers not yet shut down (see the end of ``BackgroundWorker.__init__``)."""


def _default_threads() -> int:
    return min(32, (os.cpu_count() or 1) + 4)


class BackgroundWorker(GuiThreadFinalized, SubmitMixin, QObject):
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
        # The dispatcher reports through a weak reference: a bound method would make a
        # worker <-> dispatcher cycle that only the cyclic collector could free.
        self._dispatcher = Dispatcher(
            frame_interval=frame, on_error=weak_error_reporter(self), owner=self
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
        # All that handlers and groups use of this worker (it refers to it weakly).
        self._link = WorkerLink(
            self,
            self._dispatcher,
            self._owners,
            self._deadlines,
            self._alive,
            self._profiler,
            hooked=type(self)._track is not BackgroundWorker._track,
        )
        self._keys = KeyedJobs(self._dispatcher.post, self._deadlines)
        self._task_kinds: dict[type, bool] = {}  # see handle()
        # tasks_changed is coalesced: the first change of a frame arms this timer (and
        # sets self._link.activity_due), its timeout emits once for everything that
        # changed meanwhile.
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

    # handle(), submit(), group() and active_handler(): SubmitMixin (_worker_submit).

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
        return UIAccessor(self._link, owner)

    def check_ui_access(self) -> None:
        """Raise ``IllegalConcurrentAccessError`` unless called on the GUI thread.

        Example::

            def refresh(self):
                worker.check_ui_access()
                self.table.reset()
        """
        self._link.check_ui_access()

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
        if self._link.activity_due:
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
            self._link.closed = True
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

    def _track(self, handler: BackgroundTaskHandler[Any]) -> None:
        """``execute()`` accepted ``handler`` (through the link; CheckedWorker extends it)."""
        self._alive.add(handler)
        if not handler.is_alive():  # decided before we tracked it
            self._alive.discard(handler)

    def _note_activity(self) -> None:
        """A task started, ended or reported news (GUI thread): emit ``tasks_changed`` soon."""
        link = self._link
        if not link.activity_due and not self._is_shut_down:
            link.activity_due = True
            self._activity_timer.start()

    @Slot()  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _emit_tasks_changed(self) -> None:
        self._link.activity_due = False
        self.tasks_changed.emit()

    @Slot()  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _on_about_to_quit(self) -> None:
        self.shutdown(wait=True, timeout=1.0)
