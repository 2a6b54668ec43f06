"""Model-based test of pause/resume in the handler life cycle (hypothesis state machine).

A worker with TWO threads runs three handlers (so one may wait queued); each task
loops: count a step, then make one lifecycle call that is a checkpoint (``publish``,
``set_progress``, ``set_message``, ``is_cancelled``, ``sleep`` or ``checkpoint``,
drawn per task), until the machine releases it. Rules execute, pause and resume (on
the GUI thread and off it), cancel, release, close the owner, let time pass past the
tasks' timeouts, and process the GUI's events. The invariants:

* a task paused in the model reports ``PAUSED``, ``is_paused()`` and ``is_alive()``
  (unless ``run()`` returned: a task that makes no further checkpoint is not held);
* a paused task takes at most one more step after ``pause()`` returned (it is held at
  its next checkpoint) and never times out, however long the machine waits;
* ``pause()``/``resume()`` return True exactly when they changed something;
* cancel and owner close end a paused task at once: its ``run()`` really returns;
* every handler gets at most one terminal callback, and exactly one once delivered
  (none when interrupted); ``shutdown()`` stops every thread, paused ones included.
"""

from __future__ import annotations

import threading
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
    TaskInterruptedError,
    TaskLifeCycle,
    TaskStatus,
)

from .test_lifecycle_stateful import in_thread, wait_for

TIMEOUT = 0.15
SLOTS = 3
CALLS = ("publish", "set_progress", "set_message", "is_cancelled", "sleep", "checkpoint")

CREATED, QUEUED, RUNNING, PAUSED = (
    TaskStatus.CREATED,
    TaskStatus.QUEUED,
    TaskStatus.RUNNING,
    TaskStatus.PAUSED,
)
DONE, CANCELLED, TIMED_OUT, INTERRUPTED = (
    TaskStatus.DONE,
    TaskStatus.CANCELLED,
    TaskStatus.TIMED_OUT,
    TaskStatus.INTERRUPTED,
)
CALLBACK_FOR = {DONE: "done", CANCELLED: "canceled", TIMED_OUT: "timeout"}


class Slot:
    def __init__(self, index: int, call: str, timeout: bool, owned: bool) -> None:
        self.index = index
        self.call = call
        self.timeout = TIMEOUT if timeout else None
        self.owned = owned
        self.handler: BackgroundTaskHandler[str] | None = None
        self.executed = False
        self.paused = False  # the model: pause() returned True, resume() not yet
        self.cap = 0  # while paused: the most steps run() may have taken
        self.decided: TaskStatus | None = None  # final status the model knows of
        self.steps = 0
        self.go = threading.Event()
        self.started = threading.Event()
        self.ended = threading.Event()
        self.terminals: list[str] = []

    def __repr__(self) -> str:
        status = self.handler.status.name if self.handler is not None else "-"
        return (
            f"<slot {self.index} {self.call} {status} paused={self.paused} cap={self.cap} "
            f"steps={self.steps} decided={self.decided} ended={self.ended.is_set()} "
            f"terminals={self.terminals}>"
        )

    @property
    def alive(self) -> bool:
        return self.executed and self.decided is None


class Looping(BackgroundTask[int, str]):
    def __init__(self, slot: Slot, owner: QWidget | None) -> None:
        super().__init__(timeout=slot.timeout, owner=owner)
        self.slot = slot

    def run(self, lifecycle: TaskLifeCycle[int]) -> str:
        slot = self.slot
        slot.started.set()
        tick = threading.Event()
        try:
            while True:
                slot.steps += 1
                _checkpoint(lifecycle, slot.call, slot.steps)
                if slot.go.is_set():
                    return "finished"
                tick.wait(0.001)
        finally:
            slot.ended.set()

    def done(self, result: str) -> None:
        self.slot.terminals.append("done")

    def canceled(self) -> None:
        self.slot.terminals.append("canceled")

    def handle_timeout_exception(self) -> bool:
        self.slot.terminals.append("timeout")
        return True


def _checkpoint(lifecycle: TaskLifeCycle[int], call: str, step: int) -> None:
    """One lifecycle call that must hold a paused task (raises once interrupted)."""
    if call == "publish":
        lifecycle.publish(step)
    elif call == "set_progress":
        lifecycle.set_progress(step % 2)
    elif call == "set_message":
        lifecycle.set_message(str(step))
    elif call == "is_cancelled":
        if lifecycle.is_cancelled() or lifecycle.is_interrupted():
            raise TaskInterruptedError("noticed")
    elif call == "sleep":
        lifecycle.sleep(0.0005)
    else:
        lifecycle.checkpoint()


class PauseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = QApplication.instance() or QApplication([])
        self.worker = BackgroundWorker(threads=2, strict=True)
        self.unhandled: list[Any] = []
        self.worker.unhandled_exception.connect(lambda t, e: self.unhandled.append((t, e)))
        self.owner = QWidget()
        self.owner.show()
        self.slots: list[Slot] = []

    def teardown(self) -> None:
        try:
            # Every outcome decided so far is delivered: exactly one callback (none when
            # interrupted). Then shutdown() ends the rest, paused ones included.
            def delivered() -> bool:
                self.app.processEvents()
                return all(
                    bool(s.terminals) == (s.handler.status in CALLBACK_FOR)
                    for s in self.slots
                    if s.handler is not None and s.handler.is_done()
                )

            wait_for(delivered, f"the outcomes to be delivered: {self.slots}")
            for slot in self.slots:
                handler = slot.handler
                assert handler is not None
                if handler.is_done():
                    expected = CALLBACK_FOR.get(handler.status)
                    assert slot.terminals == ([expected] if expected else []), slot
            assert self.worker.shutdown(timeout=5), f"a thread did not stop: {self.slots}"
            for _ in range(3):
                self.app.processEvents()
            for slot in self.slots:
                assert len(slot.terminals) <= 1, slot
                handler = slot.handler
                assert handler is not None
                if slot.executed:
                    assert not handler.is_alive() and not handler.is_paused(), slot
                    assert slot.ended.is_set() or not slot.started.is_set(), slot
        finally:
            self.owner.close()
            self.owner.deleteLater()
            self.app.processEvents()

    # -- helpers ------------------------------------------------------------------------

    def pick(self, choice: int) -> Slot:
        executed = [s for s in self.slots if s.executed]
        if executed and choice % 4:
            return executed[choice // 4 % len(executed)]
        return self.slots[choice % len(self.slots)]

    def observe(self, slot: Slot) -> TaskStatus:
        """The status, taking into the model what may happen between rules: a timeout
        of a task that is not paused, a finished run()'s done() on delivery."""
        assert slot.handler is not None
        status = slot.handler.status
        if status is TIMED_OUT and slot.alive:
            assert not slot.paused, f"a paused task timed out: {slot}"
            assert slot.timeout is not None, slot
            slot.decided = TIMED_OUT
        elif status is DONE and slot.alive:
            slot.decided = DONE
        return status

    def call(self, fn: Any, off_thread: bool) -> Any:
        if not off_thread:
            return fn()
        outcome, value = in_thread(fn)
        assert outcome == "ok", value
        return value

    # -- rules --------------------------------------------------------------------------

    @initialize(
        calls=st.lists(st.sampled_from(CALLS), min_size=SLOTS, max_size=SLOTS),
        timeouts=st.lists(st.booleans(), min_size=SLOTS, max_size=SLOTS),
        owned=st.lists(st.booleans(), min_size=SLOTS, max_size=SLOTS),
    )
    def create(self, calls: list[str], timeouts: list[bool], owned: list[bool]) -> None:
        for index, (call, timeout, bound) in enumerate(zip(calls, timeouts, owned)):
            slot = Slot(index, call, timeout, bound)
            slot.handler = self.worker.handle(Looping(slot, self.owner if bound else None))
            self.slots.append(slot)

    @rule(choice=st.integers(0, 63))
    def execute(self, choice: int) -> None:
        slot = self.slots[choice % SLOTS]
        if slot.executed:
            return
        assert slot.handler is not None
        slot.handler.execute()
        slot.executed = True

    @rule(choice=st.integers(0, 63), off_thread=st.booleans())
    def pause(self, choice: int, off_thread: bool) -> None:
        slot = self.pick(choice)
        handler = slot.handler
        assert handler is not None
        if not slot.executed:
            return  # (raises TaskStateError: test_pause.py)
        self.observe(slot)
        result = self.call(handler.pause, off_thread)
        steps = slot.steps  # read after pause() returned: the task may be one step on
        event(f"pause() -> {result} ({'off' if off_thread else 'on'} the GUI thread)")
        status = self.observe(slot)
        if result:
            assert slot.alive and not slot.paused, f"pause() True for {slot}"
            slot.paused = True
            slot.cap = steps + 1  # the step it may be in the middle of
            assert status is PAUSED or slot.ended.is_set(), slot
        else:
            assert not slot.alive or slot.paused or slot.ended.is_set(), f"pause() False for {slot}"

    @rule(choice=st.integers(0, 63), off_thread=st.booleans())
    def resume(self, choice: int, off_thread: bool) -> None:
        slot = self.pick(choice)
        handler = slot.handler
        assert handler is not None
        if not slot.executed:
            return
        self.observe(slot)
        result = self.call(handler.resume, off_thread)
        event(f"resume() -> {result}")
        self.observe(slot)
        assert result == (slot.paused and slot.alive), f"resume() {result} for {slot}"
        slot.paused = False
        if result and slot.started.is_set() and not slot.ended.is_set():
            # It runs on from its checkpoint (or ends, if released meanwhile).
            cap = slot.cap
            wait_for(lambda: slot.steps > cap or slot.ended.is_set(), f"{slot} to run on")

    @rule(choice=st.integers(0, 63))
    def cancel(self, choice: int) -> None:
        slot = self.pick(choice)
        handler = slot.handler
        assert handler is not None
        if not slot.executed:
            return
        status = self.observe(slot)
        was_paused = slot.paused and slot.alive
        result = handler.cancel()
        event(f"cancel() of a {'paused' if was_paused else status.name} task -> {result}")
        self.observe(slot)
        if result:
            assert slot.alive, f"cancel() True for {slot}"
            slot.decided = CANCELLED
            slot.paused = False
            assert slot.terminals == ["canceled"] and handler.status is CANCELLED, slot
            if slot.started.is_set():
                wait_for(slot.ended.is_set, f"cancelled {slot} to stop")
        else:
            assert not slot.alive, f"cancel() False for {slot}"

    @rule(choice=st.integers(0, 63))
    def release(self, choice: int) -> None:
        slot = self.slots[choice % SLOTS]
        slot.go.set()
        if slot.alive and not slot.paused and slot.started.is_set():
            wait_for(slot.ended.is_set, f"released {slot} to return")

    @rule()
    def close_owner(self) -> None:
        victims = [s for s in self.slots if s.owned and s.executed and s.alive]
        for slot in victims:
            self.observe(slot)
        victims = [s for s in victims if s.alive]
        event(f"owner closed with {sum(s.paused for s in victims)} paused victims")
        self.owner.close()
        for slot in victims:
            assert slot.handler is not None
            assert slot.handler.status is INTERRUPTED, slot
            slot.decided = INTERRUPTED
            slot.paused = False
            if slot.started.is_set():
                wait_for(slot.ended.is_set, f"interrupted {slot} to stop")
        self.owner.show()

    @rule()
    def let_time_pass(self) -> None:
        # Past every deadline: tasks not paused may time out; paused ones must not.
        until = monotonic() + TIMEOUT * 2
        wait_for(lambda: monotonic() > until, "time to pass")
        for slot in self.slots:
            if slot.executed:
                self.observe(slot)

    @rule()
    def process_events(self) -> None:
        for _ in range(3):
            self.app.processEvents()
        for slot in self.slots:
            if slot.executed:
                self.observe(slot)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def handlers_match_the_model(self) -> None:
        for slot in self.slots:
            handler = slot.handler
            if handler is None:
                continue
            status = self.observe(slot)
            assert len(slot.terminals) <= 1, slot
            if not slot.executed:
                assert status is CREATED and not handler.is_paused(), slot
                continue
            if slot.decided is not None:
                if slot.decided is not DONE:
                    assert status is slot.decided, slot
                assert not handler.is_alive() and not handler.is_paused(), slot
                continue
            assert handler.is_alive(), slot
            if slot.paused:
                assert slot.steps <= slot.cap, f"a paused task ran on: {slot}"
                if slot.ended.is_set():  # it made no checkpoint before run() returned
                    assert status is RUNNING and not handler.is_paused(), slot
                else:
                    assert status is PAUSED and handler.is_paused(), slot
            else:
                assert status in (QUEUED, RUNNING), slot
                assert not handler.is_paused(), slot

    @invariant()
    def nothing_unhandled(self) -> None:
        assert not self.unhandled, self.unhandled


PauseMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: slow and racy
    print_blob=True,
)

TestPauseLifecycle = PauseMachine.TestCase
