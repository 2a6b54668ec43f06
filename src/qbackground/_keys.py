"""Keys, policies and debounce (DESIGN §8): which handler of a named job runs.

Each worker has one :class:`KeyedJobs`; a handler made by ``worker.handle(task,
key=...)`` gets a :class:`KeyGate` that ``execute()`` asks whether to start now or hold
(see ``Gate`` in ``_handler_state``). Everything here runs on the GUI thread, but for
the debounce tick, which the worker's deadline thread fires and posts back.

Per key there is at most one *running* handler for "replace" and "queue" (the one
launched last, until its ``run()`` has really stopped: ``when_stopped``) and at most
one *waiting* one (held by "queue" or by a debounce). A newer ``execute()`` cancels the
waiting one (its ``canceled()`` runs): latest wins. A "queue" handler whose key is idle
waits for the next turn of the event loop, so the executes of one turn coalesce to the
last one (one ``run()``, one ``done()``), the way ``QWidget.update()`` requests do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from time import monotonic
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from ._deadlines import DeadlineWatch
    from ._handler import BackgroundTaskHandler

__all__ = ["KeyGate", "KeyedJobs", "Policy", "check_key_options"]

Policy = Literal["replace", "queue", "parallel"]
"""What ``execute()`` does when a handler with the same key is alive."""

_POLICIES: tuple[str, ...] = get_args(Policy)

def check_key_options(key: object, policy: object, debounce: object) -> float | None:
    """Validate ``handle()``'s key options; the debounce in seconds (None: none).

    Raises:
        TypeError: ``key`` is not hashable, ``policy`` not a str, ``debounce`` not a number.
        ValueError: an unknown ``policy``, a negative or NaN ``debounce``, or a
            ``debounce`` without a ``key``.
    """
    if not isinstance(policy, str):
        raise TypeError(f"policy must be one of {', '.join(map(repr, _POLICIES))}, not {type(policy).__name__}")
    if policy not in _POLICIES:
        raise ValueError(f"unknown policy {policy!r}; use one of {', '.join(map(repr, _POLICIES))}")
    if key is not None and not isinstance(key, Hashable):
        raise TypeError(f"key must be hashable (a str, a tuple...), not {type(key).__name__}")
    if debounce is None:
        return None
    if isinstance(debounce, bool) or not isinstance(debounce, int | float):
        raise TypeError(f"debounce must be a number of seconds or None, not {type(debounce).__name__}")
    if math.isnan(debounce) or debounce < 0:
        raise ValueError(f"debounce must be a number of seconds >= 0, got {debounce}")
    if key is None:
        raise ValueError("debounce needs a key: handle(task, key='preview', debounce=0.2)")
    return float(debounce)


class _Slot:
    """What one key has: the running handler, the waiting one, the debounce tick."""

    __slots__ = ("running", "waiting", "latest", "tick")

    def __init__(self) -> None:
        self.running: BackgroundTaskHandler[Any] | None = None
        self.waiting: BackgroundTaskHandler[Any] | None = None
        self.latest: BackgroundTaskHandler[Any] | None = None  # active_handler() for "parallel"
        self.tick: _Tick | None = None


class _Tick:
    """One debounce (fires on the deadline thread, posts :meth:`KeyedJobs._settle`) or one
    idle "queue" key's turn (posted at once)."""

    __slots__ = ("_jobs", "_key", "_pending")

    def __init__(self, jobs: KeyedJobs, key: Hashable) -> None:
        self._jobs = jobs
        self._key = key
        self._pending = True

    def is_alive(self) -> bool:
        return self._pending

    def cancel(self) -> None:
        self._pending = False

    def _expire(self) -> None:  # the deadline thread
        if self._pending:
            self._jobs._post(self._fire)

    def _fire(self) -> None:  # GUI thread
        if self._pending:
            self._pending = False
            self._jobs._settle(self._key, self)


class KeyedJobs:
    """The keys of one worker (GUI thread)."""

    def __init__(self, post: Callable[[Callable[[], object]], None], deadlines: DeadlineWatch) -> None:
        self._post = post  # run on the GUI thread (the worker's dispatcher)
        self._deadlines = deadlines
        self._slots: dict[Hashable, _Slot] = {}

    def gate(self, key: Hashable, policy: Policy, debounce: float | None) -> KeyGate:
        return KeyGate(self, key, policy, debounce)

    def active(self, key: Hashable) -> BackgroundTaskHandler[Any] | None:
        """The newest alive handler with ``key``: a waiting one first, else the running one."""
        slot = self._slots.get(key)
        if slot is None:
            return None
        for handler in (slot.waiting, slot.latest, slot.running):
            if handler is not None and handler.is_alive():
                return handler
        return None

    # -- what the gates report -------------------------------------------------------

    def _admit(self, gate: KeyGate, handler: BackgroundTaskHandler[Any]) -> bool:
        slot = self._slots.get(gate.key)
        if slot is None:
            slot = self._slots[gate.key] = _Slot()
        handler.when_stopped(self._stopped)
        superseded = slot.waiting
        if superseded is not None:
            slot.waiting = None
            superseded.cancel()  # latest wins: its canceled() runs
        if gate.debounce is not None:
            if slot.tick is not None:
                slot.tick.cancel()
            slot.waiting = handler
            slot.tick = _Tick(self, gate.key)
            self._deadlines.add(monotonic() + gate.debounce, slot.tick)
            return True
        return self._start_or_hold(gate.key, slot, gate.policy, handler)

    def _start_or_hold(
        self, key: Hashable, slot: _Slot, policy: Policy, handler: BackgroundTaskHandler[Any], *, settled: bool = False
    ) -> bool:
        """Apply ``policy`` to ``handler``, which may start now: True if it must wait.

        ``settled``: its debounce or its turn has passed (an idle "queue" key starts now)."""
        slot.latest = handler
        if policy == "parallel":
            return False
        running = slot.running
        if policy == "replace":
            if running is not None:
                running.cancel()  # its run() may wind down while this one starts
            slot.running = handler
            return False
        # "queue": wait while the running one's run() has not really stopped.
        if running is not None and not running._run_over:
            slot.waiting = handler
            return True
        if not settled:
            # An idle key starts at the next turn of the event loop, so the executes of one
            # turn coalesce (like QWidget.update()): a burst from one slot runs only its last.
            slot.waiting = handler
            if slot.tick is not None:
                slot.tick.cancel()
            slot.tick = tick = _Tick(self, key)
            self._post(tick._fire)
            return True
        slot.running = handler
        return False

    def _settle(self, key: Hashable, tick: _Tick) -> None:
        """GUI thread: a debounce (or an idle "queue" key's turn) passed with no newer
        ``execute()``: start the waiting one."""
        slot = self._slots.get(key)
        if slot is None or slot.tick is not tick:
            return
        slot.tick = None
        handler = slot.waiting
        if handler is None or not handler.is_alive():
            self._drop_if_idle(key, slot)
            return
        slot.waiting = None
        gate = handler._gate
        assert isinstance(gate, KeyGate)
        if self._start_or_hold(key, slot, gate.policy, handler, settled=True):
            return  # "queue": waits for the running one now
        handler._launch()

    def _withdraw(self, gate: KeyGate, handler: BackgroundTaskHandler[Any]) -> None:
        slot = self._slots.get(gate.key)
        if slot is None:
            return
        if slot.running is handler:
            slot.running = None
        if slot.latest is handler:
            slot.latest = None
        self._drop_if_idle(gate.key, slot)

    def _stopped(self, handler: BackgroundTaskHandler[Any]) -> None:
        """GUI thread: ``handler``'s ``run()`` is over; a waiting "queue" handler may start."""
        gate = handler._gate
        assert isinstance(gate, KeyGate)
        key = gate.key
        slot = self._slots.get(key)
        if slot is None:
            return
        if slot.waiting is handler:
            slot.waiting = None
        if slot.latest is handler:
            slot.latest = None
        if slot.running is handler:
            slot.running = None
            waiting = slot.waiting
            if waiting is not None and slot.tick is None and waiting.is_alive():
                slot.waiting = None
                slot.running = slot.latest = waiting
                waiting._launch()
        self._drop_if_idle(key, slot)

    def _drop_if_idle(self, key: Hashable, slot: _Slot) -> None:
        if (
            slot.running is None
            and slot.waiting is None
            and slot.latest is None
            and slot.tick is None
            and self._slots.get(key) is slot
        ):
            del self._slots[key]


class KeyGate:
    """A keyed handler's gate (``Gate`` in ``_handler_state``)."""

    __slots__ = ("_jobs", "key", "policy", "debounce")

    def __init__(self, jobs: KeyedJobs, key: Hashable, policy: Policy, debounce: float | None) -> None:
        self._jobs = jobs
        self.key = key
        self.policy: Policy = policy
        self.debounce = debounce

    def _gate_admit(self, handler: BackgroundTaskHandler[Any]) -> bool:
        return self._jobs._admit(self, handler)

    def _gate_withdraw(self, handler: BackgroundTaskHandler[Any]) -> None:
        self._jobs._withdraw(self, handler)

    def _gate_delivered(self, handler: BackgroundTaskHandler[Any]) -> None:
        pass

    def _gate_message(self, handler: BackgroundTaskHandler[Any], text: str) -> None:
        pass
