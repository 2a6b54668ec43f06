"""Bad input: each row misuses the API once and expects an error that names the mistake.

Every case asserts the exception type *and* a fragment of its message that tells the
user what they did wrong (the argument, the method, or the state), so an error message
that degrades into a bare ``'NoneType' object is not callable`` fails here.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator
from dataclasses import FrozenInstanceError
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from qtpy.QtWidgets import QLabel, QWidget

from qbackground import (
    AsyncBackgroundTask,
    BackgroundTask,
    BackgroundTaskWrapper,
    BackgroundWorker,
    IllegalConcurrentAccessError,
    TaskInterruptedError,
    TaskLifeCycle,
    Retry,
    TaskQueueFullError,
    TaskStateError,
)
from qbackground.backends import ProcessExecutor
from qbackground.testing import CheckedWorker, wait_task

from .helpers import Gate


class Job(BackgroundTask[int, int]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        return 1


class AsyncJob(AsyncBackgroundTask[int, int]):
    async def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        return 1


class AsyncYielding(AsyncBackgroundTask[int, int]):
    async def run(self, lifecycle: TaskLifeCycle[int]) -> AsyncGenerator[int, None]:  # type: ignore[override]
        yield 1


class ListParams(Job):
    def get_params(self) -> Any:
        return [("key", "value")]


def _off_gui_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``fn`` on another thread and re-raise what it raised, here."""

    def call() -> None:
        caught: list[BaseException] = []

        def target() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
                caught.append(exc)

        thread = threading.Thread(target=target, name="not-the-gui-thread")
        thread.start()
        thread.join(10)
        if caught:
            raise caught[0]

    return call


def _executed(worker: BackgroundWorker) -> Any:
    handler = worker.handle(Job())
    handler.execute()
    return handler


def _in_task(worker: BackgroundWorker, misuse: Callable[[TaskLifeCycle[int]], Any]) -> Callable[[], Any]:
    """Make ``misuse`` run inside ``run()``; its error ends the task and is re-raised here."""

    class Misuser(BackgroundTask[int, int]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> int:
            misuse(lifecycle)
            return 0

        def handle_exception(self, exc: BaseException) -> bool:
            return True

    return lambda: worker.handle(Misuser()).start().get_result(10)


def _after_run(worker: BackgroundWorker) -> Callable[[], Any]:
    kept: list[TaskLifeCycle[int]] = []

    class Keeper(BackgroundTask[int, int]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> int:
            kept.append(lifecycle)
            return 0

    def call() -> None:
        worker.handle(Keeper()).start().get_result(10)
        kept[0].publish(1)

    return call


def _ended_group(worker: BackgroundWorker) -> Callable[[], Any]:
    group = worker.group()
    group.handle(Job()).start()
    group.get_results(timeout=10)

    def call() -> None:
        group.handle(Job())

    return call


def _queue_full(qapp: Any) -> Callable[[], Any]:
    def call() -> None:
        worker = BackgroundWorker(threads=1, max_queued=0)
        gate = Gate()
        try:
            worker.handle(gate).execute()
            worker.handle(Job()).execute()
        finally:
            gate.release.set()
            worker.shutdown(timeout=5)

    return call


def _strict_widget_call(worker: BackgroundWorker) -> Callable[[], Any]:
    label = QLabel("untouched")

    class Toucher(BackgroundTask[int, int]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> int:
            label.setText("from a task thread")
            return 0

        def handle_exception(self, exc: BaseException) -> bool:
            return True

    return lambda: worker.handle(Toucher()).start().get_result(10)


Case = tuple[str, Callable[[BackgroundWorker, Any], Callable[[], Any]], type[BaseException], str]

CASES: list[Case] = [
    # -- tasks ----------------------------------------------------------------------------
    ("negative timeout", lambda w, q: lambda: Job(timeout=-1), ValueError, r"timeout must not be negative"),
    ("NaN timeout", lambda w, q: lambda: Job(timeout=math.nan), ValueError, r"timeout must be a number of seconds, not NaN"),
    ("timeout as text", lambda w, q: lambda: Job(timeout="5"), TypeError, r"timeout must be a number of seconds.*not str"),  # type: ignore[arg-type]
    ("timeout as bool", lambda w, q: lambda: Job(timeout=True), TypeError, r"timeout must be a number.*not bool"),
    ("owner not a widget", lambda w, q: lambda: Job(owner="window"), TypeError, r"owner must be a QWidget.*not str"),  # type: ignore[arg-type]
    ("get_params() not a mapping", lambda w, q: lambda: w.handle(ListParams()), TypeError, r"ListParams\.get_params\(\) must return a Mapping or None, not list"),
    # -- retries (DESIGN §11) ---------------------------------------------------------------
    ("Retry(attempts=0)", lambda w, q: lambda: Retry(attempts=0), ValueError, r"attempts counts every run and must be at least 1, got 0"),
    ("Retry(attempts=2.5)", lambda w, q: lambda: Retry(attempts=2.5), TypeError, r"Retry attempts must be an int, not float"),  # type: ignore[arg-type]
    ("Retry(backoff=-1)", lambda w, q: lambda: Retry(backoff=-1), ValueError, r"Retry backoff must not be negative, got -1"),
    ("Retry(backoff=NaN)", lambda w, q: lambda: Retry(backoff=math.nan), ValueError, r"Retry backoff must be a finite number of seconds"),
    ("Retry(backoff='1')", lambda w, q: lambda: Retry(backoff="1"), TypeError, r"Retry backoff must be a number of seconds, not str"),  # type: ignore[arg-type]
    ("Retry(max_backoff < backoff)", lambda w, q: lambda: Retry(backoff=5, max_backoff=1), ValueError, r"max_backoff \(1.0\) must not be less than backoff \(5.0\)"),
    ("Retry(on=OSError)", lambda w, q: lambda: Retry(on=OSError), TypeError, r"on must be a tuple of exception classes: write on=\(OSError,\)"),  # type: ignore[arg-type]
    ("Retry(on=[OSError])", lambda w, q: lambda: Retry(on=[OSError]), TypeError, r"on must be a non-empty tuple of exception classes"),  # type: ignore[arg-type]
    ("Retry(on=())", lambda w, q: lambda: Retry(on=()), TypeError, r"on must be a non-empty tuple"),
    ("Retry(on=('OSError',))", lambda w, q: lambda: Retry(on=("OSError",)), TypeError, r"on must hold exception classes only; 'OSError' is not one"),  # type: ignore[arg-type]
    ("Retry(jitter=1)", lambda w, q: lambda: Retry(jitter=1), TypeError, r"Retry jitter must be True or False, not int"),  # type: ignore[arg-type]
    ("retry= not a Retry", lambda w, q: lambda: Job(retry=3), TypeError, r"retry must be a qbackground.Retry or None, not int"),  # type: ignore[arg-type]
    ("a frozen Retry", lambda w, q: lambda: setattr(Retry(), "attempts", 5), FrozenInstanceError, r"cannot assign to field 'attempts'"),
    ("an async generator run", lambda w, q: lambda: w.handle(AsyncYielding()), TypeError, r"AsyncYielding\.run is an async generator, which cannot return a result"),
    # -- worker construction ------------------------------------------------------------
    ("threads=0", lambda w, q: lambda: BackgroundWorker(threads=0), ValueError, r"threads must be at least 1"),
    ("threads=2.5", lambda w, q: lambda: BackgroundWorker(threads=2.5), TypeError, r"threads must be an int"),  # type: ignore[arg-type]
    ("max_queued=-1", lambda w, q: lambda: BackgroundWorker(max_queued=-1), ValueError, r"max_queued must be at least 0"),
    ("strict='on'", lambda w, q: lambda: BackgroundWorker(strict="on"), TypeError, r"strict must be a bool"),  # type: ignore[arg-type]
    ("process_grace=-1", lambda w, q: lambda: BackgroundWorker(process_grace=-1), ValueError, r"process_grace must be a positive"),
    ("worker off the GUI thread", lambda w, q: _off_gui_thread(BackgroundWorker), IllegalConcurrentAccessError, r"BackgroundWorker must be created on the GUI thread"),
    ("fork start method", lambda w, q: lambda: ProcessExecutor(start_method="fork"), ValueError, r"start_method must be 'spawn' or 'forkserver', not 'fork'"),
    # -- handle() ---------------------------------------------------------------------------
    ("handle(a string)", lambda w, q: lambda: w.handle("Job"), TypeError, r"handle\(\) takes a BackgroundTask instance, not str"),  # type: ignore[arg-type]
    ("handle(the class)", lambda w, q: lambda: w.handle(Job), TypeError, r"not the class Job: write handle\(Job\(\.\.\.\)\)"),  # type: ignore[arg-type]
    ("unknown executor", lambda w, q: lambda: w.handle(Job(), executor="gpu"), ValueError, r"unknown executor 'gpu'; known: asyncio, process, thread"),
    ("executor of a wrong type", lambda w, q: lambda: w.handle(Job(), executor=4), TypeError, r"executor must be a backend name or an Executor, not int"),  # type: ignore[arg-type]
    ("async task on threads", lambda w, q: lambda: w.handle(AsyncJob(), executor="thread"), TypeError, r"AsyncJob is an AsyncBackgroundTask .* not 'thread'"),
    ("async task on processes", lambda w, q: lambda: w.handle(AsyncJob(), executor="process"), TypeError, r"AsyncJob is an AsyncBackgroundTask .* not 'process'"),
    ("plain task on asyncio", lambda w, q: lambda: w.handle(Job(), executor="asyncio"), TypeError, r"Job\.run is not a coroutine function"),
    ("handle() off the GUI thread", lambda w, q: _off_gui_thread(lambda: w.handle(Job())), IllegalConcurrentAccessError, r"handle\(\) must be called on the GUI thread"),
    ("a key with an unknown policy", lambda w, q: lambda: w.handle(Job(), key="k", policy="latest"), ValueError, r"unknown policy 'latest'; use one of 'replace', 'queue', 'parallel'"),  # type: ignore[arg-type]
    ("policy not a str", lambda w, q: lambda: w.handle(Job(), key="k", policy=1), TypeError, r"policy must be one of .*not int"),  # type: ignore[arg-type]
    ("debounce < 0", lambda w, q: lambda: w.handle(Job(), key="k", debounce=-0.1), ValueError, r"debounce must be a number of seconds >= 0, got -0.1"),
    ("debounce without a key", lambda w, q: lambda: w.handle(Job(), debounce=0.2), ValueError, r"debounce needs a key"),
    ("an unhashable key", lambda w, q: lambda: w.handle(Job(), key=["a"]), TypeError, r"key must be hashable .*not list"),  # type: ignore[arg-type]
    ("a group used after it ended", lambda w, q: _ended_group(w), TaskStateError, r"handle\(\): this TaskGroup already ended; make a new one with worker.group\(\)"),
    ("group(max_parallel=0)", lambda w, q: lambda: w.group(max_parallel=0), ValueError, r"max_parallel must be at least 1 \(or None for no limit\), got 0"),
    ("handle() after shutdown", lambda w, q: lambda: (w.shutdown(), w.handle(Job())), TaskStateError, r"the worker was shut down; create a new BackgroundWorker"),
    # -- the handler ----------------------------------------------------------------------
    ("execute() twice", lambda w, q: lambda: _executed(w).execute(), TaskStateError, r"execute\(\) was already called on this handler"),
    ("execute() off the GUI thread", lambda w, q: _off_gui_thread(w.handle(Job()).execute), IllegalConcurrentAccessError, r"execute\(\) must be called on the GUI thread"),
    ("cancel() before execute()", lambda w, q: lambda: w.handle(Job()).cancel(), TaskStateError, r"cancel\(\) called before execute\(\)"),
    ("get_result() before execute()", lambda w, q: lambda: w.handle(Job()).get_result(), TaskStateError, r"get_result\(\) called before execute\(\)"),
    ("get_result(timeout=-1)", lambda w, q: lambda: _executed(w).get_result(timeout=-1), ValueError, r"get_result\(\) timeout must not be negative"),
    ("too many queued", lambda w, q: _queue_full(q), TaskQueueFullError, r"max_queued=0"),
    ("shutdown(timeout=-1)", lambda w, q: lambda: w.shutdown(timeout=-1), ValueError, r"shutdown\(\) timeout must not be negative"),
    # -- inside run() -------------------------------------------------------------------------
    ("set_total(-1)", lambda w, q: _in_task(w, lambda lc: lc.set_total(-1)), ValueError, r"set_total\(\) needs a positive total, got -1"),
    ("set_progress('x')", lambda w, q: _in_task(w, lambda lc: lc.set_progress("x")), TypeError, r"set_progress\(\) value must be a number, not str"),  # type: ignore[arg-type]
    ("set_message(5)", lambda w, q: _in_task(w, lambda lc: lc.set_message(5)), TypeError, r"set_message\(\) takes a str, not int"),  # type: ignore[arg-type]
    ("send_event(5, ...)", lambda w, q: _in_task(w, lambda lc: lc.send_event(5, None)), TypeError, r"send_event\(\) takes a str name, not int"),  # type: ignore[arg-type]
    ("publish() after run() returned", lambda w, q: _after_run(w), TaskStateError, r"publish\(\) called after run\(\) returned"),
    ("a widget call from a task (strict)", lambda w, q: _strict_widget_call(w), IllegalConcurrentAccessError, r"QLabel\.setText\(\) was called from a background task's thread"),
    ("check_ui_access() off the GUI thread", lambda w, q: _off_gui_thread(w.check_ui_access), IllegalConcurrentAccessError, r"must run on the GUI thread, not on 'not-the-gui-thread'"),
    ("get_ui_accessor(a string)", lambda w, q: lambda: w.get_ui_accessor("window"), TypeError, r"owner must be a QWidget or None, not str"),  # type: ignore[arg-type]
    ("access(None)", lambda w, q: lambda: w.get_ui_accessor().access(None), TypeError, r"UIAccessor\.access\(\) takes a callable with no arguments .*not NoneType"),  # type: ignore[arg-type]
    ("access_synchronously(5)", lambda w, q: lambda: w.get_ui_accessor().access_synchronously(5), TypeError, r"UIAccessor\.access_synchronously\(\) takes a callable .*not int"),  # type: ignore[arg-type]
    ("add_progress_listener(None)", lambda w, q: lambda: Job().add_progress_listener(None), TypeError, r"a progress listener needs on_progress\(\), on_done\(\) and on_cancel\(\); NoneType has no"),  # type: ignore[arg-type]
    ("sleep(-1)", lambda w, q: _in_task(w, lambda lc: lc.sleep(-1)), ValueError, r"sleep\(\) seconds must not be negative, got -1"),
    # -- the wrapper ------------------------------------------------------------------------
    ("wrapper of a non-task", lambda w, q: lambda: BackgroundTaskWrapper(task=5), TypeError, r"task must be a BackgroundTask or None, not int"),  # type: ignore[arg-type]
    ("wrapper of a non-worker", lambda w, q: lambda: BackgroundTaskWrapper(Job(), worker=5), TypeError, r"worker must be a BackgroundWorker or None, not int"),  # type: ignore[arg-type]
    ("wrapper restart without a task", lambda w, q: lambda: BackgroundTaskWrapper(worker=w).restart(), TypeError, r"needs a task"),
    # -- the testing helpers -------------------------------------------------------------------
    ("wait_task(a string)", lambda w, q: lambda: wait_task("handler"), TypeError, r"wait_task\(\) takes a BackgroundTaskHandler .*not str"),  # type: ignore[arg-type]
    ("wait_task(timeout=0)", lambda w, q: lambda: wait_task(_executed(w), timeout=0), ValueError, r"wait_task\(\) timeout must be a positive"),
    ("expect_unhandled('ValueError')", lambda w, q: lambda: CheckedWorker.expect_unhandled(w, "ValueError"), TypeError, r"expect_unhandled\(\) takes an exception class"),  # type: ignore[arg-type]
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 15
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "make", "error", "message"), CASES, ids=[case[0] for case in CASES])
def test_misuse(
    name: str,
    make: Callable[[BackgroundWorker, Any], Callable[[], Any]],
    error: type[BaseException],
    message: str,
    worker: BackgroundWorker,
    qapp: Any,
) -> None:
    if name.startswith("expect_unhandled"):
        checked = CheckedWorker(check_leaks=False)
        try:
            call = make(checked, qapp)
            with pytest.raises(error, match=message) as caught:
                call()
        finally:
            checked.finish()
    else:
        call = make(worker, qapp)
        with pytest.raises(error, match=message) as caught:
            call()
    assert type(caught.value) is error or isinstance(caught.value, error)
    assert not isinstance(caught.value, TaskInterruptedError)


def test_timeout_forms_that_are_fine() -> None:
    """The other side of the table: what is *not* a mistake."""
    assert Job(timeout=0).timeout is None and Job(timeout=None).timeout is None
    assert Job(timeout=timedelta(milliseconds=1500)).timeout == 1.5
    assert Job(owner=QWidget()).owner is not None
