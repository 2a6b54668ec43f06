"""``TaskLifeCycle``: what ``run()`` receives to report progress and see cancellation."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from typing import Any, Generic, TypeVar

from ._errors import TaskInterruptedError
from ._pausing import READY

__all__ = ["HEARTBEAT", "ExecutionContext", "TaskLifeCycle"]

T = TypeVar("T")


class _Heartbeat:
    """The marker of an empty ``publish()`` in a report sent across a process boundary.

    It pickles by name, so it is the same object on both sides.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "HEARTBEAT"

    def __reduce__(self) -> str:
        return "HEARTBEAT"


HEARTBEAT = _Heartbeat()
"""Stands alone in a remote report's item list when the task only called ``publish()``
with no changes (internal: the GUI side turns it into one ``progress([])`` call)."""


def _check_number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, not {type(value).__name__} ({value!r})")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{what} must be a number, not NaN")
    return number


class TaskLifeCycle(ABC, Generic[T]):
    """The task's side of the conversation with the GUI thread.

    ``run()`` receives one. It speaks CUBA (``publish``, ``is_cancelled``,
    ``is_interrupted``, ``params``) and Rayforge (``set_message``, ``set_total``,
    ``set_progress``, ``sub_context``, ``send_event``, ``flush``); ``ExecutionContext``
    is the same type. Every method may be called from the task's thread; none blocks on
    the GUI.

    Example::

        def run(self, lifecycle: TaskLifeCycle[int]) -> None:
            lifecycle.set_total(len(files))
            for i, path in enumerate(files):
                if lifecycle.is_interrupted():
                    return
                lifecycle.set_message(f"Reading {path}")
                lifecycle.publish(i)
                lifecycle.set_progress(i + 1)
    """

    # Progress bookkeeping for set_total/set_progress, kept per lifecycle (a sub-context
    # has its own total and value, and maps its fraction into its parent's). Concrete
    # lifecycles declare them as slots; these class defaults serve other subclasses.
    _total: float = 1.0
    _value: float = 0.0
    _attempt: int = 1

    @property
    def attempt(self) -> int:
        """The number of the attempt running now: 1, then 2, 3... when a task with a
        :class:`~qbackground.Retry` policy runs again after a failure (on every
        backend, in a worker process and on a Dask worker too).

        Example::

            def run(self, lifecycle):
                lifecycle.set_message(f"Connecting (attempt {lifecycle.attempt})")
                return device.read()
        """
        return self._attempt

    @abstractmethod
    def publish(self, *changes: T) -> None:
        """Queue ``changes`` for the task's ``progress()`` on the GUI thread.

        Cheap (well under a microsecond per item) and never blocks on the GUI; items
        arrive in order, coalesced into about one ``progress()`` call per frame.

        ``publish()`` with no changes is a heartbeat, as in CUBA, Jmix and Swing: it
        leads to one ``progress([])`` call (and listeners' ``on_progress([])``). It is
        coalesced like any publish: several empty publishes in one frame make one call,
        and when real items are delivered in the same batch, ``progress(items)`` is
        that call (no extra empty one).

        Raises:
            TaskInterruptedError: the task was cancelled, timed out, lost its owner or
                its worker shut down. Let it propagate out of ``run()``.

        Example::

            lifecycle.publish(percent)
            lifecycle.publish()          # "still alive": progress([]) on the GUI thread
        """

    @abstractmethod
    def is_cancelled(self) -> bool:
        """True once ``cancel()`` was called on the handler.

        Example::

            while not lifecycle.is_cancelled():
                step()
        """

    @abstractmethod
    def is_interrupted(self) -> bool:
        """True once the task was cancelled, timed out, lost its owner or was shut down.

        Example::

            for chunk in chunks:
                if lifecycle.is_interrupted():
                    return None
                handle(chunk)
        """

    @property
    @abstractmethod
    def params(self) -> Mapping[str, Any]:
        """The read-only mapping returned by the task's ``get_params()`` (empty if none).

        Example::

            path = lifecycle.params["path"]
        """

    def get_params(self) -> Mapping[str, Any]:
        """Same as :attr:`params` (CUBA's name).

        Example::

            path = lifecycle.get_params()["path"]
        """
        return self.params

    @abstractmethod
    def set_message(self, message: str) -> None:
        """Set the status text shown for this task (latest value wins).

        Example::

            lifecycle.set_message("Downloading…")
        """

    def set_total(self, total: float) -> None:
        """Set the number ``set_progress()`` counts up to (default 1.0).

        Raises:
            ValueError: ``total`` is not positive.

        Example::

            lifecycle.set_total(len(items))
        """
        number = _check_number(total, "set_total() total")
        if number <= 0:
            raise ValueError(f"set_total() needs a positive total, got {total!r}")
        self._total = number
        self._report_fraction(self._value / number)

    def set_progress(self, value: float) -> None:
        """Report progress as a count out of ``set_total()`` (or a 0..1 fraction).

        Example::

            lifecycle.set_total(50)
            lifecycle.set_progress(10)  # fraction 0.2
        """
        self._value = _check_number(value, "set_progress() value")
        self._report_fraction(self._value / self._total)

    def sub_context(
        self, base_progress: float, progress_range: float, total: float = 1.0
    ) -> TaskLifeCycle[T]:
        """A child lifecycle whose 0..1 progress fills a slice of this one's.

        The child shares publishing, messages, events and cancellation with its parent;
        its ``set_progress()`` maps into ``base_progress + progress_range * fraction``.

        Example::

            load = lifecycle.sub_context(0.0, 0.3)      # first 30 %
            parse = lifecycle.sub_context(0.3, 0.7, total=len(rows))
            parse.set_progress(10)
        """
        base = _check_number(base_progress, "sub_context() base_progress")
        span = _check_number(progress_range, "sub_context() progress_range")
        if not (0.0 <= base <= 1.0 and 0.0 <= span <= 1.0):
            raise ValueError(
                "sub_context() takes base_progress and progress_range between 0 and 1, "
                f"got {base_progress!r} and {progress_range!r}"
            )
        child: _SubLifeCycle[T] = _SubLifeCycle(self, base, span)
        child.set_total(total)
        return child

    @abstractmethod
    def send_event(self, name: str, data: Any = None) -> None:
        """Send a named event to the GUI thread (every event is delivered, in order).

        Example::

            lifecycle.send_event("preview", thumbnail_bytes)
        """

    def shared_array(self, shape: Any, dtype: Any = "float64") -> Any:
        """A zero-filled NumPy array for ``run()`` to fill, then return or publish.

        On the ``"process"`` backend it lives in shared memory: returning or publishing
        it sends only its name, and the GUI thread gets a view of the same memory (no
        copy at all). Elsewhere it is an ordinary array. Needs NumPy
        (``pip install 'qbackground[numpy]'``).

        Example::

            def run(self, lifecycle):
                image = lifecycle.shared_array((2048, 2048), "uint8")
                image[:] = 255
                return image  # done() gets a view of the same memory
        """
        try:
            import numpy
        except ImportError:
            raise ImportError("shared_array() needs NumPy: pip install 'qbackground[numpy]'") from None
        return numpy.zeros(shape, dtype)

    @abstractmethod
    def flush(self) -> None:
        """Deliver pending progress, messages and events now, not at the next frame.

        Example::

            lifecycle.set_message("Almost there")
            lifecycle.flush()
        """

    @abstractmethod
    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the task is interrupted.

        Raises:
            TaskInterruptedError: the task was interrupted before or while sleeping.

        Example::

            lifecycle.sleep(0.5)  # a cancel() ends the sleep at once
        """

    def checkpoint(self) -> Awaitable[None]:
        """A point where the task may be paused or stopped: blocks while it is paused.

        While ``handler.pause()`` holds the task, this waits until ``resume()``; it
        raises at once when the task is cancelled, times out, loses its owner or its
        worker shuts down (also while paused). ``publish()``, ``set_progress()``,
        ``set_message()``, ``is_cancelled()``, ``is_interrupted()`` and ``sleep()`` are
        checkpoints too; call this in a loop that reports nothing for a while.

        In a coroutine (``AsyncBackgroundTask``), await it: ``await
        lifecycle.checkpoint()`` suspends only this coroutine, never the loop (there the
        other calls do not block while paused, as that would stall every coroutine on
        the loop). In a thread the return value is already complete; awaiting it is
        harmless.

        Raises:
            TaskInterruptedError: the task was interrupted (before or while paused).

        Example::

            for block in blocks:
                lifecycle.checkpoint()          # waits here while paused
                crunch(block)

            async def run(self, lifecycle):
                for url in urls:
                    await lifecycle.checkpoint()
                    await fetch(url)
        """
        if self.is_interrupted():
            raise TaskInterruptedError("checkpoint() reached after the task was interrupted")
        return READY

    @abstractmethod
    def _report_fraction(self, fraction: float) -> None:
        """Record the overall 0..1 progress (implementations clamp and coalesce)."""


ExecutionContext = TaskLifeCycle
"""Rayforge's name for :class:`TaskLifeCycle`: the same type."""


class _SubLifeCycle(TaskLifeCycle[T]):
    """A slice of a parent lifecycle's progress; everything else is the parent's."""

    __slots__ = ("_parent", "_base", "_span", "_total", "_value")

    def __init__(self, parent: TaskLifeCycle[T], base: float, span: float) -> None:
        self._parent = parent
        self._base = base
        self._span = span
        self._total = 1.0
        self._value = 0.0

    def publish(self, *changes: T) -> None:
        self._parent.publish(*changes)

    def is_cancelled(self) -> bool:
        return self._parent.is_cancelled()

    def is_interrupted(self) -> bool:
        return self._parent.is_interrupted()

    @property
    def attempt(self) -> int:
        return self._parent.attempt

    @property
    def params(self) -> Mapping[str, Any]:
        return self._parent.params

    def set_message(self, message: str) -> None:
        self._parent.set_message(message)

    def shared_array(self, shape: Any, dtype: Any = "float64") -> Any:
        return self._parent.shared_array(shape, dtype)

    def send_event(self, name: str, data: Any = None) -> None:
        self._parent.send_event(name, data)

    def flush(self) -> None:
        self._parent.flush()

    def sleep(self, seconds: float) -> None:
        self._parent.sleep(seconds)

    def checkpoint(self) -> Awaitable[None]:
        return self._parent.checkpoint()

    def _report_fraction(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        self._parent._report_fraction(self._base + self._span * fraction)
