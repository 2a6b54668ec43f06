"""Small widget builders the scenario pages share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import monotonic

from qbackground.qt import is_alive

from qtpy.QtCore import Qt
from qtpy.QtGui import QFont, QFontDatabase, QFontMetrics, QResizeEvent, QShowEvent
from qtpy.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "OUTCOME_COLOURS",
    "LogView",
    "log_box",
    "selectable",
    "show_outcome",
    "sized_buttons",
    "start_cancel_row",
    "status_label",
    "steady",
    "text_width",
]


class LogView(QPlainTextEdit):
    """A read-only, monospace log that follows its last line.

    ``QPlainTextEdit`` only scrolls along with an append while it is visible and already
    at the bottom, and on its first show it scrolls to its text cursor (the top): a log
    filled while its page was hidden showed its first lines. This one scrolls to the end
    on every append, show and resize, until the user scrolls up to read; scrolling back
    to the bottom makes it follow again.

    It also keeps the clock of the pages' logs: :meth:`start_section` begins a run's
    section (a blank line, the clock at 0) and :meth:`stamp` writes a line with the
    seconds since then, so every page times its lines the same way.

    Example::

        log = LogView()
        log.start_section()
        log.stamp("execute() → QUEUED")   # "  0.00 s  execute() → QUEUED", in view
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.following = True
        """Scroll to the last line on every append (False while the user reads further up)."""
        self.section_started = monotonic()
        """``monotonic()`` when the current section began: :meth:`stamp` counts from it."""
        self.verticalScrollBar().actionTriggered.connect(self._on_user_scroll)

    def start_section(self, at: float | None = None) -> None:
        """Begin a section (a run, a batch): a blank line if the log has text, and the
        clock restarts at ``at`` (a ``monotonic()`` time; default: now)."""
        self.section_started = monotonic() if at is None else at
        if is_alive(self) and self.document().characterCount() > 1:
            self.appendPlainText("")

    def elapsed(self) -> float:
        """Seconds since the current section began."""
        return monotonic() - self.section_started

    def stamp(self, text: str) -> None:
        """Append ``text`` after the seconds since the section began: ``  1.25 s  text``.

        Does nothing once the widget is deleted (a callback arriving while the demo quits).
        """
        if is_alive(self):
            self.appendPlainText(f"{self.elapsed():6.2f} s  {text}")

    def appendPlainText(self, text: str) -> None:
        """Append a line, then show it if the log follows its end."""
        super().appendPlainText(text)
        self._follow_end()

    def setPlainText(self, text: str) -> None:
        """Replace the text, then show its end if the log follows it."""
        super().setPlainText(text)
        self._follow_end()

    def showEvent(self, event: QShowEvent) -> None:
        """Shown (say, its page was selected): show the last line again."""
        super().showEvent(event)
        self._follow_end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Resized (lines rewrap): keep the last line in view."""
        super().resizeEvent(event)
        self._follow_end()

    def _follow_end(self) -> None:
        if self.following:
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum())

    def _on_user_scroll(self, _action: int) -> None:
        # Emitted for the user's scrolling (wheel, drag, arrows) before the value moves.
        bar = self.verticalScrollBar()
        self.following = bar.sliderPosition() >= bar.maximum()


def log_box(title: str, placeholder: str) -> tuple[QGroupBox, LogView]:
    """A titled, read-only, monospace :class:`LogView` that keeps its last 500 lines.

    Example::

        group, log = log_box("Log", "Press Start: the callbacks appear here.")
        page.body.addWidget(group, 1)
    """
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    log = LogView()
    log.setMaximumBlockCount(500)
    log.setPlaceholderText(placeholder)
    layout.addWidget(log)
    return box, log


def status_label() -> QLabel:
    """The right-aligned status text at the end of a button row."""
    label = QLabel()
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


def start_cancel_row(
    start_text: str,
    on_start: Callable[[], object],
    on_cancel: Callable[[], object],
    *inputs: QWidget,
) -> tuple[QHBoxLayout, QPushButton, QPushButton, QLabel]:
    """A page's control row: its inputs, a default Start button, a Cancel button
    (disabled until something runs) and the status text at the right.

    Example::

        row, self.start_button, self.cancel_button, self.status = start_cancel_row(
            "Submit", self.start, self.cancel, self.limit)
        layout.addLayout(row)
    """
    row = QHBoxLayout()
    start = QPushButton(start_text)
    start.setDefault(True)
    start.clicked.connect(on_start)
    cancel = QPushButton("Cancel")
    cancel.setEnabled(False)
    cancel.clicked.connect(on_cancel)
    for widget in inputs:
        row.addWidget(widget)
    for button in sized_buttons((start, cancel)):
        row.addWidget(button)
    row.addStretch(1)
    status = status_label()
    row.addWidget(status)
    return row, start, cancel, status


def sized_buttons(buttons: Iterable[QPushButton]) -> list[QPushButton]:
    """Give a row of buttons one minimum width, so the row does not jump."""
    row = list(buttons)
    for button in row:
        button.setMinimumWidth(96)
    return row


def selectable(labels: Iterable[QLabel]) -> None:
    """Value labels of a form: selectable text that takes the row's width."""
    for label in labels:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)


def text_width(widget: QWidget, *samples: str) -> int:
    """Pixels ``widget`` needs to show the widest of ``samples`` in its current font.

    Give a label whose text changes (a number, a status) this as its minimum width, so
    the layout around it does not jump when the text grows.

    Example::

        label.setMinimumWidth(text_width(label, "88,888 ms (running)"))
    """
    metrics = QFontMetrics(widget.font())
    return max((metrics.horizontalAdvance(sample) for sample in samples), default=0) + 6


def steady(label: QLabel, *samples: str, bold: bool = False) -> QLabel:
    """Fix ``label``'s size to fit the widest of ``samples``; returns it.

    ``bold``: the label is sometimes shown in bold (a style sheet's ``font-weight``), so
    measure the samples in bold too.

    A label whose text changes several times a second (a live number) then never moves
    its neighbours, and costs no layout pass: Qt skips the relayout for a widget of fixed
    size when its text changes.

    Example::

        steady(recent_label, "888 ms · worst in the last 6 s: 8,888 ms")
    """
    width = text_width(label, *samples)
    if bold:
        font = QFont(label.font())
        font.setBold(True)
        metrics = QFontMetrics(font)
        width = max(width, max((metrics.horizontalAdvance(sample) for sample in samples), default=0) + 6)
    label.setFixedSize(width, label.sizeHint().height())
    return label


OUTCOME_COLOURS = {
    "done": "#1b7f3b",
    "completed": "#1b7f3b",
    "canceled": "#a15c00",
    "handled": "#a15c00",
    "failed": "#b3261e",
    "unhandled": "#b3261e",
}
"""Colours of how a task ended, by name: green done, amber cancelled or handled, red failed."""


def show_outcome(label: QLabel, text: str, kind: str | None = None, *, bold: bool = True) -> None:
    """Show ``text`` in ``label``, coloured by ``kind`` (a key of :data:`OUTCOME_COLOURS`;
    ``None`` or an unknown kind: plain text).

    Example::

        show_outcome(result_label, "Cancelled at step 25", "canceled")
    """
    label.setText(text)
    colour = OUTCOME_COLOURS.get(kind or "")
    weight = " font-weight: bold;" if bold else ""
    label.setStyleSheet(f"color: {colour};{weight}" if colour else "")
