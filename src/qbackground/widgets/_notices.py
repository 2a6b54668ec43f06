"""Non-blocking message boxes for what a task left unhandled: errors and timeouts."""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

from . import _texts

__all__ = ["show_error", "show_timeout"]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _widen(box: QMessageBox, chars: int) -> None:
    """Make the box at least ``chars`` average characters wide (QMessageBox offers no
    setter; a spacer across its grid is the usual way)."""
    layout = box.layout()
    if isinstance(layout, QGridLayout):
        width = box.fontMetrics().averageCharWidth() * chars
        spacer = QSpacerItem(width, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        layout.addItem(spacer, layout.rowCount(), 0, 1, layout.columnCount())


def _open(box: QMessageBox) -> QMessageBox:
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setDefaultButton(QMessageBox.StandardButton.Ok)
    box.setEscapeButton(QMessageBox.StandardButton.Ok)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.open()  # window-modal on its parent's window; never blocks like exec()
    return box


def show_error(
    parent: QWidget | None, title: str | None, errors: Sequence[BaseException], tracebacks: Sequence[str]
) -> QMessageBox:
    """Show the first of ``errors``, with ``tracebacks`` under "Show Details…".

    The box is opened (not executed): the call returns at once, and the box deletes
    itself when closed.

    Example::

        box = show_error(window, "Import", [exc], [traceback.format_exc()])
    """
    box = QMessageBox(parent)
    box.setObjectName("qbackground-error")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title or _texts.error_title())
    box.setText(_texts.failed_text())
    info = _describe(errors[0])
    if len(errors) > 1:
        info += "\n\n" + _texts.more_errors(len(errors) - 1)
    box.setInformativeText(info)
    box.setDetailedText("\n\n".join(tracebacks))
    _widen(box, 60)
    return _open(box)


def show_timeout(parent: QWidget | None, title: str | None, seconds: float | None) -> QMessageBox:
    """Warn that a task timed out after ``seconds``; returns at once, like :func:`show_error`.

    Example::

        box = show_timeout(window, "Import", 30.0)
    """
    box = QMessageBox(parent)
    box.setObjectName("qbackground-timeout")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title or _texts.timed_out_title())
    box.setText(_texts.timed_out_text(seconds))
    _widen(box, 50)
    return _open(box)
