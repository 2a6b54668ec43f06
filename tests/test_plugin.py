"""The pytest plugin (``qbackground.testing.plugin``), tested on generated test files.

Each ``pytester`` run executes a generated test module in this process (in-process
runs: no new interpreter, no second PySide6 import), with the plugin loaded through its
``pytest11`` entry point exactly as a user's project gets it.
"""

from __future__ import annotations

import textwrap
import threading
from typing import Any

import pytest
from qtpy.QtWidgets import QApplication

from qbackground import BackgroundTask, TaskLifeCycle, TaskStateError, TaskStatus
from qbackground.qt import BINDINGS, qt_binding
from qbackground.tasker import TaskManager
from qbackground.testing import CheckedWorker, WaitTaskTimeout, wait_task

HEADER = '''
import asyncio
import os
import subprocess
import sys
import threading

import pytest

from qbackground import AsyncBackgroundTask, BackgroundTask, TaskStatus
from qbackground.testing import WaitTaskTimeout, wait_task


class Count(BackgroundTask[int, int]):
    def __init__(self, n):
        super().__init__()
        self.n = n
        self.got = []

    def run(self, lifecycle):
        for i in range(self.n):
            lifecycle.publish(i)
        return self.n

    def progress(self, changes):
        self.got.extend(changes)


class ACount(AsyncBackgroundTask[int, int]):
    def __init__(self, n):
        super().__init__()
        self.n = n
        self.got = []

    async def run(self, lifecycle):
        for i in range(self.n):
            await asyncio.sleep(0)
            lifecycle.publish(i)
        return self.n

    def progress(self, changes):
        self.got.extend(changes)


class Forever(BackgroundTask[int, int]):
    def run(self, lifecycle):
        lifecycle.set_message("polishing the last row")
        lifecycle.publish(7, 8, 9)
        while True:
            lifecycle.sleep(0.005)


class Boom(BackgroundTask[int, int]):
    def run(self, lifecycle):
        raise ValueError("bad row 12")


def make(kind, n):
    return ACount(n) if kind == "asyncio" else Count(n)
'''


def run(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makeini(f"[pytest]\nqt_api = {qt_binding()}\n")
    pytester.makepyfile(test_generated=HEADER + textwrap.dedent(body))
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def test_passing_tests_pass(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        '''
        def test_context_manager_with_a_handler(bg_worker):
            task = Count(5)
            handler = bg_worker.handle(task)
            with wait_task(handler, timeout=5) as waited:
                handler.execute()
            assert waited.handler is handler and waited.status is TaskStatus.DONE
            assert task.got == [0, 1, 2, 3, 4]

        def test_context_manager_with_a_task(bg_worker):
            task = Count(3)
            with wait_task(task) as waited:
                bg_worker.handle(task).execute()
            assert waited.status is TaskStatus.DONE
            # the same task again: only the new handler counts
            with wait_task(task) as again:
                bg_worker.handle(task).execute()
            assert again.handler is not waited.handler and len(bg_worker.executed()) == 2

        def test_called_form(bg_worker):
            handler = bg_worker.handle(Count(2)).start()
            assert wait_task(handler).handler is handler
            assert handler.status is TaskStatus.DONE

        def test_cancel_in_the_block(bg_worker):
            handler = bg_worker.handle(Forever()).start()
            with wait_task(handler, now=False) as waited:
                handler.cancel()
            assert waited.status is TaskStatus.CANCELLED

        def test_expected_unhandled(bg_worker):
            expectation = bg_worker.expect_unhandled(ValueError, match="bad row")
            wait_task(bg_worker.handle(Boom()).start())
            assert [type(e) for e in expectation.caught] == [ValueError]

        def test_expected_after_the_fact(bg_worker):
            wait_task(bg_worker.handle(Boom()).start())
            bg_worker.expect_unhandled(ValueError)

        def test_strict_worker(bg_worker):
            assert bg_worker.strict

        @pytest.mark.qbackground(threads=1, processes=1)
        def test_marker_settings(bg_worker):
            assert bg_worker.threads == 1

        @pytest.mark.qbackground_backends("thread", "process", "asyncio")
        def test_each_backend(bg_worker, bg_executor):
            task = make(bg_executor, 4)
            handler = bg_worker.handle(task)          # runs on bg_executor
            with wait_task(handler, timeout=30):
                handler.execute()
            assert handler.status is TaskStatus.DONE and task.got == [0, 1, 2, 3]

        def test_no_backend_marker(bg_executor):
            assert bg_executor is None
        ''',
        "-v",
    )
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(
        ["*test_each_backend?thread? PASSED*", "*test_each_backend?process? PASSED*", "*test_each_backend?asyncio? PASSED*"]
    )


def test_failures_name_the_task_and_where_it_started(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        '''
        def test_alive_at_the_end(bg_worker):
            bg_worker.handle(Forever()).execute()   # never waited for

        def test_unexpected_unhandled(bg_worker):
            wait_task(bg_worker.handle(Boom()).start())

        def test_expected_but_never_came(bg_worker):
            bg_worker.expect_unhandled(KeyError, match="nope")
            wait_task(bg_worker.handle(Count(1)).start())

        def test_wait_times_out_and_says_what_it_saw(bg_worker):
            handler = bg_worker.handle(Forever()).start()
            try:
                wait_task(handler, timeout=0.3)
            finally:
                handler.cancel()

        @pytest.mark.qbackground(leak_timeout=0.2)
        def test_thread_leak(bg_worker):
            threading.Thread(target=threading.Event().wait, args=(1.0,), name="forgotten", daemon=True).start()

        @pytest.mark.qbackground(leak_timeout=0.2)
        def test_process_leak(bg_worker):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])

        class Deaf(BackgroundTask[int, int]):
            started = threading.Event()

            def run(self, lifecycle):
                self.started.set()
                threading.Event().wait(1.0)   # never looks at the lifecycle

        @pytest.mark.qbackground(shutdown_timeout=0.1, leak_timeout=0.1)
        def test_task_that_ignores_interruption(bg_worker):
            task = Deaf()
            handler = bg_worker.handle(task).start()
            assert task.started.wait(5)
            handler.cancel()

        @pytest.mark.qbackground_backends("asyncio")
        def test_wrong_kind_for_the_backend(bg_worker, bg_executor):
            bg_worker.handle(Count(1))
        ''',
    )
    result.assert_outcomes(failed=8)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*test_alive_at_the_end*",
            "*task Forever was still alive at the end of the test (status *, executed * s ago); it was started at:",
            "*test_generated.py:*in test_alive_at_the_end",
            "*bg_worker.handle(Forever()).execute()*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*unexpected unhandled exception in Boom: ValueError: bad row 12; Boom was started at:",
            "*in test_unexpected_unhandled",
            "*declare it with bg_worker.expect_unhandled(ValueError)*",
        ]
    )
    assert "expected an unhandled KeyError matching 'nope' but none reached unhandled_exception" in out
    result.stdout.fnmatch_lines(
        [
            "E * qbackground.testing.WaitTaskTimeout: wait_task: Forever did not reach its terminal callback "
            "within 0.3 s. Observed: status RUNNING; 3 progress item(s) delivered while waiting, the last "
            "ones [[]7, 8, 9[]]; last message 'polishing the last row'*it was started at:",
            "E *test_generated.py:* in test_wait_times_out_and_says_what_it_saw",
        ]
    )
    result.stdout.fnmatch_lines(["*1 thread(s) leaked*", "*Python daemon thread 'forgotten'*"])
    result.stdout.fnmatch_lines(["*1 child process(es) leaked:*", "*time.sleep(1)*"])
    assert "did not return within 0.1 s of shutdown(): it ignores interruption" in out
    assert "this test runs its tasks on the 'asyncio' backend" in out


def test_option_runs_tests_on_the_chosen_backends(pytester: pytest.Pytester) -> None:
    body = '''
        def test_unmarked(bg_worker, bg_executor):
            task = make(bg_executor, 2)
            wait_task(bg_worker.handle(task).start(), timeout=30)
            assert task.got == [0, 1]

        @pytest.mark.qbackground_backends("thread", "asyncio")
        def test_marked(bg_worker, bg_executor):
            assert bg_executor in ("thread", "asyncio")
        '''
    result = run(pytester, body, "-v", "--qbackground-backend=process,asyncio")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        ["*test_unmarked?process? PASSED*", "*test_unmarked?asyncio? PASSED*", "*test_marked?asyncio? PASSED*"]
    )
    result = run(pytester, body, "--qbackground-backend=gpu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown qbackground backend 'gpu'; known: thread, process, asyncio*"])


def test_marker_misuse_is_reported(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        '''
        @pytest.mark.qbackground(thraeds=2)
        def test_typo(bg_worker):
            pass
        ''',
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown setting(s) [[]'thraeds'[]]*"])


# -- the helpers, used directly ---------------------------------------------------------------


class _Quick(BackgroundTask[int, int]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        return 1


def test_wait_task_bad_input(qapp: QApplication) -> None:
    worker = CheckedWorker(check_leaks=False)
    try:
        with pytest.raises(TypeError, match="takes a BackgroundTaskHandler .* not str"):
            wait_task("handler")  # type: ignore[arg-type]
        handler = worker.handle(_Quick())
        with pytest.raises(ValueError, match="timeout must be a positive"):
            wait_task(handler, timeout=-1)
        with pytest.raises(TypeError, match="timeout must be a number of seconds"):
            wait_task(handler, timeout="1")  # type: ignore[arg-type]
        with pytest.raises(TaskStateError, match="_Quick was never executed; call handler.execute()"):
            wait_task(handler, now=True)
        with pytest.raises(TaskStateError, match="no handler of _Quick was executed inside the with block"):
            with wait_task(_Quick()):
                pass
        with pytest.raises(TypeError, match="takes an exception class"):
            worker.expect_unhandled("ValueError")  # type: ignore[arg-type]
        errors: list[BaseException] = []

        def off_gui() -> None:
            try:
                wait_task(handler)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        thread = threading.Thread(target=off_gui)
        thread.start()
        thread.join()
        assert "wait_task() must be called on the GUI thread" in str(errors[0])
    finally:
        assert worker.finish() == []


def test_wait_task_timeout_is_a_timeout_error(qapp: QApplication) -> None:
    worker = CheckedWorker()
    release = threading.Event()

    class Slow(BackgroundTask[int, int]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> int:
            release.wait(5)
            return 1

    try:
        handler = worker.handle(Slow()).start()
        with pytest.raises(TimeoutError) as caught:
            wait_task(handler, timeout=0.05)
        assert isinstance(caught.value, WaitTaskTimeout)
        assert "status RUNNING; no progress() delivered while waiting" in str(caught.value)
        release.set()
        assert wait_task(handler).status is TaskStatus.DONE
    finally:
        release.set()
        assert worker.finish() == []


def test_finish_is_idempotent_and_reports_once(qapp: QApplication) -> None:
    worker = CheckedWorker()
    worker.handle(_Quick()).start()  # not waited for: may still be alive
    first = worker.finish()
    assert worker.finish() is first
    assert all("_Quick" in problem for problem in first)
    assert worker.is_shut_down


# -- Qt's own thread pools are not leaks; threads a test leaves behind are -----------------

WIDGETS_BODY = '''
    import threading

    from qtpy.QtWidgets import QMainWindow

    from qbackground import BackgroundTask
    from qbackground.testing import wait_task
    from qbackground.widgets import BackgroundWorkProgressWindow, TaskStatusWidget


    class Held(BackgroundTask[int, str]):
        def __init__(self, owner=None):
            super().__init__(owner=owner)
            self.release = threading.Event()

        def run(self, lifecycle):
            lifecycle.set_message("importing")
            lifecycle.publish(1)
            while not self.release.is_set():
                lifecycle.sleep(0.005)
            return "done"


    def test_indeterminate_progress_window(bg_worker, qtbot):
        owner = QMainWindow()
        qtbot.addWidget(owner)
        owner.show()
        task = Held(owner=owner)
        window = BackgroundWorkProgressWindow.show(task, worker=bg_worker)   # no total: busy bar
        qtbot.waitExposed(window)
        handler = bg_worker.handlers_of(task)[0]
        qtbot.waitUntil(lambda: handler.message == "importing")
        qtbot.wait(300)                     # the busy bar animates meanwhile
        task.release.set()
        wait_task(handler)


    def test_status_widget_with_a_running_task(bg_worker, qtbot):
        widget = TaskStatusWidget(bg_worker)
        qtbot.addWidget(widget)
        widget.show()
        task = Held()
        handler = bg_worker.handle(task).start()
        qtbot.waitUntil(widget.isVisible)
        qtbot.waitUntil(lambda: handler.message == "importing")
        qtbot.wait(300)
        task.release.set()
        wait_task(handler)
'''


def test_the_library_s_own_widgets_pass_cleanly_under_bg_worker(pytester: pytest.Pytester) -> None:
    # A fresh interpreter: Qt's pool threads must be started by these tests, not
    # inherited from earlier ones (they idle for 30 s before they exit).
    pytester.makeini(f"[pytest]\nqt_api = {qt_binding()}\n")
    pytester.makepyfile(test_widgets_generated=textwrap.dedent(WIDGETS_BODY))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", timeout=120)
    assert "leaked" not in result.stdout.str()
    result.assert_outcomes(passed=2)


def test_threads_the_test_leaves_behind_are_still_reported(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        '''
        from qtpy.QtCore import QThread, QThreadPool


        @pytest.fixture
        def release():
            event = threading.Event()
            yield event
            event.set()                                    # after the leak check
            assert QThreadPool.globalInstance().waitForDone(5000)


        class Stuck(QThread):
            def __init__(self, release):
                super().__init__()
                self.release = release
                self.setObjectName("stuck-qthread")

            def run(self):
                self.release.wait(5)


        @pytest.fixture
        def stuck(release):
            thread = Stuck(release)
            yield thread
            release.set()
            assert thread.wait(5000)


        @pytest.mark.qbackground(leak_timeout=0.2)
        def test_qthread_leak(bg_worker, stuck):
            stuck.start()

        @pytest.mark.qbackground(leak_timeout=0.2)
        def test_global_pool_task_leak(bg_worker, release):
            QThreadPool.globalInstance().start(lambda: release.wait(5))
        ''',
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*test_qthread_leak*", "*1 thread(s) leaked*", "*non-Python thread 'stuck-qthread'*a QThread*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*test_global_pool_task_leak*",
            "*QThreadPool.globalInstance() still runs 1 task(s) 0.2 s after the test*",
            "*1 thread(s) leaked*",
            "*non-Python thread 'Thread (pooled)'*a QThreadPool's thread*",
        ]
    )


# -- wait_task with a qbackground.tasker.Task ----------------------------------------------


def _count(context: Any, n: int) -> int:
    for i in range(n):
        context.set_progress(i / n)
    return n


def test_wait_task_takes_a_tasker_task(qapp: QApplication) -> None:
    worker = CheckedWorker()
    manager = TaskManager(worker)
    release = threading.Event()

    def slow(context: Any) -> str:
        context.set_message("halfway through")
        release.wait(5)
        return "slow"

    try:
        task = manager.run_thread(_count, 3, key="count")
        waited = wait_task(task)
        assert waited.handler is task.handler and waited.status is TaskStatus.DONE
        assert task.get_status() == "completed" and task.result() == 3

        held = manager.run_thread(slow, key="slow")
        with pytest.raises(WaitTaskTimeout) as caught:
            wait_task(held, timeout=0.3)
        text = str(caught.value)
        assert text.startswith("wait_task: task ") and "(key 'slow') did not reach its terminal callback within 0.3 s" in text
        assert "Observed: status RUNNING" in text and "last message 'halfway through'" in text
        with wait_task(held, now=False) as waited:       # the block ends it
            release.set()
        assert waited.status is TaskStatus.DONE and held.result() == "slow"

        # From another thread: the GUI thread starts it later; wait_task waits for that.
        box: list[Any] = []
        thread = threading.Thread(target=lambda: box.append(manager.run_thread(_count, 2)))
        thread.start()
        thread.join()
        assert wait_task(box[0]).status is TaskStatus.DONE and box[0].result() == 2

        # Cancelled before the GUI thread started it: it never runs; nothing to wait for.
        def submit_and_cancel() -> None:
            submitted = manager.run_thread(_count, 2)
            submitted.cancel()
            box.append(submitted)

        thread = threading.Thread(target=submit_and_cancel)
        thread.start()
        thread.join()
        with pytest.raises(TaskStateError, match="nothing to wait for: .*cancelled before it started"):
            wait_task(box[-1])
    finally:
        release.set()
        assert worker.finish() == []


def test_a_pytest_qt_setting_for_the_other_binding_is_a_usage_error(pytester: pytest.Pytester) -> None:
    other = next(b for b in BINDINGS if b != qt_binding())
    pytester.makeini(f"[pytest]\nqt_api = {other}\n")
    pytester.makepyfile(test_generated="def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"ERROR: the qt_api ini option asks pytest-qt for '{other}', but qbackground runs on "
        f"'{qt_binding()}' (QT_API='{qt_binding()}'). Set QT_API={other} so both use the same Qt "
        "binding (or drop the pytest-qt setting)"
    ])
