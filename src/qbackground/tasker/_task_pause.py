"""``Task.pause()``/``resume()``/``is_paused()``: the core handler's pause, for the facade.

Rayforge has no pause: ``get_status()`` keeps its five values (a paused task is still
``'running'``, so Rayforge code that counts running tasks is unchanged), and
:meth:`TaskPausing.is_paused` tells the difference. ``status_changed`` is sent on each
change made through the task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._handler import BackgroundTaskHandler

__all__ = ["TaskPausing"]


class TaskPausing:
    """The pause part of :class:`~qbackground.tasker.Task` (a mixin)."""

    if TYPE_CHECKING:
        _handler: BackgroundTaskHandler[Any] | None

        def _changed(self) -> None: ...

    def pause(self) -> bool:
        """Hold the job at its next checkpoint (GUI thread); True if this paused it.

        The job's function blocks in its next ``context.set_progress()``,
        ``set_message()``, ``is_cancelled()`` or ``context.checkpoint()`` until
        :meth:`resume`; ``get_status()`` stays ``'running'``, :meth:`is_paused` turns
        true and ``status_changed`` is sent. False when the job has not started yet or
        is over (or already paused). ``cancel()`` still ends a paused job at once.

        Example::

            task = task_mgr.run_thread(copy_files, src, dst, key="copy")
            pause_button.clicked.connect(task.pause)
        """
        handler = self._handler
        if handler is None or not handler.is_alive() or not handler.pause():
            return False
        self._changed()
        return True

    def resume(self) -> bool:
        """Let a paused job run on (GUI thread); True if it was paused.

        Example::

            resume_button.clicked.connect(task.resume)
        """
        handler = self._handler
        if handler is None or not handler.resume():
            return False
        self._changed()
        return True

    def is_paused(self) -> bool:
        """True while :meth:`pause` holds the job.

        Example::

            label.setText("paused" if task.is_paused() else task.get_status())
        """
        handler = self._handler
        return handler is not None and handler.is_paused()
