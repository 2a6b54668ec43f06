"""Module-level functions for test_submit.py (process and Dask pickle them by reference)."""

from __future__ import annotations

import os
import threading

from qbackground import AsyncBackgroundTask, BackgroundTask, TaskLifeCycle, TaskStateError, current_lifecycle


def add(a: int, b: int) -> int:
    return a + b


async def add_async(a: int, b: int) -> int:
    return a + b


def count(n: int) -> int:
    """Publishes 0..n-1 through the current lifecycle, then returns n."""
    lifecycle = current_lifecycle()
    for i in range(n):
        lifecycle.publish(i)
    return n


async def count_async(n: int) -> int:
    lifecycle = current_lifecycle()
    for i in range(n):
        lifecycle.publish(i)
    return n


def fail(message: str) -> None:
    raise ValueError(message)


async def fail_async(message: str) -> None:
    raise ValueError(message)


def wait_for_cancel(_: object = None) -> str:
    """Blocks until the task is interrupted (cancel, timeout), reporting it started."""
    lifecycle = current_lifecycle()
    lifecycle.publish("started")
    while True:
        lifecycle.sleep(0.05)  # raises TaskInterruptedError once cancelled or timed out


async def wait_for_cancel_async(_: object = None) -> str:
    import asyncio

    current_lifecycle().publish("started")
    await asyncio.sleep(60)
    return "never delivered"


def where(_: object = None) -> tuple[int, int]:
    """The process and thread that ran it."""
    return os.getpid(), threading.get_ident()


def scaled(value: int, *, factor: int) -> int:
    return value * factor


async def scaled_async(value: int, *, factor: int) -> int:
    return value * factor


async def where_async(_: object = None) -> tuple[int, int]:
    return os.getpid(), threading.get_ident()


def outside() -> str:
    """current_lifecycle() outside a task: the error text."""
    try:
        current_lifecycle()
    except TaskStateError as exc:
        return str(exc)
    return "no error"


class SameLifecycle(BackgroundTask[None, bool]):
    """A class-based task: current_lifecycle() is the lifecycle run() was given."""

    def run(self, lifecycle: TaskLifeCycle[None]) -> bool:
        return current_lifecycle() is lifecycle


class AsyncSameLifecycle(AsyncBackgroundTask[None, bool]):
    async def run(self, lifecycle: TaskLifeCycle[None]) -> bool:
        return current_lifecycle() is lifecycle


def local_function_maker() -> object:
    def local(x: int) -> int:
        return x

    return local


def flaky(succeed_on: int) -> int:
    """Fails with OSError until attempt ``succeed_on`` (retries, DESIGN §11)."""
    attempt = current_lifecycle().attempt
    if attempt < succeed_on:
        raise OSError(f"flaky attempt {attempt}")
    return attempt
