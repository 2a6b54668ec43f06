"""Every user-visible text of the widgets, translatable with Qt Linguist.

Each text is a literal ``QCoreApplication.translate("qbackground.widgets", ...)`` call, so
``pyside6-lupdate`` finds it; install a ``QTranslator`` for the context
``qbackground.widgets`` to translate the dialogs. Placeholders in braces are filled in
with :meth:`str.format` after translation, so a translation may move them.
"""

from __future__ import annotations

import math
from typing import SupportsFloat

from qtpy.QtCore import QCoreApplication

__all__ = [
    "CONTEXT",
    "cancel_all",
    "cancel_all_tip",
    "default_message",
    "default_title",
    "elapsed",
    "elapsed_and_remaining",
    "failed_text",
    "format_duration",
    "format_number",
    "processed_count",
    "processed_of",
    "processed_percent",
    "tasks_running",
    "timed_out_text",
    "timed_out_title",
    "error_title",
    "more_errors",
]

CONTEXT = "qbackground.widgets"
"""The translation context of every text here."""


def format_number(value: SupportsFloat) -> str:
    """A progress number as people write it: ``5``, ``2.5``, ``1e+06`` stays short.

    Example::

        assert format_number(5.0) == "5" and format_number(2.5) == "2.5"
    """
    number = float(value)
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


def format_duration(seconds: float) -> str:
    """``m:ss`` below an hour, ``h:mm:ss`` above (rounded down to whole seconds).

    Example::

        assert format_duration(75.4) == "1:15"
        assert format_duration(3725) == "1:02:05"
    """
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def default_title() -> str:
    """The window title when ``show()`` gets none (CUBA's ``backgroundWork.caption``)."""
    return QCoreApplication.translate("qbackground.widgets", "Performing operation")


def default_message() -> str:
    """The message when ``show()`` gets none (CUBA's ``backgroundWork.defaultText``)."""
    return QCoreApplication.translate("qbackground.widgets", "Please wait for operation to complete")


def processed_of(count: SupportsFloat, total: SupportsFloat) -> str:
    """``Processed N items of TOTAL`` (CUBA's progress text)."""
    text = QCoreApplication.translate("qbackground.widgets", "Processed {count} items of {total}")
    return text.format(count=format_number(count), total=format_number(total))


def processed_count(count: SupportsFloat) -> str:
    """``Processed N items``: the progress text when the total is unknown."""
    text = QCoreApplication.translate("qbackground.widgets", "Processed {count} items")
    return text.format(count=format_number(count))


def processed_percent(percent: int) -> str:
    """``Processed N%`` (``percent_progress=True``)."""
    text = QCoreApplication.translate("qbackground.widgets", "Processed {percent}%")
    return text.format(percent=percent)


def elapsed(seconds: float) -> str:
    """``Elapsed 0:12``."""
    text = QCoreApplication.translate("qbackground.widgets", "Elapsed {elapsed}")
    return text.format(elapsed=format_duration(seconds))


def elapsed_and_remaining(seconds: float, remaining: float) -> str:
    """``Elapsed 0:12 · about 0:30 left``."""
    text = QCoreApplication.translate("qbackground.widgets", "Elapsed {elapsed} · about {remaining} left")
    # Round the estimate up: "about 0:00 left" while work remains reads as a bug.
    return text.format(elapsed=format_duration(seconds), remaining=format_duration(math.ceil(remaining)))


def error_title() -> str:
    """The title of the error dialog when the task's window has none of its own."""
    return QCoreApplication.translate("qbackground.widgets", "Error")


def failed_text() -> str:
    """The main line of the error dialog."""
    return QCoreApplication.translate("qbackground.widgets", "The background task failed.")


def more_errors(count: int) -> str:
    """Added to the error dialog when more than one error was not handled."""
    text = QCoreApplication.translate("qbackground.widgets", "{count} more errors are listed in the details.")
    return text.format(count=count)


def timed_out_title() -> str:
    """The title of the timeout warning when the task's window has none of its own."""
    return QCoreApplication.translate("qbackground.widgets", "Timeout")


def timed_out_text(seconds: float | None) -> str:
    """The timeout warning's text."""
    if seconds is None:
        return QCoreApplication.translate("qbackground.widgets", "The background task took too long and was stopped.")
    text = QCoreApplication.translate(
        "qbackground.widgets", "The background task did not finish within {seconds} seconds and was stopped."
    )
    return text.format(seconds=format_number(seconds))


def tasks_running(count: int) -> str:
    """``1 task running`` / ``N tasks running`` (status widget)."""
    if count == 1:
        return QCoreApplication.translate("qbackground.widgets", "1 task running")
    text = QCoreApplication.translate("qbackground.widgets", "{count} tasks running")
    return text.format(count=count)


def cancel_all() -> str:
    """The status widget's cancel-all button."""
    return QCoreApplication.translate("qbackground.widgets", "Cancel All")


def cancel_all_tip() -> str:
    """The tooltip of the cancel-all button."""
    return QCoreApplication.translate("qbackground.widgets", "Cancel every running background task")


def pause() -> str:
    """The work window's Pause button."""
    return QCoreApplication.translate("qbackground.widgets", "Pause")


def resume() -> str:
    """The work window's Pause button while the task is paused."""
    return QCoreApplication.translate("qbackground.widgets", "Resume")


def paused() -> str:
    """Marks a paused task (status widget tooltip, work window time line)."""
    return QCoreApplication.translate("qbackground.widgets", "paused")
