"""``MainWindow``: a list of scenarios on the left, the selected scenario's page on the right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from qtpy.QtCore import QSize
from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

import qbackground
from qbackground import background_worker
from qbackground.widgets import CloseGuard, TaskStatusWidget

from .binding import binding_label
from .scenarios import SCENARIOS, Scenario

__all__ = ["MainWindow"]

S = TypeVar("S", bound=Scenario)


class MainWindow(QMainWindow):
    """The demo window: one page per scenario class in ``scenarios``.

    Example::

        window = MainWindow()
        page = window.show_scenario(ThreadTaskPage)
        page.start_button.click()
    """

    def __init__(self, scenarios: Sequence[type[Scenario]] = SCENARIOS) -> None:
        super().__init__()
        self.binding = binding_label()
        """The Qt binding the demo runs on, as the title and status bar show it (``"PyQt6 6.11.0"``)."""
        self.setWindowTitle(f"qbackground demo · {self.binding}")
        self.resize(QSize(880, 600))

        self.navigation = QListWidget()
        self.navigation.setFixedWidth(210)
        self.stack = QStackedWidget()
        self.pages: list[Scenario] = []
        for scenario in scenarios:
            page = scenario()
            self.pages.append(page)
            self.stack.addWidget(page)
            self.navigation.addItem(scenario.title)
        self.navigation.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.navigation.setCurrentRow(0)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.navigation)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.menuBar().addMenu("&File").addAction(quit_action)

        worker = background_worker()
        # A widget, not showMessage(): a message is temporary, and the menus' status tips
        # clear it for good; a widget is only covered while a tip shows, then comes back.
        # Short, so the task status widget on the right never cuts it off.
        self.status_text = QLabel(
            f"qbackground {qbackground.__version__} on {self.binding} · up to {worker.threads} task threads"
        )
        """The status bar's permanent text."""
        self.status_text.setToolTip(
            "Closing the window while a page's task runs asks first (CloseGuard), then stops them"
        )
        self.statusBar().addWidget(self.status_text, 1)
        self.task_status = TaskStatusWidget(worker)
        """Follows every task of the default worker; hidden while none runs."""
        self.statusBar().addPermanentWidget(self.task_status)
        self.close_guard = CloseGuard(self, worker, timeout=5)
        """Closing the window (or File > Quit) while a page's task runs asks first, then
        stops the tasks and closes once they did (DESIGN §10)."""

    def show_scenario(self, scenario: type[S]) -> S:
        """Select the first page of class ``scenario`` and return it.

        Raises:
            LookupError: the window has no such page.
        """
        for row, page in enumerate(self.pages):
            if isinstance(page, scenario):
                self.navigation.setCurrentRow(row)
                return page
        raise LookupError(f"the window has no {scenario.__name__} page")

    def show_page(self, page: Scenario) -> None:
        """Select ``page`` (one of :attr:`pages`)."""
        self.navigation.setCurrentRow(self.pages.index(page))

    def page_named(self, name: str) -> Scenario:
        """The page whose :attr:`Scenario.name` is ``name``.

        Raises:
            LookupError: the window has no such page.

        Example::

            window.show_page(window.page_named("processes"))
        """
        for page in self.pages:
            if page.name == name:
                return page
        raise LookupError(f"the window has no page named {name!r}")
