"""Rayforge's progress contexts: report progress and check cancellation, with or without a task.

Code written against Rayforge's ``rayforge.shared.tasker.progress`` ports by changing its
import line. :class:`ProgressContext` is the interface (a count out of ``set_total()``
mapped into a ``base_progress``/``progress_range`` slice); the context a ``task_mgr``
function gets is one (:class:`~qbackground.tasker.TaskContext` derives from
:class:`ThrottledProgressContext`), so library code typed ``ProgressContext`` takes it,
a :class:`NoOpProgressContext` (reports nothing) or a :class:`CallbackProgressContext`
(reports to plain callables), and :func:`set_progress` accepts None too.

Example::

    from qbackground.tasker.progress import ProgressContext, set_progress

    def trace(image, context: ProgressContext | None = None):
        for row in range(image.height):
            set_progress(context, row / image.height, "Tracing")
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = [
    "CallbackProgressContext",
    "NoOpProgressContext",
    "ProgressContext",
    "ThrottledProgressContext",
    "set_progress",
]


def _total_or_one(total: float) -> float:
    """Rayforge's rule: a total that is not positive means "already normalized" (1.0)."""
    number = float(total)
    return number if number > 0 else 1.0


class ProgressContext(ABC):
    """Progress reporting and cancellation, Rayforge's interface.

    ``set_progress(value)`` reports ``value / total`` mapped into this context's slice
    (``base_progress + progress_range * fraction``, clamped to 0..1).
    ``set_total(total)`` only changes the divisor: it reports nothing, and a total that
    is not positive (``len(items)`` of no items) counts as 1.0. ``sub_context()`` makes
    a child for a slice of this one's range and reports nothing either.

    Example::

        class PrintingContext(ProgressContext):
            def is_cancelled(self): return False
            def set_message(self, message): print(message)
            def flush(self): pass
            def _report_normalized_progress(self, progress):
                print(f"{self._base + progress * self._range:.0%}")
            def _create_sub_context(self, base_progress, progress_range, total):
                return PrintingContext(base_progress, progress_range, total)
    """

    def __init__(self, base_progress: float = 0.0, progress_range: float = 1.0, total: float = 100.0) -> None:
        self._base = float(base_progress)
        self._range = float(progress_range)
        self._total = 1.0
        self.set_total(total)

    @abstractmethod
    def is_cancelled(self) -> bool:
        """True once the work should stop.

        Example::

            if context.is_cancelled():
                return None
        """

    def set_progress(self, progress: float) -> None:
        """Report ``progress`` out of ``set_total()`` (a 0..1 fraction by default).

        Example::

            context.set_total(len(rows))
            context.set_progress(i + 1)
        """
        self._report_normalized_progress(progress / self._total)

    @abstractmethod
    def set_message(self, message: str) -> None:
        """Set the status text.

        Example::

            context.set_message("Tracing…")
        """

    def set_total(self, total: float) -> None:
        """Set the count ``set_progress()`` goes up to; not positive means 1.0. Reports nothing.

        Example::

            context.set_total(len(items))   # no items: progress stays a fraction
        """
        self._total = _total_or_one(total)

    def sub_context(self, base_progress: float, progress_range: float, total: float = 1.0) -> ProgressContext:
        """A child reporting into ``base_progress .. base_progress + progress_range`` of this one.

        Example::

            load = context.sub_context(0.0, 0.3)
            parse = context.sub_context(0.3, 0.7, total=len(rows))
        """
        return self._create_sub_context(
            self._base + base_progress * self._range, progress_range * self._range, total
        )

    @abstractmethod
    def flush(self) -> None:
        """Send pending updates now.

        Example::

            context.flush()
        """

    @abstractmethod
    def _report_normalized_progress(self, progress: float) -> None:
        """Report a 0..1 fraction of this context (subclasses map it into their slice)."""

    @abstractmethod
    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
        """A child for an absolute slice ``base_progress``/``progress_range`` of the root."""


class ThrottledProgressContext(ProgressContext):
    """Marks contexts whose reports are throttled (the ones ``task_mgr`` functions get).

    Example::

        assert isinstance(context, ThrottledProgressContext)   # inside a task_mgr function
    """


def set_progress(context: ProgressContext | None, progress: float, message: str = "") -> None:
    """``context.set_progress(progress)`` and, if ``message``, ``context.set_message(message)``;
    nothing when ``context`` is None.

    Example::

        set_progress(context, 0.5, "Halfway")
        set_progress(None, 0.5)   # no context: nothing happens
    """
    if context is not None:
        context.set_progress(progress)
        if message:
            context.set_message(message)


class NoOpProgressContext(ProgressContext):
    """Reports nothing and is never cancelled: for calling progress-aware code without a task.

    Example::

        trace(image, NoOpProgressContext())
    """

    def __init__(self, base_progress: float = 0.0, progress_range: float = 1.0, total: float = 100.0) -> None:
        super().__init__(base_progress, progress_range, total)

    def is_cancelled(self) -> bool:
        """Always False.

        Example::

            assert not NoOpProgressContext().is_cancelled()
        """
        return False

    def set_progress(self, progress: float) -> None:
        """Nothing.

        Example::

            NoOpProgressContext().set_progress(0.5)
        """

    def set_message(self, message: str) -> None:
        """Nothing.

        Example::

            NoOpProgressContext().set_message("ignored")
        """

    def set_total(self, total: float) -> None:
        """Nothing.

        Example::

            NoOpProgressContext().set_total(10)
        """

    def sub_context(self, base_progress: float, progress_range: float, total: float = 1.0) -> ProgressContext:
        """A new :class:`NoOpProgressContext`.

        Example::

            sub = NoOpProgressContext().sub_context(0.0, 0.5)
        """
        return NoOpProgressContext(base_progress, progress_range, total)

    def flush(self) -> None:
        """Nothing.

        Example::

            NoOpProgressContext().flush()
        """

    def _report_normalized_progress(self, progress: float) -> None:
        pass

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
        return NoOpProgressContext(base_progress, progress_range, total)


class CallbackProgressContext(ProgressContext):
    """Reports to callables: ``progress_callback(fraction)``, ``message_callback(text)``.

    ``is_cancelled()`` calls ``is_cancelled_func`` at most once per
    :attr:`CANCELLED_CHECK_INTERVAL_S` (0.05 s) and answers False in between, as
    Rayforge's does: a tight loop that checks every item costs one call per interval,
    not one per item. The default total is 100, as in Rayforge.

    Example::

        context = CallbackProgressContext(stop.is_set, bar_values.append, print)
        context.set_total(200)
        context.set_progress(20)        # progress_callback(0.1)
    """

    CANCELLED_CHECK_INTERVAL_S = 0.05
    """The shortest time between two calls of ``is_cancelled_func``."""

    def __init__(
        self,
        is_cancelled_func: Callable[[], bool],
        progress_callback: Callable[[float], None],
        message_callback: Callable[[str], None],
        base_progress: float = 0.0,
        progress_range: float = 1.0,
        total: float = 100.0,
    ) -> None:
        super().__init__(base_progress, progress_range, total)
        self._is_cancelled_func = is_cancelled_func
        self._progress_callback = progress_callback
        self._message_callback = message_callback
        self._last_check_time = 0.0

    def is_cancelled(self) -> bool:
        """``is_cancelled_func()``, called at most once per ``CANCELLED_CHECK_INTERVAL_S``
        (False in between).

        Example::

            for item in items:
                if context.is_cancelled():
                    break
        """
        now = time.monotonic()
        if now - self._last_check_time < self.CANCELLED_CHECK_INTERVAL_S:
            return False
        self._last_check_time = now
        return self._is_cancelled_func()

    def set_message(self, message: str) -> None:
        """``message_callback(message)``.

        Example::

            context.set_message("Loading")
        """
        self._message_callback(message)

    def flush(self) -> None:
        """Nothing to flush: callbacks are called at once.

        Example::

            context.flush()
        """

    def _report_normalized_progress(self, progress: float) -> None:
        self._progress_callback(self._base + progress * self._range)  # unclamped, as Rayforge's

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
        return CallbackProgressContext(
            self._is_cancelled_func,
            self._progress_callback,
            self._message_callback,
            base_progress,
            progress_range,
            total,
        )
