"""The manager's arguments, checked at the call: callables, and ``run_process()``'s
arguments, pickled once there or refused by name.

A worker process gets the function and its arguments by pickling. Pickled at the call,
a lambda, a local function or an unpicklable value fails where it was written, with a
``TypeError`` that names the argument (``args[0]``, keyword ``name``), rather than
later, in ``when_done``, as a failure of an internal job class. The bytes are what the
job sends: nothing is pickled twice.
"""

from __future__ import annotations

import pickle
import types
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["check_callables", "pickle_call"]

_INSTEAD = "or use run_thread(), which shares memory and needs no pickling"


def check_callables(func: object, when_done: object, when_event: object) -> None:
    """``func``, ``when_done`` and ``when_event`` (when given) are callable, else TypeError.

    Example::

        check_callables(crunch, on_done, None)
    """
    if not callable(func):
        raise TypeError(f"the function to run must be callable, not {type(func).__name__}")
    if when_done is not None and not callable(when_done):
        raise TypeError(f"when_done must be callable (it gets the Task), not {type(when_done).__name__}")
    if when_event is not None and not callable(when_event):
        raise TypeError(
            f"when_event must be callable (task, name, data), not {type(when_event).__name__}"
        )


def pickle_call(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """``(func, args, kwargs)`` pickled for a worker process.

    Raises:
        TypeError: one of them cannot be pickled; the message names it (``func``,
            ``args[i]`` or keyword argument ``'name'``), its type, why and what to do.

    Example::

        payload = pickle_call(crunch, (200,), {"step": 10})
    """
    try:
        return pickle.dumps((func, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        together = exc
    # The slow path, only for a call that is refused: find the argument at fault.
    for label, value in _parts(func, args, kwargs):
        problem = _problem(value)
        if problem is not None:
            raise TypeError(
                f"run_process() cannot send {label} ({_type_name(value)}) to a worker process: "
                f"{problem}"
            ) from None
    # Each pickles alone but not together (say, a __reduce__ that depends on state).
    raise TypeError(
        "run_process() could not pickle the function and its arguments to send them to a "
        f"worker process ({type(together).__name__}: {together}); pass plain data, {_INSTEAD}"
    ) from None


def _parts(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    yield "func", func
    for index, value in enumerate(args):
        yield f"args[{index}]", value
    for name, value in kwargs.items():
        yield f"keyword argument {name!r}", value


def _problem(value: object) -> str | None:
    """Why ``value`` cannot be pickled, with what to do; None if it can."""
    if isinstance(value, types.FunctionType):
        if value.__name__ == "<lambda>":
            return (
                "a lambda cannot be pickled by reference (a worker process imports functions "
                "by module and name, and a lambda has no name); define it with def at module "
                f"level of an importable module and pass that function, {_INSTEAD}"
            )
        if "<locals>" in value.__qualname__:
            return (
                f"{value.__qualname__} is a local (nested) function, which cannot be pickled by "
                "reference (a worker process imports functions by module and name); define it "
                f"at module level of an importable module, {_INSTEAD}"
            )
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        if "<lambda>" in text or "<locals>" in text:
            return (
                f"{text}. It holds a lambda or a local function, which cannot be pickled by "
                f"reference; use functions defined at module level, {_INSTEAD}"
            )
        return (
            f"{text}. Pass plain data (numbers, strings, lists, dicts, arrays...) or what the "
            f"function needs to recreate the object in the worker (a path, an address), {_INSTEAD}"
        )
    return None


def _type_name(value: object) -> str:
    kind = type(value)
    if isinstance(value, types.FunctionType) and value.__name__ == "<lambda>":
        return "lambda"
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
