"""The thread backend: a bounded pool of daemon threads fed by one ``SimpleQueue``.

Not ``concurrent.futures.ThreadPoolExecutor``: its threads are joined at interpreter
exit (an app with a stuck task would hang on quit) and its per-submit ``Future`` costs
more than the whole handler here. Not ``QThreadPool``: ``QThread`` objects alive at exit
print "QThread: Destroyed while running", and Python threads need no Qt objects.
"""

from __future__ import annotations

import itertools
import queue
import threading
from time import monotonic

from .._async import AsyncBackgroundTask
from .._errors import TaskQueueFullError, TaskStateError
from ._base import Executor, Job

__all__ = ["ThreadExecutor"]

_numbers = itertools.count(1)


class ThreadExecutor(Executor):
    """At most ``max_threads`` jobs run at once; at most ``max_queued`` more wait.

    Threads start on demand and live until :meth:`shutdown`.

    Args:
        max_threads: most jobs running at once.
        max_queued: most jobs waiting for a thread (None: no limit).
    """

    name = "thread"

    def __init__(self, max_threads: int, max_queued: int | None) -> None:
        self.max_threads = max_threads
        self.max_queued = max_queued
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._waiting = 0  # admitted, not yet started or unqueued
        self._active = 0  # started, run() not yet returned
        self._closed = False
        self._prefix = f"qbackground-{next(_numbers)}"

    def check_task(self, task: object) -> None:
        if isinstance(task, AsyncBackgroundTask):
            raise TypeError(
                f"{type(task).__name__} is an AsyncBackgroundTask (async def run); it runs on "
                "the 'asyncio' executor, not 'thread'"
            )

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._closed:
                raise TaskStateError("the worker was shut down; create a new BackgroundWorker")
            busy = self._active + self._waiting
            if self.max_queued is not None and busy >= self.max_threads + self.max_queued:
                raise TaskQueueFullError(
                    f"{self._active} tasks run on {self.max_threads} threads and "
                    f"{self._waiting} wait (max_queued={self.max_queued}); "
                    "retry later, cancel some, or raise max_queued"
                )
            self._waiting += 1
            thread = None
            if len(self._threads) < min(self.max_threads, busy + 1):
                thread = threading.Thread(
                    target=self._loop,
                    name=f"{self._prefix}-thread-{len(self._threads) + 1}",
                    daemon=True,
                )
                self._threads.append(thread)
        if thread is not None:
            thread.start()
        self._queue.put(job)

    def on_start(self) -> None:
        with self._lock:
            self._waiting -= 1
            self._active += 1

    def on_stop(self) -> None:
        with self._lock:
            self._active -= 1

    def on_unqueue(self) -> None:
        with self._lock:
            self._waiting -= 1

    @property
    def active(self) -> int:
        """Jobs whose ``run()`` is executing now (including ones winding down)."""
        return self._active

    @property
    def waiting(self) -> int:
        """Jobs admitted but not started."""
        return self._waiting

    def threads(self) -> list[threading.Thread]:
        """The pool's threads (for leak checks)."""
        with self._lock:
            return list(self._threads)

    def shutdown(self, timeout: float | None) -> bool:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        deadline = None if timeout is None else monotonic() + timeout
        for thread in threads:
            if thread is threading.current_thread():
                continue
            thread.join(None if deadline is None else max(0.0, deadline - monotonic()))
        alive = [thread for thread in threads if thread.is_alive()]
        with self._lock:
            self._threads = alive
        return not alive

    def _loop(self) -> None:
        get = self._queue.get
        while True:
            job = get()
            if job is None:
                return
            job.run_here()
            # An idle thread must not keep its last job (and its task, and whatever
            # that holds) alive until the next job arrives.
            del job
