"""``TaskContext``: what a ``task_mgr`` function gets, with Rayforge's progress rules.

It wraps the task's core lifecycle (``TaskLifeCycle``: publishing, events, messages and
cancellation are the core's) and adds Rayforge's progress arithmetic on top: a total
that is not positive counts as 1.0, ``set_total()`` and ``sub_context()`` report
nothing (only ``set_progress()`` does), progress may be throttled
(``PROGRESS_REPORT_INTERVAL_S``), and ``send_event_and_wait()`` waits for the GUI
thread to take the event. The core lifecycle keeps its own, stricter CUBA-side rules.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from .._lifecycle import TaskLifeCycle
from .progress import ThrottledProgressContext, _total_or_one

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["EventAck", "TaskContext"]


class _Throttle:
    """Shared by a root context and its sub-contexts: when progress was last sent."""

    __slots__ = ("last", "pending")

    def __init__(self) -> None:
        self.last = float("-inf")
        self.pending: float | None = None


class TaskContext(ThrottledProgressContext, TaskLifeCycle[Any]):
    """The context a ``run_thread``/``run_process``/``add_coroutine`` function gets first.

    A :class:`~qbackground.TaskLifeCycle` (so ``ExecutionContext``-typed code and the
    core's ``publish()``, ``sleep()``, ``params`` work) and a Rayforge
    :class:`~qbackground.tasker.progress.ThrottledProgressContext`. Progress follows
    Rayforge: ``set_total(0)`` or a negative total counts as 1.0; ``set_total()`` and
    ``sub_context()`` report nothing until the next ``set_progress()``.

    Example::

        def import_file(context, path):
            rows = read(path)
            context.set_total(len(rows))          # 0 rows: fine, counts as 1.0
            load = context.sub_context(0.0, 0.3)  # reports nothing yet
            for i, row in enumerate(rows):
                context.set_progress(i + 1)
    """

    PROGRESS_REPORT_INTERVAL_S = 0.0
    """The shortest time between two progress reports (seconds; Rayforge's process
    proxy used 0.1). 0 sends every ``set_progress()`` to the core, which already
    coalesces to one GUI update per frame; a larger value drops the values in between
    (``flush()`` and the end of the function send the latest). Set it on the class, or
    on one context."""

    def __init__(
        self,
        lifecycle: TaskLifeCycle[Any],
        base_progress: float = 0.0,
        progress_range: float = 1.0,
        total: float = 1.0,
        *,
        task: Task[Any] | None = None,
        remote: bool = False,
        _throttle: _Throttle | None = None,
    ) -> None:
        self._inner = lifecycle
        self._remote = remote
        self._throttle = _throttle if _throttle is not None else _Throttle()
        # Weak: a failed task keeps its exception, whose traceback's frames keep this
        # context: a strong link back would be a reference cycle.
        self._task_ref: weakref.ref[Task[Any]] | None = weakref.ref(task) if task is not None else None
        super().__init__(base_progress, progress_range, total)

    @property
    def task(self) -> Task[Any] | None:
        """The :class:`~qbackground.tasker.Task` this context reports for (None in a
        worker process, as in Rayforge: the Task lives in the GUI process).

        Example::

            def work(context):
                print(context.task.key if context.task else "in a worker process")
        """
        ref = self._task_ref
        return ref() if ref is not None else None

    # -- Rayforge's progress ---------------------------------------------------------------

    def set_total(self, total: float) -> None:
        """The count ``set_progress()`` goes up to; not positive means 1.0. Reports nothing.

        Example::

            context.set_total(len(items))
        """
        self._total = _total_or_one(total)

    def sub_context(self, base_progress: float, progress_range: float, total: float = 1.0) -> TaskContext:
        """A child context for ``base_progress .. base_progress + progress_range`` of this
        one's range; reports nothing until its ``set_progress()``.

        Example::

            load = context.sub_context(0.0, 0.3)
            parse = context.sub_context(0.3, 0.7, total=len(rows))
            parse.set_progress(10)
        """
        return self._create_sub_context(
            self._base + base_progress * self._range, progress_range * self._range, total
        )

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> TaskContext:
        return TaskContext(
            self._inner,
            base_progress,
            progress_range,
            total,
            task=self.task,
            remote=self._remote,
            _throttle=self._throttle,
        )

    def _report_normalized_progress(self, progress: float) -> None:
        progress = min(max(progress, 0.0), 1.0)
        value = self._base + progress * self._range
        throttle = self._throttle
        interval = self.PROGRESS_REPORT_INTERVAL_S
        if interval > 0:
            now = time.monotonic()
            if now - throttle.last < interval:
                throttle.pending = value
                return
            throttle.last = now
        throttle.pending = None
        self._inner._report_fraction(value)

    def _report_fraction(self, fraction: float) -> None:
        self._inner._report_fraction(fraction)

    def _send_pending(self) -> None:
        """The latest throttled progress, if any, goes to the core now."""
        pending = self._throttle.pending
        if pending is not None:
            self._throttle.pending = None
            self._inner._report_fraction(pending)

    def flush(self) -> None:
        """Send the pending progress, message and events to the GUI thread now.

        Example::

            context.set_message("Almost there")
            context.flush()
        """
        self._send_pending()
        self._inner.flush()

    # -- the core lifecycle's --------------------------------------------------------------

    def publish(self, *changes: Any) -> None:
        self._inner.publish(*changes)

    def is_cancelled(self) -> bool:
        return self._inner.is_cancelled()

    def is_interrupted(self) -> bool:
        return self._inner.is_interrupted()

    @property
    def attempt(self) -> int:
        """The running attempt's number (1-based) when the task was started with
        ``retry=``; see :attr:`qbackground.TaskLifeCycle.attempt`.

        Example::

            def fetch(context, url):
                context.set_message(f"attempt {context.attempt}")
        """
        return self._inner.attempt

    @property
    def params(self) -> Mapping[str, Any]:
        return self._inner.params

    def set_message(self, message: str) -> None:
        self._inner.set_message(message)

    def send_event(self, name: str, data: Any = None) -> None:
        self._inner.send_event(name, data)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def checkpoint(self) -> Awaitable[None]:
        return self._inner.checkpoint()

    def send_event_and_wait(
        self, name: str, data: Any = None, timeout: float = 5.0, logger: logging.Logger | None = None
    ) -> bool:
        """Send an event and wait until the GUI thread has handed it to ``when_event``.

        True once ``when_event`` (and the task's ``event_received`` receivers) returned;
        False if one of them raised, the task was cancelled, or ``timeout`` seconds
        passed (then ``logger``, if given, gets a warning). Rayforge uses it before
        releasing a resource the event hands over (a shared-memory block). Works on
        every backend: in a worker process the acknowledgement comes back over a
        loopback socket of its own.

        Example::

            def render(context, size):
                block = make_shared_block(size)
                if not context.send_event_and_wait("frame", block.name, timeout=2):
                    block.unlink()     # nobody adopted it
        """
        ack = EventAck(data, remote=self._remote)
        try:
            self._inner.send_event(name, ack)
            self._inner.flush()
            if ack.wait(timeout, self._inner):
                return ack.ok
        finally:
            ack.close()
        if logger is not None:
            logger.warning("No acknowledgement of event %r within %s s", name, timeout)
        return False


class EventAck:
    """The data of a ``send_event_and_wait()`` event, and the way back for its answer.

    The GUI side unwraps :attr:`data` for ``when_event`` and calls :meth:`reply`.
    In the same process the answer is a ``threading.Event``; from a worker process it
    is a connection to a loopback socket the waiting side listens on, with a random
    token, so only this event's answer is taken.

    Example::

        if isinstance(data, EventAck):
            handle(data.data)
            data.reply(True)
    """

    def __init__(self, data: Any, *, remote: bool) -> None:
        self.data = data
        self.ok = False
        self._event: threading.Event | None = None
        self._server: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._token = b""
        if remote:
            server = socket.create_server(("127.0.0.1", 0))
            self._server = server
            self._address = server.getsockname()[:2]
            self._token = os.urandom(16)
        else:
            self._event = threading.Event()

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.data, "_address": self._address, "_token": self._token}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state["data"]
        self.ok = False
        self._event = None
        self._server = None
        self._address = state["_address"]
        self._token = state["_token"]

    def reply(self, ok: bool) -> None:
        """GUI side: tell the waiting task whether the event was taken.

        Example::

            ack.reply(True)
        """
        if self._event is not None:
            self.ok = ok
            self._event.set()
            return
        if self._address is None:
            return
        try:
            with socket.create_connection(self._address, timeout=1.0) as conn:
                conn.sendall(self._token + (b"1" if ok else b"0"))
        except OSError:
            pass  # the task stopped waiting (timeout, cancel): nobody to tell

    def wait(self, timeout: float, lifecycle: TaskLifeCycle[Any]) -> bool:
        """Task side: True once an answer came (read :attr:`ok`), False on timeout or
        when the task is interrupted first.

        Example::

            if ack.wait(5.0, lifecycle):
                print(ack.ok)
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or lifecycle.is_interrupted():
                return False
            step = min(remaining, 0.05)
            if self._event is not None:
                if self._event.wait(step):
                    return True
                continue
            assert self._server is not None
            self._server.settimeout(step)
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                answer = b""
                try:
                    while len(answer) < len(self._token) + 1:
                        chunk = conn.recv(64)
                        if not chunk:
                            break
                        answer += chunk
                except OSError:
                    continue
            if answer[:-1] == self._token and len(answer) == len(self._token) + 1:
                self.ok = answer[-1:] == b"1"
                return True

    def close(self) -> None:
        """Stop listening (task side).

        Example::

            ack.close()
        """
        if self._server is not None:
            self._server.close()
            self._server = None
