"""``BackgroundTask``: the unit of background work and its GUI-thread callbacks."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from qtpy.QtWidgets import QWidget

from ._listener import ProgressListener
from ._retry import Retry

if TYPE_CHECKING:
    from ._lifecycle import TaskLifeCycle

__all__ = ["BackgroundTask", "TaskBase", "normalize_timeout"]

T = TypeVar("T")
V = TypeVar("V")


def normalize_timeout(timeout: object, what: str = "timeout") -> float | None:
    """Turn a user timeout into seconds (``None`` = no limit), or raise a clear error.

    ``None``, ``0`` and ``inf`` mean "no limit"; a :class:`~datetime.timedelta` counts
    its seconds; negative or NaN numbers raise ``ValueError``; anything else ``TypeError``.

    Example::

        assert normalize_timeout(timedelta(seconds=2)) == 2.0
        assert normalize_timeout(0) is None
    """
    if timeout is None:
        return None
    if isinstance(timeout, timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(
            f"{what} must be a number of seconds, a datetime.timedelta or None, "
            f"not {type(timeout).__name__} ({timeout!r})"
        )
    if math.isnan(seconds):
        raise ValueError(f"{what} must be a number of seconds, not NaN")
    if seconds < 0:
        raise ValueError(f"{what} must not be negative, got {seconds!r} s; use None for no limit")
    if seconds == 0 or math.isinf(seconds):
        return None
    return seconds


class TaskBase(ABC, Generic[T, V]):
    """What :class:`BackgroundTask` and :class:`AsyncBackgroundTask` share.

    Everything but ``run()``: the timeout and owner, the GUI-thread callbacks
    (``done``, ``canceled``, ``progress``, ``handle_exception``,
    ``handle_timeout_exception``, ``get_params`` and the Rayforge-style
    ``message_changed``, ``fraction_changed``, ``handle_event``) and the progress
    listeners. Subclass one of the two concrete kinds, not this one.

    Example::

        def describe(task: TaskBase[Any, Any]) -> str:
            return f"{type(task).__name__} (timeout {task.timeout})"

    Args:
        timeout: seconds (or a ``timedelta``) counted from ``execute()``; ``None`` or
            ``0`` means no limit. With ``retry`` it covers all attempts together.
        owner: a widget whose window closing (or whose destruction) interrupts the task
            silently.
        retry: a :class:`~qbackground.Retry` policy: a failure of one of its types
            runs the task again after a backoff (``None``: never).

    Raises:
        ValueError: ``timeout`` is negative or NaN.
        TypeError: ``timeout`` is not a number, ``owner`` is not a ``QWidget``, or
            ``retry`` is not a ``Retry``.
    """

    # Class-level defaults keep a subclass that forgets super().__init__() working.
    _timeout: float | None = None
    _owner: QWidget | None = None
    _listeners: tuple[ProgressListener[T, V], ...] = ()
    _retry: Retry | None = None

    def __init__(
        self,
        timeout: float | timedelta | None = None,
        owner: QWidget | None = None,
        *,
        retry: Retry | None = None,
    ) -> None:
        self._timeout = normalize_timeout(timeout)
        if retry is not None and not isinstance(retry, Retry):
            raise TypeError(
                f"retry must be a qbackground.Retry or None, not {type(retry).__name__}; "
                "e.g. retry=Retry(attempts=3, on=(OSError,))"
            )
        self._retry = retry
        if owner is not None and not isinstance(owner, QWidget):
            raise TypeError(
                f"owner must be a QWidget (the window or a widget in it) or None, "
                f"not {type(owner).__name__}"
            )
        self._owner = owner
        self._listeners = ()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the owner widget and listeners (GUI-side objects).

        Off-process backends send the task to the worker by pickling; the owner and
        the listeners stay in the GUI process, where the callbacks run.
        """
        state = dict(self.__dict__)
        state.pop("_owner", None)
        state.pop("_listeners", None)
        return state

    @property
    def timeout(self) -> float | None:
        """The timeout in seconds, or ``None`` for no limit.

        Example::

            assert MyTask(timeout=timedelta(minutes=1)).timeout == 60.0
        """
        return self._timeout

    @property
    def retry(self) -> Retry | None:
        """The :class:`~qbackground.Retry` policy, or ``None`` (a failure is final).

        Example::

            assert MyTask(retry=Retry(attempts=2)).retry.attempts == 2
        """
        return self._retry

    @property
    def owner(self) -> QWidget | None:
        """The widget this task is bound to, or ``None``.

        Example::

            assert MyTask(owner=window).owner is window
        """
        return self._owner

    # -- GUI-thread callbacks -------------------------------------------------------

    def done(self, result: V) -> None:
        """``run()`` returned ``result``; runs on the GUI thread.

        Example::

            def done(self, result):
                self.label.setText(f"Result: {result}")
        """

    def canceled(self) -> None:
        """``cancel()`` stopped the task; runs on the GUI thread, at once when
        ``cancel()`` was called there.

        Example::

            def canceled(self):
                self.label.setText("Cancelled")
        """

    def progress(self, changes: list[T]) -> None:
        """Changes published since the previous call, in order; runs on the GUI thread.

        Calls are coalesced to about one per frame however fast ``run()`` publishes.

        Example::

            def progress(self, changes):
                self.bar.setValue(changes[-1])
        """

    def handle_exception(self, exc: BaseException) -> bool:
        """``run()`` raised ``exc``; runs on the GUI thread.

        Return ``True`` when handled; ``False`` (the default) logs it on the
        ``qbackground`` logger and emits ``BackgroundWorker.unhandled_exception``.

        Example::

            def handle_exception(self, exc):
                QMessageBox.warning(self.owner, "Failed", str(exc))
                return True
        """
        return False

    def handle_retry(self, attempt: int, exc: BaseException) -> bool:
        """An attempt failed with ``exc`` and the :attr:`retry` policy allows another;
        runs on the GUI thread before attempt number ``attempt`` (2 for the first
        retry), as soon as the failure is known and before the backoff wait.

        Return ``True`` (the default) to run it again, ``False`` to end the task now
        through ``handle_exception(exc)``. Progress the failed attempt published was
        delivered before this call and stays delivered. An exception raised here is
        reported as unhandled and counts as ``False``.

        Example::

            def handle_retry(self, attempt, exc):
                self.status.setText(f"{exc}; trying again (attempt {attempt})")
                return not self.give_up_button.isChecked()
        """
        return True

    def handle_timeout_exception(self) -> bool:
        """The timeout expired; runs on the GUI thread; ``done``/``canceled`` will not.

        Return ``True`` when handled; ``False`` (the default) logs a warning and emits
        ``BackgroundWorker.task_timed_out``.

        Example::

            def handle_timeout_exception(self):
                self.label.setText("Took too long")
                return True
        """
        return False

    def get_params(self) -> Mapping[str, Any] | None:
        """Values ``run()`` needs from the UI; called once on the GUI thread by ``handle()``.

        ``run()`` reads them as ``lifecycle.params`` (a read-only copy).

        Example::

            def get_params(self):
                return {"path": self.path_edit.text()}
        """
        return None

    def message_changed(self, message: str) -> None:
        """``run()`` called ``set_message(message)``; GUI thread, latest value only.

        Example::

            def message_changed(self, message):
                self.status.setText(message)
        """

    def fraction_changed(self, fraction: float) -> None:
        """Overall progress (0..1) from ``set_progress``/``set_total``; GUI thread.

        Example::

            def fraction_changed(self, fraction):
                self.bar.setValue(round(fraction * 100))
        """

    def handle_event(self, name: str, data: Any) -> None:
        """``run()`` called ``send_event(name, data)``; GUI thread, every event in order.

        Example::

            def handle_event(self, name, data):
                if name == "preview":
                    self.preview.setPixmap(data)
        """

    # -- listeners --------------------------------------------------------------------

    def add_progress_listener(self, listener: ProgressListener[T, V]) -> None:
        """Add a listener called after this task's own callbacks (GUI thread).

        Example::

            task.add_progress_listener(BarListener())

        Raises:
            TypeError: ``listener`` has no ``on_progress``/``on_done``/``on_cancel``
                methods (subclass :class:`ProgressListener` to get them all).
        """
        missing = [name for name in ("on_progress", "on_done", "on_cancel") if not callable(getattr(listener, name, None))]
        if missing:
            raise TypeError(
                f"a progress listener needs on_progress(), on_done() and on_cancel(); "
                f"{type(listener).__name__} has no {', '.join(missing)}: subclass ProgressListener"
            )
        if listener not in self._listeners:
            self._listeners = (*self._listeners, listener)

    def remove_progress_listener(self, listener: ProgressListener[T, V]) -> None:
        """Remove a listener added with :meth:`add_progress_listener` (no-op if absent).

        Example::

            task.remove_progress_listener(listener)
        """
        self._listeners = tuple(item for item in self._listeners if item is not listener)

    @property
    def progress_listeners(self) -> tuple[ProgressListener[T, V], ...]:
        """The listeners, in the order they were added.

        Example::

            assert listener in task.progress_listeners
        """
        return self._listeners


class BackgroundTask(TaskBase[T, V]):
    """Long work that runs off the GUI thread and reports back to it.

    ``T`` is the type of the progress items ``run()`` publishes, ``V`` the type of its
    result. Implement :meth:`run`; override the GUI-thread callbacks you need. Each
    executed handler ends with exactly one of ``done``, ``canceled``,
    ``handle_exception``, ``handle_timeout_exception`` or silence (owner closed,
    worker shut down).

    Tasks are stateless by convention: keep per-run data in ``run()``'s locals so one
    instance can be handled several times, even at once.

    Example::

        class Count(BackgroundTask[int, str]):
            def run(self, lifecycle: TaskLifeCycle[int]) -> str:
                for i in range(5):
                    lifecycle.publish(i)
                return "counted"

            def progress(self, changes: list[int]) -> None:
                label.setText(f"at {changes[-1]}")

            def done(self, result: str) -> None:
                label.setText(result)

        background_worker().handle(Count(timeout=10, owner=window)).execute()

    Args:
        timeout: seconds (or a ``timedelta``) counted from ``execute()``; ``None`` or
            ``0`` means no limit. With ``retry`` it covers all attempts together.
        owner: a widget whose window closing (or whose destruction) interrupts the task
            silently.
        retry: a :class:`~qbackground.Retry` policy: a failure of one of its types
            runs the task again after a backoff (``None``: never).

    Raises:
        ValueError: ``timeout`` is negative or NaN.
        TypeError: ``timeout`` is not a number, ``owner`` is not a ``QWidget``, or
            ``retry`` is not a ``Retry``.
    """

    @abstractmethod
    def run(self, lifecycle: TaskLifeCycle[T]) -> V | Generator[T, None, V]:
        """Do the work; runs off the GUI thread. Return the result for ``done()``.

        Never touch widgets here: publish changes and let ``progress()`` show them.
        Check ``lifecycle.is_interrupted()`` in long loops, and let
        :class:`~qbackground.TaskInterruptedError` propagate.

        ``run`` may also be written as a generator, typed
        ``Generator[T, None, V]``: each value it yields is published, each ``yield`` is
        a checkpoint where a cancelled (timed-out, interrupted) task stops — the
        generator is closed there, so its ``finally`` blocks run — and its ``return``
        value is the result. On every backend that runs ``BackgroundTask``.

        Example::

            def run(self, lifecycle):
                total = 0
                for n in lifecycle.params["numbers"]:
                    total += n
                    lifecycle.publish(total)
                return total

            # or, as a generator:
            def run(self, lifecycle: TaskLifeCycle[int]) -> Generator[int, None, str]:
                for i in range(10):
                    yield i              # progress([i]); stops here once cancelled
                return "ten steps"
        """
