"""The asyncio backend: coroutines on a private event loop in its own thread.

The loop never runs on the GUI thread, so it can never block it; the GUI learns of
progress and endings through the same dispatcher as every other backend. Every touch of
loop state happens on the loop's thread (``call_soon_threadsafe``), so ordering is the
loop's: a cancel scheduled after a start always finds the coroutine's task.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .._async import AsyncBackgroundTask
from .._current import current_lifecycle_var
from .._errors import TaskStateError
from .._lifecycle import TaskLifeCycle
from ._base import Executor, Job
from ._collector_hold import CollectorHold

__all__ = ["LOOP_CHOICES", "AsyncioExecutor", "resolve_loop"]

LOOP_CHOICES = ("auto", "asyncio", "uvloop")
"""Event loop implementations for the private loop (``asyncio_loop=`` of the worker)."""

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

_START_CHUNK = 1024
"""Jobs started per loop callback (about 5 ms); their first steps run before the next."""


def resolve_loop(choice: str) -> tuple[str, LoopFactory]:
    """The loop implementation's name and constructor for ``choice``.

    ``"asyncio"`` (the standard library's), ``"uvloop"`` (libuv's: timers and callbacks in C, about a third less loop-thread CPU
    per coroutine), or ``"auto"`` (uvloop when it is installed, else asyncio's).

    Raises:
        ValueError: ``"uvloop"`` was asked for and is not installed.

    Example::

        name, new_loop = resolve_loop("auto")
        executor = AsyncioExecutor(new_loop)
    """
    if choice == "asyncio":
        return "asyncio", asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ValueError(
                "asyncio_loop='uvloop' needs the uvloop package: pip install 'qbackground[uvloop]', "
                "or use asyncio_loop='asyncio'"
            ) from None
        return "asyncio", asyncio.new_event_loop
    new_loop: LoopFactory = uvloop.new_event_loop
    return "uvloop", new_loop


class AsyncioExecutor(Executor):
    """Runs :class:`AsyncBackgroundTask` coroutines; unbounded concurrency.

    ``new_loop`` makes the private loop (default: uvloop's when installed, else
    asyncio's; see :func:`resolve_loop`).

    Example::

        handler = worker.handle(Download(url), executor="asyncio")
    """

    name = "asyncio"

    def __init__(self, new_loop: LoopFactory | None = None) -> None:
        self._new_loop = new_loop if new_loop is not None else resolve_loop("auto")[1]
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: dict[Job, asyncio.Task[None]] = {}
        self._closed = False
        # Jobs handed over by submit(), started by one loop callback per burst: a
        # call_soon_threadsafe per job would write the loop's wake-up socket each time.
        self._incoming: deque[Job] = deque()
        self._wake_pending = False
        self._hold = CollectorHold(self._starts_waiting)  # loop thread only

    def check_task(self, task: Any) -> None:
        if not isinstance(task, AsyncBackgroundTask):
            raise TypeError(
                f"{type(task).__name__}.run is not a coroutine function; the 'asyncio' executor "
                "runs AsyncBackgroundTask subclasses (async def run). Use 'thread' or 'process'"
            )

    @property
    def running(self) -> int:
        """Coroutines started and not yet finished."""
        return len(self._tasks)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The private event loop (started in its thread on first use); never the GUI
        thread's. Schedule work on it with ``asyncio.run_coroutine_threadsafe``.

        Raises:
            TaskStateError: the executor was shut down.

        Example::

            future = asyncio.run_coroutine_threadsafe(ping(), executor.loop)
        """
        return self._ensure_loop()

    def submit(self, job: Job) -> None:
        loop = self._loop
        if loop is None or self._closed:  # first use, or shut down (raises): take the lock
            loop = self._ensure_loop()
        self._incoming.append(job)
        # Same hand-off as the GUI dispatcher: append, then test the flag; the loop
        # clears the flag before it drains, so no job is left without a wake-up.
        if not self._wake_pending:
            self._wake_pending = True
            loop.call_soon_threadsafe(self._start_incoming)

    def on_interrupt(self, job: Job) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._cancel, job)
            except RuntimeError:  # pragma: no cover - the loop closed meanwhile
                pass

    def shutdown(self, timeout: float | None) -> bool:
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return True
        try:
            loop.call_soon_threadsafe(self._stop)
        except RuntimeError:  # pragma: no cover - already closed
            pass
        thread.join(timeout)
        return not thread.is_alive()

    # -- loop thread --------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise TaskStateError("the asyncio executor was shut down")
            if self._loop is None:
                loop = self._new_loop()
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._serve, args=(loop, ready), name="qbackground-asyncio", daemon=True
                )
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def _serve(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            self._hold.release(force=True)  # never leave the collector disabled
            loop.close()

    def _start_incoming(self) -> None:
        self._wake_pending = False
        incoming = self._incoming
        tasks = self._tasks
        loop = asyncio.get_running_loop()
        create_task = loop.create_task
        # A task's context is a copy of the current one taken by create_task(): set the
        # lifecycle just around it, and current_lifecycle() works inside the coroutine
        # at no cost per step (a context manager inside the coroutine cost ~2 us each).
        set_current = current_lifecycle_var.set
        reset_current = current_lifecycle_var.reset
        self._hold.maybe_hold(len(incoming))  # see _collector_hold
        try:
            # At most a chunk per callback: the coroutines' first steps, queued behind
            # it, run before the next chunk, so the starts of a long burst are spread
            # over it (as their ends will be) instead of all waiting for its last one.
            # A chunk lasts about the GIL's switch interval (5 ms): between chunks the
            # loop polls its selector, letting the GIL go and taking it back at once,
            # and a thread waiting for the GIL is only forced in after a whole interval
            # without a switch (chunks of 256 kept the GUI thread out for 50-100 ms).
            for _ in range(min(len(incoming), _START_CHUNK)):
                job = incoming.popleft()
                lifecycle = job.begin()
                if lifecycle is None:
                    continue  # cancelled while waiting
                token = set_current(lifecycle)
                tasks[job] = create_task(self._run(job, lifecycle))
                reset_current(token)
        finally:
            if incoming and not self._wake_pending:
                self._wake_pending = True
                loop.call_soon(self._start_incoming)
            self._hold.chunk_done(loop)

    async def _run(self, job: Job, lifecycle: TaskLifeCycle[Any]) -> None:
        try:
            value = await job.task.run(lifecycle)
        except asyncio.CancelledError as exc:
            job.fail(exc)  # a no-op when cancel/timeout decided it; else a real failure
        except BaseException as exc:  # every failure must reach handle_exception
            job.fail(exc)
        else:
            job.succeed(value)
        finally:
            self._tasks.pop(job, None)
            self.on_stop()
            # A failure's traceback keeps this frame: it must not keep the job (the
            # handler, which keeps the exception) in a cycle only the collector frees.
            del job, lifecycle

    def _starts_waiting(self) -> bool:
        return bool(self._incoming) or self._wake_pending

    def _cancel(self, job: Job) -> None:
        task = self._tasks.get(job)
        if task is not None:
            task.cancel()

    def _stop(self) -> None:
        loop = asyncio.get_running_loop()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            gathered = asyncio.gather(*tasks, return_exceptions=True)
            gathered.add_done_callback(lambda _f: loop.stop())
        else:
            loop.stop()
