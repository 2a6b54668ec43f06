"""``wait_task``: wait, on the GUI thread, until a handler's terminal callback has run."""

from __future__ import annotations

import math
import sys
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QCoreApplication, QEventLoop, QThread, QTimer

from .. import BackgroundTaskHandler, ProgressListener, TaskStatus
from .._errors import IllegalConcurrentAccessError, TaskStateError
from .._task import TaskBase
from .._worker import _LIVE
from ._worker import checked_workers, format_origin

if TYPE_CHECKING:
    from ..tasker import Task

__all__ = ["TaskWait", "WaitTaskTimeout", "wait_task"]

_POLL_MS = 10


class WaitTaskTimeout(TimeoutError):
    """``wait_task`` gave up; the message says what it observed meanwhile."""


def _tasker_task(target: object) -> Task[Any] | None:
    """``target`` if it is a ``qbackground.tasker.Task`` (none exists unless the tasker
    was imported, so the plugin does not import it)."""
    module = sys.modules.get("qbackground.tasker._task")
    if module is not None and isinstance(target, module.Task):
        return target  # type: ignore[no-any-return]
    return None


class _Observer(ProgressListener[Any, Any]):
    """Listens to one task while a wait is pending: the latest news, for the message."""

    def __init__(self) -> None:
        self.items = 0
        self.last_items: list[Any] = []
        self.message: str | None = None
        self.fraction: float | None = None
        self.events: list[str] = []

    def on_progress(self, changes: list[Any]) -> None:
        self.items += len(changes)
        self.last_items = list(changes[-5:])

    def on_message(self, message: str) -> None:
        self.message = message

    def on_fraction(self, fraction: float) -> None:
        self.fraction = fraction

    def on_event(self, name: str, data: Any) -> None:
        self.events = [*self.events[-4:], name]


def _handlers_of(task: TaskBase[Any, Any]) -> list[BackgroundTaskHandler[Any]]:
    """Handlers of ``task`` known to the test workers, else active on any worker."""
    found: list[BackgroundTaskHandler[Any]] = []
    for worker in checked_workers():
        found.extend(worker.handlers_of(task))
    if not found:
        for live in list(_LIVE):
            found.extend(h for h in live.active_handlers() if h.task is task)
    return found


def _origin_of(handler: BackgroundTaskHandler[Any]) -> str:
    for worker in checked_workers():
        stack = worker.origin(handler)
        if stack is not None:
            return "; it was started at:\n" + format_origin(stack)
    return ""


class TaskWait:
    """What :func:`wait_task` returns: the handlers it waited for, usable in ``with``.

    Example::

        with wait_task(task) as waited:
            bg_worker.handle(task).execute()
        assert waited.status is TaskStatus.DONE
    """

    def __init__(
        self, target: BackgroundTaskHandler[Any] | TaskBase[Any, Any] | Task[Any], timeout: float
    ) -> None:
        self.timeout = timeout
        """Seconds to wait for the terminal callbacks."""
        self.handlers: list[BackgroundTaskHandler[Any]] = []
        """The handlers waited for (of the task, those executed inside the block)."""
        # A tasker Task stands for its handler, found when the wait begins (a task
        # submitted from another thread gets it when the GUI thread starts it).
        self._tasker = _tasker_task(target)
        self._target: BackgroundTaskHandler[Any] | TaskBase[Any, Any] | None = None
        self._task: TaskBase[Any, Any] | None = None
        if self._tasker is None:
            self._set_target(target)  # type: ignore[arg-type]  # not a tasker Task
        else:
            try:
                self._set_target(self._tasker.handler)
            except TaskStateError:
                pass  # not started yet, or never will: wait() finds out
        self._known: set[int] = set()
        self._observer = _Observer()
        self._listening = False
        self._waited = False

    # -- results -----------------------------------------------------------------------------

    @property
    def handler(self) -> BackgroundTaskHandler[Any]:
        """The (last) handler waited for.

        Example::

            assert wait_task(handler).handler is handler
        """
        if not self.handlers:
            raise LookupError("wait_task() has not waited for any handler yet")
        return self.handlers[-1]

    @property
    def status(self) -> TaskStatus:
        """The status of :attr:`handler` (final once the wait returned).

        Example::

            assert wait_task(handler).status is TaskStatus.CANCELLED
        """
        return self.handler.status

    # -- the two forms ---------------------------------------------------------------------

    def __enter__(self) -> TaskWait:
        if self._task is not None and not isinstance(self._target, BackgroundTaskHandler):
            self._known = {id(h) for h in _handlers_of(self._task)}
        self._listen()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            single = self._tasker is not None or isinstance(self._target, BackgroundTaskHandler)
            if exc_type is None and (not self._waited or not single):
                self.wait()
        finally:
            self._unlisten()

    def wait(self) -> TaskWait:
        """Wait now (GUI thread); raise :class:`WaitTaskTimeout` after ``timeout`` s.

        Example::

            waiter = wait_task(handler, now=False)
            handler.execute()
            waiter.wait()
        """
        self._waited = True
        deadline = monotonic() + self.timeout
        if self._tasker is not None and self._target is None:
            self._find_handler(self._tasker, deadline)
        target = self._target
        task = self._task
        assert target is not None and task is not None
        name = self._name()
        if isinstance(target, BackgroundTaskHandler):
            if target.status is TaskStatus.CREATED:
                raise TaskStateError(
                    f"wait_task: {name} was never executed; call handler.execute() "
                    "(inside the with block, or before calling wait_task())"
                )
            handlers = [target]
        else:
            handlers = [h for h in _handlers_of(task) if id(h) not in self._known]
            if not handlers:
                where = "inside the with block" if self._listening else "yet"
                raise TaskStateError(
                    f"wait_task: no handler of {name} was executed {where} (looked on every "
                    "bg_worker and on the live workers' running tasks); pass the handler instead"
                )
        self.handlers = handlers
        listening = self._listening
        self._listen()
        try:
            self._wait_for(handlers, deadline)
        finally:
            if not listening:
                self._unlisten()
        return self

    # -- internals -----------------------------------------------------------------------------

    def _set_target(self, target: BackgroundTaskHandler[Any] | TaskBase[Any, Any]) -> None:
        self._target = target
        self._task = target.task if isinstance(target, BackgroundTaskHandler) else target

    def _name(self) -> str:
        tasker = self._tasker
        if tasker is not None:
            return f"task {tasker.name} (key {tasker.key!r})"
        assert self._task is not None
        return type(self._task).__name__

    def _find_handler(self, tasker: Task[Any], deadline: float) -> None:
        """Wait for the GUI thread to start a tasker Task submitted from another thread."""
        while True:
            try:
                handler = tasker.handler
            except TaskStateError as exc:
                if tasker.is_final():  # cancelled before it started, or could not start
                    raise TaskStateError(f"wait_task: nothing to wait for: {exc}") from None
                if monotonic() >= deadline:
                    raise WaitTaskTimeout(
                        f"wait_task: {self._name()} did not start within {self.timeout:g} s: it "
                        f"was submitted from another thread and is still {tasker.get_status()}; is "
                        "the GUI thread's event loop blocked?"
                    ) from None
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, _POLL_MS)
                QThread.msleep(1)
            else:
                self._set_target(handler)
                self._listen()
                return

    def _listen(self) -> None:
        if not self._listening and self._task is not None:
            self._task.add_progress_listener(self._observer)
            self._listening = True

    def _unlisten(self) -> None:
        if self._listening and self._task is not None:
            self._task.remove_progress_listener(self._observer)
            self._listening = False

    def _wait_for(self, handlers: list[BackgroundTaskHandler[Any]], deadline: float) -> None:
        futures = [h.future() for h in handlers]
        if all(f.done() for f in futures):
            return
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("wait_task() needs a QApplication (use the qapp fixture)")
        loop = QEventLoop()

        def check() -> None:
            if all(f.done() for f in futures) or monotonic() >= deadline:
                loop.quit()

        poll = QTimer()
        poll.setInterval(_POLL_MS)
        poll.timeout.connect(check)
        for future in futures:
            # Resolved on the GUI thread, inside loop.exec(): quit at once.
            future.add_done_callback(lambda _f: QTimer.singleShot(0, check))
        poll.start()
        try:
            while not all(f.done() for f in futures) and monotonic() < deadline:
                loop.exec()
        finally:
            poll.stop()
        if not all(f.done() for f in futures):
            pending = [h for h, f in zip(handlers, futures) if not f.done()]
            raise WaitTaskTimeout(self._explain(pending[0], len(pending)))

    def _explain(self, handler: BackgroundTaskHandler[Any], pending: int) -> str:
        seen = self._observer
        name = self._name() if self._tasker is not None else type(handler.task).__name__
        status = handler.status
        if status.is_final:
            hint = (
                f" (its outcome, {status.name}, is decided but the terminal callback has not "
                "run: is a callback blocking the GUI thread?)"
            )
        else:
            hint = ""
        progress = (
            f"{seen.items} progress item(s) delivered while waiting, the last ones "
            f"{seen.last_items!r}"
            if seen.items
            else "no progress() delivered while waiting"
        )
        message = handler.message if handler.message is not None else seen.message
        fraction = handler.fraction if handler.fraction is not None else seen.fraction
        more = f" ({pending - 1} more handler(s) also pending)" if pending > 1 else ""
        elapsed = handler.elapsed
        return (
            f"wait_task: {name} did not reach its terminal callback within {self.timeout:g} s"
            f"{more}. Observed: status {status.name}{hint}; {progress}; last message "
            f"{message!r}; fraction {fraction!r}; events {seen.events!r}; executed "
            f"{'never' if elapsed is None else f'{elapsed:.2f} s ago'}"
            f"{_origin_of(handler)}"
        )


def wait_task(
    target: BackgroundTaskHandler[Any] | TaskBase[Any, Any] | Task[Any],
    timeout: float = 5.0,
    *,
    now: bool | None = None,
) -> TaskWait:
    """Wait on the GUI thread until the terminal callback of a task has run.

    The terminal callback is the one of ``done``, ``canceled``, ``handle_exception``,
    ``handle_timeout_exception`` that ended the task (or the decision to stay silent:
    owner closed, worker shut down). Qt events keep being processed while it waits.

    Two forms:

    * called, with a handler that was executed: waits at once and returns;
    * as a context manager, around the code that starts the task: waits when the
      block ends. ``target`` may then be the handler (executed in the block), or the
      task itself (any handler of it executed in the block, on ``bg_worker``).

    ``target`` may also be a :class:`qbackground.tasker.Task` (what ``run_thread()``,
    ``run_process()`` and ``add_coroutine()`` return): the wait is for its handler's
    terminal callback, so the task's status is final when it returns (its
    ``when_done`` comes once ``run()`` has really stopped, possibly later). A task
    submitted from another thread is waited for until the GUI thread starts it.

    ``now`` forces one form (``now=False`` waits only at the end of the ``with``
    block or in :meth:`TaskWait.wait`, say for ``with wait_task(h, now=False):
    h.cancel()``).

    Raises:
        WaitTaskTimeout: (a ``TimeoutError``) ``timeout`` seconds passed; the message
            says what was observed: status, the last progress items, the last
            message, fraction and events, and where the task was started.
        TaskStateError: the handler was never executed, no handler of the task
            was executed in the ``with`` block, or the tasker ``Task`` ended without
            ever running (cancelled before it started, or it could not start).
        TypeError: ``target`` is neither a handler nor a task, or ``timeout`` is not
            a number (``ValueError`` if it is not positive and finite).
        IllegalConcurrentAccessError: called off the GUI thread.

    Example::

        handler = bg_worker.handle(Count(10))
        with wait_task(handler, timeout=2):
            handler.execute()
        assert handler.status is TaskStatus.DONE

        wait_task(bg_worker.handle(Count(10)).start())    # called form

        wait_task(TaskManager(bg_worker).run_thread(count_lines, "big.csv"))
    """
    tasker = _tasker_task(target)
    if tasker is None and not isinstance(target, (BackgroundTaskHandler, TaskBase)):
        raise TypeError(
            "wait_task() takes a BackgroundTaskHandler (from worker.handle(task)), a task, "
            f"or a qbackground.tasker.Task, not {type(target).__name__}"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"wait_task() timeout must be a number of seconds, not {type(timeout).__name__}")
    if not timeout > 0 or math.isinf(timeout):
        raise ValueError(f"wait_task() timeout must be a positive, finite number of seconds, not {timeout!r}")
    app = QCoreApplication.instance()
    if app is not None and QThread.currentThread() is not app.thread():
        raise IllegalConcurrentAccessError("wait_task() must be called on the GUI thread")
    waiter = TaskWait(target, float(timeout))
    if tasker is not None:
        started = True  # a tasker Task is started (or queued to start) when it exists
    elif isinstance(target, BackgroundTaskHandler):
        started = target.status is not TaskStatus.CREATED
    else:
        assert isinstance(target, TaskBase)  # checked above
        started = bool(_handlers_of(target))
    if now is True or (now is None and started):
        waiter.wait()
    return waiter
