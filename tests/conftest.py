"""Test configuration: headless Qt, and a fresh strict worker per test."""

from __future__ import annotations

import os

# Set before Qt is imported anywhere: the suite must run without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

# qbackground first: it picks the binding (QT_API, else PySide6) before qtpy is imported
from qbackground import BackgroundWorker  # noqa: E402  # isort: skip
from qtpy.QtWidgets import QApplication  # noqa: E402

pytest_plugins = ["pytester"]


class Unhandled:
    """Collects what reached ``unhandled_exception`` and ``task_timed_out``."""

    def __init__(self, worker: BackgroundWorker) -> None:
        self.errors: list[tuple[object, BaseException]] = []
        self.timeouts: list[object] = []
        worker.unhandled_exception.connect(lambda task, exc: self.errors.append((task, exc)))
        worker.task_timed_out.connect(self.timeouts.append)


@pytest.fixture
def worker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    """A strict worker, shut down after the test; the test fails if it leaks threads."""
    w = BackgroundWorker(threads=4, strict=True)
    yield w
    assert w.shutdown(timeout=5), "a task thread did not stop within 5 s of shutdown()"
    assert not [t for t in w._threads.threads() if t.is_alive()]
    qapp.processEvents()


@pytest.fixture
def unhandled(worker: BackgroundWorker) -> Unhandled:
    return Unhandled(worker)
