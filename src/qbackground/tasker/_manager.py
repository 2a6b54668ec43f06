"""``TaskManager``: Rayforge's function-style task manager on qbackground's core."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from time import monotonic
from typing import Any, Literal, TypeVar

from qtpy.QtCore import QCoreApplication, QObject, QTimer, Qt, Signal, Slot

from .._default import background_worker
from .._gui_release import GuiThreadFinalized, install as install_gui_release
from .._handler import BackgroundTaskHandler
from .._errors import TaskStateError
from .._worker import BackgroundWorker
from ..backends.process import ProcessExecutor
from . import _main_thread
from ._arguments import check_callables, pickle_call
from ._jobs import CoroutineJob, FunctionJob
from ._main_thread import GuiPoster, MainThreadMixin, MainThreadScheduler, on_gui_thread as _on_gui_thread
from ._starting import StartingMixin
from ._signals import Signal as BlinkerSignal
from ._task import Task, WhenDone, WhenEvent

__all__ = ["TaskManager"]

R = TypeVar("R")

_log = logging.getLogger("qbackground")

Kind = Literal["thread", "process", "asyncio"]


class TaskManager(StartingMixin, MainThreadMixin, GuiThreadFinalized, QObject):
    """Runs plain functions and coroutines in the background, Rayforge style.

    Lives on the GUI thread; every method may be called from any thread (``task_mgr``
    is a proxy to the application's one). Functions receive an ``ExecutionContext``
    first, then the positional and keyword arguments given. Tasks run on ``worker``
    (default: :func:`~qbackground.background_worker`), so they get its guarantees:
    one ending each, coalesced progress, cancel that reaches threads, processes and
    coroutines.

    Example::

        def count(context, path, *, encoding="utf-8"):
            with open(path, encoding=encoding) as f:
                return sum(1 for _ in f)

        manager = TaskManager()
        manager.tasks_updated.connect(lambda sender, tasks, progress: bar.setValue(round(progress * 100)))
        manager.run_thread(count, "big.csv", key="count", when_done=lambda t: print(t.result()))
    """

    tasks_updated: BlinkerSignal
    """blinker signal ``tasks_updated(sender, tasks=..., progress=...)`` on the GUI thread
    (receivers ``def on_update(sender, tasks, progress)`` or ``(sender, **kwargs)``),
    at most about once per frame:
    the manager, the list of its unfinished tasks, and the overall progress (0..1) of
    the current batch — the tasks started since the manager was last idle, finished
    ones counting as 1.0; 1.0 when idle. Emitted when a task starts, reports a message
    or progress, or ends. A task's ``when_done`` runs after an emission that already
    shows it finished (not among ``tasks``, counted as 1.0 in ``progress``)."""

    # Internal: a task submitted off the GUI thread is started there.
    _start_requested = Signal(object, object)

    def __init__(
        self,
        worker: BackgroundWorker | None = None,
        parent: QObject | None = None,
        *,
        main_thread_scheduler: MainThreadScheduler | None = None,
        worker_initializer: Callable[..., None] | None = None,
        worker_initargs: tuple[Any, ...] = (),
        shared_state: Mapping[str, Any] | None = None,
    ) -> None:
        if worker is not None and not isinstance(worker, BackgroundWorker):
            raise TypeError(
                f"TaskManager(worker) takes a BackgroundWorker, not {type(worker).__name__}; "
                "pass Rayforge's scheduler by name: TaskManager(main_thread_scheduler=...)"
            )
        if main_thread_scheduler is not None and not callable(main_thread_scheduler):
            raise TypeError("main_thread_scheduler must be callable: scheduler(callback, *args, **kwargs)")
        if worker_initializer is not None and not callable(worker_initializer):
            raise TypeError("worker_initializer must be callable: initializer(shared_state, *worker_initargs)")
        install_gui_release()  # this object is destroyed on the GUI thread (_gui_release)
        super().__init__(parent)
        self.tasks_updated = BlinkerSignal()
        self._given_worker = worker
        self._poster = GuiPoster(self)
        self._main_thread_scheduler: MainThreadScheduler = (
            main_thread_scheduler if main_thread_scheduler is not None else self._poster
        )
        # worker_initializer: pickled once, here; run in each worker process before
        # its first task of this manager (see FunctionJob).
        self._initializer: bytes | None = None
        if worker_initializer is not None:
            self._initializer = pickle_call(worker_initializer, tuple(worker_initargs), dict(shared_state or {}))
        self._own_processes: ProcessExecutor | None = None  # after restart_worker_pool()
        self._shut_down = False
        self._lock = threading.Lock()
        # key -> the latest unfinished task with that key.
        self._active: dict[Any, Task[Any]] = {}
        # Every unfinished task, by id, and how many of the current batch finished: the
        # overall progress. Only unfinished tasks are held, so a manager whose tasks
        # are over refers to none of them (a task refers to its manager until then).
        self._unfinished: dict[int, Task[Any]] = {}
        self._batch_done = 0
        # tasks_updated: at most one emission per frame. A change (start, message,
        # progress) emits a frame later; an ending as soon as a frame has passed since
        # the last emission. Tasks whose work stopped wait in _finishing: their
        # when_done calls run right after the emission that shows them finished.
        self._emit_due = False
        self._last_emit = -_FRAME
        self._finishing: list[Task[Any]] = []
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.timeout.connect(self._emit_tasks_updated)
        self._start_requested.connect(self._start, Qt.ConnectionType.QueuedConnection)

    # -- cancelling and looking -------------------------------------------------------

    def cancel_task(self, key: Any) -> bool:
        """Cancel the unfinished task with ``key``; False (and nothing done) if none.

        Example::

            cancel_button.clicked.connect(lambda: task_mgr.cancel_task("calculator"))
        """
        with self._lock:
            task = self._active.get(key)
        return task is not None and self._cancel(task)

    def cancel_task_by_id(self, task_id: int) -> bool:
        """Cancel the unfinished task whose :attr:`Task.id` is ``task_id``, visible or not;
        False (and nothing done) if none.

        Example::

            task = task_mgr.run_process(render_tile, 3, visible=False)
            task_mgr.cancel_task_by_id(task.id)
        """
        with self._lock:
            task = self._unfinished.get(task_id)
        return task is not None and self._cancel(task)

    def get_task(self, key: Any) -> Task[Any] | None:
        """The unfinished task with ``key``, or None.

        Example::

            task = task_mgr.get_task("calculator")
        """
        with self._lock:
            return self._active.get(key)

    @property
    def tasks(self) -> list[Task[Any]]:
        """The unfinished tasks, oldest first.

        Example::

            for task in task_mgr.tasks:
                print(task.key, task.get_status())
        """
        with self._lock:
            return [t for t in self._active.values() if not t.is_final()]  # visible ones only

    def has_tasks(self) -> bool:
        """True while a task is unfinished.

        Example::

            quit_button.setEnabled(not task_mgr.has_tasks())
        """
        return bool(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task[Any]]:
        return iter(self.tasks)

    def get_overall_progress(self) -> float:
        """The progress of the current batch, 0..1 (1.0 when idle), as in ``tasks_updated``.

        Example::

            bar.setValue(round(task_mgr.get_overall_progress() * 100))
        """
        with self._lock:
            unfinished = [t for t in self._unfinished.values() if t._visible]
            done = self._batch_done
        if not unfinished:
            return 1.0
        progress = sum(1.0 if t.is_final() else t.get_progress() for t in unfinished)
        return (done + progress) / (done + len(unfinished))

    @property
    def worker(self) -> BackgroundWorker:
        """The worker the tasks run on (GUI thread).

        Example::

            task_mgr.worker.unhandled_exception.connect(show_error)
        """
        given = self._given_worker
        return given if given is not None else background_worker()

    # -- internals ---------------------------------------------------------------------

    def _submit(
        self,
        task: Task[Any],
        job: FunctionJob | CoroutineJob,
        when_event: WhenEvent | None,
        *,
        visible: bool = True,
    ) -> Task[Any]:
        if self._shut_down:
            raise TaskStateError("this TaskManager was shut down; it starts no more tasks")
        task._bind(self, job._name, when_event, visible)
        job._facade = task
        with self._lock:
            if visible and not any(t._visible for t in self._unfinished.values()):
                self._batch_done = 0  # idle until now: a new batch begins
            self._claim_key(task)
            self._unfinished[task.id] = task
        if _on_gui_thread():
            self._start(task, job)
        else:
            self._start_requested.emit(task, job)  # in submission order, so the worker
            # sees the keyed handlers in that order too
        return task

    # -- keys: which task holds a key (for cancel_task/get_task) -----------------------------
    # Replacing is not done here: each visible task's handler is executed with its key
    # under the worker's policy "replace" (DESIGN §8), which cancels the alive handler of
    # the task before it. One mechanism for both APIs.

    def _claim_key(self, task: Task[Any]) -> None:
        """(lock held) ``task`` takes its key. An invisible task has no key slot: it
        replaces nothing and is never replaced."""
        if task._visible:
            self._active[task.key] = task

    def _release_key(self, task: Task[Any]) -> None:
        """(lock held) ``task`` is over: its key is free unless a newer task took it."""
        if self._active.get(task.key) is task:
            del self._active[task.key]

    # -- starting, cancelling, finishing -----------------------------------------------------

    @Slot(object, object)  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _start(self, task: Task[Any], job: FunctionJob | CoroutineJob) -> None:
        """GUI thread: execute ``task``'s job; its key replaces the task before it."""
        error: BaseException | None = None
        worker = self.worker
        with self._lock:
            cancelled_early = task._cancel_requested
            if not cancelled_early:
                # Under the lock, so a cancel from another thread finds the handler
                # executed (cancel() before execute() is an error).
                # The key goes to the worker (DESIGN §8, policy "replace"): one mechanism.
                key = (_KEYS, id(self), task.key) if task._visible else None
                started = _execute(worker, job, task.kind, self._process_executor(), key)
                if isinstance(started, BaseException):
                    error = started
                    job._facade = None  # it never runs: no callback will come
                else:
                    task._handler = started
                    started.when_stopped(lambda _h: task._run_stopped())
        if task._visible:
            self._note_change()
        if cancelled_early:
            task._ended("canceled")
            task._run_stopped()
        elif error is not None:
            task._ended("failed", error=error)
            task._run_stopped()
            if not task._has_when_done:
                self._report(job, error)

    def _cancel(self, task: Task[Any]) -> bool:
        with self._lock:
            if task._ending is not None:
                task._cancel_requested = True  # Rayforge sets the flag on a finished task too
                return False
            if task._cancel_requested:
                return False
            task._cancel_requested = True
            handler = task._handler
        if handler is not None:
            handler.cancel()  # not started yet: _start() sees the flag instead
        return True

    def _finished(self, task: Task[Any]) -> None:
        """GUI thread: the task ended and its work really stopped."""
        with self._lock:
            self._release_key(task)
            if self._unfinished.pop(task.id, None) is not None and task._visible:
                self._batch_done += 1
        if not task._visible:  # no tasks_updated shows it: when_done at once
            when_done = task._when_done
            task._detach()
            if when_done is not None:
                self._call_user(when_done, task)
            return
        if task._when_done is None:
            task._detach()
            self._note_change()
            return
        # when_done must see tasks_updated already published without this task: it
        # runs after the next emission, which comes as soon as the frame allows.
        self._finishing.append(task)
        _FINISHING.add(self)  # nothing else holds a manager whose tasks are over
        wait = self._last_emit + _FRAME - monotonic()
        self._schedule_emit(max(0, math.ceil(wait * 1000)))

    def _call_user(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
        """Call a user's callback; True if it returned, False if it raised (reported)."""
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            self._report(None, exc)
            return False
        return True

    def _report(self, job: Any, exc: BaseException) -> None:
        worker = self.worker
        _log.error("Unhandled exception in a task_mgr callback", exc_info=(type(exc), exc, exc.__traceback__))
        worker.unhandled_exception.emit(job, exc)

    def _note_change(self) -> None:
        if not self._emit_due:
            self._emit_due = True
            self._schedule_emit(_FRAME_MS)

    def _schedule_emit(self, delay_ms: int) -> None:
        timer = self._emit_timer
        if not timer.isActive() or timer.remainingTime() > delay_ms:
            timer.start(delay_ms)

    @Slot()  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _emit_tasks_updated(self) -> None:
        """GUI thread: publish the state, then run the when_done calls it made due."""
        self._emit_due = False
        self._emit_timer.stop()
        self._last_emit = monotonic()
        finishing = self._finishing
        if finishing:
            self._finishing = []
            _FINISHING.discard(self)
        if finishing:
            # The worker's own views (TaskStatusWidget) must be current in when_done too.
            self.worker.flush_tasks_changed()
        self._call_user(self.tasks_updated.send, self, tasks=self.tasks, progress=self.get_overall_progress())
        for task in finishing:
            when_done = task._when_done
            task._detach()
            if when_done is not None:
                self._call_user(when_done, task)


_FRAME = 0.016
_FRAME_MS = 16
"""The shortest time between two ``tasks_updated`` emissions of a manager."""

_FINISHING: set[TaskManager] = set()
"""Managers with when_done calls waiting for their next emission: their tasks are
over, so no handler holds them any more, and a pending call must not be lost to a
collection (or a dropped last reference) in between."""


_KEYS = "qbackground.tasker"
"""Namespaces a manager's keys among the worker's (``worker.active_handler``)."""


def _execute(
    worker: BackgroundWorker,
    job: FunctionJob | CoroutineJob,
    kind: Kind,
    processes: ProcessExecutor | None,
    key: Any = None,
) -> BackgroundTaskHandler[Any] | Exception:
    """Hand ``job`` to ``worker`` and execute it; the handler, or why it could not start
    (queue full, worker shut down...: the message says it all). The error goes without
    its traceback: the task keeps it, and the traceback's frames (through their callers,
    ``_start`` and ``_submit``) would lead back to the task and its manager, a reference
    cycle that only the cyclic collector could free."""
    try:
        handler = worker.handle(
            job, executor=processes if kind == "process" and processes is not None else kind, key=key
        )
        handler.execute()
    except Exception as exc:
        return exc.with_traceback(None)
    return handler


