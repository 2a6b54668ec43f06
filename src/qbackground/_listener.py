"""Observers of a task's progress and outcome, called on the GUI thread."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["ProgressListener"]

T = TypeVar("T")
V = TypeVar("V")


class ProgressListener(Generic[T, V]):
    """Receives a task's news after the task's own callback ran; override what you need.

    Every method runs on the GUI thread. ``on_progress``/``on_done``/``on_cancel`` are
    CUBA's; ``on_message``, ``on_fraction`` and ``on_event`` follow the Rayforge
    vocabulary (``set_message``, ``set_progress``/``set_total``, ``send_event``).
    An exception raised here goes to ``BackgroundWorker.unhandled_exception``.

    Example::

        class BarListener(ProgressListener[int, str]):
            def on_progress(self, changes: list[int]) -> None:
                bar.setValue(changes[-1])

        task.add_progress_listener(BarListener())
    """

    def on_progress(self, changes: list[T]) -> None:
        """Changes published since the previous call, in order."""

    def on_done(self, result: V) -> None:
        """The task finished with ``result`` (after the task's ``done()``)."""

    def on_cancel(self) -> None:
        """The task was cancelled (after the task's ``canceled()``)."""

    def on_message(self, message: str) -> None:
        """The task called ``set_message(message)`` (latest value only)."""

    def on_fraction(self, fraction: float) -> None:
        """The task's overall progress, 0..1, changed (latest value only)."""

    def on_event(self, name: str, data: Any) -> None:
        """The task called ``send_event(name, data)`` (every event, in order)."""
