"""``TaskStatusWidget``: a status-bar widget that follows every running task of a worker."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStyle, QToolButton, QWidget

from qbackground import BackgroundTaskHandler, BackgroundWorker, background_worker
from qbackground._gui_release import GuiThreadFinalized, install as install_gui_release

from . import _texts

__all__ = ["TaskStatusWidget"]

_BAR_STEPS = 1000
_TOOLTIP_TASKS = 10
"""The tooltip lists at most this many tasks."""


class TaskStatusWidget(GuiThreadFinalized, QWidget):
    """Overall progress, the latest message and a "Cancel All" button for a worker's tasks.

    Made for ``QStatusBar.addPermanentWidget()``. It refreshes on the worker's
    ``tasks_changed`` signal, which the worker emits at most once per frame however many
    tasks run, and each refresh reads the handlers once: cheap with hundreds of tasks.

    - the bar shows the mean ``fraction`` of the tasks that report one
      (``set_progress``/``set_total``); it is busy when none does;
    - the message is the most recent ``set_message()`` text of a running task;
    - "N tasks running", and a tooltip listing the first tasks;
    - Cancel All calls ``cancel()`` on every running handler.

    Widgets, for tests and styling: ``message_label``, ``progress_bar``, ``count_label``
    and ``cancel_button``.

    Example::

        status = TaskStatusWidget(background_worker())
        main_window.statusBar().addPermanentWidget(status)

    Args:
        worker: the worker to follow (default ``background_worker()``).
        parent: the usual parent widget.
        hide_when_idle: hide the widget while no task runs (default True); it shows
            itself again only when it has a parent (a status bar), never as a window.
    """

    def __init__(
        self,
        worker: BackgroundWorker | None = None,
        parent: QWidget | None = None,
        *,
        hide_when_idle: bool = True,
    ) -> None:
        install_gui_release()  # this object is destroyed on the GUI thread (_gui_release)
        super().__init__(parent)
        self.setObjectName("qbackground-task-status")
        self._worker = worker if worker is not None else background_worker()
        self._hide_when_idle = hide_when_idle
        self._seen: dict[BackgroundTaskHandler[Any], str | None] = {}
        self._latest: tuple[BackgroundTaskHandler[Any], str] | None = None
        self._running = 0
        self._fraction: float | None = None
        self._refreshes = 0

        metrics = self.fontMetrics()
        # A fixed width, so the bar and the button do not move as messages change.
        self._message_width = metrics.averageCharWidth() * 34
        self.message_label = QLabel()
        """The latest message of a running task, elided (the full text is its tooltip)."""
        self.message_label.setObjectName("message")
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setFixedWidth(self._message_width)
        self.progress_bar = QProgressBar()
        """The mean fraction of the tasks that report one; busy when none does."""
        self.progress_bar.setObjectName("progress")
        self.progress_bar.setFixedWidth(metrics.averageCharWidth() * 16)
        self.progress_bar.setMaximumHeight(metrics.height() + metrics.descent() * 2)
        self.count_label = QLabel()
        """"1 task running" / "N tasks running"; empty while idle."""
        self.count_label.setObjectName("count")
        self.cancel_button = QToolButton()
        """Cancel All: calls :meth:`cancel_all`."""
        self.cancel_button.setObjectName("cancel-all")
        self.cancel_button.setText(_texts.cancel_all())
        self.cancel_button.setToolTip(_texts.cancel_all_tip())
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self.cancel_all)

        layout = QHBoxLayout(self)
        # A gap on the left, from the style: a status bar's message ends where we start.
        gap = self.style().pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing)
        layout.setContentsMargins(gap if gap > 0 else layout.spacing() * 2, 0, 0, 0)
        layout.addWidget(self.message_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.count_label)
        layout.addWidget(self.cancel_button)
        layout.addStretch(1)  # packed to the left when given more room than it needs

        self._worker.tasks_changed.connect(self.refresh)
        self.refresh()

    # -- state ------------------------------------------------------------------------------

    @property
    def worker(self) -> BackgroundWorker:
        """The worker this widget follows.

        Example::

            assert TaskStatusWidget(worker).worker is worker
        """
        return self._worker

    @property
    def running_count(self) -> int:
        """How many tasks were running at the last refresh.

        Example::

            if status.running_count:
                print("busy")
        """
        return self._running

    @property
    def overall_fraction(self) -> float | None:
        """The mean progress (0..1) of the running tasks that report one, or None.

        Example::

            print(f"{(status.overall_fraction or 0):.0%}")
        """
        return self._fraction

    @property
    def latest_message(self) -> str | None:
        """The most recent ``set_message()`` text of a running task, or None.

        Example::

            print(status.latest_message or "")
        """
        return None if self._latest is None else self._latest[1]

    @property
    def refresh_count(self) -> int:
        """How many times :meth:`refresh` ran (to check it stays cheap).

        Example::

            assert status.refresh_count < tasks_started
        """
        return self._refreshes

    # -- actions ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the worker's running handlers and update the widgets (GUI thread).

        Connected to ``worker.tasks_changed``; call it yourself only after changing
        something the worker does not report.

        Example::

            status.refresh()
        """
        self._refreshes += 1
        handlers = self._worker.active_handlers()
        self._running = len(handlers)
        if not handlers:
            self._seen.clear()
            self._latest = None
            self._fraction = None
            self._show_idle()
            return
        self._latest = self._find_latest(handlers)
        total = 0.0
        reporting = 0
        for handler in handlers:
            fraction = handler.fraction
            if fraction is not None:
                total += min(1.0, max(0.0, fraction))
                reporting += 1
        self._fraction = total / reporting if reporting else None
        self._show_running(handlers)

    def cancel_all(self) -> int:
        """Cancel every running task of the worker; returns how many this cancelled.

        Example::

            QShortcut(QKeySequence("Ctrl+."), window).activated.connect(status.cancel_all)
        """
        cancelled = 0
        for handler in self._worker.active_handlers():
            if handler.cancel():
                cancelled += 1
        return cancelled

    # -- internals ----------------------------------------------------------------------------

    def _find_latest(self, handlers: list[BackgroundTaskHandler[Any]]) -> tuple[BackgroundTaskHandler[Any], str] | None:
        """The handler whose message changed last (or the previous one, if still running)."""
        seen = self._seen
        latest = self._latest
        still_running: dict[BackgroundTaskHandler[Any], str | None] = {}
        fallback: tuple[BackgroundTaskHandler[Any], str] | None = None
        for handler in handlers:
            message = handler.message
            still_running[handler] = message
            if message is None:
                continue
            if message != seen.get(handler):
                latest = (handler, message)
            elif fallback is None:
                fallback = (handler, message)
        self._seen = still_running
        if latest is not None and latest[0] in still_running:
            return latest
        return fallback

    def _show_idle(self) -> None:
        self.message_label.clear()
        self.message_label.setToolTip("")
        self.count_label.clear()
        self.progress_bar.setRange(0, _BAR_STEPS)
        self.progress_bar.reset()
        self.cancel_button.setEnabled(False)
        self.setToolTip("")
        if self._hide_when_idle:
            self.hide()

    def _show_running(self, handlers: list[BackgroundTaskHandler[Any]]) -> None:
        message = self.latest_message or ""
        metrics = self.message_label.fontMetrics()
        self.message_label.setText(
            metrics.elidedText(message, Qt.TextElideMode.ElideRight, self._message_width)
        )
        self.message_label.setToolTip(message)
        paused = sum(1 for handler in handlers if handler.is_paused())
        count = _texts.tasks_running(len(handlers))
        self.count_label.setText(f"{count} ({paused} {_texts.paused()})" if paused else count)
        fraction = self._fraction
        if fraction is None:
            self.progress_bar.setRange(0, 0)  # busy
        else:
            self.progress_bar.setRange(0, _BAR_STEPS)
            self.progress_bar.setValue(round(fraction * _BAR_STEPS))
        self.cancel_button.setEnabled(True)
        self.setToolTip(self._describe(handlers))
        if self._hide_when_idle and self.isHidden() and self.parentWidget() is not None:
            self.show()

    def _describe(self, handlers: list[BackgroundTaskHandler[Any]]) -> str:
        lines = []
        for handler in handlers[:_TOOLTIP_TASKS]:
            line = type(handler.task).__name__
            if handler.message:
                line += f": {handler.message}"
            if handler.fraction is not None:
                line += f" ({handler.fraction:.0%})"
            if handler.is_paused():
                line += f" [{_texts.paused()}]"
            lines.append(line)
        if len(handlers) > _TOOLTIP_TASKS:
            lines.append("…")
        return "\n".join(lines)
