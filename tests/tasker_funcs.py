"""Module-level functions for the task_mgr tests (worker processes import them)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from qbackground import ExecutionContext


def echo(context: ExecutionContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Returns what it got, proving the context came first and keywords arrived."""
    return {"context": type(context).__name__, "has_publish": hasattr(context, "publish"), "args": args, "kwargs": kwargs}


async def async_echo(context: ExecutionContext, *args: Any, **kwargs: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return echo(context, *args, **kwargs)


def report(context: ExecutionContext, steps: int, *, event: str = "step") -> str:
    """Events, messages and progress, then a result: all must arrive before when_done."""
    context.set_total(steps)
    for i in range(steps):
        context.send_event(event, {"i": i})
        context.set_message(f"step {i + 1} of {steps}")
        context.set_progress(i + 1)
    return "reported"


async def async_report(context: ExecutionContext, steps: int, *, event: str = "step") -> str:
    result = report(context, steps, event=event)
    await asyncio.sleep(0)
    return result


STAGE = threading.Event()


def stages(context: ExecutionContext) -> str:
    """Two sub-contexts: the first maps 0..1 into 0..0.5, the second into 0.5..1.
    Between them it waits for ``STAGE`` (thread backend), so the GUI sees each stage."""
    first = context.sub_context(0.0, 0.5, total=4)
    for i in range(4):
        first.set_progress(i + 1)
    STAGE.wait(10)
    second = context.sub_context(0.5, 0.5)
    second.set_progress(0.5)
    STAGE.clear()
    STAGE.wait(10)
    return "staged"


def deaf_pid(context: ExecutionContext, seconds: float) -> int:
    """Reports its pid, then ignores cancellation (only time passes)."""
    context.send_event("pid", os.getpid())
    context.flush()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)
    return os.getpid()


def until_cancelled(context: ExecutionContext) -> str:
    context.set_message("waiting")
    context.flush()
    while not context.is_cancelled():
        time.sleep(0.005)
    return "saw the cancel"


async def sleeper(context: ExecutionContext, seconds: float) -> str:
    context.set_message("sleeping")
    await asyncio.sleep(seconds)
    return "woke"


def busy_progress(context: ExecutionContext, n: int) -> int:
    context.set_total(n)
    for i in range(n):
        context.set_progress(i + 1)
    return n


def fail(context: ExecutionContext, message: str) -> None:
    raise ValueError(message)


def crash(context: ExecutionContext) -> None:
    os._exit(7)


GATE = threading.Event()


def gated(context: ExecutionContext) -> str:
    GATE.wait(10)
    return "released"


RAN: list[str] = []
"""Names passed to :func:`record_run`, in the order the functions ran (thread backend)."""


def record_run(context: ExecutionContext, name: str) -> str:
    RAN.append(name)
    return name


def _explode() -> None:
    raise ValueError("refuses to be unpickled")


class UnpicklesNowhere:
    """Pickles fine, but unpickling it raises (in the worker process)."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _explode, ()


async def async_fail(context: ExecutionContext, message: str) -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


def nap(context: ExecutionContext, seconds: float) -> float:
    time.sleep(seconds)
    return seconds


# -- Rayforge parity (tests/test_tasker_parity.py) --------------------------------------------


def no_items(context: Any) -> str:
    """``set_total(len(items))`` with no items, and a negative total: both count as 1.0."""
    context.set_total(len([]))
    context.set_progress(0.5)
    context.set_total(-3)
    context.set_progress(0.25)
    return "no items"


def pid(context: Any) -> int:
    return os.getpid()


def has_task(context: Any) -> bool:
    return context.task is not None


def hand_over(context: Any, name: str) -> bool:
    """``send_event_and_wait``: True once when_event took the event, False if it raised."""
    return bool(context.send_event_and_wait(name, {"block": name}, timeout=20))


def init_worker(shared_state: dict[str, Any], path: str) -> None:
    """A worker initializer: one line per worker process, with its pid and the shared state."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {sorted(shared_state.items())}\n")


def stepped(context: Any, gates: list[threading.Event], reached: list[threading.Event], interval: float) -> str:
    """Reports, then waits at each gate so the test can look at the task in between."""
    context.PROGRESS_REPORT_INTERVAL_S = interval
    context.set_progress(0.1)
    context.flush()
    reached[0].set()
    gates[0].wait(10)
    # Pre-created stages and a new total report nothing until the next set_progress().
    context.sub_context(0.0, 0.3)
    context.sub_context(0.3, 0.7)
    context.set_total(10)
    context.flush()
    reached[1].set()
    gates[1].wait(10)
    context.set_progress(5)  # 5 of 10
    context.flush()
    reached[2].set()
    gates[2].wait(10)
    return "stepped"


def throttled(context: Any, read: threading.Event) -> str:
    """With a report interval, a value right after another waits for flush() or the end."""
    context.PROGRESS_REPORT_INTERVAL_S = 60.0
    context.set_progress(0.2)
    context.set_progress(0.8)  # throttled
    context.send_event("mid")  # when_event reads the progress delivered with it
    read.wait(10)
    return "throttled"


def count_checkpoints(context: ExecutionContext, box: list[int]) -> str:
    """Counts passes through ``checkpoint()`` in ``box[0]`` until cancelled (thread only)."""
    while not context.is_cancelled():
        context.checkpoint()
        box[0] += 1
        time.sleep(0.001)
    return "cancelled"


def flaky(context: ExecutionContext, succeed_on: int) -> int:
    """Fails with OSError until attempt ``succeed_on`` (retries, DESIGN §11)."""
    if context.attempt < succeed_on:
        raise OSError(f"flaky attempt {context.attempt}")
    return context.attempt


async def async_flaky(context: ExecutionContext, succeed_on: int) -> int:
    if context.attempt < succeed_on:
        raise OSError(f"flaky attempt {context.attempt}")
    return context.attempt
