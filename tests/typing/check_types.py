"""Static typing contract: ``mypy --strict`` must accept this file (tests/test_typing.py).

Lines marked ``# type: ignore[code]`` MUST be type errors: the project's mypy config
sets ``warn_unused_ignores``, so an ignore that is not needed fails the check. This file
is never executed; it only has to type-check.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from concurrent.futures import Future
from typing import Any, assert_type

from qtpy.QtWidgets import QWidget

from qbackground import (
    AsyncBackgroundTask,
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundTaskWrapper,
    BackgroundWorker,
    ExecutionContext,
    ProcessCrashedError,
    ProgressListener,
    Retry,
    TaskLifeCycle,
    TaskStatus,
    UIAccessor,
    background_worker,
)


class Count(BackgroundTask[int, str]):
    """Publishes ints, returns a str."""

    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        lifecycle.publish(1)
        lifecycle.publish(1, 2, 3)
        lifecycle.publish("x")  # type: ignore[arg-type]
        lifecycle.publish(1, None)  # type: ignore[arg-type]
        lifecycle.set_message(42)  # type: ignore[arg-type]
        assert_type(lifecycle.is_cancelled(), bool)
        assert_type(lifecycle.is_interrupted(), bool)
        assert_type(lifecycle.params, Mapping[str, Any])
        assert_type(lifecycle.sub_context(0.0, 0.5), TaskLifeCycle[int])
        lifecycle.sub_context(0.0, 0.5).publish("x")  # type: ignore[arg-type]
        return "counted"

    def progress(self, changes: list[int]) -> None:
        assert_type(changes, list[int])

    def done(self, result: str) -> None:
        assert_type(result, str)


class ReturnsWrongType(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        return 5  # type: ignore[return-value]


class WrongRunLifecycle(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[str]) -> str:  # type: ignore[override]
        return ""


class WrongDoneParameter(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        return ""

    def done(self, result: int) -> None:  # type: ignore[override]
        pass


class WrongProgressParameter(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        return ""

    def progress(self, changes: list[str]) -> None:  # type: ignore[override]
        pass


class UsesExecutionContext(BackgroundTask[float, None]):
    def run(self, lifecycle: ExecutionContext[float]) -> None:
        lifecycle.publish(0.5)
        lifecycle.publish(b"bytes")  # type: ignore[arg-type]


class AsyncCount(AsyncBackgroundTask[int, str]):
    """The same contract with ``async def run``."""

    async def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        lifecycle.publish(1)
        lifecycle.publish("x")  # type: ignore[arg-type]
        return "counted"

    def done(self, result: str) -> None:
        assert_type(result, str)


class AsyncRunNotACoroutine(AsyncBackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> str:  # type: ignore[override]
        return ""


class IntListener(ProgressListener[int, str]):
    def on_progress(self, changes: list[int]) -> None:
        assert_type(changes, list[int])

    def on_done(self, result: str) -> None:
        assert_type(result, str)


class StrListener(ProgressListener[str, str]):
    pass


def task_callbacks_carry_t_and_v(task: BackgroundTask[int, str]) -> None:
    task.progress([1, 2])
    task.progress(["x"])  # type: ignore[list-item]
    task.done("ok")
    task.done(1)  # type: ignore[arg-type]
    assert_type(task.handle_exception(ValueError()), bool)
    assert_type(task.handle_timeout_exception(), bool)
    assert_type(task.timeout, float | None)
    assert_type(task.owner, QWidget | None)
    task.add_progress_listener(IntListener())
    task.add_progress_listener(StrListener())  # type: ignore[arg-type]
    assert_type(task.progress_listeners, tuple[ProgressListener[int, str], ...])


def handler_types(worker: BackgroundWorker) -> None:
    handler = worker.handle(Count())
    assert_type(handler, BackgroundTaskHandler[str])
    handler.execute()
    assert_type(handler.get_result(), str)
    assert_type(handler.get_result(timeout=1.5), str)
    number: int = handler.get_result()  # type: ignore[assignment]
    assert_type(handler.cancel(), bool)
    assert_type(handler.status, TaskStatus)
    assert_type(handler.is_alive(), bool)
    assert_type(handler.is_done(), bool)
    assert_type(handler.is_cancelled(), bool)
    assert_type(handler.future(), Future[str])
    assert_type(handler.start(), BackgroundTaskHandler[str])
    handler.task.done("ok")  # the task's V is the handler's V
    handler.task.done(1)  # type: ignore[arg-type]
    assert_type(handler.message, str | None)
    assert_type(handler.fraction, float | None)
    assert_type(handler.elapsed, float | None)
    assert_type(worker.handle(UsesExecutionContext()), BackgroundTaskHandler[None])
    async_handler = worker.handle(AsyncCount())
    assert_type(async_handler, BackgroundTaskHandler[str])
    assert_type(async_handler.get_result(), str)
    worker.handle(Count, executor="thread")  # type: ignore[arg-type]
    del number


async def awaiting(worker: BackgroundWorker) -> None:
    value = await worker.handle(Count())
    assert_type(value, str)


def wrapper_types(worker: BackgroundWorker) -> None:
    wrapper = BackgroundTaskWrapper(Count(), worker)
    assert_type(wrapper, BackgroundTaskWrapper[int, str])
    assert_type(wrapper.restart(), BackgroundTaskHandler[str])
    assert_type(wrapper.get_result(), str)
    assert_type(wrapper.handler, BackgroundTaskHandler[str] | None)
    wrapper.restart(UsesExecutionContext())  # type: ignore[arg-type]


def worker_types(owner: QWidget) -> None:
    worker = background_worker()
    assert_type(worker, BackgroundWorker)
    accessor = worker.get_ui_accessor(owner)
    assert_type(accessor, UIAccessor)
    assert_type(accessor.access_synchronously(lambda: 3), int)
    assert_type(worker.shutdown(timeout=1.0), bool)
    assert_type(worker.active_handlers(), list[BackgroundTaskHandler[Any]])
    worker.handle(object())  # type: ignore[arg-type]


def tasker_types() -> None:
    from qbackground import ExecutionContext
    from qbackground.tasker import Task, task_mgr

    def lines(context: ExecutionContext[Any], path: str) -> int:
        return len(path)

    async def fetch(context: ExecutionContext[Any], url: str) -> bytes:
        return url.encode()

    assert_type(task_mgr.run_thread(lines, "a.csv"), Task[int])
    assert_type(task_mgr.run_process(lines, "a.csv", key="lines"), Task[int])
    assert_type(task_mgr.add_coroutine(fetch, "http://example.com"), Task[bytes])
    assert_type(task_mgr.run_thread(lines, "a.csv").result(), int)
    task_mgr.run_thread(lines, when_done=3)  # type: ignore[arg-type]


def submit_types(owner: QWidget) -> None:
    from functools import partial

    from qbackground import TaskLifeCycle, current_lifecycle

    def area(width: int, height: float) -> float:
        return width * height

    async def fetch(url: str) -> bytes:
        return url.encode()

    def scaled(value: int, *, factor: int) -> int:
        return value * factor

    def show_area(value: float) -> None: ...

    def show_text(value: str) -> None: ...

    worker = background_worker()
    assert_type(worker.submit(area, 2, 3.5), BackgroundTaskHandler[float])
    assert_type(worker.submit(area, 2, 3.5).get_result(), float)
    assert_type(worker.submit(fetch, "http://example.com"), BackgroundTaskHandler[bytes])
    assert_type(worker.submit(partial(scaled, factor=2), 3), BackgroundTaskHandler[int])
    assert_type(
        worker.submit(area, 2, 3.0, owner=owner, timeout=5, executor="process", on_result=show_area),
        BackgroundTaskHandler[float],
    )
    assert_type(current_lifecycle(), TaskLifeCycle[Any])
    # Keys (DESIGN §8): the policy is a Literal, the debounce a number.
    assert_type(worker.submit(area, 2, 3.5, key="area", policy="queue", debounce=0.2), BackgroundTaskHandler[float])
    assert_type(worker.active_handler("area"), BackgroundTaskHandler[Any] | None)
    worker.submit(area, 2, 3.5, key="area", policy="latest")  # type: ignore[call-arg, call-overload]
    # Wrong calls fail; mypy words them against the first overload (the async one).
    worker.submit(area, "2", 3.5)  # type: ignore[call-arg, arg-type]
    worker.submit(area, 2)  # type: ignore[arg-type]
    worker.submit(area, 2, 3.5, on_result=show_text)  # type: ignore[call-arg, arg-type]
    worker.submit(area, 2, 3.5, owner=3)  # type: ignore[call-arg, call-overload]


# -- DESIGN §11: generator tasks and retries --------------------------------------------


class CountByYielding(BackgroundTask[int, str]):
    """``run`` written as a generator: it yields T (published) and returns V."""

    def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[int, None, str]:
        for i in range(3):
            yield i
        assert_type(lifecycle.attempt, int)
        return "counted"


class YieldsWrongItems(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[str, None, str]:  # type: ignore[override]
        yield "x"
        return "counted"


class YieldingReturnsWrongType(BackgroundTask[int, str]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[int, None, str]:
        yield 1
        return 5  # type: ignore[return-value]


class RetriedRead(BackgroundTask[str, bytes]):
    def __init__(self) -> None:
        super().__init__(timeout=10, retry=Retry(attempts=4, backoff=0.1, on=(OSError, ProcessCrashedError)))

    def run(self, lifecycle: TaskLifeCycle[str]) -> bytes:
        lifecycle.publish(f"attempt {lifecycle.attempt}")
        return b""

    def handle_retry(self, attempt: int, exc: BaseException) -> bool:
        return attempt < 3


class WrongHandleRetry(BackgroundTask[str, bytes]):
    def run(self, lifecycle: TaskLifeCycle[str]) -> bytes:
        return b""

    def handle_retry(self, attempt: str, exc: BaseException) -> bool:  # type: ignore[override]
        return True


def retry_types(worker: BackgroundWorker) -> None:
    policy = Retry(attempts=3, backoff=0.5, max_backoff=30.0, jitter=True, on=(OSError,))
    assert_type(policy.attempts, int)
    assert_type(policy.delay(1), float)
    assert_type(CountByYielding(retry=policy).retry, Retry | None)
    assert_type(worker.handle(CountByYielding()).get_result(), str)
    assert_type(worker.handle(RetriedRead()).attempt, int)
    Retry(attempts="3")  # type: ignore[arg-type]
    Retry(on=OSError)  # type: ignore[arg-type]
    CountByYielding(retry=3)  # type: ignore[arg-type]
    CountByYielding(10, None, policy)  # type: ignore[call-arg]

    def area(width: int, height: float) -> float:
        return width * height

    assert_type(worker.submit(area, 2, 3.5, retry=policy), BackgroundTaskHandler[float])
