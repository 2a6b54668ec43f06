"""``Scenario``: one page of the demo window, with a headless self-test."""

from __future__ import annotations

from typing import ClassVar

from qtpy.QtGui import QFont
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..smoke import SmokeContext, SmokeScript

__all__ = ["Scenario"]


class Scenario(QWidget):
    """A page of the demo: a title, a short explanation, and the scenario's widgets.

    Subclasses set :attr:`title`, :attr:`name` and :attr:`summary`, add their widgets to
    :attr:`body` (a ``QVBoxLayout``) and implement :meth:`smoke`. They may override
    :meth:`prepare_screenshot` and :meth:`finish_screenshot` for ``--screenshot``.
    """

    title: ClassVar[str] = "Scenario"
    """Shown in the navigation list and as the page heading."""
    name: ClassVar[str] = "scenario"
    """Short unique name for ``--page`` (lower case, no spaces)."""
    summary: ClassVar[str] = ""
    """One or two sentences about what the page shows (rich text allowed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        heading = QLabel(self.title)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        if self.summary:
            about = QLabel(self.summary)
            about.setWordWrap(True)
            about.setObjectName("summary")
            layout.addWidget(about)
        self.body = layout
        """Where subclasses add their widgets."""

    def is_idle(self) -> bool:
        """True when nothing of this page runs in the background."""
        return True

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        """Drive the page like a user would and check what happened (see ``smoke.py``).

        Example::

            def smoke(self, ctx):
                self.start_button.click()
                yield ctx.wait_until(self.is_idle, "the task finished")
                ctx.check(self.progress_bar.value() == 100, "progress bar reached 100")
        """
        raise NotImplementedError(f"{type(self).__name__} has no smoke test")

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Bring the page into a state worth a picture (``--screenshot``); default: as is.

        Example::

            def prepare_screenshot(self, ctx):
                self.start_button.click()
                yield ctx.wait_until(lambda: self.progress_bar.value() >= 45, "45 %")
        """
        yield from ()

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        """Undo :meth:`prepare_screenshot` once the picture is taken (say, cancel a task).

        Example::

            def finish_screenshot(self, ctx):
                self.cancel_button.click()
                yield ctx.wait_until(self.is_idle, "the task was cancelled")
        """
        yield from ()
