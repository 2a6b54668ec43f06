"""``BackgroundWorkWindow``: a modal window that runs a task and closes when it ends."""

from __future__ import annotations

from typing import Any

from ..qt import is_alive
from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtGui import QPalette
from qtpy.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbackground import BackgroundTaskHandler, BackgroundWorker, TaskStateError, TaskStatus
from qbackground._gui_release import GuiThreadFinalized, install as install_gui_release
from qbackground.backends import Executor

from . import _notices, _texts
from ._eta import RemainingTimeEstimator
from ._pause_control import PauseControl
from ._session import AnyTask, TaskEnding, TaskOrHandler, TaskSession, task_of
from ._show import ShowMethod

__all__ = ["BackgroundWorkWindow"]

_BAR_STEPS = 1000
"""Resolution of a bar driven by a fraction (0..1)."""

_TICK_MS = 500
"""How often the elapsed/remaining line is refreshed."""


def require_owner(target: TaskOrHandler) -> None:
    """CUBA's static ``show()`` refuses a task without an owner: ``ValueError``."""
    task = task_of(target)
    if task.owner is None:
        raise ValueError(
            f"{type(task).__name__} has no owner: BackgroundWorkWindow.show() is modal over "
            "its task's window, so create the task with owner=<a widget of that window> "
            "(or open an ownerless task with BackgroundTaskDialog(task).open())"
        )


def _open_work_window(
    cls: type[BackgroundWorkWindow],
    task: TaskOrHandler,
    title: str | None = None,
    message: str | None = None,
    cancel_allowed: bool = False,
    *,
    worker: BackgroundWorker | None = None,
    executor: str | Executor | None = None,
    pausable: bool = False,
) -> BackgroundWorkWindow:
    """Open a modal window for ``task``, execute the task, return the window at once.

    The window shows ``message`` (replaced live by the task's ``set_message()``), a busy
    bar (which fills once the task reports ``set_progress()``), the elapsed time and an
    estimate of the time left. It closes itself when the task ends; it can be closed
    by the user (Cancel, Escape, the title bar) only when ``cancel_allowed``, which
    cancels the task. The task's own callbacks and listeners run as usual; an error or a
    timeout the task does not handle is shown in a message box afterwards.

    Example::

        window = BackgroundWorkWindow.show(
            ExportTask(owner=main_window), title="Export", cancel_allowed=True
        )

    ``task`` may also be the handler of one — what ``worker.submit(fn, ..., owner=w)``
    returns, already running: the window then follows that handler from now on::

        handler = worker.submit(export_rows, rows, owner=main_window)
        BackgroundWorkWindow.show(handler, title="Export", cancel_allowed=True)

    Args:
        task: a task with an owner (or its handler); the window is modal over the
            owner's window.
        title: the window title (default "Performing operation").
        message: the text above the bar (default "Please wait for operation to complete").
        cancel_allowed: show Cancel and let Escape and the title-bar button cancel.
        worker: the worker to execute the task (default ``background_worker()``).
        executor: passed to ``worker.handle()`` (``"thread"``, ``"process"``, ...).
        pausable: show a Pause/Resume button (``handler.pause()``/``resume()``).

    Raises:
        ValueError: the task has no owner (CUBA's rule for this static ``show()``; the
            :class:`BackgroundTaskDialog` builder takes ownerless tasks), or its owner
            was deleted.
        TypeError: ``worker`` or ``executor`` given with a handler (it has its own).
        TypeError, TaskQueueFullError, TaskStateError: from ``worker.handle()`` and
            ``execute()``; the window is then not shown.
    """
    require_owner(task)
    window = cls(task, title=title, message=message, cancel_allowed=cancel_allowed, pausable=pausable)
    window.start(worker=worker, executor=executor)
    return window


class BackgroundWorkWindow(PauseControl, GuiThreadFinalized, QDialog):
    """A modal window that executes a task, shows its message, and closes when it ends.

    Open it with :meth:`show` (CUBA's ``BackgroundWorkWindow.show``), or create it and
    call :meth:`start`. Looked up on an instance, ``show()`` is ``QWidget.show()``.

    The window is application-modal but never blocks the caller (it is shown, not
    ``exec()``-ed). It is a child of the task owner's window; created for an ownerless
    task (as the builder allows), of the application's active window. It deletes itself
    (``deleteLater()``) once closed: connect to :attr:`ended` or ``finished`` to learn
    how the task ended.

    Widgets, for tests and styling: ``message_label``, ``progress_bar``, ``time_label``,
    ``button_box``, ``cancel_button`` and ``pause_button`` (``pausable=True``: Pause/Resume).

    Example::

        window = BackgroundWorkWindow.show(ScanTask(owner=self), cancel_allowed=True)
        window.ended.connect(lambda status, notice: self.refresh())
    """

    ended = Signal(object, object)
    """``(status, notice)``: the task ended with ``status`` (a :class:`~qbackground.TaskStatus`);
    ``notice`` is the error or timeout ``QMessageBox`` now open, or None. Emitted once,
    after the window closed and before it is deleted."""

    show = ShowMethod(_open_work_window)
    """``BackgroundWorkWindow.show(task, title=None, message=None, cancel_allowed=False,
    *, worker=None, executor=None, pausable=False)``: open a window for ``task`` (which needs an owner),
    execute the task, and return the window at once. On an instance, ``window.show()``
    is ``QWidget.show()``.

    Example::

        window = BackgroundWorkWindow.show(ScanTask(owner=self), "Scan", cancel_allowed=True)
    """

    def __init__(
        self,
        task: TaskOrHandler,
        *,
        title: str | None = None,
        message: str | None = None,
        cancel_allowed: bool = False,
        pausable: bool = False,
    ) -> None:
        # A handler (from worker.submit()) is followed instead of a new one made.
        self._target = task
        task = task_of(task)
        owner = task.owner
        if owner is not None and not is_alive(owner):
            raise ValueError(f"the owner of {type(task).__name__} was already deleted")
        install_gui_release()  # this object is destroyed on the GUI thread (_gui_release)
        # Over the owner's window; an ownerless task (the builder allows one) gets the
        # application's active window, if any.
        super().__init__(owner.window() if owner is not None else QApplication.activeWindow())
        self._task = task
        self._title = title
        self._cancel_allowed = cancel_allowed
        self._session: TaskSession | None = None
        self._closing = False
        self._fraction: float | None = None
        self._eta = RemainingTimeEstimator()
        self._timer = QTimer(self)
        self._timer.setInterval(_TICK_MS)
        self._timer.timeout.connect(self._refresh_time)

        self.setObjectName("qbackground-work-window")
        self.setWindowTitle(title if title is not None else _texts.default_title())
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        flags = Qt.WindowType.Dialog | Qt.WindowType.CustomizeWindowHint | Qt.WindowType.WindowTitleHint
        if cancel_allowed:
            flags |= Qt.WindowType.WindowCloseButtonHint
        self.setWindowFlags(flags)

        self.message_label = QLabel(message if message is not None else _texts.default_message())
        """The message: ``message``, then each ``set_message()`` text."""
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_bar = QProgressBar()
        """Busy until the task reports a fraction (or, in the progress window, a count)."""
        self.progress_bar.setObjectName("progress")
        self.progress_bar.setRange(0, 0)  # busy until a fraction or a count is known
        self.progress_bar.setTextVisible(False)
        self.time_label = QLabel(_texts.elapsed(0))
        """"Elapsed 0:12", then "Elapsed 0:12 · about 0:30 left"."""
        self.time_label.setObjectName("time")
        self.time_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # secondary
        self.button_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        """Holds :attr:`cancel_button`; hidden unless ``cancel_allowed``."""
        self.button_box.rejected.connect(self.reject)
        cancel_button = self.button_box.button(QDialogButtonBox.StandardButton.Cancel)
        assert cancel_button is not None
        self.cancel_button: QPushButton = cancel_button
        """The standard Cancel button; the default button, so Enter presses it."""
        self.cancel_button.setDefault(True)  # Enter cancels; Space does when it has focus
        self._add_pause_button(self.button_box, pausable)
        self.button_box.setVisible(cancel_allowed or pausable)
        self.cancel_button.setVisible(cancel_allowed)

        layout = QVBoxLayout(self)
        layout.addWidget(self.message_label)
        layout.addWidget(self.progress_bar)
        for row in self._detail_rows():
            layout.addWidget(row)
        layout.addWidget(self.time_label)
        layout.addWidget(self.button_box)
        # Wide enough for a sentence, from the font rather than in pixels.
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 60)

    # -- public API ------------------------------------------------------------------------

    @property
    def task(self) -> AnyTask:
        """The task this window runs.

        Example::

            assert BackgroundWorkWindow.show(task).task is task
        """
        return self._task

    @property
    def handler(self) -> BackgroundTaskHandler[Any]:
        """The task's :class:`~qbackground.BackgroundTaskHandler`.

        A window returned by :meth:`show` (or by the builder's ``open()``) always has
        it; still readable after the window was deleted (it is a Python attribute).

        Raises:
            TaskStateError: read before :meth:`start` on a window created by hand.

        Example::

            handler = BackgroundWorkWindow.show(task).handler
            handler.future().add_done_callback(lambda f: print(handler.status))
        """
        session = self._session
        if session is None:
            raise TaskStateError(
                f"{type(self).__name__}.handler was read before start(): a window has its "
                "handler once it was started (show() and open() start it)"
            )
        return session.handler

    @property
    def cancel_allowed(self) -> bool:
        """Whether the user may cancel (Cancel button, Escape, the title-bar close button).

        Example::

            assert BackgroundWorkWindow.show(task, cancel_allowed=True).cancel_allowed
        """
        return self._cancel_allowed

    def start(self, *, worker: BackgroundWorker | None = None, executor: str | Executor | None = None) -> None:
        """Execute the task and show the window (application-modal, non-blocking); once.

        :meth:`show` calls it; use it when you created the window yourself. A window
        made for a handler follows it (and executes it only if it was not yet).

        Raises:
            TaskStateError: the window was already started.
            TypeError, TaskQueueFullError: from ``worker.handle()``/``execute()``; the
                window is then not shown and deletes itself. Also ``TypeError`` for
                ``worker``/``executor`` given to a window made for a handler.

        Example::

            window = BackgroundWorkWindow(task, cancel_allowed=True)
            window.ended.connect(on_ended)
            window.start(worker=my_worker)
        """
        if self._session is not None:
            raise TaskStateError("this window already ran its task; open a new one")
        try:
            session = TaskSession(self._target, worker, self, executor)
            self._session = session
            session.execute()
        except BaseException:
            self.deleteLater()
            raise
        QDialog.show(self)
        self._timer.start()
        self._refresh_time()

    def cancel(self) -> bool:
        """Cancel the task (``handler.cancel()``), whether or not ``cancel_allowed``.

        Returns True when this call cancelled it; the window then closes at once.

        Example::

            QTimer.singleShot(5000, window.cancel)
        """
        session = self._session
        if session is None:
            return False
        cancelled = session.cancel()
        if not cancelled and not session.ended and is_alive(self):
            self.cancel_button.setEnabled(False)  # decided already; the ending is on its way
        return cancelled

    def reject(self) -> None:
        """Escape, the title-bar close button and Cancel come here: cancel the task if
        allowed, else ignore the request (the window stays open).

        Example::

            window.reject()   # same as pressing Escape
        """
        if self._closing:
            super().reject()
        elif self._cancel_allowed:
            self.cancel()

    # -- SessionView ----------------------------------------------------------------------

    def task_progress(self, changes: list[Any]) -> None:
        """Items published by the task (GUI thread); ignored here, counted by the
        progress window.

        Example::

            window.task_progress([3])
        """

    def task_message(self, message: str) -> None:
        """The task called ``set_message(message)``: it replaces the message text.

        Example::

            window.task_message("Copying file 3 of 10")
        """
        if is_alive(self):
            self.message_label.setText(message)

    def task_fraction(self, fraction: float) -> None:
        """The task's overall progress (``set_progress``/``set_total``): fills the bar.

        Example::

            window.task_fraction(0.5)
        """
        if not is_alive(self):
            return
        self._fraction = fraction
        self.progress_bar.setRange(0, _BAR_STEPS)
        self.progress_bar.setValue(round(min(1.0, max(0.0, fraction)) * _BAR_STEPS))
        self._note_fraction(fraction)

    def task_ended(self, ending: TaskEnding) -> None:
        """The task ended: close, show what it left unhandled, emit :attr:`ended`.

        Example::

            window.task_ended(TaskEnding(TaskStatus.DONE, [], False))
        """
        self._timer.stop()
        if not is_alive(self):
            return
        self._closing = True
        self.done(QDialog.DialogCode.Accepted if ending.status is TaskStatus.DONE else QDialog.DialogCode.Rejected)
        parent = self.parentWidget()
        notice: QMessageBox | None = None
        if ending.errors:
            notice = _notices.show_error(parent, self._title, ending.errors, ending.tracebacks)
        elif ending.timed_out:
            notice = _notices.show_timeout(parent, self._title, self._task.timeout)
        self.ended.emit(ending.status, notice)
        self.deleteLater()

    def task_can_report(self) -> bool:
        """True while the window exists to show an error or a timeout afterwards.

        Example::

            assert window.task_can_report()
        """
        return is_alive(self)

    # -- for subclasses ---------------------------------------------------------------------

    def _detail_rows(self) -> list[QWidget]:
        """Widgets placed between the bar and the time line (none here)."""
        return []

    def _note_fraction(self, fraction: float) -> None:
        """Feed the remaining-time estimate and refresh the time line."""
        session = self._session
        elapsed = session.handler.elapsed if session is not None else None
        self._eta.update(elapsed or 0.0, fraction)
        self._refresh_time()

    def _refresh_time(self) -> None:
        session = self._session
        if session is None or not is_alive(self):
            return
        self._show_paused(session.handler.is_paused())  # also when paused elsewhere
        elapsed = session.handler.elapsed or 0.0
        remaining = self._eta.remaining(elapsed) if self._eta.fraction > 0 else None
        if remaining is None:
            self.time_label.setText(_texts.elapsed(elapsed))
        else:
            self.time_label.setText(_texts.elapsed_and_remaining(elapsed, remaining))
