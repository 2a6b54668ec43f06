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
  local flag: ``is_cancelled()`` costs no round trip) and cancel the Dask future.
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
import traceback
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import dask
import distributed as _distributed
from distributed import Client

from ._async import AsyncBackgroundTask
from ._current import running
from ._errors import ProcessCrashedError, QBackgroundError, TaskStateError
from ._dask_remote import STOP as _STOP
from ._dask_remote import run_remote as _run_remote
from .backends import Executor, Job
from .backends._child import RemoteTraceback
from .backends._sending import Unsendable, encode

__all__ = ["DaskExecutor"]

# Much of distributed's API carries no annotations (untyped calls under --strict): it is
# used through Any on purpose, in this module only.
_dist: Any = _distributed
Event: Any = _distributed.Event
Queue: Any = _distributed.Queue

_ids = itertools.count(1)


class _Tracked:
    """A job on the cluster, as the GUI process sees it."""

    __slots__ = ("job", "future", "event_name", "end_seen", "outcome", "lock")

    def __init__(self, job: Job, event_name: str) -> None:
        self.job = job
        self.future: Any = None  # a distributed Future (untyped methods)
        self.event_name = event_name
        self.end_seen = False  # the remote end marker arrived (all reports are in)
        self.outcome: tuple[str, Any] | None = None  # ("done", value) / ("error", exc)
        self.lock = threading.Lock()


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
        self._closed = False
        # Blocking cluster calls (Event.set, cancel) never run on the GUI thread.
        self._control: queue.SimpleQueue[Any] = queue.SimpleQueue()
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
        """Cancel running tasks, stop the helper threads, and close what this object
        started (never a client it was given). Calling it twice is harmless.

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
        tracked = _Tracked(job, f"{self._queue_name}-cancel-{job_id}")
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
        future.add_done_callback(lambda fut, job_id=job_id: self._future_done(job_id, fut))

    def on_interrupt(self, job: Job) -> None:
        with self._lock:
            found = [t for t in self._jobs.values() if t.job is job]
        for tracked in found:
            self._control.put(tracked)

    def on_pause(self, job: Job) -> None:
        with self._lock:
            found = [t for t in self._jobs.values() if t.job is job]
        for tracked in found:
            self._control.put((tracked,))  # a 1-tuple: forward the pause state

    def shutdown(self, timeout: float | None) -> bool:
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            tracked = list(self._jobs.values())
        for item in tracked:
            self._control.put(item)
        self._control.put(None)
        self._controller.join(timeout)
        try:
            self._queue.put(_STOP)
        except Exception:  # pragma: no cover - the cluster is already gone
            pass
        self._reader.join(timeout)
        return not self._reader.is_alive()

    @property
    def running(self) -> int:
        """Tasks submitted to the cluster and not yet settled."""
        return len(self._jobs)

    # -- helper threads ------------------------------------------------------------------

    def _control_loop(self) -> None:
        while True:
            tracked = self._control.get()
            if tracked is None:
                return
            if isinstance(tracked, tuple):
                self._forward_pause(tracked[0])
                continue
            try:
                if tracked.job.is_cancelled():
                    Event(tracked.event_name + "-cancelled", client=self.client).set()
                Event(tracked.event_name, client=self.client).set()
                if tracked.future is not None:
                    tracked.future.cancel()
            except Exception:  # pragma: no cover - cluster gone; the deadline still holds
                pass

    def _forward_pause(self, tracked: _Tracked) -> None:
        """Two events per job: ``-pause`` set while paused, ``-resume`` set after a
        resume; the task's watcher waits for whichever ends its current state. The state
        is read now, so the last one forwarded is the handler's latest."""
        name = tracked.event_name
        try:
            if tracked.job.is_paused():
                Event(name + "-resume", client=self.client).clear()
                Event(name + "-pause", client=self.client).set()
            else:
                Event(name + "-pause", client=self.client).clear()
                Event(name + "-resume", client=self.client).set()
        except Exception:  # pragma: no cover - cluster gone; cancel and deadline still hold
            pass

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
                with tracked.lock:
                    tracked.end_seen = True
                    outcome = tracked.outcome
                if outcome is not None:
                    self._settle(job_id, *outcome)

    def _future_done(self, job_id: int, future: Any) -> None:
        with self._lock:
            tracked = self._jobs.get(job_id)
        if tracked is None:
            return
        status = future.status
        if status == "finished":
            outcome: tuple[str, Any] = ("done", future.result())
        elif status == "error":
            exc = future.exception()
            assert exc is not None
            if type(exc).__name__ == "KilledWorker":
                crashed = ProcessCrashedError(
                    f"the Dask worker running {type(tracked.job.task).__name__} died ({exc})"
                )
                crashed.__cause__ = exc
                self._settle(job_id, "error", crashed, force=True)  # no end marker will come
                return
            remote_tb = future.traceback()
            if exc.__cause__ is None and remote_tb is not None:
                text = "".join(traceback.format_exception(type(exc), exc, remote_tb))
                exc.__cause__ = RemoteTraceback(text)
            outcome = ("error", exc)
        else:  # cancelled: by us (a no-op then), or by someone else on the cluster
            self._settle(
                job_id,
                "error",
                QBackgroundError(f"the Dask future of {type(tracked.job.task).__name__} was cancelled"),
                force=True,
            )
            return
        with tracked.lock:
            tracked.outcome = outcome
            ready = tracked.end_seen
        if ready:
            self._settle(job_id, *outcome)

    def _settle(self, job_id: int, kind: str, value: Any, *, force: bool = False) -> None:
        """End a job once: ``done`` or ``error`` (``force``: without the end marker)."""
        with self._lock:
            tracked = self._jobs.pop(job_id, None)
        if tracked is None:
            return
        job = tracked.job
        if kind == "done":
            job.succeed(value)
        elif kind == "error":
            job.fail(value)
        self.on_stop()

