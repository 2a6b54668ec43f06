"""The demo's scenario pages; :data:`SCENARIOS` lists them in display order."""

from __future__ import annotations

from .base import Scenario
from .dask_page import DaskPage
from .dialogs import DialogsPage
from .downloads import DownloadsPage, DownloadsRecord
from .failing_task import FailingTaskPage
from .flood import FloodPage
from .image_filter import ImageFilterPage
from .import_page import ImportPage
from .owner import OwnerPage
from .pause_page import PausePage
from .preview_page import PreviewPage
from .processes import PairRun, ProcessesPage
from .retry_page import RetryPage
from .strict import StrictPage
from .submit_page import SubmitPage
from .task_page import RunRecord, TaskPage
from .tasker_page import TaskerPage
from .thread_task import ThreadTaskPage
from .timeouts import TimeoutsPage

__all__ = [
    "SCENARIOS",
    "DaskPage",
    "DialogsPage",
    "DownloadsPage",
    "DownloadsRecord",
    "FailingTaskPage",
    "FloodPage",
    "ImageFilterPage",
    "ImportPage",
    "OwnerPage",
    "PausePage",
    "PairRun",
    "PreviewPage",
    "ProcessesPage",
    "RetryPage",
    "RunRecord",
    "Scenario",
    "StrictPage",
    "SubmitPage",
    "TaskPage",
    "TaskerPage",
    "ThreadTaskPage",
    "TimeoutsPage",
]

SCENARIOS: tuple[type[Scenario], ...] = (SubmitPage, ThreadTaskPage, PausePage, FailingTaskPage, RetryPage, ProcessesPage, ImageFilterPage, DownloadsPage, FloodPage, TimeoutsPage, OwnerPage, DialogsPage, DaskPage, StrictPage, TaskerPage, PreviewPage, ImportPage)
"""Every page of the demo window, in order. Add new scenarios here."""
