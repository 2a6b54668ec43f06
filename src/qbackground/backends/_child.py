"""The worker-process side of the process backend.

One job at a time. Three threads:

* the **main thread** runs ``task.run(lifecycle)``;
* the **reader** receives ``run``/``cancel``/``pause``/``stop`` from the parent, so a
  cancel flag crosses the process boundary while ``run()`` computes (``is_cancelled()``
  then reads a local flag: no round trip per call), and a pause holds the task at its
  next checkpoint;
* the **flusher** sends batched reports (items, events, latest message and fraction) at
  most every ``flush_interval`` once something was published, so a task that publishes
  once and then computes for a long time is still shown promptly.

All sends go through one lock, and the result is sent after a final flush on the same
pipe, so ``done()`` can never overtake the last ``progress()``.
"""

from __future__ import annotations

import os
import pickle
import queue
import re
import signal
import threading
import traceback
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from .._buffered import BufferedLifeCycle
from .._current import running
from .._generator import run_task_body
from .._errors import QBackgroundError
from .._lifecycle import HEARTBEAT
from . import _sending, _shm

__all__ = ["ChildLifeCycle", "RemoteTraceback", "main"]


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in another process.

    Attached as ``__cause__`` of the re-raised exception, as ``concurrent.futures``
    does, so the remote frames show up in the GUI process's traceback.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class ChildLifeCycle(BufferedLifeCycle[Any]):
    """The lifecycle ``run()`` gets in another process (a worker process, a Dask worker).

    Reports accumulate in the buffers; whoever owns ``kick`` sends them
    (``take_report()``) when it is set.
    """

    __slots__ = ("job_id", "_kick", "_urgent", "_beat", "arrays")

    def __init__(
        self,
        job_id: int,
        params: Mapping[str, Any],
        kick: threading.Event,
        arrays: _sending.SharedArrays | None = None,
    ) -> None:
        super().__init__(params)
        self.job_id = job_id
        self.arrays = arrays  # None: shared_array() makes plain arrays (Dask)
        self._kick = kick
        self._wakeup = threading.Event()  # the reader thread may interrupt any time
        self._urgent = False  # flush() asked for a batch now
        self._beat = False  # publish() with no changes since the last report

    def publish(self, *changes: Any) -> None:
        # BufferedLifeCycle.publish() plus the heartbeat; keep the two in step.
        if self._stopped:
            self._raise_stopped("publish()")
        if changes:
            self._items.extend(changes)
        else:
            self._beat = True  # a heartbeat: sent as [HEARTBEAT] if no item comes with it
        if not self._scheduled:
            self._schedule()

    def shared_array(self, shape: Any, dtype: Any = "float64") -> Any:
        if self.arrays is None:
            return super().shared_array(shape, dtype)
        return self.arrays.allocate(shape, dtype)

    def _schedule(self) -> None:
        self._scheduled = True
        self._kick.set()

    def flush(self) -> None:
        if self._stopped:
            self._raise_stopped("flush()")
        self._urgent = True
        self._schedule()

    def take_report(self) -> tuple[Any, ...] | None:
        """Everything pending, as one message (flusher or final flush, send lock held)."""
        self._scheduled = False  # before draining: a report after this kicks again
        urgent, self._urgent = self._urgent, False
        items = self._items
        taken = [items.popleft() for _ in range(len(items))]
        if self._beat:
            self._beat = False
            if not taken:
                taken = [HEARTBEAT]  # the GUI side calls progress([]) once
        events = self._events
        sent = [events.popleft() for _ in range(len(events))]
        message, self._message = self._message, None
        fraction, self._fraction = self._fraction, None
        if not taken and not sent and message is None and fraction is None and not urgent:
            return None
        return ("report", self.job_id, taken, sent, message, fraction, urgent)


class _Child:
    def __init__(
        self, conn: Connection, flush_interval: float, prefix: str, threshold: int | None
    ) -> None:
        self.conn = conn
        self.flush_interval = flush_interval
        self.namer = _shm.Namer(prefix)  # segments this process creates
        self.threshold = threshold
        self.send_lock = threading.Lock()
        self.kick = threading.Event()
        self.jobs: queue.SimpleQueue[tuple[ChildLifeCycle, Any] | None] = queue.SimpleQueue()
        # Lifecycles received and not yet finished, so a cancel that overtakes the start
        # of run() still lands.
        self.pending: dict[int, ChildLifeCycle] = {}
        self.current: ChildLifeCycle | None = None

    def serve(self) -> None:
        with self.send_lock:
            self.conn.send(("ready",))  # the parent kills a worker that never says this
        threading.Thread(target=self._read, name="qbackground-child-reader", daemon=True).start()
        threading.Thread(target=self._flush_loop, name="qbackground-child-flusher", daemon=True).start()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            self._run(*job)

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the GUI process is gone: nobody wants our results
            kind = message[0]
            if kind == "run":
                _, job_id, payload, params_envelope, attempt = message
                try:
                    params = _sending.decode(params_envelope)
                except BaseException as exc:  # the values' classes are not importable here
                    params, payload = {}, exc
                arrays = _sending.SharedArrays(_shm.Namer(self.namer.next() + "a"))
                lifecycle = ChildLifeCycle(job_id, params, self.kick, arrays)
                lifecycle._attempt = attempt
                self.pending[job_id] = lifecycle
                self.jobs.put((lifecycle, payload))
            elif kind == "cancel":
                found = self.pending.get(message[1])
                if found is not None:
                    found.interrupt(message[2])
            elif kind == "pause":
                found = self.pending.get(message[1])
                if found is not None:
                    if message[2]:
                        found.pause()
                    else:
                        found.resume()
            elif kind == "stop":
                self.jobs.put(None)
                return

    def _flush_loop(self) -> None:
        while True:
            self.kick.wait()
            self.kick.clear()
            lifecycle = self.current
            if lifecycle is not None and not lifecycle._urgent:
                # Batch: let more items arrive before sending (no busy loop: kick is
                # only set again by a publish after the report below took the items).
                threading.Event().wait(self.flush_interval)
            with self.send_lock:
                lifecycle = self.current
                if lifecycle is not None:
                    self._send_report(lifecycle)

    def _encode(self, value: Any, label: str, arrays: _sending.SharedArrays | None) -> Any:
        return _sending.encode(
            value,
            label=label,
            where="the GUI process",
            threshold=self.threshold,
            namer=self.namer,
            arrays=arrays,
        )

    def _send_report(self, lifecycle: ChildLifeCycle) -> None:
        report = lifecycle.take_report()
        if report is None:
            return
        try:
            envelope = self._encode(report[2:], "progress", lifecycle.arrays)
        except _sending.Unsendable as exc:
            text = re.sub(r"^progress\[0\]\[(\d+)\]", r"published item \1", str(exc))
            text = re.sub(r"^progress\[1\]\[(\d+)\]\[1\]", r"the data of event \1", text)
            lifecycle.break_with(
                QBackgroundError(
                    "a progress item, event or message of the task could not be pickled to "
                    f"send it to the GUI process: {text}"
                )
            )
            return
        self.conn.send(("report", report[1], envelope))

    def _run(self, lifecycle: ChildLifeCycle, payload: Any) -> None:
        job_id = lifecycle.job_id
        outcome: tuple[Any, ...]
        try:
            if isinstance(payload, BaseException):
                raise payload
            task, payload = _sending.decode(payload), None
        except BaseException as exc:  # the class is not importable here
            outcome = _error(
                job_id,
                QBackgroundError(
                    "the task could not be unpickled in the worker process "
                    f"({type(exc).__name__}: {exc}); define the task class at module level "
                    "in a module the worker can import"
                ),
            )
        else:
            self.current = lifecycle
            try:
                with running(lifecycle):  # current_lifecycle() inside run()
                    value = run_task_body(task, lifecycle)  # drives a generator run()
            except BaseException as exc:  # every failure goes back to the GUI process
                outcome = _error(job_id, exc)
            else:
                outcome = ("done", job_id, value)
            if lifecycle._broken is not None and outcome[0] == "done":
                outcome = _error(job_id, lifecycle._broken)
        lifecycle.finish()
        with self.send_lock:
            self.current = None
            self.pending.pop(job_id, None)
            self._send_report(lifecycle)
            done = outcome[0] == "done"
            try:
                body = outcome[2] if done else outcome[2:]
                envelope = self._encode(body, "result" if done else "exception", lifecycle.arrays)
            except _sending.Unsendable as exc:
                what = "result" if done else "exception"
                failure = QBackgroundError(
                    f"the task's {what} could not be pickled to send it to the GUI process: {exc}"
                )
                outcome = _error(job_id, failure)
                envelope = self._encode(outcome[2:], "exception", None)
            self.conn.send((outcome[0], job_id, envelope))
            if lifecycle.arrays is not None:
                lifecycle.arrays.release()  # the shared arrays never sent


def error_message(job_id: int, exc: BaseException) -> tuple[Any, ...]:
    """``("error", job_id, exc, traceback text)``, with ``exc`` made picklable."""
    return _error(job_id, exc)


def _error(job_id: int, exc: BaseException) -> tuple[Any, ...]:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        pickle.dumps(exc)
    except Exception:
        exc = QBackgroundError(f"{type(exc).__name__}: {exc} (the exception could not be pickled)")
    return ("error", job_id, exc, text)


def main(
    conn: Connection, flush_interval: float, prefix: str = "", threshold: int | None = None
) -> None:
    """Entry point of a worker process (``prefix`` names the segments it creates)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the GUI process's business
    _Child(conn, flush_interval, prefix, threshold).serve()
