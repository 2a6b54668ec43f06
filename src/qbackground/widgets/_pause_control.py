"""The Pause/Resume button of a work window (``pausable=True``), as a mixin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import QDialogButtonBox, QPushButton

from . import _texts

if TYPE_CHECKING:
    from qbackground import BackgroundTaskHandler

__all__ = ["PauseControl"]


class PauseControl:
    """``pause_button`` and :meth:`toggle_pause` for :class:`BackgroundWorkWindow`."""

    if TYPE_CHECKING:
        @property
        def handler(self) -> BackgroundTaskHandler[Any]: ...

        _session: Any

    pause_button: QPushButton | None
    """The Pause/Resume button (``pausable=True``), else None."""

    def _add_pause_button(self, box: QDialogButtonBox, pausable: bool) -> None:
        self._pausable = pausable
        if not pausable:
            self.pause_button = None
            return
        button = box.addButton(_texts.pause(), QDialogButtonBox.ButtonRole.ActionRole)
        assert button is not None
        button.setObjectName("pause")
        button.setAutoDefault(False)  # Enter still presses Cancel
        button.clicked.connect(self.toggle_pause)
        self.pause_button = button

    @property
    def pausable(self) -> bool:
        """Whether the window offers Pause/Resume (``pausable=True``).

        Example::

            assert BackgroundWorkWindow.show(task, pausable=True).pausable
        """
        return self._pausable

    def toggle_pause(self) -> bool:
        """Pause the task, or resume it if paused (the Pause button); True if it changed.

        Works whether or not the window is ``pausable``; the button follows.

        Example::

            window.toggle_pause()   # same as pressing Pause
        """
        if self._session is None:
            return False
        handler = self.handler
        changed = handler.resume() if handler.is_paused() else handler.pause()
        self._show_paused(handler.is_paused())
        return changed

    def _show_paused(self, paused: bool) -> None:
        button = self.pause_button
        if button is not None:
            button.setText(_texts.resume() if paused else _texts.pause())
