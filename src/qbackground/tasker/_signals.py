"""The facade's signals: ``blinker`` signals, as in Rayforge, sent on the GUI thread."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import blinker

from .._errors import TaskCancelledError, TaskStateError

__all__ = ["CancelledError", "InvalidStateError", "Signal"]

F = TypeVar("F", bound=Callable[..., Any])


class Signal(blinker.Signal):
    """A ``blinker.Signal`` whose receivers are held strongly unless ``weak=True``.

    Receivers are called with the sender first and keyword arguments
    (``receiver(sender, tasks=..., progress=...)``), so a blinker-style
    ``def on_update(sender, **kwargs)`` gets every value. blinker's own default is a
    weak reference, which drops a lambda or a local function (as in the seed's
    ``setup_ui()`` example) the moment the caller returns; here such a receiver stays
    connected until :meth:`disconnect`. ``disconnect()`` with no receiver disconnects
    all.

    Example::

        def on_tasks_updated(sender, tasks, progress):
            bar.setValue(round(progress * 100))

        task_mgr.tasks_updated.connect(on_tasks_updated)
        task_mgr.tasks_updated.disconnect(on_tasks_updated)
    """

    def connect(self, receiver: F, sender: Any = blinker.ANY, weak: bool = False) -> F:
        """Connect ``receiver`` (strongly by default; ``weak=True`` as in blinker).

        Example::

            task.status_changed.connect(lambda sender: print(sender.get_status()))
        """
        return super().connect(receiver, sender, weak)

    def disconnect(self, receiver: Any = None, sender: Any = blinker.ANY) -> None:
        """Disconnect ``receiver``; with no receiver, every receiver.

        Example::

            task_mgr.tasks_updated.disconnect()
        """
        if receiver is None:
            for connected in [_target(ref) for ref in list(self.receivers.values())]:
                if connected is not None:
                    super().disconnect(connected, sender)
            return
        super().disconnect(receiver, sender)


def _target(ref: Any) -> Any:
    """A connected receiver: blinker stores weak ones as weak references."""
    if isinstance(ref, (weakref.ref, weakref.WeakMethod)):
        return ref()
    return ref


class CancelledError(TaskCancelledError, asyncio.CancelledError):
    """``Task.result()`` of a cancelled task: both qbackground's
    :class:`~qbackground.TaskCancelledError` and ``asyncio.CancelledError`` (what
    Rayforge raises), so ``except asyncio.CancelledError:`` in ported code catches it.

    Example::

        try:
            task.result()
        except asyncio.CancelledError:
            print("cancelled")
    """


class InvalidStateError(TaskStateError, asyncio.InvalidStateError):
    """``Task.result()`` before the task ended: qbackground's
    :class:`~qbackground.TaskStateError` and ``asyncio.InvalidStateError`` (Rayforge's).

    Example::

        try:
            task.result()
        except asyncio.InvalidStateError:
            print("not finished yet")
    """
