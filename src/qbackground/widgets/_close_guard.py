"""``CloseGuard`` (DESIGN §10): a window does not close while its tasks still run."""

from __future__ import annotations

import logging
from typing import Any

from ..qt import is_alive
from qtpy.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QLabel, QMessageBox, QPushButton, QVBoxLayout, QDialog, QWidget

from qbackground import BackgroundTaskHandler, BackgroundWorker, background_worker
from qbackground._gui_release import GuiThreadFinalized, install as install_gui_release

__all__ = ["CloseGuard"]

_log = logging.getLogger("qbackground")


class CloseGuard(GuiThreadFinalized, QObject):
    """Holds back closing ``window`` (and quitting the application) while tasks owned
    by it, or by a widget inside it, are alive.

    With ``ask`` a modal question (:attr:`question`) lists them (title, message,
    percent) with "Stop tasks and close" and "Keep working". Stopping cancels them,
    shows them winding down (:attr:`winding_down`) and closes the window once every
    ``run()`` has really stopped — or after ``timeout`` seconds, then it closes anyway
    and says so: :attr:`timed_out` is set and a non-blocking message box
    (:attr:`notice`) tells the user how many tasks were still running. Without ``ask``
    it stops them without asking.

    Example::

        window = MainWindow()
        guard = CloseGuard(window, worker, timeout=5)

    Raises:
        TypeError: ``window`` is not a ``QWidget``.
        ValueError: ``timeout`` is not positive.
    """

    def __init__(
        self, window: QWidget, worker: BackgroundWorker | None = None, *, ask: bool = True, timeout: float = 10.0
    ) -> None:
        if not isinstance(window, QWidget):
            raise TypeError(f"CloseGuard needs a QWidget window, not {type(window).__name__}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"CloseGuard timeout must be a positive number of seconds, got {timeout!r}")
        install_gui_release()  # this object is destroyed on the GUI thread (_gui_release)
        super().__init__(window)
        self._window = window
        self._worker = worker if worker is not None else background_worker()
        self._ask = ask
        self._timeout = float(timeout)
        self._allow = False
        self._quit_after = False
        self._stopping: set[BackgroundTaskHandler[Any]] = set()
        self.question: QMessageBox | None = None
        """The open question, while it is shown."""
        self.winding_down: QDialog | None = None
        """The "stopping tasks" window, while tasks wind down."""
        self.timed_out = False
        """True when the window closed although a ``run()`` had not stopped in ``timeout``."""
        self.notice: QMessageBox | None = None
        """After a timeout: the message box saying the window closed with tasks still running."""
        window.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def tasks(self) -> list[BackgroundTaskHandler[Any]]:
        """The alive handlers whose owner is the window or inside it.

        Example::

            if guard.tasks():
                print("busy")
        """
        found = []
        for handler in self._worker.active_handlers():
            owner = handler.task.owner
            if owner is not None and is_alive(owner) and owner.window() is self._window:
                found.append(handler)
        return found

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Qt's event filter: holds back the window's close and the application's quit.

        Example::

            window.close()   # with alive tasks: the question opens instead
        """
        kind = event.type()
        if kind == QEvent.Type.Close and watched is self._window:
            if self._allow or not self.tasks():
                return False
            event.ignore()
            if self._stopping or self.question is not None:
                return True
            if self._ask:
                self._ask_user()
            else:
                self._stop()
            return True
        if kind == QEvent.Type.Quit and watched is QCoreApplication.instance() and not self._allow and self.tasks():
            QTimer.singleShot(0, self._close_then_quit)
            return True
        return False

    def _close_then_quit(self) -> None:
        if is_alive(self._window):
            self._quit_after = True
            self._window.close()

    def _ask_user(self) -> None:
        lines = []
        for handler in self.tasks():
            percent = "" if handler.fraction is None else f" — {handler.fraction:.0%}"
            lines.append(f"• {type(handler.task).__name__}: {handler.message or 'running'}{percent}")
        box = QMessageBox(QMessageBox.Icon.Question, "Tasks are still running", "\n".join(lines), parent=self._window)
        box.setInformativeText("Stop them and close the window?")
        stop = box.addButton("Stop tasks and close", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
        box.setModal(True)
        self.question = box

        def answered(button: QPushButton) -> None:
            self.question = None
            box.deleteLater()
            if button is stop:
                self._stop()

        box.buttonClicked.connect(answered)
        box.open()

    def _stop(self) -> None:
        handlers = self.tasks()
        dialog = QDialog(self._window)
        dialog.setWindowTitle("Stopping tasks")
        label = QLabel(f"Waiting for {len(handlers)} task(s) to stop…", dialog)
        QVBoxLayout(dialog).addWidget(label)
        dialog.setModal(True)
        dialog.show()
        self.winding_down = dialog
        self._stopping = set(handlers)
        for handler in handlers:
            handler.cancel()
            handler.when_stopped(self._one_stopped)
        QTimer.singleShot(round(self._timeout * 1000), self._give_up)

    def _one_stopped(self, handler: BackgroundTaskHandler[Any]) -> None:
        self._stopping.discard(handler)
        if not self._stopping and self.winding_down is not None:
            self._close_now()

    def _give_up(self) -> None:
        if self._stopping:
            self.timed_out = True
            still = len(self._stopping)
            self._close_now()
            self._tell_timed_out(still)

    def _tell_timed_out(self, still: int) -> None:
        # Not parented to the window (it has just closed) and not modal: it only informs.
        text = (
            f"The window closed anyway: {still} task(s) did not stop within "
            f"{self._timeout:g} s and are still running."
        )
        box = QMessageBox(QMessageBox.Icon.Warning, "Tasks still running", text)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.destroyed.connect(self._forget_notice)
        self.notice = box
        box.show()

    def _forget_notice(self) -> None:
        self.notice = None

    def _close_now(self) -> None:
        still = len(self._stopping)
        self._stopping.clear()
        dialog, self.winding_down = self.winding_down, None
        if dialog is not None:
            dialog.close()
            dialog.deleteLater()
        if self.timed_out:
            _log.warning(
                "CloseGuard: %d task(s) did not stop within %s s; closing the window anyway",
                still,
                self._timeout,
            )
        self._allow = True
        if is_alive(self._window):
            self._window.close()
        if self._quit_after:
            QCoreApplication.quit()
