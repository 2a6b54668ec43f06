"""Owner binding: interrupt a task silently when its owner's window closes or dies.

A window counts as closed when a ``Close`` event is followed by a ``Hide`` (the close
was accepted: ``QWidget.close()`` hides synchronously), when a ``QDialog`` finishes
(``accept``/``reject``/``done`` send no close event), or when the owner or its window
is destroyed. Merely hiding a window does not count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .qt import is_alive
from qtpy.QtCore import QEvent, QObject, QTimer, SignalInstance
from qtpy.QtWidgets import QDialog, QWidget

from ._gui_release import GuiThreadFinalized

__all__ = ["OwnerRegistry"]

_CLOSE = QEvent.Type.Close
_HIDE = QEvent.Type.Hide


class _Bound(Protocol):
    def _interrupt(self) -> bool: ...


class _OwnerWatch(GuiThreadFinalized, QObject):
    """Watches one owner widget (and its window) for the handlers bound to it.

    Deliberately without a Qt parent: a child would be deleted inside the window's
    destructor before ``destroyed`` reaches us. The registry keeps it alive.
    """

    def __init__(self, owner: QWidget, on_empty: Callable[[_OwnerWatch], None]) -> None:
        super().__init__()
        self._on_empty = on_empty
        self._handlers: dict[_Bound, None] = {}
        self._closing = False
        self._window = window = owner.window()
        self._owner = owner
        window.installEventFilter(self)
        # The signals we connected, to disconnect exactly those in detach().
        self._signals: list[SignalInstance] = [owner.destroyed]
        if window is not owner:
            self._signals.append(window.destroyed)
        if isinstance(window, QDialog):
            self._signals.append(window.finished)
        for signal in self._signals:
            signal.connect(self._gone)

    def add(self, handler: _Bound) -> None:
        self._handlers[handler] = None

    def remove(self, handler: _Bound) -> None:
        self._handlers.pop(handler, None)
        if not self._handlers:
            self._on_empty(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == _CLOSE:
            self._closing = True
            QTimer.singleShot(0, self._close_rejected)
        elif kind == _HIDE and self._closing:
            self._closing = False
            self._gone()
        return False

    def _close_rejected(self) -> None:
        self._closing = False

    def _gone(self, *_: object) -> None:
        for handler in list(self._handlers):
            handler._interrupt()  # unbinds itself through remove()

    def detach(self) -> None:
        """Undo every connection (the owner is alive but no task needs it)."""
        if not is_alive(self._window) or not is_alive(self._owner):
            return
        self._window.removeEventFilter(self)
        for signal in self._signals:
            signal.disconnect(self._gone)
        self._signals.clear()


class OwnerRegistry:
    """One watch per live owner widget; GUI thread only."""

    def __init__(self) -> None:
        self._watches: dict[int, _OwnerWatch] = {}

    def bind(self, owner: QWidget, handler: _Bound) -> None:
        watch = self._watches.get(id(owner))
        if watch is None:
            watch = self._watches[id(owner)] = _OwnerWatch(owner, self._drop)
        watch.add(handler)

    def unbind(self, owner: QWidget, handler: _Bound) -> None:
        watch = self._watches.get(id(owner))
        if watch is not None:
            watch.remove(handler)

    def _drop(self, watch: _OwnerWatch) -> None:
        if self._watches.get(id(watch._owner)) is watch:
            del self._watches[id(watch._owner)]
        watch.detach()

    def clear(self) -> None:
        for watch in list(self._watches.values()):
            watch.detach()
        self._watches.clear()
