"""The two progress floods of the "Progress flood" page, and what each one delivered.

* :class:`FloodTask`: a qbackground task whose ``run()`` calls ``lifecycle.publish(i)``
  for every item; ``progress(changes)`` gets them in batches, about one call per frame.
* :class:`NaiveFlood`: the hand-written pattern, a ``QRunnable`` emitting one
  ``Signal(int)`` per item to a slot on the GUI thread.

A :class:`FloodRun` records what reached the GUI thread; the page shows it and its smoke
test checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import Protocol

from qtpy.QtCore import QObject, QRunnable, Signal
from qtpy.QtWidgets import QWidget

from qbackground import BackgroundTask, TaskLifeCycle

__all__ = ["NAIVE", "QBACKGROUND", "FloodRun", "FloodTask", "FloodView", "NaiveFlood"]

QBACKGROUND = "qbackground"
NAIVE = "naive"


class FloodView(Protocol):
    """Receives a :class:`FloodTask`'s callbacks; every method runs on the GUI thread."""

    def on_items(self, run: FloodRun, changes: list[int]) -> None:
        """A batch of items, in order."""

    def on_end(self, run: FloodRun, how: str) -> None:
        """The flood ended: ``how`` is ``"done"``, ``"canceled"`` or ``"failed"``."""


@dataclass
class FloodRun:
    """One flood: what reached the GUI thread, and when. The smoke test reads it."""

    kind: str
    """:data:`QBACKGROUND` or :data:`NAIVE`."""
    total: int
    started: float = field(default_factory=perf_counter)
    """``perf_counter()`` at the click."""
    received: int = 0
    """Items that reached the GUI thread."""
    calls: int = 0
    """GUI-thread calls that delivered them (``progress()`` calls, or slot calls)."""
    batches: list[list[int]] = field(default_factory=list)
    """What each delivery carried (for the order check, done after the run)."""
    produced_at: float | None = None
    """``perf_counter()`` when the producing loop ended (set on the worker thread)."""
    finished_at: float | None = None
    """``perf_counter()`` when the last item (and the end) reached the GUI thread."""
    worst: float = 0.0
    """Worst heartbeat lateness (seconds) from the click to the first tick after the end."""
    measured: bool = False
    """A tick after :attr:`finished_at` has been seen, so :attr:`worst` is final."""
    terminal: list[str] = field(default_factory=list)
    """The ending(s) that arrived: ``"done"``, ``"canceled"``, ``"failed"`` (one expected)."""
    late_callbacks: int = 0
    """Deliveries after the ending."""
    _in_order: bool | None = field(default=None, repr=False, compare=False)

    @property
    def running(self) -> bool:
        """The flood has not ended yet."""
        return self.finished_at is None

    @property
    def elapsed(self) -> float:
        """Seconds from the click to the end (or to now, while it runs)."""
        return (perf_counter() if self.finished_at is None else self.finished_at) - self.started

    def in_order(self) -> bool:
        """Every item arrived exactly once, in order: ``0 .. received-1``.

        A walk over every item received; once the run has ended the answer is kept, so
        asking again (say, on every refresh of an idle page) costs nothing.
        """
        if self._in_order is not None:
            return self._in_order
        expected = 0
        ok = True
        for batch in self.batches:
            if batch != list(range(expected, expected + len(batch))):
                ok = False
                break
            expected += len(batch)
        ok = ok and expected == self.received
        if self.finished_at is not None:
            self._in_order = ok
        return ok


class FloodTask(BackgroundTask[int, int]):
    """Publishes ``0 .. total-1``, one ``publish()`` per item, as fast as it can.

    ``T`` is ``int`` (an item), ``V`` is ``int`` (how many were published).

    Example::

        background_worker().handle(FloodTask(page, run, owner=page)).execute()
    """

    def __init__(self, page: FloodView, run: FloodRun, *, owner: QWidget) -> None:
        super().__init__(owner=owner)
        self._page = page
        self._run = run

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        """The flood, on a pool thread: nothing but ``publish()``."""
        publish = lifecycle.publish
        for i in range(self._run.total):
            publish(i)
        self._run.produced_at = perf_counter()
        return self._run.total

    def progress(self, changes: list[int]) -> None:
        """Every item published since the previous call, in order (GUI thread)."""
        self._page.on_items(self._run, changes)

    def done(self, result: int) -> None:
        """The last ``progress()`` came first (GUI thread)."""
        self._page.on_end(self._run, "done")

    def canceled(self) -> None:
        """The page was asked to stop the flood (GUI thread)."""
        self._page.on_end(self._run, "canceled")

    def handle_exception(self, exc: BaseException) -> bool:
        """``run()`` raised: show it, and let the worker report it too (GUI thread)."""
        self._page.on_end(self._run, "failed")
        return False


class _ItemSignals(QObject):
    """The naive flood's signals; created on the GUI thread, so its slots run there."""

    item = Signal(int)
    finished = Signal()


class NaiveFlood(QRunnable):
    """The hand-written pattern: a ``QRunnable`` that emits one ``Signal(int)`` per item.

    Each emit crosses threads as a queued event, so the GUI thread runs the slot once per
    item, however fast they come. ``autoDelete`` is off: the page keeps the runnable (and
    with it :attr:`signals`) alive until :attr:`returned` says ``run()`` is over.

    Example::

        flood = NaiveFlood(50_000)
        flood.signals.item.connect(on_item)
        QThreadPool.globalInstance().start(flood)
    """

    def __init__(self, total: int) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.total = total
        self.signals = _ItemSignals()
        self.produced_at: float | None = None
        """``perf_counter()`` when the emitting loop ended (set on the pool thread)."""
        self.returned = False
        """``run()`` is over: the pool will not touch this runnable again."""

    def run(self) -> None:
        """The flood, on a ``QThreadPool`` thread: one emit per item, then ``finished``."""
        try:
            emit = self.signals.item.emit
            for i in range(self.total):
                emit(i)
            self.produced_at = perf_counter()
            self.signals.finished.emit()
        finally:
            self.returned = True


