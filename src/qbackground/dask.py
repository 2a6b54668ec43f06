"""Run tasks on a Dask ``distributed`` cluster: when one machine is not enough.

Install the extra (``pip install qbackground[dask]``), then::

    from qbackground.dask import DaskExecutor

    with DaskExecutor() as cluster:             # a LocalCluster on loopback
        worker.handle(Crunch(data), executor=cluster).execute()

    executor = DaskExecutor(Client("tls://scheduler:8786", security=security))

How the contract crosses the cluster:

* ``run()`` executes on a Dask worker (the task object is serialized by Dask, so its class
  must be importable there, or defined where cloudpickle sends it by value).
* Progress, messages and events are batched on the Dask worker and sent through one
  ``distributed.Queue`` per executor (pickled to bytes: Dask queues carry msgpack only).
  A reader thread in the GUI process replays them into the task's channel. The remote
  side puts an end marker after its last report, and the ending is delivered only after
  that marker, so ``done()`` never overtakes the last ``progress()``.
* Cancel and timeout set a ``distributed.Event`` the task's lifecycle watches (read as a
  local flag: ``is_cancelled()`` costs no round trip). Cancelling a Dask future does not
  stop a ``run()`` already executing, so the job ends (``on_stop()``, ``when_stopped``)
  only once the remote ``run()`` has returned; a job that had not started yet never
  starts, its future is cancelled and it ends at once (see :mod:`._dask_tracked`).
* ``pause()``/``resume()`` set one of two more ``distributed.Event`` objects per job
  (``-pause``, ``-resume``); a watcher thread on the Dask worker long-polls the one that
  ends its current state and pauses or resumes the task's lifecycle there.
* A remote exception keeps its type; its remote traceback is attached as ``__cause__``.
  A task that kills its Dask worker ends in :class:`~qbackground.ProcessCrashedError`
  (with Dask's ``KilledWorker`` as cause). On a cluster this executor starts, the
  scheduler does not retry such a task on other workers (``allowed-failures`` 0): a task
  that crashes a worker would most likely crash the next one too. A cluster you pass in
  keeps its own setting.
"""

from __future__ import annotations

import itertools
import pickle
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import dask
import distributed as _distributed
from distributed import Client

from ._async import AsyncBackgroundTask
from ._errors import QBackgroundError, TaskStateError
from ._dask_remote import STOP as _STOP
from ._dask_remote import run_remote as _run_remote
from ._dask_tracked import Tracked as _Tracked
from ._dask_tracked import forward_pause as _forward_pause
from ._dask_tracked import future_outcome as _future_outcome
from ._dask_tracked import seconds_left as _left
from ._dask_tracked import stop_remote as _stop_remote
from .backends import Executor, Job
from .backends._sending import Unsendable, encode

__all__ = ["DaskExecutor"]

# Much of distributed's API carries no annotations (untyped calls under --strict): it is
# used through Any on purpose, in this module only.
_dist: Any = _distributed
Event: Any = _distributed.Event
Queue: Any = _distributed.Queue

_ids = itertools.count(1)


class DaskExecutor(Executor):
    """An executor that runs ``run()`` on a Dask ``distributed`` cluster.

    ``client=None`` starts a ``LocalCluster`` of worker processes on 127.0.0.1 (its
    HTTP endpoints on a free loopback port, a temporary scratch folder); :meth:`close`
    stops it. A ``Client`` you pass
    is used as given and never closed by this object.

    Example::

        from distributed import Client
        from qbackground.dask import DaskExecutor

        executor = DaskExecutor(Client("tcp://scheduler:8786"))
        handler = worker.handle(RenderTile(tile), executor=executor)
        handler.execute()
        ...
        executor.close()

    Args:
        client: a connected ``distributed.Client``, or None for a local cluster.
        n_workers: worker processes of the local cluster (ignored with a client).
        flush_interval: how often a running task sends batched progress, in seconds.

    Raises:
        TypeError: ``client`` is not a ``distributed.Client``.
    """

    name = "dask"

    def __init__(
        self, client: Client | None = None, *, n_workers: int = 2, flush_interval: float = 0.05
    ) -> None:
        self._cluster: Any = None  # a LocalCluster we started (untyped close())
        if client is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="qbackground-dask-")
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self._cluster = _dist.LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    # A free loopback port: the scheduler serves HTTP (health, metrics, the
                    # dashboard when bokeh is installed) even when told "None", on :8787.
                    dashboard_address="127.0.0.1:0",
                    local_directory=self._scratch.name,
                )
            client = _dist.Client(self._cluster)
            self._owns_client = True
        elif not isinstance(client, Client):
            raise TypeError(
                f"client must be a distributed.Client or None, not {type(client).__name__}"
            )
        else:
            self._owns_client = False
        self.client: Any = client
        self.flush_interval = flush_interval
        self._queue_name = f"qbackground-{uuid.uuid4().hex}"
        self._queue = Queue(self._queue_name, client=client)
        self._jobs: dict[int, _Tracked] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when a job has settled
        self._ending = 0  # jobs popped from _jobs whose settling is under way
        self._closed = False
        # Blocking cluster calls (Event.set, cancel) never run on the GUI thread.
        self._control: queue.SimpleQueue[tuple[str, _Tracked] | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name="qbackground-dask-reader", daemon=True)
        self._reader.start()
        self._controller = threading.Thread(
            target=self._control_loop, name="qbackground-dask-control", daemon=True
        )
        self._controller.start()

    # -- context manager ----------------------------------------------------------------

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self, timeout: float | None = 10.0) -> None:
        """Cancel running tasks, wait up to ``timeout`` seconds for their ``run()`` to
        return, stop the helper threads, and close what this object started (never a
        client it was given). Calling it twice is harmless.

        A task still running on a cluster this object started ends when that cluster
        is closed here (its Dask worker processes stop with it); one still running on a
        given cluster after ``timeout`` is left to it, and its job never ends.

        Example::

            executor.close()
        """
        self.shutdown(timeout)
        if self._owns_client:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._scratch.cleanup()
            self._owns_client = False
            # The worker processes are gone: whatever still ran there has stopped now.
            with self._lock:
                left = list(self._jobs.values())
            for tracked in left:
                self._settle(tracked.job_id, "error", tracked.stopped_error(), force=True)

    # -- Executor interface ----------------------------------------------------------------

    def check_task(self, task: Any) -> None:
        if isinstance(task, AsyncBackgroundTask):
            raise TypeError(
                f"{type(task).__name__} is an AsyncBackgroundTask; DaskExecutor runs plain "
                "BackgroundTask subclasses (def run)"
            )
        if self._closed:
            raise TaskStateError("this DaskExecutor was closed")

    def submit(self, job: Job) -> None:
        if self._closed:
            raise TaskStateError("this DaskExecutor was closed")
        job_id = next(_ids)
        tracked = _Tracked(job, job_id, f"{self._queue_name}-cancel-{job_id}")
        lifecycle = job.begin()
        if lifecycle is None:
            return
        with self._lock:
            self._jobs[job_id] = tracked
        try:  # QObjects (widgets) stay home: placeholders on the worker
            payload = encode(
                job.task, label="task", where="the Dask cluster", threshold=None, namer=None
            ).payload
        except Unsendable as exc:
            self._settle(job_id, "error", QBackgroundError(str(exc)), force=True)
            return
        try:
            future = self.client.submit(
                _run_remote,
                payload,
                dict(job.params),
                job_id,
                self._queue_name,
                tracked.event_name,
                self.flush_interval,
                lifecycle.attempt,
                key=f"qbackground-{type(job.task).__name__}-{uuid.uuid4().hex}",
                pure=False,
                retries=0,
            )
        except Exception as exc:  # serialization of the task failed
            self._settle(job_id, "error", QBackgroundError(
                f"{type(job.task).__name__} could not be sent to the Dask cluster "
                f"({type(exc).__name__}: {exc})"
            ), force=True)
            return
        tracked.future = future
        future.add_done_callback(lambda fut, tracked=tracked: self._future_done(tracked, fut))

    def on_interrupt(self, job: Job) -> None:
        with self._lock:
            found = [t for t in self._jobs.values() if t.job is job]
        for tracked in found:
            self._control.put(("stop", tracked))

    def on_pause(self, job: Job) -> None:
        with self._lock:
            found = [t for t in self._jobs.values() if t.job is job]
        for tracked in found:
            self._control.put(("pause", tracked))

    def shutdown(self, timeout: float | None) -> bool:
        """Stop accepting tasks, stop the running ones, and wait up to ``timeout``
        seconds for them to end (a started ``run()`` must return on its Dask worker);
        True if all did. The helper threads stop then."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._closed:
                return not self._jobs
            self._closed = True
            tracked = list(self._jobs.values())
        for item in tracked:
            self._control.put(("stop", item))
        with self._idle:
            ended = self._idle.wait_for(lambda: not self._jobs and not self._ending, _left(deadline))
        self._control.put(None)
        self._controller.join(_left(deadline))
        try:
            self._queue.put(_STOP)
        except Exception:  # pragma: no cover - the cluster is already gone
            pass
        self._reader.join(_left(deadline))
        return ended and not self._reader.is_alive()

    @property
    def running(self) -> int:
        """Tasks submitted to the cluster whose ``run()`` has not ended yet."""
        return len(self._jobs)

    # -- helper threads ------------------------------------------------------------------

    def _control_loop(self) -> None:
        # Blocking cluster calls, one at a time, in the order they were asked for.
        while True:
            request = self._control.get()
            if request is None:
                return
            kind, tracked = request
            with self._lock:
                live = self._jobs.get(tracked.job_id) is tracked
            if not live:
                continue  # settled meanwhile: no event to set on the scheduler
            if kind == "pause":
                _forward_pause(self.client, tracked)
            else:
                self._stop(tracked)

    def _stop(self, tracked: _Tracked) -> None:
        """Controller thread: a cancel, timeout or interrupt (or a cancelled future):
        stop the remote ``run()``, or end a job that never started at once."""
        if tracked.started is None:  # the first stop asked for: the protocol, once
            try:
                tracked.started = _stop_remote(self.client, tracked)
            except Exception:  # the cluster is gone: nothing will report this job's end
                tracked.started = False
            future = tracked.future
            if not tracked.started and future is not None:
                try:
                    future.cancel()  # it never runs (it would see the cancel flag anyway)
                except Exception:  # pragma: no cover - cluster gone
                    pass
        if not tracked.started:
            # Never started, or run() has already returned (-started is cleared after
            # it): nothing runs, the job ends now, with the future's outcome if it came.
            outcome = tracked.outcome or ("error", tracked.stopped_error())
            self._settle(tracked.job_id, *outcome, force=True)
        # Started: run() winds down on its Dask worker; the end marker, which comes after
        # its last report, and the future's outcome settle the job (_read, _future_done).

    def _read(self) -> None:
        while True:
            try:
                data = self._queue.get()
            except Exception:  # the cluster went away
                return
            if data == _STOP:
                return
            message = pickle.loads(data)
            kind, job_id = message[0], message[1]
            with self._lock:
                tracked = self._jobs.get(job_id)
            if tracked is None:
                continue
            if kind == "report":
                _, _, items, events, text, fraction, urgent = message
                tracked.job.replay(items, events, text, fraction, flush=urgent)
            elif kind == "end":
                outcome = tracked.record_end()
                if outcome is not None:
                    self._settle(job_id, *outcome)

    def _future_done(self, tracked: _Tracked, future: Any) -> None:
        """Dask's callback thread: the future finished, failed or was cancelled."""
        with self._lock:
            live = self._jobs.get(tracked.job_id) is tracked
        if not live:
            return
        outcome = _future_outcome(tracked, future)
        if outcome is None:
            # Cancelled (by our _stop when the job never started, or by someone else on
            # the cluster) or lost. A run() that already started keeps running on its Dask
            # worker whatever the future says: the job ends with its end marker, once the
            # controller asked it to stop (_stop ends at once a job that never started).
            name = type(tracked.job.task).__name__
            outcome = ("error", QBackgroundError(f"the Dask future of {name} was cancelled"))
            if not tracked.record_outcome(outcome):
                self._control.put(("stop", tracked))
                return
            outcome = tracked.outcome or outcome
        elif outcome[0] == "crashed":  # its Dask worker died: no end marker will come
            self._settle(tracked.job_id, "error", outcome[1], force=True)
            return
        elif not tracked.record_outcome(outcome):
            return  # the end marker settles it (_read)
        self._settle(tracked.job_id, *outcome)

    def _settle(self, job_id: int, kind: str, value: Any, *, force: bool = False) -> None:
        """End a job once: ``done`` or ``error`` (``force``: without the end marker),
        only after its ``run()`` returned or when it never ran."""
        with self._lock:
            tracked = self._jobs.pop(job_id, None)
            if tracked is None:
                return
            self._ending += 1
        try:
            job = tracked.job
            if kind == "done":
                job.succeed(value)
            elif kind == "error":
                job.fail(value)
            self.on_stop()
        finally:
            with self._idle:
                self._ending -= 1
                self._idle.notify_all()

