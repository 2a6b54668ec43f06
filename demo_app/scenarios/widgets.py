"""Small widget builders the scenario pages share."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

__all__ = ["log_box", "sized_buttons", "selectable", "status_label"]


def log_box(title: str, placeholder: str) -> tuple[QGroupBox, QPlainTextEdit]:
    """A titled, read-only, monospace log that keeps its last 500 lines."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    log = QPlainTextEdit()
    log.setReadOnly(True)
    log.setMaximumBlockCount(500)
    log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    log.setPlaceholderText(placeholder)
    layout.addWidget(log)
    return box, log


def status_label() -> QLabel:
    """The right-aligned status text at the end of a button row."""
    label = QLabel()
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


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
