"""The process backend: ``run()`` in a warm pool of worker processes, free of the GIL.

Design, and why it is not ``concurrent.futures.ProcessPoolExecutor``:

* **One pipe per worker.** A worker that dies (``os._exit``, a segfault, a kill) takes only
  its own pipe with it; the task it ran fails with :class:`ProcessCrashedError`, tasks in
  the other workers carry on, and a replacement is started. (``ProcessPoolExecutor``
  shares one queue and marks the whole pool broken.)
* **One manager thread** owns all pool state: it waits on every worker's pipe and process
  sentinel at once (``multiprocessing.connection.wait``), feeds reports into the task's
  GUI-side channel, assigns waiting jobs to idle workers, and enforces the grace period.
  Other threads only append commands and wake it, so there is no lock order to get wrong.
* **spawn, never fork**: forking a process that runs Qt and threads can deadlock.
* **Cancel is cooperative first**: the flag crosses to the worker at once; a task that
  ignores it for ``grace`` seconds is killed and its worker replaced. The slot is freed,
  and ``shutdown()`` returns, only when the process has really stopped the work.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections import deque
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from time import monotonic
from typing import Any

from .._async import AsyncBackgroundTask
from .._errors import ProcessCrashedError, QBackgroundError, TaskStateError
from . import _child, _sending, _shm
from ._base import Executor, Job
from ._process_worker import Worker as _Worker
from ._process_worker import NEVER_SERVED, encode_run
from ._process_worker import describe_exit as _describe

__all__ = ["ProcessExecutor"]

_ids = itertools.count(1)
_executors = itertools.count(1)


class ProcessExecutor(Executor):
    """Runs tasks in worker processes; pass it (or ``"process"``) to ``worker.handle()``.

    Tasks (and their results, progress items and exceptions) travel by pickling, so a
    task class must be defined at module level in an importable module, and an
    application script needs the usual ``if __name__ == "__main__":`` guard.

    Example::

        executor = ProcessExecutor(max_workers=2, grace=1.0)
        handler = worker.handle(CrunchNumbers(data), executor=executor)
        handler.execute()

    Args:
        max_workers: worker processes (default ``os.cpu_count()``), started on first use.
        grace: seconds a cancelled or timed-out task may take to stop by itself before
            its process is killed and replaced.
        flush_interval: how often a worker sends batched progress (seconds).
        start_method: ``"spawn"`` (default) or ``"forkserver"``; ``"fork"`` is refused.
        shared_memory_threshold: buffers of this many bytes or more (NumPy arrays,
            ``bytearray``, ``memoryview``, ``PickleBuffer``) travel through shared memory
            in both directions instead of the pipe (default 1 MiB; None: never).
        startup_timeout: seconds a new worker process has to start serving. One that
            does not (typically: the application script lacks its
            ``if __name__ == "__main__":`` guard, so the worker re-runs the GUI) is
            killed, and this executor's tasks fail with a ``QBackgroundError`` that says
            so, instead of waiting forever.
    """

    name = "process"

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        grace: float = 2.0,
        flush_interval: float = 0.01,
        start_method: str = "spawn",
        startup_timeout: float = 30.0,
        shared_memory_threshold: int | None = 1 << 20,
    ) -> None:
        if max_workers is not None and (isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1):
            raise ValueError(f"max_workers must be a positive int or None, got {max_workers!r}")
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(
                f"start_method must be 'spawn' or 'forkserver', not {start_method!r}: forking "
                "a process that runs Qt and threads can deadlock"
            )
        if not grace >= 0:
            raise ValueError(f"grace must be a non-negative number of seconds, got {grace!r}")
        self.max_workers = max_workers or os.cpu_count() or 1
        self.grace = float(grace)
        self.flush_interval = float(flush_interval)
        self.startup_timeout = float(startup_timeout)
        if shared_memory_threshold is not None and (
            isinstance(shared_memory_threshold, bool)
            or not isinstance(shared_memory_threshold, int)
            or shared_memory_threshold < 1
        ):
            raise ValueError(
                "shared_memory_threshold must be a positive number of bytes or None, got "
                f"{shared_memory_threshold!r}"
            )
        self.shared_memory_threshold = shared_memory_threshold
        # Names of the segments of this executor's workers (see _shm: swept on a death,
        # at shutdown and at exit).
        self._segment_prefix = f"{_shm.process_prefix()}{next(_executors)}w"
        self._context: Any = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._commands: deque[tuple[str, Any]] = deque()
        self._wake_recv, self._wake_send = multiprocessing.Pipe(duplex=False)
        self._woken = False
        self._manager: threading.Thread | None = None
        self._closed = False
        # Manager-thread state ---------------------------------------------------------
        self._workers: list[_Worker] = []
        self._waiting: deque[Job] = deque()
        self._stopping = False
        self._stop_deadline: float | None = None
        self._started = 0  # processes started so far (for tests and diagnostics)
        # Set when the manager thread itself failed (a bug): execute() raises it.
        self._failure: QBackgroundError | None = None
        # Set when a worker never started serving: every task fails fast from then on,
        # as every replacement would do the same.
        self._broken: QBackgroundError | None = None

    # -- Executor interface (any thread) -------------------------------------------------

    def check_task(self, task: Any) -> None:
        if isinstance(task, AsyncBackgroundTask):
            raise TypeError(
                f"{type(task).__name__} is an AsyncBackgroundTask (async def run); it runs on "
                "the 'asyncio' executor, not 'process'"
            )

    def submit(self, job: Job) -> None:
        self._command("submit", job)

    def on_interrupt(self, job: Job) -> None:
        # Never refused: a cancel or timeout must reach a running process even while the
        # executor shuts down (and must not raise into the deadline thread).
        self._command("cancel", job, force=True)

    def on_pause(self, job: Job) -> None:
        # The child's reader thread pauses or resumes its lifecycle at once; the task
        # blocks at its next checkpoint there.
        self._command("pause", job, force=True)

    def shutdown(self, timeout: float | None) -> bool:
        with self._lock:
            manager = self._manager
            first = not self._closed
            self._closed = True
        if manager is None:
            return True
        if first:
            self._command("shutdown", timeout, force=True)
        manager.join(timeout)
        return not manager.is_alive()

    @property
    def processes_started(self) -> int:
        """How many worker processes were started (replacements included)."""
        return self._started

    def pids(self) -> list[int]:
        """PIDs of the live worker processes (for diagnostics and tests)."""
        return [w.process.pid for w in list(self._workers) if w.process.pid is not None]

    # -- plumbing ------------------------------------------------------------------------

    def _command(self, kind: str, payload: Any, *, force: bool = False) -> None:
        with self._lock:
            if self._failure is not None and not force:
                raise TaskStateError(f"the process executor is out of order: {self._failure}")
            if self._closed and not force:
                raise TaskStateError("the process executor was shut down")
            self._commands.append((kind, payload))
            if self._manager is None:
                self._manager = threading.Thread(
                    target=self._manage, name="qbackground-process-manager", daemon=True
                )
                self._manager.start()
            if not self._woken:
                self._woken = True
                self._wake_send.send_bytes(b"!")

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        prefix = f"{self._segment_prefix}{self._started + 1}_"
        process = self._context.Process(
            target=_child.main,
            args=(child_conn, self.flush_interval, prefix + "c", self.shared_memory_threshold),
            name=f"qbackground-process-{len(self._workers) + 1}",
            daemon=True,
        )
        try:
            process.start()
        finally:
            child_conn.close()
        self._started += 1
        return _Worker(process, parent_conn, monotonic() + self.startup_timeout, prefix)

    def _top_up(self) -> QBackgroundError | None:
        """Start workers up to ``max_workers``; the error if none could be started."""
        if self._broken is not None:
            return self._broken
        try:
            while len(self._workers) < self.max_workers:
                self._workers.append(self._spawn())
        except Exception as exc:  # fd exhaustion, no memory, a broken interpreter...
            if not self._workers:
                return QBackgroundError(
                    f"could not start a worker process ({type(exc).__name__}: {exc})"
                )
        return None

    def _refuse(self, job: Job, error: QBackgroundError) -> None:
        """End a job that cannot run here through its handle_exception()."""
        if job.begin() is not None:
            job.fail(error)
            self.on_stop()

    # -- the manager thread ------------------------------------------------------------------

    def _manage(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # never die silently with tasks waiting on us
            error = QBackgroundError(f"the process executor failed ({type(exc).__name__}: {exc})")
            with self._lock:
                self._closed = True
                pending = [payload for kind, payload in self._commands if kind == "submit"]
                self._commands.clear()
            for job in [*self._waiting, *pending]:
                self._refuse(job, error)
            for worker in self._workers:
                if worker.job is not None:
                    worker.job.fail(error)
                    self._release(worker)
            self._failure = error  # later submits raise it at execute()
        finally:
            for worker in self._workers:
                if worker.process.is_alive():
                    worker.process.kill()
                worker.process.join(1.0)
                worker.segments.clear()
            self._workers.clear()
            _shm.sweep(self._segment_prefix)  # what a killed worker left behind

    def _serve(self) -> None:
        while True:
            self._apply_commands()
            self._dispatch()
            if self._stopping and not self._workers:
                return
            timeout = self._next_deadline()
            handles: dict[Any, tuple[str, _Worker | None]] = {self._wake_recv: ("wake", None)}
            for worker in self._workers:
                handles[worker.conn] = ("conn", worker)
                handles[worker.process.sentinel] = ("died", worker)
            for ready in wait(list(handles), timeout):
                kind, target = handles[ready]
                if kind == "wake":
                    with self._lock:
                        self._woken = False
                        while self._wake_recv.poll():
                            self._wake_recv.recv_bytes()
                elif kind == "conn" and target is not None:
                    self._receive(target)
                elif target is not None and target in self._workers:
                    self._died(target)
            self._enforce_deadlines()

    def _apply_commands(self) -> None:
        while True:
            with self._lock:
                if not self._commands:
                    return
                kind, payload = self._commands.popleft()
            if kind == "submit":
                error = None if self._stopping else self._top_up()
                if error is not None:
                    self._refuse(payload, error)
                else:
                    self._waiting.append(payload)
            elif kind == "cancel":
                cancelled: Job = payload
                for worker in self._workers:
                    if worker.job is cancelled:
                        self._send(worker, ("cancel", worker.job_id, cancelled.is_cancelled()))
                        if worker.kill_at is None:
                            worker.kill_at = monotonic() + self.grace
            elif kind == "pause":
                paused: Job = payload
                for worker in self._workers:
                    if worker.job is paused:  # (still waiting: _dispatch tells it)
                        self._send(worker, ("pause", worker.job_id, paused.is_paused()))
            elif kind == "shutdown":
                self._stopping = True
                limit = payload if payload is not None else self.grace
                self._stop_deadline = monotonic() + min(limit, self.grace)
                self._waiting.clear()
                for worker in self._workers:
                    if worker.job is None:
                        self._retire(worker)
                    else:
                        worker.kill_at = min(worker.kill_at or self._stop_deadline, self._stop_deadline)

    def _dispatch(self) -> None:
        for worker in self._workers:
            if not self._waiting:
                return
            if worker.job is not None or worker.retiring:
                continue
            while self._waiting:
                job = self._waiting.popleft()
                lifecycle = job.begin()
                if lifecycle is None:
                    continue  # cancelled while waiting: the handler released the slot
                try:
                    envelopes = encode_run(worker, job, self.shared_memory_threshold)
                except _sending.Unsendable as exc:
                    job.fail(QBackgroundError(str(exc)))
                    self.on_stop()
                    continue
                worker.job = job
                worker.job_id = next(_ids)
                worker.kill_at = None
                # The attempt's number crosses too: lifecycle.attempt in the child.
                self._send(worker, ("run", worker.job_id, *envelopes, lifecycle.attempt))
                if job.is_paused():  # paused while it waited: it starts paused
                    self._send(worker, ("pause", worker.job_id, True))
                break

    def _send(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        try:
            worker.conn.send(message)
        except (OSError, ValueError):
            pass  # the process is dying; its sentinel will tell us

    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass  # the process died; its sentinel will tell us

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        if message[0] == "ready":
            worker.ready = True
            return
        kind, job_id = message[0], message[1]
        job = worker.job
        current = job is not None and job_id == worker.job_id
        try:  # always: mapping a segment is what frees its name
            body = _sending.decode(message[2], worker.segments if current else None)
        except Exception as exc:
            body = exc
        if job is None or not current:
            return  # a stale message from a job already settled
        if isinstance(body, Exception):
            job.fail(
                QBackgroundError(
                    f"a message of {type(job.task).__name__} from its worker process could not "
                    f"be unpickled in the GUI process ({type(body).__name__}: {body})"
                )
            )
        elif kind == "report":
            items, events, text, fraction, urgent = body
            job.replay(items, events, text, fraction, flush=urgent)
            return
        elif kind == "done":
            job.succeed(body)
        else:
            error, text = body
            if error.__cause__ is None:
                error.__cause__ = _child.RemoteTraceback(text)
            job.fail(error)
        self._release(worker)
        if worker.retiring:
            self._send(worker, ("stop",))

    def _release(self, worker: _Worker) -> None:
        job = worker.job
        worker.job = None
        worker.kill_at = None
        worker.segments.clear()  # the objects built on them keep their mappings alive
        if job is not None:
            self.on_stop()

    def _died(self, worker: _Worker) -> None:
        self._receive(worker)  # whatever it managed to send before dying
        worker.process.join(1.0)
        code = worker.process.exitcode
        job = worker.job
        if job is not None:
            if not worker.ready and self._broken is not None:
                job.fail(self._broken)
            else:
                name = type(job.task).__name__
                job.fail(ProcessCrashedError(f"the worker process running {name} {_describe(code)}"))
            self._release(worker)
        worker.conn.close()
        self._workers.remove(worker)
        _shm.sweep(worker.prefix)  # segments it made, or was sent, and never mapped
        if not (self._stopping or worker.retiring):
            error = self._top_up()  # replace it
            if error is not None:
                for waiting in self._waiting:
                    self._refuse(waiting, error)
                self._waiting.clear()

    def _retire(self, worker: _Worker) -> None:
        worker.retiring = True
        self._send(worker, ("stop",))

    def _next_deadline(self) -> float | None:
        deadlines = [w.kill_at for w in self._workers if w.kill_at is not None]
        deadlines += [w.ready_by for w in self._workers if not w.ready]
        if self._stopping and self._stop_deadline is not None:
            deadlines.append(self._stop_deadline + 1.0)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - monotonic())

    def _enforce_deadlines(self) -> None:
        now = monotonic()
        for worker in self._workers:
            if not worker.ready and now >= worker.ready_by and worker.process.is_alive():
                self._broken = QBackgroundError(NEVER_SERVED.format(self.startup_timeout))
                worker.process.kill()
                for waiting in self._waiting:
                    self._refuse(waiting, self._broken)
                self._waiting.clear()
        for worker in self._workers:
            if worker.kill_at is not None and now >= worker.kill_at and worker.process.is_alive():
                worker.process.kill()  # ignored the cancel for `grace` seconds
                worker.kill_at = None
        if self._stopping and self._stop_deadline is not None and now >= self._stop_deadline + 1.0:
            for worker in self._workers:
                if worker.process.is_alive():
                    worker.process.kill()

