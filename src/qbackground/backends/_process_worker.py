"""One worker process of the process backend, as its manager thread sees it."""

from __future__ import annotations

import mmap
import signal
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from . import _sending, _shm
from ._base import Job
from ._shm import Namer

__all__ = ["NEVER_SERVED", "Worker", "describe_exit", "encode_run"]

NEVER_SERVED = (
    "a worker process did not start serving within {:g} s and was killed. Most often the "
    "application script lacks an 'if __name__ == \"__main__\":' guard, so each spawned "
    "worker re-runs the whole GUI instead of serving tasks; else raise startup_timeout"
)
"""The error of every task of an executor whose worker never said hello."""


class Worker:
    """One worker process and what it is doing (manager-thread state only).

    Example::

        worker = Worker(process, conn, monotonic() + 30.0, "qb123x1w1_")
    """

    __slots__ = (
        "process", "conn", "job", "job_id", "kill_at", "retiring", "ready", "ready_by",
        "prefix", "namer", "segments",
    )

    def __init__(self, process: BaseProcess, conn: Connection, ready_by: float, prefix: str) -> None:
        self.process = process
        self.conn = conn
        self.job: Job | None = None  # the job whose run() this process executes
        self.job_id = 0
        self.kill_at: float | None = None  # grace deadline after a cancel
        self.retiring = False  # asked to stop (shutdown)
        self.ready = False  # the process said hello: it imported us and serves
        self.ready_by = ready_by  # ...or it is killed at this time
        self.prefix = prefix  # every shared-memory segment to or from this process
        self.namer = Namer(prefix + "p")  # the ones the GUI process creates
        # Segments of the current job already mapped here (a shared array sent twice).
        self.segments: dict[str, mmap.mmap] = {}


def describe_exit(code: int | None) -> str:
    """How a worker process ended, for an error message ("was killed by signal SIGKILL")."""
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def encode_run(worker: Worker, job: Job, threshold: int | None) -> list[_sending.Envelope]:
    """The task and its params, pickled for ``worker`` (big buffers in shared memory).

    Raises:
        Unsendable: a part does not pickle (named by path); no segment is left behind.

    Example::

        envelopes = encode_run(worker, job, 1 << 20)
    """
    envelopes: list[_sending.Envelope] = []
    try:
        for label, part in (("task", job.task), ("get_params()", dict(job.params))):
            envelopes.append(
                _sending.encode(
                    part, label=label, where="a worker process", threshold=threshold,
                    namer=worker.namer,
                )
            )
    except BaseException:
        for envelope in envelopes:
            for name, _, _ in (*envelope.segments, *envelope.named):
                _shm.unlink(name)
        raise
    return envelopes
