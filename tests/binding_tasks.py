"""Tasks for tests/binding_probe.py (importable by worker processes)."""

from __future__ import annotations

import os
import sys

from qtpy.QtWidgets import QLabel

from qbackground import AsyncBackgroundTask, BackgroundTask, TaskLifeCycle

_BINDING_MODULES = ("PySide6", "shiboken6", "PyQt6", "sip", "PyQt5", "PySide2")


def loaded_bindings() -> list[str]:
    """The top-level names of the Qt binding modules imported in this process."""
    return sorted({name.split(".")[0] for name in sys.modules if name.split(".")[0] in _BINDING_MODULES})


class Report(BackgroundTask[int, dict[str, object]]):
    """Returns the pid and the binding modules of the process it ran in."""

    def run(self, lifecycle: TaskLifeCycle[int]) -> dict[str, object]:
        lifecycle.publish(1)
        return {"pid": os.getpid(), "modules": loaded_bindings(), "qt_api": os.environ.get("QT_API")}


class AsyncReport(AsyncBackgroundTask[int, dict[str, object]]):
    """:class:`Report` as a coroutine."""

    async def run(self, lifecycle: TaskLifeCycle[int]) -> dict[str, object]:
        lifecycle.publish(1)
        return {"pid": os.getpid(), "modules": loaded_bindings(), "qt_api": os.environ.get("QT_API")}


class WithLabel(Report):
    """Keeps a QLabel (it stays in the GUI process); done() writes to it."""

    def __init__(self, label: QLabel) -> None:
        super().__init__()
        self.label = label

    def done(self, result: dict[str, object]) -> None:
        self.label.setText(f"done in {result['pid']}")
