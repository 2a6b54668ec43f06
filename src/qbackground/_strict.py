"""Strict mode: a widget method called from a task's thread raises.

CUBA throws ``IllegalConcurrentAccessException`` when background code touches UI
components. Here a profile hook (``sys.setprofile``, per task thread, only while a task
runs) sees every call into C; one whose ``__self__`` is a ``QWidget`` is stopped with
:class:`IllegalConcurrentAccessError` before it runs.

Limits, documented for users: calls made from C (``map(widget.setText, ...)``,
``functools.partial``) are not seen; the hook costs about a microsecond per Python call
in the task, so keep strict mode for tests and debugging. CPython removes a profile hook
that raised; the lifecycle reinstalls it on every ``publish()``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType
from typing import Any

from qtpy.QtWidgets import QWidget

from ._errors import IllegalConcurrentAccessError

__all__ = ["make_profiler"]

Profiler = Callable[[FrameType, str, Any], None]


def make_profiler() -> Profiler:
    """Build the profile hook installed on task threads in strict mode."""

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call":
            target = getattr(arg, "__self__", None)
            if isinstance(target, QWidget):
                raise IllegalConcurrentAccessError(
                    f"{type(target).__name__}.{getattr(arg, '__name__', '?')}() was called from a "
                    "background task's thread; widgets may only be used on the GUI thread. "
                    "Publish the change and apply it in progress()/done(), or use UIAccessor.access()"
                )

    return profiler
