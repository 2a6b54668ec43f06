"""``BackgroundWorkProgressWindow``: the work window with "Processed N items of TOTAL"."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

from ..qt import is_alive
from qtpy.QtWidgets import QLabel, QWidget

from qbackground import BackgroundWorker
from qbackground.backends import Executor

from . import _texts
from ._session import TaskOrHandler
from ._show import ShowMethod
from ._window import BackgroundWorkWindow, require_owner

__all__ = ["BackgroundWorkProgressWindow", "percent"]

_BAR_STEPS = 1000
_MAX_INT_BAR = 2**31 - 1


def percent(ratio: float) -> int:
    """``ratio`` (0..1) as a whole percentage, rounded up as CUBA and Jmix do
    (``Math.ceil``): 1 of 3 is 34 %, 0 is 0 %, the total is 100 %, and any progress
    above 0 shows at least 1 %.

    The product is rounded to 9 decimals first, so float noise (``0.07 * 100`` is
    ``7.000000000000001``) does not add a percent.

    Example::

        assert (percent(0.0), percent(1 / 3), percent(1.0)) == (0, 34, 100)
    """
    return math.ceil(round(min(1.0, max(0.0, ratio)) * 100, 9))


def _check_total(total: object) -> float | None:
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, SupportsFloat):
        raise TypeError(f"total must be a number or None, not {type(total).__name__}")
    value = float(total)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"total must be a positive finite number (or None for unknown), got {total!r}")
    return value


def _open_progress_window(
    cls: type[BackgroundWorkProgressWindow],
    task: TaskOrHandler,
    title: str | None = None,
    message: str | None = None,
    total: SupportsFloat | None = None,
    cancel_allowed: bool = False,
    percent_progress: bool = False,
    *,
    worker: BackgroundWorker | None = None,
    executor: str | Executor | None = None,
    pausable: bool = False,
) -> BackgroundWorkProgressWindow:
    """Open a modal progress window for ``task``, execute it, return the window at once.

    The task publishes numbers (``T`` is ``int`` or ``float``): the last published
    number is the absolute count of items done, shown as "Processed N items of TOTAL", or
    "Processed N%" with ``percent_progress``, and in a ``QProgressBar`` whose maximum is
    ``total``. A task that reports ``set_total()``/``set_progress()`` instead is shown
    the same way (its fraction times ``total`` is the count), and published counts are
    the handler's ``fraction`` too, so every other view agrees. Without a total the bar
    is busy and the text says "Processed N items" (a task that reports
    ``set_progress()`` fills the bar and shows a percentage).
    Everything else is as for :meth:`BackgroundWorkWindow.show`.

    Example::

        window = BackgroundWorkProgressWindow.show(
            ImportTask(rows, owner=main_window), title="Import", total=len(rows),
            cancel_allowed=True,
        )

    Args:
        task: a task with an owner whose progress items are numbers, or its handler
            (what ``worker.submit(fn, ..., owner=w)`` returns).
        title: the window title (default "Performing operation").
        message: the text above the bar (default "Please wait for operation to
            complete"); ``set_message()`` replaces it.
        total: the count that means "finished"; None: unknown (busy bar).
        cancel_allowed: show Cancel and let Escape and the title-bar button cancel.
        percent_progress: "Processed N%" instead of "Processed N items of TOTAL".
        worker: the worker to execute the task (default ``background_worker()``).
        executor: passed to ``worker.handle()``.
        pausable: show a Pause/Resume button.

    Raises:
        ValueError: the task has no owner (CUBA's rule for this static ``show()``; the
            :class:`BackgroundTaskDialog` builder takes ownerless tasks), or ``total``
            is not positive and finite.
        TypeError: ``total`` is not a number; or from ``worker.handle()``.
    """
    require_owner(task)
    window = cls(
        task,
        title=title,
        message=message,
        total=total,
        cancel_allowed=cancel_allowed,
        percent_progress=percent_progress,
        pausable=pausable,
    )
    window.start(worker=worker, executor=executor)
    return window


class BackgroundWorkProgressWindow(BackgroundWorkWindow):
    """A :class:`BackgroundWorkWindow` that counts: "Processed N items of TOTAL".

    Open it with :meth:`show` (CUBA's ``BackgroundWorkProgressWindow.show``). The task's
    progress items are numbers and the last one published is the absolute count. One
    more widget than the work window: ``progress_label``.

    Example::

        class Import(BackgroundTask[int, None]):
            def run(self, lifecycle: TaskLifeCycle[int]) -> None:
                for done, row in enumerate(self.rows, 1):
                    store(row)
                    lifecycle.publish(done)

        BackgroundWorkProgressWindow.show(Import(owner=window), total=len(rows))
    """

    show = ShowMethod(_open_progress_window)
    """``BackgroundWorkProgressWindow.show(task, title=None, message=None, total=None,
    cancel_allowed=False, percent_progress=False, *, worker=None, executor=None)``: open a
    window counting the task's published numbers against ``total``, execute the task, and
    return the window at once. On an instance, ``window.show()`` is ``QWidget.show()``.

    Example::

        BackgroundWorkProgressWindow.show(Import(owner=self), total=500, percent_progress=True)
    """

    def __init__(
        self,
        task: TaskOrHandler,
        *,
        title: str | None = None,
        message: str | None = None,
        total: SupportsFloat | None = None,
        cancel_allowed: bool = False,
        percent_progress: bool = False,
        pausable: bool = False,
    ) -> None:
        checked = _check_total(total)
        self._total = checked
        self._percent = percent_progress
        self._count: float = 0.0
        self._echoing = False
        self.progress_label = QLabel()
        """"Processed N items of TOTAL", "Processed N%" or "Processed N items"."""
        self.progress_label.setObjectName("processed")
        super().__init__(task, title=title, message=message, cancel_allowed=cancel_allowed, pausable=pausable)
        if checked is not None:
            if checked.is_integer() and checked <= _MAX_INT_BAR:
                self._scale = 1.0
                self.progress_bar.setRange(0, int(checked))
            else:
                self._scale = _BAR_STEPS / checked
                self.progress_bar.setRange(0, _BAR_STEPS)
            self.progress_bar.setValue(0)
        self._render()

    @property
    def total(self) -> float | None:
        """The count that means "finished", or None when unknown.

        Example::

            assert BackgroundWorkProgressWindow.show(task, total=10).total == 10
        """
        return self._total

    @property
    def percent_progress(self) -> bool:
        """True when the text is "Processed N%".

        Example::

            window = BackgroundWorkProgressWindow.show(task, total=10, percent_progress=True)
            assert window.percent_progress
        """
        return self._percent

    @property
    def count(self) -> float:
        """The count shown: the last published number, or ``fraction * total`` when the
        task reports ``set_progress()`` (0 before any).

        Example::

            print(f"{window.count:g} of {window.total:g}")
        """
        return self._count

    def task_progress(self, changes: list[Any]) -> None:
        """Published numbers: the last one is the absolute count.

        Raises:
            TypeError: an item is not a number (reported as an unhandled error of the
                task, and shown when the task ends).

        Example::

            window.task_progress([1, 2, 3])   # 3 items processed
        """
        if not changes:
            return  # a heartbeat (publish() without items): nothing to count
        last = changes[-1]
        if isinstance(last, bool) or not isinstance(last, SupportsFloat):
            raise TypeError(
                f"{type(self).__name__} counts progress: {type(self._task).__name__} must publish "
                f"numbers (the absolute count), not {type(last).__name__}"
            )
        if not is_alive(self):
            return
        self._count = float(last)
        total = self._total
        if total is not None:
            self._show_count(total)
            self._share_fraction(self._count / total)
        else:
            self._render()

    def task_fraction(self, fraction: float) -> None:
        """Overall progress from ``set_total()``/``set_progress()``.

        With a total it is shown as a count (``fraction * total`` items); without one it
        fills the bar and shows "Processed N%".

        Example::

            window.task_fraction(0.25)
        """
        if self._echoing:
            return  # the fraction this window just reported for the published count
        total = self._total
        if total is None:
            super().task_fraction(fraction)
            self._render()
        elif is_alive(self):
            self._count = round(min(1.0, max(0.0, fraction)) * total, 9)
            self._show_count(total)

    def _show_count(self, total: float) -> None:
        self.progress_bar.setValue(round(min(max(self._count, 0.0), total) * self._scale))
        self._note_fraction(self._count / total)
        self._render()

    def _share_fraction(self, fraction: float) -> None:
        """Make a published count the handler's ``fraction`` (status widget, tasker)."""
        session = self._session
        if session is None:
            return
        self._echoing = True
        try:
            session.handler.report_fraction(fraction)
        finally:
            self._echoing = False

    def _detail_rows(self) -> list[QWidget]:
        return [self.progress_label]

    def _render(self) -> None:
        total = self._total
        if total is not None:
            if self._percent:
                text = _texts.processed_percent(percent(self._count / total))
            else:
                text = _texts.processed_of(self._count, total)
        elif self._fraction is not None:
            text = _texts.processed_percent(percent(self._fraction))
        else:
            text = _texts.processed_count(self._count)
        self.progress_label.setText(text)
