"""The handler's state machine: its fields, its one lock, and the decisions.

States and who moves them (all under ``_lock``; callbacks run after it is released)::

    CREATED --execute()--> QUEUED --executor thread--> RUNNING
    QUEUED|RUNNING --cancel()-------------> CANCELLED     (any thread)
    QUEUED|RUNNING --deadline (not ready)-> TIMED_OUT     (deadline thread)
    QUEUED|RUNNING --owner gone/shutdown--> INTERRUPTED   (GUI thread)
    RUNNING --run() raised----------------> FAILED        (executor thread)
    RUNNING --raised, Retry allows another-> QUEUED, held (executor thread; _handler_retry)
    RUNNING+ready --delivery--------------> DONE          (GUI thread)

Pause (``_handler_pause``) is a flag beside the state, not a state: ``_status`` stays
QUEUED/RUNNING (so every decision above works unchanged on a paused handler and ends it
at once), ``_paused`` is set under the lock, and the public ``status`` reports PAUSED.
While paused, a deadline that comes due is ignored; ``resume()`` re-arms the rest of the
time under a new ``_deadline_gen``, and deadlines of older generations are ignored too.

``run()`` returning does not decide the outcome: it stores the value and sets
``_ready``; ``DONE`` is decided on the GUI thread when ``done()`` is delivered, so a
``cancel()`` in between still wins (as the contract asks). Every final state is reached
by exactly one winner of the lock, and only ``_deliver()`` — guarded by ``_delivered``
— runs the terminal callback, so each executed handler gets exactly one.

``BackgroundTaskHandler`` is assembled from this class and four mixins that share its
fields (one object, one lock): ``_handler_outcome`` (what ``get_result()`` and the
future report), ``_handler_delivery`` (the GUI-thread callbacks), ``_handler_retry``
(the wait between attempts) and ``_handler_job`` (the executor's side). Only this class declares ``__slots__`` entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._status import TaskStatus
from ._task import TaskBase

if TYPE_CHECKING:
    from ._handler import BackgroundTaskHandler
    from ._handler_outcome import _HandlerFuture
    from ._handler_retry import Attempts
    from ._local import LocalLifeCycle
    from ._worker_link import WorkerLink
    from .backends import Executor

__all__ = ["Gate", "HandlerState", "StopWatcher"]

V = TypeVar("V")

_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING
_CREATED = TaskStatus.CREATED

StopWatcher = Callable[["BackgroundTaskHandler[Any]"], object]
"""A ``when_stopped`` callback."""


class Gate(Protocol):
    """What a key (``_keys``) or a group (``_group``) sees of its handlers' lives (GUI thread)."""

    def _gate_admit(self, handler: BackgroundTaskHandler[Any]) -> bool:
        """``execute()`` was called: True to hold the start (the gate calls
        ``handler._launch()`` later), False to start now."""

    def _gate_withdraw(self, handler: BackgroundTaskHandler[Any]) -> None:
        """An admitted handler could not start after all (its ``execute()`` raised)."""

    def _gate_delivered(self, handler: BackgroundTaskHandler[Any]) -> None:
        """The terminal callback (or the silent end) ran."""

    def _gate_message(self, handler: BackgroundTaskHandler[Any], text: str) -> None:
        """The handler reported a new message."""


class HandlerState(Generic[V]):
    """Fields and decisions of one handler (see the module docstring)."""

    __slots__ = (
        "_link",
        "_task",
        "_executor",
        "_params",
        "_owner",
        "_lock",
        "_status",
        "_ready",
        "_value",
        "_error",
        "_delivered",
        "_lifecycle",
        "_waiter",
        "_future",
        "_future_resolved",
        "_message",
        "_fraction",
        "_started_at",
        "_run_over",
        "_stop_watchers",
        "_unhandled_routes",
        "_gate",
        "_held",
        "_paused",
        "_paused_at",
        "_paused_total",
        "_deadline_gen",
        "_retrying",
        "__weakref__",
    )

    def __init__(
        self,
        link: WorkerLink,
        task: TaskBase[Any, V],
        executor: Executor,
        params: Mapping[str, Any],
    ) -> None:
        self._link = link  # all it uses of its worker (_worker_link)
        self._task = task
        self._executor = executor
        self._params = params
        self._owner = task.owner
        self._lock = threading.Lock()
        self._status = _CREATED
        # run() returned and stored _value; DONE is decided at delivery.
        self._ready = False
        self._value: Any = None
        self._error: BaseException | None = None
        # The terminal callback (or the decision to stay silent) has run.
        self._delivered = False
        self._lifecycle: LocalLifeCycle[Any] | None = None
        # Created on demand for get_result() off the GUI thread; set when the outcome
        # is known there (ready or final).
        self._waiter: threading.Event | None = None
        self._future: _HandlerFuture[V] | None = None
        self._future_resolved = False
        self._message: str | None = None
        self._fraction: float | None = None
        self._started_at: float | None = None
        # run() has really ended (returned, raised, its process stopped) or will never
        # start (decided while queued); _stop_watchers wait for that (see when_stopped).
        self._run_over = False
        self._stop_watchers: list[StopWatcher] | None = None
        # route_unhandled(): (on_error, on_timeout), offered before the worker's signals.
        self._unhandled_routes: (
            tuple[Callable[[BaseException], bool] | None, Callable[[], bool] | None] | None
        ) = None
        # Keys and groups (_keys, _group): who decides when an executed handler really
        # starts; _held: executed (QUEUED) but not yet given to the executor.
        self._gate: Gate | None = None
        self._held = False
        # pause() (_handler_pause): the flag, when it began, the seconds of pause the
        # timeout clock skipped, and which armed deadline counts (0: the first one).
        self._paused = False
        self._paused_at = 0.0
        self._paused_total = 0.0
        self._deadline_gen = 0
        # Retries (_handler_retry): None until the first failure worth another attempt.
        self._retrying: Attempts | None = None

    if TYPE_CHECKING:
        # Defined by the GUI-thread mixin (_handler_delivery).
        def _deliver(self) -> None: ...
        def _stopped_now(self, watchers: list[StopWatcher]) -> None: ...

    # -- decisions (any thread) -------------------------------------------------------

    def _decide(self, status: TaskStatus, *, unless_ready: bool = False, gen: int = 0) -> bool:
        """Move QUEUED/RUNNING to a final ``status``; False if already decided.

        ``unless_ready``: also give up when ``run()`` already returned (a deadline that
        races ``run()`` returning must not win: the check and the change share the lock),
        when paused, or when the deadline of generation ``gen`` was replaced by resume().
        """
        with self._lock:
            previous = self._status
            if previous is not _QUEUED and previous is not _RUNNING:
                return False
            if unless_ready and (self._ready or self._paused or gen != self._deadline_gen):
                return False
            self._status = status
            self._ready = False
            self._value = None
            held = self._held
        lifecycle = self._lifecycle
        if lifecycle is not None:
            lifecycle.interrupt(cancelled=status is TaskStatus.CANCELLED)
        if previous is _QUEUED:
            if not held:  # a held handler never reached the executor
                self._executor.on_unqueue()
            self._mark_stopped()  # it will never start
        else:
            # E.g. tell a worker process, or cancel a coroutine (self is always a handler).
            self._executor.on_interrupt(self)  # type: ignore[arg-type]
        self._after_decision()
        return True

    def _after_decision(self) -> None:
        with self._lock:
            waiter = self._waiter
        if waiter is not None:
            waiter.set()
        self._link.forget(self)  # type: ignore[arg-type]  # always a BackgroundTaskHandler

    def _expire(self, gen: int = 0) -> None:
        """The deadline passed (deadline thread): time out unless run() already returned
        (or the task is paused, or ``gen`` is a deadline that resume() replaced)."""
        if self._decide(TaskStatus.TIMED_OUT, unless_ready=True, gen=gen):
            self._deliver_soon()

    def _interrupt(self) -> bool:
        """Owner gone or worker shutting down: stop silently."""
        if not self._decide(TaskStatus.INTERRUPTED):
            return False
        self._deliver_soon()
        return True

    def _deliver_soon(self) -> None:
        dispatcher = self._link.dispatcher
        if dispatcher.is_gui_thread():
            self._deliver()
        else:
            dispatcher.post(self._deliver)

    # -- run() is over ------------------------------------------------------------------

    def _mark_stopped(self) -> None:
        """``run()`` is over (caller holds no lock): wake the ``when_stopped`` callbacks."""
        with self._lock:
            self._run_over = True
            watchers, self._stop_watchers = self._stop_watchers, None
        if watchers:
            self._post_stopped(watchers)

    def _post_stopped(self, watchers: list[StopWatcher]) -> None:
        self._link.post(partial(self._stopped_now, watchers))
