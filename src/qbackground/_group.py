"""``TaskGroup`` (DESIGN §9): many handlers followed, bounded and cancelled as one.

A group's members are ordinary handlers (every guarantee of one holds for each); the
group is their ``Gate`` (see ``_handler_state``): ``execute()`` asks it whether a member
may start (``max_parallel``), and it hears each member's terminal callback (its
``delivered()``), where ``fail_fast``, ``when_done`` and the results are decided. GUI
thread only, but for :meth:`TaskGroup.get_results` off it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from qtpy.QtWidgets import QWidget

from ._errors import TaskStateError
from ._status import TaskStatus

if TYPE_CHECKING:
    from ._handler import BackgroundTaskHandler
    from ._task import TaskBase
    from ._worker import BackgroundWorker
    from ._worker_link import WorkerLink
    from .backends import Executor

__all__ = ["TaskGroup"]

V = TypeVar("V")

_FAILURES = (TaskStatus.FAILED, TaskStatus.TIMED_OUT)


class TaskGroup(Generic[V]):
    """Handlers run and watched together; made by ``worker.group()``.

    ``fraction`` is the mean progress of the executed members (an ended one counts 1),
    ``message`` the latest member message. ``when_done(callback)`` runs
    ``callback(group)`` once, on the GUI thread, after every executed member's terminal
    callback; ``get_results()`` and ``await group`` give the values in ``handle()``
    order (nested groups' lists after them) or raise the first failure. ``fail_fast`` cancels the other members when one
    fails or times out; ``max_parallel`` holds members (``QUEUED``) while that many run,
    without touching the worker's own limits; the ``owner`` closing interrupts every
    member silently. Members count as tasks in ``worker.tasks_changed`` and the status
    widgets.

    Example::

        group = worker.group(owner=window, fail_fast=True, max_parallel=4)
        for path in paths:
            group.handle(ImportFile(path)).execute()
        group.when_done(lambda g: status.showMessage(f"{len(g.handlers)} files imported"))

    Raises:
        TaskStateError: (from ``handle()`` and a member's ``execute()``) the group
            already ended or was cancelled.
    """

    def __init__(
        self,
        worker: BackgroundWorker,
        link: WorkerLink,
        *,
        owner: QWidget | None = None,
        fail_fast: bool = False,
        max_parallel: int | None = None,
        parent: TaskGroup[Any] | None = None,
    ) -> None:
        if owner is not None and not isinstance(owner, QWidget):
            raise TypeError(f"owner must be a QWidget or None, not {type(owner).__name__}")
        if not isinstance(fail_fast, bool):
            raise TypeError(f"fail_fast must be a bool, not {type(fail_fast).__name__}")
        if max_parallel is not None and (isinstance(max_parallel, bool) or not isinstance(max_parallel, int)):
            raise TypeError(f"max_parallel must be an int or None, not {type(max_parallel).__name__}")
        if max_parallel is not None and max_parallel < 1:
            raise ValueError(f"max_parallel must be at least 1 (or None for no limit), got {max_parallel}")
        self._worker = worker  # for handle() only; the rest through its link
        self._link = link
        self._owner = owner
        self._fail_fast = fail_fast
        self._max_parallel = max_parallel
        self._parent = parent
        self._members: list[BackgroundTaskHandler[Any]] = []  # executed, in handle() order
        self._handled: list[BackgroundTaskHandler[Any]] = []  # handle() order
        self._children: list[TaskGroup[Any]] = []
        self._waiting: list[BackgroundTaskHandler[Any]] = []  # held by max_parallel
        self._running = 0
        self._ended: set[BackgroundTaskHandler[Any]] = set()
        self._first_error: BaseException | None = None
        self._message: str | None = None
        self._cancelled = False
        self._done = False
        self._callbacks: list[Callable[[TaskGroup[V]], object]] = []
        self._future: Future[list[Any]] = Future()
        if owner is not None:
            link.bind_owner(owner, self)
        if parent is not None:
            parent._children.append(self)

    def __repr__(self) -> str:
        return f"<TaskGroup {len(self._members)} members, {'alive' if self.is_alive() else 'ended'}>"

    # -- building ----------------------------------------------------------------------

    def handle(self, task: TaskBase[Any, V], *, executor: str | Executor | None = None) -> BackgroundTaskHandler[V]:
        """``worker.handle(task)`` as a member of this group; call ``execute()`` on it.

        Raises:
            TaskStateError: the group ended (its ``when_done`` ran) or was cancelled.
            TypeError, ValueError: as ``worker.handle()``.

        Example::

            group.handle(ImportFile(path), executor="process").execute()
        """
        self._check_open("handle()")
        handler = self._worker.handle(task, executor=executor)
        handler._gate = self
        self._handled.append(handler)
        return handler

    def group(self, *, owner: QWidget | None = None, fail_fast: bool = False, max_parallel: int | None = None) -> TaskGroup[Any]:
        """A nested group: cancelled with this one, its failure one of this one's, and
        this one's ``when_done`` waits for it. Its members do not count against this
        group's ``max_parallel``.

        Example::

            images = batch.group(max_parallel=2)
            images.handle(Thumbnail(path)).execute()
        """
        self._check_open("group()")
        return TaskGroup(self._worker, self._link, owner=owner or self._owner, fail_fast=fail_fast, max_parallel=max_parallel, parent=self)

    # -- looking -------------------------------------------------------------------------

    @property
    def handlers(self) -> list[BackgroundTaskHandler[Any]]:
        """The members, in ``handle()`` order.

        Example::

            failed = [h for h in group.handlers if h.status is TaskStatus.FAILED]
        """
        return list(self._handled)

    @property
    def fraction(self) -> float:
        """0..1: the mean of the executed members' fractions (an ended one counts 1,
        a nested group as one member); 0 with no member yet.

        Example::

            bar.setValue(round(group.fraction * 100))
        """
        parts = [1.0 if h in self._ended else (h.fraction or 0.0) for h in self._members]
        parts += [1.0 if g._done else g.fraction for g in self._children]
        return sum(parts) / len(parts) if parts else 0.0

    @property
    def message(self) -> str | None:
        """The latest message a member reported, or None.

        Example::

            status.showMessage(group.message or "")
        """
        return self._message

    def is_alive(self) -> bool:
        """True while a member (or a nested group) has not ended.

        Example::

            stop_button.setEnabled(group.is_alive())
        """
        return any(h.is_alive() for h in self._members) or any(g.is_alive() for g in self._children)

    # -- acting ----------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Cancel every alive member (their ``canceled()`` runs) and nested group; the
        group takes no new members. False if nothing was alive.

        Example::

            cancel_button.clicked.connect(group.cancel)
        """
        self._cancelled = True
        any_alive = False
        for child in list(self._children):
            any_alive = child.cancel() or any_alive
        for handler in list(self._members):
            if handler.is_alive():
                any_alive = handler.cancel() or any_alive
        return any_alive

    def when_done(self, callback: Callable[[TaskGroup[V]], object]) -> None:
        """Call ``callback(group)`` on the GUI thread once every member ended (after its
        terminal callback); at once if that already happened.

        Example::

            group.when_done(lambda g: print(g.get_results()))
        """
        if self._done:
            self._link.post(lambda: self._call(callback))
        else:
            self._callbacks.append(callback)

    def get_results(self, timeout: float | None = None) -> list[Any]:
        """Wait for every member; their values in ``handle()`` order (a nested group's
        list in its place), or raise the first failure (a member's exception,
        ``TaskTimeoutError``, ``TaskCancelledError``...). On the GUI thread it serves
        the dispatcher while it waits, as ``handler.get_result()`` does.

        Raises:
            TimeoutError: ``timeout`` passed first.

        Example::

            rows = group.get_results(timeout=60)
        """
        from time import monotonic

        deadline = None if timeout is None else monotonic() + timeout
        for handler in list(self._members):
            left = None if deadline is None else max(0.0, deadline - monotonic())
            try:
                handler.get_result(left)
            except TimeoutError:
                raise
            except BaseException:  # noqa: BLE001 - the first failure is raised below
                pass
        for child in list(self._children):
            left = None if deadline is None else max(0.0, deadline - monotonic())
            try:
                child.get_results(left)
            except TimeoutError:
                raise
            except BaseException:  # noqa: BLE001
                pass
        return self._results()

    def __await__(self) -> Generator[Any, None, list[Any]]:
        """``await group``: as :meth:`get_results`, from a coroutine on the GUI thread.

        Example::

            rows = await group
        """
        return asyncio.wrap_future(self._future).__await__()

    # -- Gate (what the members' handlers report) ------------------------------------------

    def _gate_admit(self, handler: BackgroundTaskHandler[Any]) -> bool:
        self._check_open("execute() of a member")
        self._members.append(handler)
        if self._max_parallel is not None and self._running >= self._max_parallel:
            self._waiting.append(handler)
            return True
        self._running += 1
        return False

    def _gate_withdraw(self, handler: BackgroundTaskHandler[Any]) -> None:
        self._members.remove(handler)
        self._running -= 1

    def _gate_message(self, handler: BackgroundTaskHandler[Any], text: str) -> None:
        self._message = text

    def _gate_delivered(self, handler: BackgroundTaskHandler[Any]) -> None:
        self._ended.add(handler)
        if handler in self._waiting:
            self._waiting.remove(handler)
        else:
            self._running -= 1
            self._start_waiting()
        if handler.status is not TaskStatus.DONE and self._first_error is None:
            self._first_error = handler._settled()[1]
            if self._fail_fast and handler.status in _FAILURES:
                self.cancel()
        self._check_done()

    def _start_waiting(self) -> None:
        while self._waiting and (self._max_parallel is None or self._running < self._max_parallel):
            handler = self._waiting.pop(0)
            self._running += 1
            handler._launch()

    # -- the ending ------------------------------------------------------------------------

    def _check_done(self) -> None:
        if self._done or not (self._members or self._children):
            return
        if len(self._ended) < len(self._members) or not all(g._done for g in self._children):
            return
        self._done = True
        if self._owner is not None:
            self._link.unbind_owner(self._owner, self)
        try:
            self._future.set_result(self._results())
        except BaseException as exc:  # noqa: BLE001 - the first failure
            self._future.set_exception(exc)
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._call(callback)
        parent = self._parent
        if parent is not None:
            if self._first_error is not None and parent._first_error is None:
                parent._first_error = self._first_error
                if parent._fail_fast:
                    parent.cancel()
            parent._check_done()

    def _results(self) -> list[Any]:
        if self._first_error is not None:
            raise self._first_error
        executed = set(self._members)
        values: list[Any] = [h._settled()[0] for h in self._handled if h in executed]
        values += [g._results() for g in self._children]
        return values

    def _interrupt(self) -> bool:
        """The owner's window closed: interrupt every member silently."""
        self._cancelled = True
        for child in list(self._children):
            child._interrupt()
        for handler in list(self._members):
            handler._interrupt()
        return True

    def _check_open(self, what: str) -> None:
        if self._done:
            raise TaskStateError(f"{what}: this TaskGroup already ended; make a new one with worker.group()")
        if self._cancelled:
            raise TaskStateError(f"{what}: this TaskGroup was cancelled; make a new one with worker.group()")

    def _call(self, callback: Callable[[TaskGroup[V]], object]) -> None:
        try:
            callback(self)
        except Exception as exc:
            self._link.report_unhandled(None, exc)
