"""``pause()`` / ``resume()`` of a handler (a mixin of ``BackgroundTaskHandler``).

Pausing is a flag beside the state machine (see ``_handler_state``): the handler stays
QUEUED or RUNNING inside, so cancel, owner close, shutdown and a failure end a paused
task exactly as a running one, and at once (the decision opens the lifecycle's pause).

* A RUNNING task's lifecycle is paused under the handler's lock: the task blocks at its
  next checkpoint. A QUEUED one stays queued and starts paused (``_begin`` pauses the
  new lifecycle under the same lock).
* The executor hears of every change through ``on_pause(job)`` and forwards
  ``job.is_paused()`` as it reads it then (a process, a Dask worker): calls from two
  threads may arrive in either order, the last one forwarded carries the latest state.
* The timeout clock: ``pause()`` notes the time; a deadline that comes due while
  paused is ignored; ``resume()`` adds the paused seconds to the deadline and arms it
  again under a new generation, so the old entry, when it comes due, is ignored.
"""

from __future__ import annotations

from time import monotonic
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import TaskStateError
from ._handler_job import HandlerJob
from ._status import TaskStatus

__all__ = ["HandlerPause"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING
_CREATED = TaskStatus.CREATED


class _Rearmed:
    """A deadline armed again by ``resume()``: it counts only while its generation does."""

    __slots__ = ("_handler", "_gen")

    def __init__(self, handler: HandlerPause[Any], gen: int) -> None:
        self._handler = handler
        self._gen = gen

    def _expire(self) -> None:
        self._handler._expire(self._gen)

    def is_alive(self) -> bool:
        return self._handler.is_alive()


class HandlerPause(HandlerJob[V]):
    """``pause()``, ``resume()``, ``is_paused()`` (see the module docstring)."""

    __slots__ = ()

    if TYPE_CHECKING:
        def is_alive(self) -> bool: ...

    def pause(self) -> bool:
        """Hold the task at its next checkpoint; True if this paused it (any thread).

        The task blocks in its next ``publish()``, ``set_progress()``,
        ``set_message()``, ``is_cancelled()``, ``sleep()`` or ``lifecycle.checkpoint()``
        until :meth:`resume`; its timeout clock stops. :attr:`status` reports
        ``PAUSED`` and :meth:`is_alive` stays true. A queued task stays queued and
        starts paused. ``cancel()``, a closed owner and ``shutdown()`` still end a
        paused task at once. False when it was already paused or its outcome is
        decided (or ``run()`` already returned).

        Raises:
            TaskStateError: called before ``execute()``.

        Example::

            pause_button.clicked.connect(handler.pause)
            resume_button.clicked.connect(handler.resume)
        """
        if self._status is _CREATED:
            raise TaskStateError("pause() called before execute(); there is nothing to pause yet")
        with self._lock:
            status = self._status
            if (status is not _QUEUED and status is not _RUNNING) or self._paused or self._ready:
                return False
            self._paused = True
            self._paused_at = monotonic()
            lifecycle = self._lifecycle
            if lifecycle is not None:
                lifecycle.pause()
        self._pause_changed()
        return True

    def resume(self) -> bool:
        """Let a paused task run on from where it waits; True if it was paused (any thread).

        The rest of its timeout runs on from now (the paused time does not count).
        False when it was not paused or its outcome is already decided.

        Example::

            if handler.is_paused():
                handler.resume()
        """
        with self._lock:
            if not self._paused:
                return False
            self._paused = False
            status = self._status
            if status is not _QUEUED and status is not _RUNNING:
                return False  # ended while paused (the decision already woke the task)
            lifecycle = self._lifecycle
            if lifecycle is not None:
                lifecycle.resume()
            started = self._started_at
            timeout = self._task.timeout
            deadline = None
            if started is not None:  # the clock runs (a held handler's starts at launch)
                now = monotonic()
                self._paused_total += now - max(self._paused_at, started)
                if timeout is not None:
                    self._deadline_gen += 1
                    deadline = (started + timeout + self._paused_total, self._deadline_gen)
        if deadline is not None:
            self._link.add_deadline(deadline[0], _Rearmed(self, deadline[1]))
        self._pause_changed()
        return True

    def is_paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume` while the task is alive.

        Example::

            toggle.setText("Resume" if handler.is_paused() else "Pause")
        """
        return self._paused and not self._ready and self.is_alive()

    def _pause_changed(self) -> None:
        # (self is always a BackgroundTaskHandler, the executor's Job)
        self._executor.on_pause(self)  # type: ignore[arg-type]
        link = self._link
        if link.dispatcher.is_gui_thread():
            link.note_activity()  # tasks_changed: status widgets show the change
        else:
            link.post(link.note_activity)

