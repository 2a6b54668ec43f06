"""The lifecycle states of a :class:`~qbackground.BackgroundTaskHandler`."""

from __future__ import annotations

from enum import Enum

__all__ = ["TaskStatus"]


class TaskStatus(Enum):
    """Where a handler is in its single-shot life.

    ``CREATED → QUEUED → RUNNING →`` one of the five final states. A handler leaves
    ``RUNNING`` for ``DONE`` only when ``done()`` is delivered on the GUI thread, so a
    ``cancel()`` that comes after ``run()`` returned but before ``done()`` still wins.
    ``PAUSED`` is reported between ``handler.pause()`` and ``handler.resume()`` (from
    ``QUEUED`` or ``RUNNING``, back to where it was); it is not final.

    Example::

        handler = worker.handle(task)
        assert handler.status is TaskStatus.CREATED
        handler.execute()
        assert handler.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
    """

    CREATED = "created"
    """``handle()`` returned the handler; ``execute()`` was not called yet."""
    QUEUED = "queued"
    """Executed, waiting for a free thread — or, with a ``Retry`` policy, for its next
    attempt after a failure (``RUNNING`` again when that attempt starts)."""
    RUNNING = "running"
    """``run()`` is executing (or returned and ``done()`` is about to be delivered)."""
    PAUSED = "paused"
    """``pause()`` was called: the task blocks at its next checkpoint until ``resume()``;
    not final (``is_alive()`` stays true) and its timeout clock stands still."""
    DONE = "done"
    """``run()`` returned and ``done()`` was delivered."""
    FAILED = "failed"
    """``run()`` raised; ``handle_exception()`` receives the exception."""
    CANCELLED = "cancelled"
    """``cancel()`` was called in time; ``canceled()`` receives the news."""
    TIMED_OUT = "timed_out"
    """The task's timeout expired; ``handle_timeout_exception()`` receives the news."""
    INTERRUPTED = "interrupted"
    """The owner window closed or the worker shut down; no callback runs."""

    @property
    def is_final(self) -> bool:
        """True for the five states a handler never leaves.

        Example::

            assert TaskStatus.DONE.is_final and not TaskStatus.RUNNING.is_final
        """
        return self in _FINAL


_FINAL = frozenset(
    {
        TaskStatus.DONE,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
        TaskStatus.TIMED_OUT,
        TaskStatus.INTERRUPTED,
    }
)
