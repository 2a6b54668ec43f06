"""Retries (DESIGN §11): the handler's side of a task's :class:`~qbackground.Retry`.

A failure the policy accepts does not decide the outcome. On the executor's thread,
under the lock, ``RUNNING`` goes back to ``QUEUED`` and the handler is *held*: out of
every executor, as a key or group holds one. So a ``cancel()``, timeout, owner close
or shutdown during the wait decides it as for any held handler, at once and without
the executor (which gave the slot back when the attempt stopped). Then, GUI thread:

1. ``_retry_ask``: the failed attempt's pending reports are delivered (what it
   published stays published), its lifecycle is closed, and
   ``task.handle_retry(attempt, exc)`` runs; False (or raising) ends the task
   ``FAILED`` with ``exc``, through ``handle_exception``.
2. The backoff: one entry on the worker's deadline thread, which posts
   ``_retry_launch`` to the GUI thread when it is due; no pool thread and not the GUI
   thread waits. A decision meanwhile makes the entry a no-op (its token is stale).
3. ``_retry_launch``: the handler is given to its executor again; ``begin()`` makes a
   fresh lifecycle whose ``attempt`` is the next number.

The deadline armed at ``execute()`` is never renewed: the timeout covers all attempts.
``_run_over`` stays False between attempts, so ``when_stopped`` callbacks wait for the
last one, and exactly one terminal callback ends the handler, as always.
"""

from __future__ import annotations

import weakref
from functools import partial
from time import monotonic
from typing import Any, TypeVar

from ._handler_delivery import HandlerDelivery
from ._status import TaskStatus

__all__ = ["Attempts", "HandlerRetry"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING


class Attempts:
    """A handler's retry bookkeeping, made at its first retried failure."""

    __slots__ = ("number", "failure", "wake")

    def __init__(self) -> None:
        self.number = 1  # the attempt that runs (or last ran)
        # The failure waiting for _retry_ask; None once asked.
        self.failure: BaseException | None = None
        # The pending backoff's token; a wake-up carrying another one is stale.
        self.wake: object | None = None


class _Wake:
    """The deadline-thread entry that ends a backoff. It refers to its handler weakly:
    a handler cancelled during a long backoff is not kept until the entry falls due."""

    __slots__ = ("_handler", "_token")

    def __init__(self, handler: HandlerRetry[Any], token: object) -> None:
        self._handler = weakref.ref(handler)
        self._token = token

    def _expire(self) -> None:
        handler = self._handler()
        if handler is not None:
            handler._link.post(partial(handler._retry_launch, self._token))

    def is_alive(self) -> bool:
        handler = self._handler()
        state = None if handler is None else handler._retrying
        return state is not None and state.wake is self._token


class HandlerRetry(HandlerDelivery[V]):
    """Re-running a failed task (a mixin of ``BackgroundTaskHandler``)."""

    __slots__ = ()

    @property
    def attempt(self) -> int:
        """The number of the attempt running now, or last run (1-based; 1 without retries).

        Example::

            status_label.setText(f"attempt {handler.attempt}")
        """
        state = self._retrying
        return 1 if state is None else state.number

    def _retry_later(self, exc: BaseException) -> bool:
        """Executor side: ``run()`` raised ``exc``; True when it will run again instead
        of failing (the handler is then QUEUED and held until the backoff is over).

        On True the caller posts :meth:`_retry_ask` to the GUI thread, and only once
        the executor has the failed attempt's slot back (``run_here()``: after
        ``on_stop()``): a zero backoff resubmits at once, and a bounded executor
        (``threads=1, max_queued=0``) must not refuse the retry because its own
        previous attempt still held the slot."""
        retry = self._task._retry
        if retry is None or not isinstance(exc, retry.on):
            return False
        with self._lock:
            if self._status is not _RUNNING:
                return False  # decided meanwhile (the normal path reports it)
            state = self._retrying
            if state is None:
                state = self._retrying = Attempts()
            if state.number >= retry.attempts:
                return False  # used up: handle_exception gets this last failure
            self._status = _QUEUED
            self._held = True
            state.failure = exc
            lifecycle = self._lifecycle
        if lifecycle is not None:
            lifecycle.finish()  # a report from the failed attempt now is a mistake
        return True

    def _retry_ask(self) -> None:
        """GUI thread: deliver what the failed attempt reported, ask the task, wait."""
        state = self._retrying
        with self._lock:
            if self._status is not _QUEUED or state is None or state.failure is None:
                return  # decided during the wait (its callback ran or is on its way)
            exc = state.failure
            lifecycle = self._lifecycle
        if lifecycle is not None:
            lifecycle.deliver_pending()  # progress() of the failed attempt, before the retry
            with self._lock:
                if self._status is not _QUEUED:
                    return  # e.g. its owner went away while progress was delivered
                self._lifecycle = None  # the next begin() makes a fresh one
            lifecycle.close()
        self._link.note_activity()
        attempt = state.number + 1
        answer = self._call(self._task.handle_retry, attempt, exc)
        with self._lock:
            if self._status is not _QUEUED or state.failure is not exc:
                return  # handle_retry() cancelled it, or it was decided meanwhile
            state.failure = None
            if answer:
                token = state.wake = object()
            else:
                self._status = TaskStatus.FAILED
                self._error = exc
                self._held = False
        if not answer:
            self._mark_stopped()
            self._after_decision()
            self._deliver()
            return
        retry = self._task._retry
        assert retry is not None
        delay = retry.delay(state.number)
        if delay <= 0:
            self._retry_launch(token)
        else:
            self._link.add_deadline(monotonic() + delay, _Wake(self, token))

    def _retry_launch(self, token: object) -> None:
        """GUI thread: the backoff is over; give the handler to its executor again."""
        state = self._retrying
        with self._lock:
            if self._status is not _QUEUED or not self._held or state is None or state.wake is not token:
                return  # decided during the backoff: nothing more runs
            state.wake = None
            state.number += 1
            self._held = False
        if self._hand_to_executor():  # refused (queue full, shut down): it failed with that
            self._link.note_activity()
