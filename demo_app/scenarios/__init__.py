"""The demo's scenario pages; :data:`SCENARIOS` lists them in display order."""

from __future__ import annotations

from .base import Scenario
from .dialogs import DialogsPage
from .downloads import DownloadsPage, DownloadsRecord
from .failing_task import FailingTaskPage
from .processes import PairRun, ProcessesPage
from .task_page import RunRecord, TaskPage
from .thread_task import ThreadTaskPage

__all__ = [
    "SCENARIOS",
    "DialogsPage",
    "DownloadsPage",
    "DownloadsRecord",
    "FailingTaskPage",
    "PairRun",
    "ProcessesPage",
    "RunRecord",
    "Scenario",
    "TaskPage",
    "ThreadTaskPage",
]

SCENARIOS: tuple[type[Scenario], ...] = (ThreadTaskPage, FailingTaskPage, ProcessesPage, DownloadsPage, DialogsPage)
"""Every page of the demo window, in order. Add new scenarios here."""
