"""Static typing contract of ``qbackground.tasker``: ``mypy --strict`` must accept this file
(tests/test_tasker.py::test_the_tasker_typing_cases_pass_mypy_strict).

``Task.handler`` is the handler itself, not an Optional one: code reads it right after
``run_thread()`` / ``run_process()`` / ``add_coroutine()`` returned, with no assert.
Lines marked ``# type: ignore[code]`` MUST be type errors (``warn_unused_ignores`` is
on). This file is never executed; it only has to type-check.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, assert_type

from qbackground import BackgroundTaskHandler, ExecutionContext, TaskStatus
from qbackground.tasker import Task, TaskManager, task_mgr


def lines(context: ExecutionContext[Any], path: str) -> int:
    return len(path)


async def fetch(context: ExecutionContext[Any], url: str) -> bytes:
    return url.encode()


def handler_needs_no_assert(manager: TaskManager) -> None:
    task = task_mgr.run_thread(lines, "a.csv")
    assert_type(task.handler, BackgroundTaskHandler[int])
    assert_type(task.handler.elapsed, float | None)
    assert_type(task.handler.status, TaskStatus)
    assert_type(task.handler.future(), Future[int])
    assert_type(task_mgr.run_process(lines, "a.csv").handler, BackgroundTaskHandler[int])
    assert_type(task_mgr.add_coroutine(fetch, "http://example.com").handler, BackgroundTaskHandler[bytes])
    assert_type(manager.run_thread(lines, "b.csv").handler.get_result(), int)
    seconds: float = task.handler.elapsed or 0.0
    wrong: BackgroundTaskHandler[str] = task.handler  # type: ignore[assignment]


def in_when_done(task: Task[int]) -> None:
    if task.handler.is_done():
        assert_type(task.result(), int)


def rayforge_parity(manager: TaskManager) -> None:
    from qbackground.tasker import CancelHandle, TaskContext
    from qbackground.tasker.progress import NoOpProgressContext, ProgressContext, set_progress

    handle: CancelHandle = task_mgr.schedule_delayed_on_main_thread(100, print, "x")
    handle.cancel()
    assert_type(manager.wait_until_settled(1000), bool)
    assert_type(manager.cancel_task_by_id(3), bool)
    task: Task[int] = task_mgr.run_process(lines, "a.csv", visible=False)
    assert_type(task.args, tuple[Any, ...])

    def step(context: ProgressContext | None) -> None:
        set_progress(context, 0.5, "half")

    def work(context: TaskContext) -> None:
        step(context)  # a task's context is a ProgressContext
        step(context.sub_context(0.0, 0.5))
        ok: bool = context.send_event_and_wait("frame", b"", timeout=1.0)

    step(NoOpProgressContext())

    async def on_loop() -> None:
        value: int = await manager.run_on_main_thread(len, "abc")
        other: int = await manager.run_in_executor(len, "abc")
        wrong: str = await manager.run_on_main_thread(len, "abc")  # type: ignore[arg-type]


def retry_types(manager: TaskManager) -> None:
    from qbackground import Retry

    policy = Retry(attempts=3, on=(OSError,))
    assert_type(manager.run_thread(lines, "a.csv", retry=policy), Task[int])
    assert_type(task_mgr.run_process(lines, "a.csv", retry=policy), Task[int])
    assert_type(task_mgr.add_coroutine(fetch, "http://example.com", retry=policy), Task[bytes])

    def attempts(context: ExecutionContext[Any]) -> int:
        return context.attempt

    manager.run_thread(attempts, retry=policy)
    manager.run_thread(lines, "a.csv", retry=3)  # type: ignore[arg-type]
