"""Qt plumbing shared by every scenario: settings, event-loop waits, the heartbeat.

Nothing here blocks the GUI thread to synchronise: waiting means running a
``QEventLoop`` until :class:`Completion` flags are set (or a guard timer fires), so the
event loop keeps dispatching timers, painting and queued signals exactly as an
application's would.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from time import perf_counter  # noqa: E402

import qbackground.qt  # noqa: E402, F401  (before qtpy: qbackground decides the binding)
from qtpy.QtCore import (  # noqa: E402
    QCoreApplication,
    QEvent,
    QEventLoop,
    QObject,
    Qt,
    QMessageLogContext,
    QThreadPool,
    QtMsgType,
    QTimer,
    Signal,
    qInstallMessageHandler,
)
from qtpy.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget  # noqa: E402

from ._settings import Settings  # noqa: E402

__all__ = [
    "Completion",
    "Heartbeat",
    "ProgressView",
    "Settings",
    "TimedRun",
    "application",
    "call_later",
    "gui_thread_id",
    "settle",
    "spin",
    "wait_until",
]

HEARTBEAT_MS = 5
"""Period of the GUI-thread heartbeat timer whose largest gap is the "worst stall"."""


_GUI_THREAD_ID: int | None = None
_APP: QApplication | None = None
"""The application made by :func:`application`, referenced here: PyQt6 destroys a
``QApplication`` whose Python wrapper is collected (PySide6 keeps it), so a caller that
drops the return value would otherwise be left without an application."""

_QUIET = ("propagateSizeHints",)
"""Qt messages the offscreen platform prints for every shown window; noise here."""


def _qt_messages(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if not any(text in message for text in _QUIET):
        print(message, file=sys.stderr)


def application() -> QApplication:
    """The process's ``QApplication`` (created on first call, on the calling thread)."""
    global _GUI_THREAD_ID, _APP
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_messages)
        app = QApplication([])
    assert isinstance(app, QApplication)
    _APP = app
    if _GUI_THREAD_ID is None:
        _GUI_THREAD_ID = threading.get_ident()
    return app


def gui_thread_id() -> int:
    """``threading.get_ident()`` of the GUI thread (call :func:`application` first)."""
    assert _GUI_THREAD_ID is not None, "call application() first"
    return _GUI_THREAD_ID


class Completion(QObject):
    """A one-shot flag any thread may set; :func:`wait_until` waits for it on the GUI.

    ``at`` is the ``perf_counter()`` of the first :meth:`set` call, taken on the thread
    that called it. Set off the GUI thread, the flag itself flips when a queued signal
    reaches the GUI thread.

    Example::

        done = Completion()
        threading.Thread(target=done.set).start()
        assert wait_until(done, limit=5)
    """

    _fired = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.is_set = False
        self.at: float | None = None
        self._listeners: list[Callable[[], None]] = []
        self._fired.connect(self._on_fired)

    def set(self) -> None:
        """Record the time and flip the flag (queued to the GUI thread if called elsewhere)."""
        if self.at is None:
            self.at = perf_counter()
        if threading.get_ident() == gui_thread_id():
            self._on_fired()
        else:
            self._fired.emit()

    def _on_fired(self) -> None:
        self.is_set = True
        for listener in list(self._listeners):
            listener()


def wait_until(
    *completions: Completion, limit: float, kickoff: Callable[[], None] | None = None
) -> bool:
    """Run a ``QEventLoop`` until every completion is set or ``limit`` seconds pass.

    ``kickoff`` runs inside the loop as its first event (so submitting work happens
    from a live event loop, as in an application). Returns True if all were set.
    """
    if kickoff is None and all(c.is_set for c in completions):
        return True
    loop = QEventLoop()

    def check() -> None:
        if all(c.is_set for c in completions):
            loop.quit()

    for completion in completions:
        completion._listeners.append(check)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    guard.start(max(1, round(limit * 1000)))
    if kickoff is not None:
        QTimer.singleShot(0, kickoff)
    try:
        loop.exec()
    finally:
        guard.stop()
        for completion in completions:
            completion._listeners.remove(check)
    return all(c.is_set for c in completions)


def call_later(milliseconds: int, callback: Callable[[], None]) -> QTimer:
    """Start a precise single-shot GUI timer; keep the returned timer alive until it fires."""
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setSingleShot(True)
    timer.timeout.connect(callback)
    timer.start(milliseconds)
    return timer


class Heartbeat:
    """Largest gap between ticks of a 5 ms GUI-thread timer while armed.

    Armed by :meth:`start` (the moment work is submitted) and disarmed by :meth:`stop`
    (the last callback); the gaps from ``start`` to the first tick and from the last
    tick to ``stop`` count too, so a long submit loop shows up as a stall.

    Example::

        beat = Heartbeat()
        beat.start()
        ...  # event loop runs
        worst = beat.stop(perf_counter())
    """

    def __init__(self, interval_ms: int = HEARTBEAT_MS) -> None:
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.worst = 0.0

    def start(self) -> None:
        """Arm: gaps are measured from now."""
        self._last = perf_counter()
        self.worst = 0.0
        self._timer.start()

    def _tick(self) -> None:
        now = perf_counter()
        gap = now - self._last
        if gap > self.worst:
            self.worst = gap
        self._last = now

    def stop(self, at: float) -> float:
        """Disarm at ``at`` (a ``perf_counter()`` value) and return the worst gap in seconds."""
        self._timer.stop()
        gap = at - self._last
        if gap > self.worst:
            self.worst = gap
        return self.worst


class TimedRun:
    """One measured run: submit time, last-callback time and the worst GUI stall between.

    Call :meth:`begin` right before submitting and :meth:`end` from the last callback.

    Example::

        run = TimedRun(heartbeat)
        ok = run.wait(kickoff=lambda: (run.begin(), submit()), limit=60)
        print(run.wall, run.stall)
    """

    def __init__(self, heartbeat: Heartbeat) -> None:
        self._heartbeat = heartbeat
        self.started = 0.0
        self.submitted = 0.0
        self.ended = 0.0
        self.stall = 0.0
        self.finished = Completion()

    def begin(self) -> None:
        """Arm the heartbeat and start the clock (GUI thread)."""
        self._heartbeat.start()
        self.started = perf_counter()

    def mark_submitted(self) -> None:
        """The submit loop returned (GUI thread)."""
        self.submitted = perf_counter()

    def end(self) -> None:
        """The last callback ran (GUI thread): stop the clock and the heartbeat."""
        if self.finished.is_set:
            return
        self.ended = perf_counter()
        self.stall = self._heartbeat.stop(self.ended)
        self.finished.set()

    def wait(self, kickoff: Callable[[], None], limit: float) -> bool:
        """Run the event loop from ``kickoff`` until :meth:`end` (True) or ``limit`` (False)."""
        ok = wait_until(self.finished, limit=limit, kickoff=kickoff)
        if not ok:
            self._heartbeat.stop(perf_counter())
        return ok

    @property
    def wall(self) -> float:
        """Seconds from :meth:`begin` to :meth:`end`."""
        return self.ended - self.started


class ProgressView(QWidget):
    """The widgets a progress callback updates: a label and a progress bar (shown)."""

    def __init__(self, maximum: int) -> None:
        super().__init__()
        self.label = QLabel("0")
        self.bar = QProgressBar()
        self.bar.setRange(0, max(1, maximum))
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.resize(320, 80)
        self.show()

    def show_value(self, value: int) -> None:
        """What a progress callback does with the latest value."""
        self.label.setText(str(value))
        self.bar.setValue(value)


def spin(iterations: int = 2_000) -> int:
    """Pure-Python busy work (about 50-100 µs); holds the GIL like real computation."""
    total = 0
    for k in range(iterations):
        total += k
    return total


def settle(limit: float = 30.0) -> None:
    """Between runs: wait for the global ``QThreadPool``, flush deferred deletes, collect."""
    QThreadPool.globalInstance().waitForDone(round(limit * 1000))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    gc.collect()
    # Earlier scenarios leave a large heap; freeze it so the collector does not rescan
    # it during the next measurement (each scenario is then measured as if run alone).
    gc.freeze()
