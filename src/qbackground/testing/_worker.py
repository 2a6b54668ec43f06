"""``CheckedWorker``: a strict ``BackgroundWorker`` that remembers what tests did with it.

It records, for every handler, the stack where ``execute()`` was called, what reached
``unhandled_exception`` and ``task_timed_out``, and which exceptions the test said it
expects; :meth:`CheckedWorker.finish` shuts it down and lists everything that leaked.
"""

from __future__ import annotations

import os
import re
import threading
import traceback
import weakref
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, TypeVar

from qtpy.QtCore import QCoreApplication, QEventLoop, Slot

from .. import BackgroundTaskHandler, BackgroundWorker
from .._keys import Policy
from .._task import TaskBase
from ..backends import Executor
from ._probe import (
    child_processes,
    describe_thread,
    os_thread_ids,
    qt_pool_threads,
    qt_private_pool_limit,
    stop_idle_qt_global_pool,
)

__all__ = ["CheckedWorker", "UnhandledExpectation", "format_origin"]

V = TypeVar("V")

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIP_PARTS = (_PACKAGE_DIR + os.sep, os.sep + "pytestqt" + os.sep)
_RUNNER_PARTS = (os.sep + "_pytest" + os.sep, os.sep + "pluggy" + os.sep)

_checked_workers: weakref.WeakSet[CheckedWorker] = weakref.WeakSet()


def _user_frames(stack: Iterable[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    """The test's own frames of ``stack``: those after the last pytest/pluggy frame
    (the test runner), minus qbackground's own and pytest-qt's."""
    frames = list(stack)
    runner = [i for i, f in enumerate(frames) if any(p in f.filename for p in _RUNNER_PARTS)]
    if runner:
        frames = frames[runner[-1] + 1 :]
    frames = [f for f in frames if not any(part in f.filename for part in _SKIP_PARTS)]
    return frames[-8:]


def format_origin(stack: list[traceback.FrameSummary] | None) -> str:
    """``stack`` (from :meth:`CheckedWorker.origin`) as indented ``file:line in fn`` lines.

    Example::

        print(format_origin(bg_worker.origin(handler)))
    """
    if not stack:
        return "    (where it was started is unknown: it was not started through bg_worker)"
    lines = []
    for frame in stack:
        lines.append(f"    {_short(frame.filename)}:{frame.lineno} in {frame.name}")
        if frame.line:
            lines.append(f"        {frame.line.strip()}")
    return "\n".join(lines)


def _short(path: str) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith(os.pardir) else relative


@dataclass
class UnhandledExpectation:
    """What :meth:`CheckedWorker.expect_unhandled` registered, and what it caught."""

    exc_type: type[BaseException] | tuple[type[BaseException], ...]
    """The exception type (or types) the test expects to reach ``unhandled_exception``."""
    match: str | None = None
    """A regular expression the message must match (``re.search``), or None."""
    count: int | None = None
    """How many such exceptions are expected exactly, or None for one or more."""
    caught: list[BaseException] = field(default_factory=list)
    """The exceptions caught so far."""

    def accepts(self, exc: BaseException) -> bool:
        """True when ``exc`` is of the expected type and its message matches."""
        if not isinstance(exc, self.exc_type):
            return False
        if self.count is not None and len(self.caught) >= self.count:
            return False
        return self.match is None or re.search(self.match, str(exc)) is not None

    def describe(self) -> str:
        """``ValueError matching 'boom'``, for failure messages."""
        types = self.exc_type if isinstance(self.exc_type, tuple) else (self.exc_type,)
        text = " or ".join(t.__name__ for t in types)
        if self.match is not None:
            text += f" matching {self.match!r}"
        return text


class CheckedWorker(BackgroundWorker):
    """A strict :class:`~qbackground.BackgroundWorker` that a test can check for leaks.

    What the ``bg_worker`` fixture yields. It behaves as a ``BackgroundWorker`` and
    additionally records where each task was started, collects ``unhandled_exception``
    and ``task_timed_out``, and, in :meth:`finish`, shuts down and reports tasks still
    alive, threads and child processes left behind, and unexpected unhandled errors.

    Example::

        worker = CheckedWorker(threads=2)
        worker.handle(MyTask()).execute()
        ...
        problems = worker.finish()
        assert not problems, "\\n".join(problems)

    Args:
        default_executor: used by :meth:`handle` when it gets no ``executor``
            (``None``: the core's choice, "thread" or "asyncio" by task kind).
        shutdown_timeout: how long :meth:`finish` waits for task threads to stop.
        check_leaks: whether :meth:`finish` looks for leaked threads and processes.
        leak_timeout: how long :meth:`finish` waits for them to go away (a joined
            thread takes a moment to leave ``/proc``) before calling them leaked.
        **settings: passed to ``BackgroundWorker`` (``strict`` defaults to True).
    """

    __test__ = False  # not a test class, whatever module imports it

    def __init__(
        self,
        *,
        default_executor: str | Executor | None = None,
        shutdown_timeout: float = 5.0,
        check_leaks: bool = True,
        leak_timeout: float = 2.0,
        **settings: Any,
    ) -> None:
        settings.setdefault("strict", True)
        # Snapshots first: the worker's own threads and processes must count as new.
        self._baseline_threads = os_thread_ids()
        self._baseline_children = child_processes()
        super().__init__(**settings)
        self.default_executor = default_executor
        self.shutdown_timeout = shutdown_timeout
        """How long :meth:`finish` lets ``shutdown()`` wait for task threads."""
        self.check_leaks = check_leaks
        """Whether :meth:`finish` looks for leaked threads and child processes."""
        self.leak_timeout = leak_timeout
        """How long :meth:`finish` waits for extra threads and processes to go away."""
        self.unhandled: list[tuple[TaskBase[Any, Any] | None, BaseException]] = []
        """Every ``(task or None, exception)`` that reached ``unhandled_exception``."""
        self.timed_out: list[TaskBase[Any, Any]] = []
        """Every task whose timeout reached ``task_timed_out`` (not handled)."""
        self._expectations: list[UnhandledExpectation] = []
        self._origins: weakref.WeakKeyDictionary[BackgroundTaskHandler[Any], list[traceback.FrameSummary]]
        self._origins = weakref.WeakKeyDictionary()
        self._executed: list[BackgroundTaskHandler[Any]] = []
        self._finished: list[str] | None = None
        self.unhandled_exception.connect(self._on_unhandled)
        self.task_timed_out.connect(self._on_timed_out)
        _checked_workers.add(self)

    # -- what tests call ------------------------------------------------------------------

    def handle(
        self,
        task: TaskBase[Any, V],
        *,
        executor: str | Executor | None = None,
        key: Hashable | None = None,
        policy: Policy = "replace",
        debounce: float | None = None,
    ) -> BackgroundTaskHandler[V]:
        """``BackgroundWorker.handle()``, on ``default_executor`` when none is given.

        Example::

            handler = bg_worker.handle(MyTask())     # on the test's backend
        """
        keyed: dict[str, Any] = {"key": key, "policy": policy, "debounce": debounce}
        if executor is not None or self.default_executor is None:
            return super().handle(task, executor=executor, **keyed)
        try:
            return super().handle(task, executor=self.default_executor, **keyed)
        except TypeError as exc:
            if not isinstance(task, TaskBase):
                raise
            name = self.default_executor if isinstance(self.default_executor, str) else "executor"
            raise TypeError(
                f"this test runs its tasks on the {name!r} backend (qbackground_backends "
                f"marker or --qbackground-backend), but {exc}; use a task of the right kind "
                "for each backend, or pass executor= explicitly"
            ) from exc

    def expect_unhandled(
        self,
        exc_type: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        match: str | None = None,
        *,
        count: int | None = None,
    ) -> UnhandledExpectation:
        """Declare that exceptions of ``exc_type`` (with a message matching the regex
        ``match``) will reach ``unhandled_exception``: at least one, and at most
        ``count`` if given. Without this the test fails when one arrives; with it the
        test fails when none does.

        Example::

            bg_worker.expect_unhandled(ValueError, match="bad row")
            with wait_task(bg_worker.handle(Parser(rows)).start()):
                pass
        """
        types = exc_type if isinstance(exc_type, tuple) else (exc_type,)
        if not types or not all(isinstance(t, type) and issubclass(t, BaseException) for t in types):
            raise TypeError(
                f"expect_unhandled() takes an exception class or a tuple of them, not {exc_type!r}"
            )
        if match is not None and not isinstance(match, str):
            raise TypeError(f"expect_unhandled() match must be a regex string, not {type(match).__name__}")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(f"expect_unhandled() count must be a positive int or None, not {count!r}")
        expectation = UnhandledExpectation(exc_type, match, count)
        self._expectations.append(expectation)
        # Errors that arrived before the declaration count too.
        for _, exc in self.unhandled:
            if not any(exc in e.caught for e in self._expectations) and expectation.accepts(exc):
                expectation.caught.append(exc)
        return expectation

    def origin(self, handler: BackgroundTaskHandler[Any]) -> list[traceback.FrameSummary] | None:
        """The stack (test code only) where ``handler.execute()`` was called, or None.

        Example::

            print(format_origin(bg_worker.origin(handler)))
        """
        return self._origins.get(handler)

    def executed(self) -> list[BackgroundTaskHandler[Any]]:
        """Every handler executed on this worker, in order.

        Example::

            assert all(h.status is TaskStatus.DONE for h in bg_worker.executed())
        """
        return list(self._executed)

    def handlers_of(self, task: TaskBase[Any, Any]) -> list[BackgroundTaskHandler[Any]]:
        """The handlers of ``task`` executed on this worker, in order.

        Example::

            [handler] = bg_worker.handlers_of(task)
        """
        return [h for h in self._executed if h.task is task]

    # -- the check --------------------------------------------------------------------------

    def finish(self, *, shutdown_timeout: float | None = None, check_leaks: bool | None = None) -> list[str]:
        """Shut down and return every problem found (empty: all clean). Idempotent.

        Reports tasks still alive, a task thread that did not stop within
        ``shutdown_timeout``, OS threads and child processes that did not exist before
        this worker (waited for up to ``leak_timeout`` s: a joined thread takes a moment to vanish),
        unexpected ``unhandled_exception`` errors and expectations never met.

        Example::

            problems = worker.finish()
        """
        if self._finished is not None:
            return self._finished
        if shutdown_timeout is None:
            shutdown_timeout = self.shutdown_timeout
        if check_leaks is None:
            check_leaks = self.check_leaks
        problems: list[str] = []
        for handler in self.active_handlers():
            problems.append(
                f"task {type(handler.task).__name__} was still alive at the end of the test "
                f"(status {handler.status.name}, {_elapsed(handler)}); it was started at:\n"
                f"{format_origin(self.origin(handler))}\n"
                "  Wait for it (wait_task(handler)) or cancel it before the test ends."
            )
        if not self.shutdown(timeout=shutdown_timeout):
            problems.append(
                f"a task's run() did not return within {shutdown_timeout:g} s of shutdown(): it "
                "ignores interruption (check lifecycle.is_interrupted() or let publish()/sleep() "
                "raise TaskInterruptedError)"
            )
        app = QCoreApplication.instance()
        if app is not None:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
        if check_leaks:
            problems.extend(self._leaks())
        problems.extend(self._unexpected())
        self._finished = problems
        return problems

    # -- internals ----------------------------------------------------------------------------

    def _track(self, handler: BackgroundTaskHandler[Any]) -> None:
        # Called by execute() on the GUI thread, after the executor accepted the handler:
        # the moment a task is "started". extract_stack costs ~20 µs: fine for tests.
        self._origins[handler] = _user_frames(traceback.extract_stack()[:-2])
        self._executed.append(handler)
        super()._track(handler)

    @Slot(object, object)  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _on_unhandled(self, task: TaskBase[Any, Any] | None, exc: BaseException) -> None:
        self.unhandled.append((task, exc))
        for expectation in self._expectations:
            if expectation.accepts(exc):
                expectation.caught.append(exc)
                return

    @Slot(object)  # PyQt6 delivers to the receiver's thread only for a declared slot
    def _on_timed_out(self, task: TaskBase[Any, Any]) -> None:
        self.timed_out.append(task)

    def _unexpected(self) -> list[str]:
        problems = []
        for task, exc in self.unhandled:
            if any(any(exc is caught for caught in e.caught) for e in self._expectations):
                continue
            where = type(task).__name__ if task is not None else "a UIAccessor call"
            started = ""
            for handler in self.handlers_of(task) if task is not None else []:
                started = f"; {where} was started at:\n{format_origin(self.origin(handler))}"
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
            problems.append(
                f"unexpected unhandled exception in {where}: {type(exc).__name__}: {exc}{started}\n"
                f"  (declare it with bg_worker.expect_unhandled({type(exc).__name__}) if the test "
                f"means it)\n{_indent(text)}"
            )
        for expectation in self._expectations:
            if not expectation.caught:
                problems.append(
                    f"expected an unhandled {expectation.describe()} but none reached "
                    f"unhandled_exception (got: {[type(e).__name__ for _, e in self.unhandled]})"
                )
        return problems

    def _leaks(self) -> list[str]:
        deadline = monotonic() + self.leak_timeout
        pause = threading.Event()
        pool_checked, pool_busy = False, 0
        while True:
            threads = os_thread_ids() - self._baseline_threads
            pooled = qt_pool_threads(threads)
            if pooled and not pool_checked:
                # Idle QThreadPool threads are Qt's, not leaks (see _probe): stop those
                # of the global pool, then allow Qt's private pools their threads.
                pool_checked = True
                pool_busy = stop_idle_qt_global_pool(max(0.0, deadline - monotonic()))
                continue
            if pooled and not pool_busy and len(pooled) <= qt_private_pool_limit():
                threads -= pooled
            children = {
                pid: child
                for pid, child in child_processes().items()
                if pid not in self._baseline_children
            }
            if (not threads and not children) or monotonic() >= deadline:
                break
            pause.wait(0.01)
        problems = []
        if pool_busy:
            problems.append(
                f"QThreadPool.globalInstance() still runs {pool_busy} task(s) "
                f"{self.leak_timeout:g} s after the test: a QRunnable it started did not finish"
            )
        if threads:
            names = "\n".join(f"    {describe_thread(tid)}" for tid in sorted(threads))
            problems.append(
                f"{len(threads)} thread(s) leaked: alive after shutdown() that did not exist "
                f"before the test:\n{names}"
            )
        if children:
            problems.append(
                f"{len(children)} child process(es) leaked:\n"
                + "\n".join(f"    {child}" for child in children.values())
            )
        return problems


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _elapsed(handler: BackgroundTaskHandler[Any]) -> str:
    elapsed = handler.elapsed
    return "never executed" if elapsed is None else f"executed {elapsed:.2f} s ago"


def checked_workers() -> list[CheckedWorker]:
    """Every ``CheckedWorker`` not yet garbage collected (for ``wait_task(task)``)."""
    return list(_checked_workers)
