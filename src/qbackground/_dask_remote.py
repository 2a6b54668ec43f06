"""The Dask-worker side of :class:`qbackground.dask.DaskExecutor`: runs one task there.

The task arrives pickled by :mod:`qbackground.backends._sending` (its QObjects left in
the GUI process, placeholders here); reports go back batched through one
``distributed.Queue``, followed by an end marker. Before anything else it sets the job's
``-started`` event and only then reads its cancel flag (the GUI side does the opposite:
see :mod:`qbackground._dask_tracked`), so a job cancelled before it got here never runs.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Mapping
from typing import Any

import distributed as _distributed

from ._current import running
from ._errors import QBackgroundError, TaskInterruptedError
from ._generator import run_task_body
from .backends._child import ChildLifeCycle
from .backends._sending import Envelope, decode

__all__ = ["STOP", "Stopped", "run_remote"]

Event: Any = _distributed.Event
Queue: Any = _distributed.Queue

STOP = b"qbackground-stop"
"""Put on the report queue by the GUI process to end its reader thread."""


class Stopped:
    """What :func:`run_remote` returns when the job's cancel flag stopped it: before
    ``run()`` started, or ``run()`` raised after the interrupt (returned, not raised, so
    Dask logs no failed task for what is an ordinary cancel)."""

    __slots__ = ()


def _end_early(channel: Any, job_id: int, event_name: str) -> None:
    """``run()`` will not run: clear the job's events (a set event stays on the scheduler
    until cleared) and put the end marker, so the GUI side settles with the outcome."""
    try:
        for suffix in ("-started", "", "-cancelled", "-pause", "-resume"):
            Event(event_name + suffix).clear()
    except Exception:  # pragma: no cover - the cluster is already going away
        pass
    channel.put(pickle.dumps(("end", job_id)))


def run_remote(
    payload: bytes,
    params: Mapping[str, Any],
    job_id: int,
    queue_name: str,
    event_name: str,
    flush_interval: float,
    attempt: int = 1,
) -> Any:
    """Runs on a Dask worker: the task, a flusher, a cancel and a pause watcher."""
    channel = Queue(queue_name)
    cancel = Event(event_name)
    started = Event(event_name + "-started")
    # Announce first, then look (the GUI side sets the cancel flag, then reads -started):
    # one of the two sides sees the other, so a cancelled job never runs unseen.
    started.set()
    if cancel.is_set():
        _end_early(channel, job_id, event_name)
        return Stopped()
    try:
        task = decode(Envelope(payload, ()))  # its class may not be importable here
    except BaseException:
        _end_early(channel, job_id, event_name)  # the GUI side settles with this error
        raise
    kick = threading.Event()
    lifecycle = ChildLifeCycle(job_id, params, kick)
    lifecycle._attempt = attempt  # lifecycle.attempt, as in the GUI process
    finished = threading.Event()
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        channel.put(pickle.dumps(message))

    def send_report() -> None:
        with send_lock:
            report = lifecycle.take_report()
            if report is None:
                return
            try:
                data = pickle.dumps(report)
            except Exception as exc:
                lifecycle.break_with(
                    QBackgroundError(
                        f"a progress item, event or message of the task could not be pickled: {exc}"
                    )
                )
                return
            channel.put(data)

    def flush_loop() -> None:
        while not finished.is_set():
            kick.wait()
            kick.clear()
            if finished.is_set():
                return
            if not lifecycle._urgent:
                finished.wait(flush_interval)
            send_report()

    def watch_cancel() -> None:
        # Long-poll Event.wait: a Queue/Variable get with a timeout would log an error on
        # the scheduler at every timeout.
        try:
            while not finished.is_set():
                if cancel.wait(0.5):
                    if not finished.is_set():  # not our own wake-up at the end
                        lifecycle.interrupt(cancelled=Event(event_name + "-cancelled").is_set())
                    return
        except Exception:  # the cluster is going away; nobody is left to cancel us
            return

    paused_event = Event(event_name + "-pause")
    resumed_event = Event(event_name + "-resume")

    def watch_pause() -> None:
        # The GUI side sets -pause (and clears -resume) on pause(), the other way round
        # on resume(); wait for whichever ends the state we are in (long polls again).
        paused = False
        try:
            while not finished.is_set():
                if not paused:
                    if paused_event.wait(0.5) and not finished.is_set():
                        lifecycle.pause()
                        paused = True
                elif resumed_event.wait(0.5) and not finished.is_set():
                    lifecycle.resume()
                    paused = False
        except Exception:  # the cluster is going away: cancel or the deadline ends us
            lifecycle.resume()

    threading.Thread(target=flush_loop, name="qbackground-dask-flusher", daemon=True).start()
    watcher = threading.Thread(target=watch_cancel, name="qbackground-dask-cancel", daemon=True)
    watcher.start()
    pauser = threading.Thread(target=watch_pause, name="qbackground-dask-pause", daemon=True)
    pauser.start()
    try:
        with running(lifecycle):  # current_lifecycle() inside run()
            value = run_task_body(task, lifecycle)  # drives a generator run()
        if lifecycle._broken is not None:
            raise lifecycle._broken
        return value
    except (Exception, TaskInterruptedError):
        if lifecycle._interrupted:  # the cancel flag stopped it: the GUI side ends the job
            return Stopped()
        raise
    finally:
        lifecycle.finish()
        finished.set()
        kick.set()
        # End the watcher's long poll now (a wait still pending on the scheduler when
        # the cluster closes makes it log a CancelledError traceback), then clear the
        # events: a set event stays on the scheduler until cleared.
        try:
            cancel.set()
            paused_event.set()
            resumed_event.set()
            watcher.join(1.0)
            pauser.join(1.0)
            cancel.clear()
            paused_event.clear()
            resumed_event.clear()
            Event(event_name + "-cancelled").clear()
            started.clear()  # run() has returned: the GUI side may settle the job at once
        except Exception:  # pragma: no cover - the cluster is already going away
            pass
        send_report()
        send(("end", job_id))
