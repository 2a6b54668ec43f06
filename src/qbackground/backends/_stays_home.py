"""The placeholder a QObject attribute of a task becomes in another process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._errors import IllegalConcurrentAccessError

__all__ = ["StaysHome", "type_name"]


def type_name(value: object) -> str:
    """``module.Qualname`` of ``value``'s type (``builtins`` left out).

    Example::

        assert type_name(socket.socket()) == "socket.socket"
    """
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


class StaysHome:
    """What a ``QObject`` attribute of a task is in a worker process or on a Dask worker.

    The object itself stayed in the GUI process (widgets cannot leave it); touching the
    placeholder raises :class:`~qbackground.IllegalConcurrentAccessError`. Use the real
    object in ``done()``, ``progress()`` and the other callbacks, which run on the
    original task on the GUI thread.

    Example::

        def run(self, lifecycle):
            self.label.setText("x")  # IllegalConcurrentAccessError: task.label ... stays
    """

    __slots__ = ("_qb_path", "_qb_type")

    def __init__(self, path: str, kind: str) -> None:
        object.__setattr__(self, "_qb_path", path)
        object.__setattr__(self, "_qb_type", kind)

    def _qb_refuse(self, what: str) -> IllegalConcurrentAccessError:
        path = object.__getattribute__(self, "_qb_path")
        kind = object.__getattribute__(self, "_qb_type")
        return IllegalConcurrentAccessError(
            f"{path} is a {kind}, which stays in the GUI process: {what} is not possible in "
            "the worker. Use it in done(), progress() or another callback (they run on the "
            "original task, on the GUI thread), or send plain data to them with publish()"
        )

    def __getattr__(self, name: str) -> Any:
        raise self._qb_refuse(f".{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise self._qb_refuse(f"setting .{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._qb_refuse("calling it")

    def __bool__(self) -> bool:
        raise self._qb_refuse("bool()")

    def __len__(self) -> int:
        raise self._qb_refuse("len()")

    def __iter__(self) -> Iterator[Any]:
        raise self._qb_refuse("iterating over it")

    def __getitem__(self, key: Any) -> Any:
        raise self._qb_refuse("indexing it")

    def __repr__(self) -> str:
        path = object.__getattribute__(self, "_qb_path")
        kind = object.__getattribute__(self, "_qb_type")
        return f"<{kind} {path}: stays in the GUI process>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (StaysHome, (self._qb_path_value(), self._qb_type_value()))

    def _qb_path_value(self) -> str:
        return str(object.__getattribute__(self, "_qb_path"))

    def _qb_type_value(self) -> str:
        return str(object.__getattribute__(self, "_qb_type"))
