"""Model-based test of the handler life cycle (hypothesis ``RuleBasedStateMachine``).

A worker with ONE thread runs up to three handlers whose tasks wait on
``threading.Event`` gates, so the machine decides when each ``run()`` returns or
raises, and which handler is queued behind which. Rules execute, cancel (GUI thread
and another thread), release a task to finish or fail, let a timeout expire, close
the owner window, process the GUI's events, and call ``get_result(timeout=small)``
on and off the GUI thread. After every step the invariants compare the handlers with
the model: legal status transitions, at most one terminal callback and exactly one
once delivered (none for INTERRUPTED), the callback matching the status, ``cancel()``
True exactly when ``canceled()`` runs, ``is_alive()``/``is_done()`` consistent with
the status, and every published item delivered in order to ``done()`` tasks.

Only the Qt event processing done by the rules delivers posted callbacks, so "decided
but not yet delivered" (and "``run()`` returned, ``done()`` not yet delivered") are
states the model can hold and poke at. Timeouts are real (``TIMEOUT`` seconds from
``execute()``), so a timeout may also fire between rules; the model accepts that
transition, and only that one, at any time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from time import monotonic
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from qtpy.QtWidgets import QApplication, QWidget

from qbackground import (
    BackgroundTask,
    BackgroundTaskHandler,
    BackgroundWorker,
    TaskCancelledError,
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStateError,
    TaskStatus,
    TaskTimeoutError,
)

TIMEOUT = 0.15  # seconds, for the slots that have a timeout
MAX_SLOTS = 3
WAIT = 5.0  # generous bound for anything the machine waits for

CREATED, QUEUED, RUNNING = TaskStatus.CREATED, TaskStatus.QUEUED, TaskStatus.RUNNING
DONE, FAILED, CANCELLED = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED
TIMED_OUT, INTERRUPTED = TaskStatus.TIMED_OUT, TaskStatus.INTERRUPTED

RANK = {CREATED: 0, QUEUED: 1, RUNNING: 2}
CALLBACK_FOR = {DONE: "done", FAILED: "handle_exception", CANCELLED: "canceled", TIMED_OUT: "timeout"}
TERMINAL = set(CALLBACK_FOR.values())


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``predicate`` (without processing Qt events) until true, or fail."""
    pause = threading.Event()
    deadline = monotonic() + timeout
    while not predicate():
        if monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.001)


def in_thread(fn: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``fn`` on another thread; ('ok', value) or ('raised', exception)."""
    out: list[tuple[str, Any]] = []

    def target() -> None:
        try:
            out.append(("ok", fn()))
        except BaseException as exc:  # handed back to the machine
            out.append(("raised", exc))

    thread = threading.Thread(target=target, name="stateful-helper")
    thread.start()
    thread.join(WAIT)
    assert out, "the helper thread did not finish"
    return out[0]


class Slot:
    """One handler, its gated task, and the model's view of it."""

    def __init__(self, index: int, timeout: bool, owned: bool) -> None:
        self.index = index
        self.timeout = TIMEOUT if timeout else None
        self.owned = owned
        self.go = threading.Event()
        self.started = threading.Event()
        self.ended = threading.Event()
        self.action = ""
        self.value = f"value-{index}"
        self.error = ValueError(f"slot {index} failed")
        self.published: list[int] = []
        self.events: list[tuple[str, Any]] = []
        self.thread_errors: list[str] = []
        self.handler: BackgroundTaskHandler[str] | None = None
        # -- model ---------------------------------------------------------------------
        # "created", "queued", "running", "ready" (run() returned, done() not delivered),
        # or a final TaskStatus.
        self.model: str | TaskStatus = "created"
        self.pending = False  # decided, terminal callback not delivered yet
        self.cancel_trues = 0
        self.last_status = CREATED

    def __repr__(self) -> str:
        status = self.handler.status.name if self.handler else "-"
        return f"<slot {self.index} model={self.model} status={status} events={[e[0] for e in self.events]}>"

    @property
    def alive_in_model(self) -> bool:
        return self.model in ("queued", "running")

    def terminals(self) -> list[str]:
        return [kind for kind, _ in self.events if kind in TERMINAL]

    def log(self, kind: str, payload: Any = None) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.thread_errors.append(f"{kind} ran off the GUI thread")
        self.events.append((kind, payload))


class GatedTask(BackgroundTask[int, str]):
    """Publishes 0, waits at the gate, then does what ``slot.action`` says."""

    def __init__(self, slot: Slot, owner: QWidget | None) -> None:
        super().__init__(timeout=slot.timeout, owner=owner)
        self.slot = slot

    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        slot = self.slot
        slot.started.set()
        try:
            lifecycle.publish(0)
            slot.published.append(0)
            while not slot.go.wait(0.002):
                if lifecycle.is_interrupted():
                    raise TaskInterruptedError("gated task noticed the interruption")
            for item in (1, 2, 3):
                lifecycle.publish(item)
                slot.published.append(item)
            if slot.action == "fail":
                raise slot.error
            return slot.value
        finally:
            slot.ended.set()

    def progress(self, changes: list[int]) -> None:
        self.slot.log("progress", list(changes))

    def done(self, result: str) -> None:
        self.slot.log("done", result)

    def canceled(self) -> None:
        self.slot.log("canceled")

    def handle_exception(self, exc: BaseException) -> bool:
        self.slot.log("handle_exception", exc)
        return True

    def handle_timeout_exception(self) -> bool:
        self.slot.log("timeout")
        return True


class HandlerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = QApplication.instance() or QApplication([])
        self.worker = BackgroundWorker(threads=1, strict=True)
        self.unhandled: list[tuple[Any, BaseException]] = []
        self.timed_out: list[Any] = []
        self.worker.unhandled_exception.connect(lambda task, exc: self.unhandled.append((task, exc)))
        self.worker.task_timed_out.connect(self.timed_out.append)
        self.owner = QWidget()
        self.owner.show()
        self.slots: list[Slot] = []
        self.executed: list[Slot] = []  # in execute() order: the thread's queue order

    def teardown(self) -> None:
        try:
            assert self.worker.shutdown(timeout=5), "a task thread did not stop after shutdown()"
            assert not [t for t in self.worker._threads.threads() if t.is_alive()]
        finally:
            self.owner.close()
            self.owner.deleteLater()
            self.app.processEvents()

    # -- model helpers -------------------------------------------------------------------

    def pick(self, choice: int, prefer: Callable[[Slot], bool] | None = None) -> Slot:
        """Mostly a slot ``prefer`` likes (when there is one), sometimes any slot."""
        if prefer == self.live and choice % 2:
            # The rarest interesting state: run() returned, done() not delivered yet.
            ready = [s for s in self.slots if s.model == "ready"]
            if ready:
                return ready[0]
        if prefer is not None:
            liked = [s for s in self.slots if prefer(s)]
            if liked and choice % 4:
                return liked[choice // 4 % len(liked)]
        return self.slots[choice % len(self.slots)]

    def live(self, slot: Slot) -> bool:
        self.observe(slot)
        return slot.alive_in_model or slot.model == "ready"

    def observe(self, slot: Slot) -> TaskStatus:
        """The handler's status, taking into the model the two changes that may happen
        between rules: a timeout firing, and (when that frees the thread) the next
        queued task starting."""
        assert slot.handler is not None
        status = slot.handler.status
        if status is TIMED_OUT and slot.alive_in_model and slot.timeout is not None:
            event("a timeout fired between rules")
            slot.model = TIMED_OUT
            slot.pending = True
        elif status is RUNNING and slot.model == "queued":
            slot.model = "running"
        return status

    def observe_all(self) -> None:
        for slot in self.slots:
            if slot.handler is not None:
                self.observe(slot)

    def settle(self) -> None:
        """Wait until the single task thread is in a state the model can name: either
        busy with a gated, alive task, or idle with nothing alive queued."""

        def settled() -> bool:
            busy = [s for s in self.executed if s.started.is_set() and not s.ended.is_set()]
            for s in busy:
                assert s.handler is not None
                if s.handler.status is not RUNNING or s.go.is_set():
                    return False  # winding down; the thread will be free in a moment
            if not busy:
                for s in self.executed:
                    assert s.handler is not None
                    if not s.started.is_set() and s.handler.status is QUEUED:
                        return False  # the free thread is about to take it
            return True

        wait_for(settled, f"the task thread to settle: {self.slots}")
        for slot in self.executed:
            self.observe(slot)
            if slot.model == "running":
                wait_for(slot.started.is_set, f"run() of {slot} to start")

    def deliveries_happened(self) -> None:
        """After Qt events were processed: pending outcomes may now be delivered."""
        for slot in self.slots:
            if slot.handler is None:
                continue
            status = self.observe(slot)
            if slot.model == "ready" and status is DONE:
                slot.model = DONE
                slot.pending = False
            elif slot.pending and slot.terminals():
                slot.pending = False

    def expected_callbacks(self, slot: Slot) -> list[str]:
        model = slot.model
        if not isinstance(model, TaskStatus) or slot.pending or model is INTERRUPTED:
            return []
        return [CALLBACK_FOR[model]]

    # -- rules ------------------------------------------------------------------------------

    @initialize(
        timeouts=st.lists(st.booleans(), min_size=MAX_SLOTS, max_size=MAX_SLOTS),
        owned=st.lists(st.booleans(), min_size=MAX_SLOTS, max_size=MAX_SLOTS),
        executed=st.integers(0, MAX_SLOTS),
    )
    def create_handlers(self, timeouts: list[bool], owned: list[bool], executed: int) -> None:
        for index, (timeout, bound) in enumerate(zip(timeouts, owned)):
            slot = Slot(index, timeout, bound)
            slot.handler = self.worker.handle(GatedTask(slot, self.owner if bound else None))
            assert slot.handler.status is CREATED
            self.slots.append(slot)
        # Start some right away, so short programs reach the interesting states too.
        for slot in self.slots[:executed]:
            self._execute(slot)

    @rule(choice=st.integers(0, 63))
    def execute(self, choice: int) -> None:
        self._execute(self.pick(choice, lambda s: s.model == "created"))

    def _execute(self, slot: Slot) -> None:
        assert slot.handler is not None
        if slot.model != "created":
            before = self.observe(slot)
            try:
                slot.handler.execute()
                raise AssertionError("a second execute() did not raise")
            except TaskStateError:
                pass
            after = self.observe(slot)
            assert after is before or (after is TIMED_OUT and slot.timeout), (before, after)
            return
        slot.handler.execute()
        slot.model = "queued"
        self.executed.append(slot)
        self.settle()

    @rule(choice=st.integers(0, 63))
    def cancel_on_gui_thread(self, choice: int) -> None:
        slot = self.pick(choice, self.live)
        assert slot.handler is not None
        self.observe(slot)
        if slot.model == "created":
            try:
                slot.handler.cancel()
                raise AssertionError("cancel() before execute() did not raise")
            except TaskStateError:
                return
        could_win = slot.alive_in_model or slot.model == "ready"
        event(f"GUI cancel() of a {slot.model if isinstance(slot.model, str) else slot.model.name} handler")
        result = slot.handler.cancel()
        if result:
            assert could_win, f"cancel() returned True for {slot}"
            slot.cancel_trues += 1
            # On the GUI thread canceled() has already run when cancel() returns.
            assert slot.terminals() == ["canceled"], slot
            assert slot.handler.status is CANCELLED
            slot.model = CANCELLED
            slot.pending = False
        else:
            self.observe(slot)  # a timeout may have won the race
            assert not (slot.alive_in_model or slot.model == "ready"), f"cancel() returned False for {slot}"
        self.settle()

    @rule(choice=st.integers(0, 63))
    def cancel_from_another_thread(self, choice: int) -> None:
        slot = self.pick(choice, self.live)
        handler = slot.handler
        assert handler is not None
        self.observe(slot)
        outcome, value = in_thread(handler.cancel)
        if slot.model == "created":
            assert outcome == "raised" and isinstance(value, TaskStateError), (outcome, value)
            return
        assert outcome == "ok", value
        could_win = slot.alive_in_model or slot.model == "ready"
        terminals_before = slot.terminals()
        event(f"thread cancel() of a {slot.model if isinstance(slot.model, str) else slot.model.name} handler")
        if value is True:
            assert could_win, f"cancel() returned True for {slot}"
            slot.cancel_trues += 1
            assert handler.status is CANCELLED
            # canceled() waits for the GUI thread, which has not processed events.
            assert "canceled" not in terminals_before, slot
            slot.model = CANCELLED
            slot.pending = True
        else:
            assert value is False
            self.observe(slot)
            assert not (slot.alive_in_model or slot.model == "ready"), f"cancel() returned False for {slot}"
        self.settle()

    def _release(self, slot: Slot, action: str) -> None:
        handler = slot.handler
        assert handler is not None
        slot.action = action
        slot.go.set()
        # Off the GUI thread get_result() returns as soon as run() returned.
        outcome, value = in_thread(lambda: handler.get_result(timeout=WAIT))
        wait_for(slot.ended.is_set, f"run() of {slot} to return")
        status = self.observe(slot)
        event(f"released to {action}")
        if slot.model is TIMED_OUT:  # the timeout won the race with the gate
            assert outcome == "raised" and isinstance(value, TaskTimeoutError), (outcome, value)
        elif action == "finish":
            assert (outcome, value) == ("ok", slot.value), (outcome, value, slot)
            assert status is RUNNING, f"done() must wait for the GUI thread: {slot}"
            slot.model = "ready"
        else:
            assert outcome == "raised" and value is slot.error, (outcome, value)
            assert status is FAILED, slot
            slot.model = FAILED
            slot.pending = True
        self.settle()

    @rule(fail=st.booleans())
    def release_running_task(self, fail: bool) -> None:
        self.observe_all()
        running = [s for s in self.slots if s.model == "running"]
        assert len(running) <= 1, running
        if running:
            self._release(running[0], "fail" if fail else "finish")

    @rule(choice=st.integers(0, 63))
    def let_timeout_expire(self, choice: int) -> None:
        self.observe_all()
        candidates = [s for s in self.slots if s.timeout is not None and self.live(s)]
        if not candidates:
            return
        slot = candidates[choice % len(candidates)]
        handler = slot.handler
        assert handler is not None
        event(f"timeout expired while {slot.model}")
        if slot.model == "ready":
            # run() returned in time: its deadline passing must not time it out.
            check = self.worker.timeout_check_interval
            wait_for(
                lambda: (handler.elapsed or 0.0) > TIMEOUT + 3 * check,
                f"the deadline of {slot} to pass",
            )
            assert handler.status is RUNNING, f"{slot} timed out after run() returned"
        else:
            wait_for(lambda: handler.status is TIMED_OUT, f"{slot} to time out")
            self.observe(slot)
            assert slot.model is TIMED_OUT and slot.pending
        self.settle()

    @rule()
    def close_owner(self) -> None:
        self.observe_all()
        victims = [s for s in self.slots if s.owned and (s.alive_in_model or s.model == "ready")]
        event(f"owner closed with {len(victims)} bound live handlers")
        self.owner.close()  # Close + Hide, synchronously: bound tasks stop silently
        for slot in self.slots:
            assert slot.handler is not None
            status = self.observe(slot)
            if slot in victims and slot.model is not TIMED_OUT:
                assert status is INTERRUPTED, slot
                assert not slot.terminals(), slot
                slot.model = INTERRUPTED
                slot.pending = False
        self.owner.show()  # open again so later tasks can lose it too
        self.settle()

    @rule()
    def process_events(self) -> None:
        def all_delivered() -> bool:
            self.app.processEvents()
            self.observe_all()
            return not any(s.pending and not s.terminals() for s in self.slots) and not any(
                s.model == "ready" and s.handler is not None and s.handler.status is not DONE
                for s in self.slots
            )

        wait_for(all_delivered, "pending callbacks to be delivered")
        self.deliveries_happened()
        self.settle()

    @rule(choice=st.integers(0, 63))
    def get_result_on_gui_thread(self, choice: int) -> None:
        slot = self.pick(choice, lambda s: s.model != "created")
        handler = slot.handler
        assert handler is not None
        self.observe(slot)
        model = slot.model
        event(f"GUI get_result() of a {model if isinstance(model, str) else model.name} handler")
        try:
            value: Any = handler.get_result(timeout=0.02)
            outcome = "ok"
        except BaseException as exc:
            value, outcome = exc, "raised"
        # get_result() serves the dispatcher: any pending callback may have run.
        self.deliveries_happened()
        self._check_result(slot, model, outcome, value, on_gui=True)
        self.settle()

    @rule(choice=st.integers(0, 63))
    def get_result_off_gui_thread(self, choice: int) -> None:
        slot = self.pick(choice, lambda s: s.model != "created")
        handler = slot.handler
        assert handler is not None
        self.observe(slot)
        model = slot.model
        outcome, value = in_thread(lambda: handler.get_result(timeout=0.02))
        self.observe(slot)
        self._check_result(slot, model, outcome, value, on_gui=False)
        self.settle()

    def _check_result(self, slot: Slot, model: Any, outcome: str, value: Any, on_gui: bool) -> None:
        if model == "created":
            assert outcome == "raised" and isinstance(value, TaskStateError), (outcome, value)
            return
        if model in ("queued", "running"):
            if slot.model is TIMED_OUT:  # expired while we waited
                assert outcome == "raised" and isinstance(value, (TaskTimeoutError, TimeoutError)), value
            else:
                assert outcome == "raised" and type(value) is TimeoutError, (outcome, value)
            return
        if model == "ready" or model is DONE:
            assert (outcome, value) == ("ok", slot.value), (outcome, value, slot)
            if on_gui:
                assert slot.handler is not None and slot.handler.status is DONE
                assert slot.model is DONE and not slot.pending
                assert slot.terminals() == ["done"], slot
            return
        assert outcome == "raised", (model, value)
        expected: dict[TaskStatus, type[BaseException]] = {
            FAILED: ValueError,
            CANCELLED: TaskCancelledError,
            TIMED_OUT: TaskTimeoutError,
            INTERRUPTED: TaskInterruptedError,
        }
        assert isinstance(value, expected[model]), (model, value)
        if model is FAILED:
            assert value is slot.error
        if on_gui:
            # The outcome is delivered before get_result() returns or raises.
            assert not slot.pending, slot
            assert slot.terminals() == self.expected_callbacks(slot), slot

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def handlers_match_the_model(self) -> None:
        for slot in self.slots:
            handler = slot.handler
            assert handler is not None
            status = self.observe(slot)
            model = slot.model
            assert not slot.thread_errors, slot.thread_errors

            # Status moves forward only; a final status never changes.
            last = slot.last_status
            if last.is_final:
                assert status is last, f"{slot}: {last.name} -> {status.name}"
            elif not status.is_final:
                assert RANK[status] >= RANK[last], f"{slot}: {last.name} -> {status.name}"
            slot.last_status = status

            expected_status = {
                "created": CREATED,
                "queued": QUEUED,
                "running": RUNNING,
                "ready": RUNNING,
            }.get(model, model)
            assert status is expected_status, f"{slot}: expected {expected_status}"

            assert handler.is_alive() == (status in (QUEUED, RUNNING)), slot
            assert handler.is_done() == status.is_final, slot
            assert handler.is_cancelled() == (status is CANCELLED), slot

            # Terminal callbacks: at most one, exactly the expected one once delivered.
            terminals = slot.terminals()
            assert len(terminals) <= 1, slot
            assert terminals == self.expected_callbacks(slot), f"{slot}: expected {self.expected_callbacks(slot)}"
            assert slot.cancel_trues <= 1, slot
            if not slot.pending and isinstance(model, TaskStatus):
                assert (slot.cancel_trues == 1) == (terminals == ["canceled"]), slot

            # Progress: nothing after the terminal callback; in order; complete for done().
            kinds = [kind for kind, _ in slot.events]
            if terminals:
                assert "progress" not in kinds[kinds.index(terminals[0]) :], slot
            received = [item for kind, items in slot.events if kind == "progress" for item in items]
            if slot.ended.is_set() or not slot.started.is_set():
                if status is DONE:
                    assert received == slot.published == [0, 1, 2, 3], (received, slot.published)
                else:
                    assert received == slot.published[: len(received)], (received, slot.published)
            if terminals == ["done"]:
                assert slot.events[kinds.index("done")][1] == slot.value
            if terminals == ["handle_exception"]:
                assert slot.events[kinds.index("handle_exception")][1] is slot.error

    @invariant()
    def nothing_unhandled(self) -> None:
        # Every callback returns True and none raises: nothing may reach the worker's signals.
        assert not self.unhandled, self.unhandled
        assert not self.timed_out, self.timed_out

    @invariant()
    def alive_handlers_are_active(self) -> None:
        alive = {id(s.handler) for s in self.slots if s.handler is not None and s.handler.is_alive()}
        active = {id(h) for h in self.worker.active_handlers()}
        assert alive <= active, (alive, active)

    @invariant()
    def one_thread_runs_one_task(self) -> None:
        running = [s for s in self.slots if s.started.is_set() and not s.ended.is_set()]
        assert len(running) <= 1, running


HandlerMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # No shrinking: a failing step often waits the full WAIT seconds, and shrinking
    # replays hundreds of programs. The failure still prints the whole step list, and
    # print_blob lets @reproduce_failure replay it.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    print_blob=True,
)
TestHandlerLifecycle = HandlerMachine.TestCase


# -- a race the machine can only hit by luck, forced deterministically (white box) --------------------


class _PausingLock:
    """Stands in for a handler's ``_lock``; pauses one named thread right after its
    first release, so another thread can act inside that window."""

    def __init__(self, inner: Any, thread_name: str) -> None:
        self._inner = inner
        self._thread_name = thread_name
        self.paused = threading.Event()
        self.resume = threading.Event()

    def __enter__(self) -> None:
        self._inner.acquire()

    def __exit__(self, *exc: object) -> None:
        self._inner.release()
        if threading.current_thread().name == self._thread_name and not self.paused.is_set():
            self.paused.set()
            self.resume.wait(WAIT)


def test_deadline_check_racing_run_return_does_not_time_out_a_finished_task(
    qtbot: Any, worker: BackgroundWorker
) -> None:
    """Regression: a deadline racing ``run()``'s return must agree with what
    ``get_result()`` off the GUI thread already reported, whichever wins.

    The deadline thread is paused right after its first lock section. ``_expire``
    used to only *check* ``_ready`` there and decide TIMED_OUT in a second, separate
    section; ``run()`` returning in between made ``get_result()`` return the value
    ("done() follows on the GUI thread") and the deadline still turned the task into
    TIMED_OUT, so ``done()`` never came. With check and decision under one lock the
    timeout wins cleanly here (``get_result()`` raises ``TaskTimeoutError``); the test
    accepts either consistent outcome.
    """
    gate = threading.Event()
    calls: list[tuple[str, Any]] = []

    class Returns(BackgroundTask[int, str]):
        def run(self, lifecycle: TaskLifeCycle[int]) -> str:
            gate.wait(WAIT)
            return "value"

        def done(self, result: str) -> None:
            calls.append(("done", result))

        def handle_timeout_exception(self) -> bool:
            calls.append(("timeout", None))
            return True

    # A long timeout: the real deadline thread never fires; we play its part.
    handler = worker.handle(Returns(timeout=600))
    handler.execute()
    lock = _PausingLock(handler._lock, "deadline-stand-in")
    handler._lock = lock  # type: ignore[assignment]
    # Exactly what DeadlineWatch._loop does when the deadline passes.
    expirer = threading.Thread(target=handler._expire, name="deadline-stand-in")
    expirer.start()
    try:
        assert lock.paused.wait(WAIT), "_expire() never released the lock"
        # _expire() has seen _ready == False and let go of the lock: now run() returns.
        gate.set()
        outcome, value = in_thread(lambda: handler.get_result(timeout=WAIT))
    finally:
        lock.resume.set()
        gate.set()
        expirer.join(WAIT)
    qtbot.waitUntil(lambda: bool(calls), timeout=5000)
    if outcome == "ok":
        # run() won: get_result() gave its value, so done() must follow.
        assert value == "value"
        assert handler.status is DONE and calls == [("done", "value")], (
            f"get_result() off the GUI thread returned {value!r} (run() returned before the "
            f"deadline decided), yet the outcome is {handler.status.name} with callbacks {calls}"
        )
    else:
        # The deadline won (an implementation that decides atomically): consistently so.
        assert isinstance(value, TaskTimeoutError), value
        assert handler.status is TIMED_OUT and calls == [("timeout", None)], (handler.status, calls)
