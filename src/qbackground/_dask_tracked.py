"""The GUI-process side of one job of :class:`qbackground.dask.DaskExecutor`.

A job ends ("settles": ``succeed``/``fail``, then the executor's ``on_stop()`` and the
handler's ``when_stopped`` watchers) only once its ``run()`` has really stopped. Cancelling
a Dask future does not stop a ``run()`` already executing on a Dask worker, so a cancel
(or a timeout, an interrupt) asks the remote side instead, through events per job::

    <name>            the cancel flag the remote lifecycle watches
    <name>-cancelled  set before it when the job was cancelled (not timed out/interrupted)
    <name>-started    set by the remote side while run() may be executing
    <name>-pause, <name>-resume   the pause state (see forward_pause)

The two sides look at each other in opposite orders. The remote side first sets
``-started``, then reads the cancel flag (set: it returns at once without running
``run()``). The controller thread here first sets the cancel flag, then reads
``-started``. The scheduler orders these calls and each one is answered before the next
is made, so at least one side sees the other: if ``-started`` reads false, ``run()``
never runs (or has already returned) and the job may end at once; if it reads true, the
job ends with the remote end marker and the future's outcome, after ``run()`` returned.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

import distributed as _distributed

from ._dask_remote import Stopped
from ._errors import ProcessCrashedError, QBackgroundError
from .backends import Job
from .backends._child import RemoteTraceback

__all__ = ["Tracked", "forward_pause", "future_outcome", "seconds_left", "stop_remote"]

# distributed carries no annotations (untyped calls under --strict): used through Any.
Event: Any = _distributed.Event


class Tracked:
    """A job on the cluster, as the GUI process sees it.

    ``started`` is written by the controller thread only: None until a stop was asked
    for, then whether the remote ``run()`` had started (``-started`` was set) when the
    cancel flag was already set. ``end_seen`` and ``outcome`` are written under ``lock``
    by the reader thread and the future's callback: whichever comes second settles.
    """

    __slots__ = ("job", "job_id", "future", "event_name", "end_seen", "outcome", "started", "lock")

    def __init__(self, job: Job, job_id: int, event_name: str) -> None:
        self.job = job
        self.job_id = job_id
        self.future: Any = None  # a distributed Future (untyped methods)
        self.event_name = event_name
        self.end_seen = False  # the remote end marker arrived (all reports are in)
        self.outcome: tuple[str, Any] | None = None  # ("done", value) / ("error", exc)
        self.started: bool | None = None
        self.lock = threading.Lock()

    def record_outcome(self, outcome: tuple[str, Any]) -> bool:
        """The future's outcome (kept if one was already recorded); True if the end marker
        was seen too, so the job may settle now."""
        with self.lock:
            if self.outcome is None:
                self.outcome = outcome
            return self.end_seen

    def record_end(self) -> tuple[str, Any] | None:
        """The remote end marker arrived: the outcome to settle with, if already known."""
        with self.lock:
            self.end_seen = True
            return self.outcome

    def stopped_error(self) -> QBackgroundError:
        """The outcome of a job whose ``run()`` was stopped before it gave one (what
        ``fail()`` gets; a cancelled or timed-out job's ending was decided already)."""
        return QBackgroundError(
            f"{type(self.job.task).__name__} was stopped on the Dask cluster before it ended"
        )


def stop_remote(client: Any, tracked: Tracked) -> bool:
    """Controller thread: set the job's cancel flag, then read ``-started``; True when the
    remote ``run()`` may be executing (the job must then wait for its end marker).

    Raises whatever the cluster calls raise (the cluster is gone).
    """
    name = tracked.event_name
    if tracked.job.is_cancelled():  # before the flag: the remote side reads it after
        Event(name + "-cancelled", client=client).set()
    Event(name, client=client).set()
    return bool(Event(name + "-started", client=client).is_set())


def forward_pause(client: Any, tracked: Tracked) -> None:
    """Two events per job: ``-pause`` set while paused, ``-resume`` set after a resume;
    the task's watcher waits for whichever ends its current state. The state is read
    now, so the last one forwarded is the handler's latest."""
    name = tracked.event_name
    try:
        if tracked.job.is_paused():
            Event(name + "-resume", client=client).clear()
            Event(name + "-pause", client=client).set()
        else:
            Event(name + "-pause", client=client).clear()
            Event(name + "-resume", client=client).set()
    except Exception:  # pragma: no cover - cluster gone; cancel and deadline still hold
        pass


def future_outcome(tracked: Tracked, future: Any) -> tuple[str, Any] | None:
    """What a done future says: ``("done", value)``, ``("error", exc)`` (its remote
    traceback as ``__cause__``), ``("crashed", ProcessCrashedError)`` when its Dask worker
    died (``KilledWorker`` as cause), or None when it was cancelled or lost."""
    status = future.status
    if status == "finished":
        value = future.result()
        if isinstance(value, Stopped):  # the cancel flag stopped it (see run_remote)
            return "error", tracked.stopped_error()
        return "done", value
    if status != "error":
        return None
    exc = future.exception()
    assert exc is not None
    if type(exc).__name__ == "KilledWorker":
        crashed = ProcessCrashedError(
            f"the Dask worker running {type(tracked.job.task).__name__} died ({exc})"
        )
        crashed.__cause__ = exc
        return "crashed", crashed
    remote_tb = future.traceback()
    if exc.__cause__ is None and remote_tb is not None:
        text = "".join(traceback.format_exception(type(exc), exc, remote_tb))
        exc.__cause__ = RemoteTraceback(text)
    return "error", exc


def seconds_left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (a ``time.monotonic()`` value; None: no limit), >= 0."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())
