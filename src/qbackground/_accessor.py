"""``UIAccessor``: run code on the GUI thread from a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .qt import is_alive
from qtpy.QtWidgets import QWidget

from ._errors import TaskInterruptedError

if TYPE_CHECKING:
    from ._worker_link import WorkerLink

__all__ = ["UIAccessor"]

R = TypeVar("R")

_POLL = 0.02  # how often a synchronous caller re-checks that waiting still makes sense


class _SyncCall:
    __slots__ = ("fn", "done", "value", "error")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the waiting caller, who raises it
            self.error = exc
        finally:
            self.done.set()


class UIAccessor:
    """Runs callables on the GUI thread for code that lives on other threads.

    Get one with ``worker.get_ui_accessor(owner)`` on the GUI thread; use it anywhere.
    With an ``owner``, calls become no-ops once that widget is deleted.

    Example::

        accessor = background_worker().get_ui_accessor(window)

        def on_socket_data(text: str) -> None:        # some library's thread
            accessor.access(lambda: log_view.append(text))
    """

    __slots__ = ("_link", "_owner")

    def __init__(self, link: WorkerLink, owner: QWidget | None = None) -> None:
        # The worker's link (it refers to the worker weakly): an accessor kept by some
        # library's thread does not keep a shut-down worker alive.
        self._link = link
        self._owner = owner

    def _owner_gone(self) -> bool:
        return self._owner is not None and not is_alive(self._owner)

    def access(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` on the GUI thread later; a no-op if the owner is gone.

        An exception from ``fn`` goes to ``BackgroundWorker.unhandled_exception``.

        Example::

            accessor.access(lambda: label.setText("connected"))

        Raises:
            TypeError: ``fn`` is not callable.
        """
        _check_callable(fn, "access")

        def call() -> None:
            if self._owner_gone():
                return
            try:
                fn()
            except Exception as exc:
                self._link.report_unhandled(None, exc)

        self._link.post(call)

    def access_synchronously(self, fn: Callable[[], R]) -> R:
        """Run ``fn()`` on the GUI thread, wait, and return its value (or raise its error).

        Called on the GUI thread it simply calls ``fn()``. While the GUI thread is in
        ``get_result()`` such calls still run, so they cannot deadlock it.

        Raises:
            TaskInterruptedError: the owner is gone or the worker shut down before
                ``fn`` could run.
            TypeError: ``fn`` is not callable.

        Example::

            text = accessor.access_synchronously(line_edit.text)
        """
        _check_callable(fn, "access_synchronously")
        link = self._link
        if link.dispatcher.is_gui_thread():
            if self._owner_gone():
                raise TaskInterruptedError("the accessor's owner widget was deleted")
            return fn()
        call = _SyncCall(fn)

        def run() -> None:
            if self._owner_gone():
                call.error = TaskInterruptedError("the accessor's owner widget was deleted")
                call.done.set()
            else:
                call.run()

        link.post(run)
        while not call.done.wait(_POLL):
            if not link.is_open:
                raise TaskInterruptedError(
                    "the worker shut down before access_synchronously() could run"
                )
        if call.error is not None:
            raise call.error
        return call.value  # type: ignore[no-any-return]


def _check_callable(fn: object, method: str) -> None:
    if not callable(fn):
        raise TypeError(
            f"UIAccessor.{method}() takes a callable with no arguments (for example a "
            f"lambda), not {type(fn).__name__} ({fn!r})"
        )
