"""One worker process of the process backend, as its manager thread sees it."""

from __future__ import annotations

import mmap
import signal
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from ._base import Job
from ._shm import Namer

__all__ = ["Worker", "describe_exit"]


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
