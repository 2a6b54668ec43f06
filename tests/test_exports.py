"""The public surface: ``qbackground.__all__`` and the error hierarchy."""

from __future__ import annotations

import enum
import importlib
import inspect
import types

import pytest

import qbackground

# Every public name the design promises. A new public name must be added here on
# purpose (AsyncBackgroundTask came with the asyncio backend).
DESIGN_NAMES = {
    "AsyncBackgroundTask",
    "BackgroundTask",
    "TaskLifeCycle",
    "ExecutionContext",
    "BackgroundTaskHandler",
    "BackgroundWorker",
    "background_worker",
    "BackgroundTaskWrapper",
    "UIAccessor",
    "TaskStatus",
    "ProgressListener",
    "QBackgroundError",
    "TaskStateError",
    "TaskCancelledError",
    "TaskTimeoutError",
    "TaskQueueFullError",
    "IllegalConcurrentAccessError",
    "ProcessCrashedError",
    "TaskInterruptedError",
}

ERRORS = [
    "QBackgroundError",
    "TaskStateError",
    "TaskCancelledError",
    "TaskTimeoutError",
    "TaskQueueFullError",
    "IllegalConcurrentAccessError",
    "ProcessCrashedError",
]


def test_all_matches_the_design() -> None:
    exported = qbackground.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == DESIGN_NAMES, (
        f"missing from __all__: {sorted(DESIGN_NAMES - set(exported))}; "
        f"not in the design: {sorted(set(exported) - DESIGN_NAMES)}"
    )
    # TaskBase is the shared base of the two task kinds, deliberately not exported.
    assert "TaskBase" not in exported


def test_all_is_sorted() -> None:
    assert qbackground.__all__ == sorted(qbackground.__all__)


def test_no_public_name_is_left_out_of_all() -> None:
    public = {
        name
        for name, value in vars(qbackground).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(qbackground.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from qbackground import *", namespace)
    namespace.pop("__builtins__", None)
    assert set(namespace) == set(qbackground.__all__)


@pytest.mark.parametrize("name", sorted(DESIGN_NAMES))
def test_each_name_is_importable(name: str) -> None:
    module = importlib.import_module("qbackground")
    value = getattr(module, name)
    assert value is not None
    namespace: dict[str, object] = {}
    exec(f"from qbackground import {name}", namespace)
    assert namespace[name] is value


def _own_public_members(cls: type) -> list[tuple[str, object]]:
    members = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            members.append((name, value))
    return members


@pytest.mark.parametrize("name", sorted(DESIGN_NAMES))
def test_public_classes_and_functions_have_docstrings(name: str) -> None:
    value = getattr(qbackground, name)
    assert inspect.isclass(value) or inspect.isfunction(value), f"{name} is {type(value)}"
    # __doc__ itself, not inspect.getdoc(): that falls back to a base class's docstring.
    assert value.__doc__ and value.__doc__.strip(), f"{name} has no docstring"
    if inspect.isclass(value) and not issubclass(value, (BaseException, enum.Enum)):
        undocumented = [
            member
            for member, fn in _own_public_members(value)
            if not (getattr(fn, "__doc__", None) or "").strip()
        ]
        assert not undocumented, f"{name} members without a docstring: {undocumented}"


def test_execution_context_is_task_lifecycle() -> None:
    assert qbackground.ExecutionContext is qbackground.TaskLifeCycle


@pytest.mark.parametrize("name", ERRORS)
def test_errors_derive_from_qbackground_error(name: str) -> None:
    cls = getattr(qbackground, name)
    assert issubclass(cls, qbackground.QBackgroundError)
    assert issubclass(cls, Exception)


def test_qbackground_error_is_an_exception() -> None:
    assert issubclass(qbackground.QBackgroundError, Exception)
    assert qbackground.QBackgroundError.__bases__ == (Exception,)


def test_task_interrupted_error_is_base_exception_only() -> None:
    cls = qbackground.TaskInterruptedError
    assert issubclass(cls, BaseException)
    assert not issubclass(cls, Exception), "an `except Exception:` in run() would swallow it"
    assert not issubclass(cls, qbackground.QBackgroundError)
    with pytest.raises(qbackground.TaskInterruptedError):
        try:
            raise cls("interrupted")
        except Exception:  # must not catch it
            pytest.fail("except Exception caught TaskInterruptedError")


def test_every_exported_exception_is_covered() -> None:
    exported_errors = {
        name
        for name in qbackground.__all__
        if inspect.isclass(getattr(qbackground, name))
        and issubclass(getattr(qbackground, name), BaseException)
    }
    assert exported_errors == set(ERRORS) | {"TaskInterruptedError"}


def test_task_status_members() -> None:
    assert [s.name for s in qbackground.TaskStatus] == [
        "CREATED",
        "QUEUED",
        "RUNNING",
        "DONE",
        "FAILED",
        "CANCELLED",
        "TIMED_OUT",
        "INTERRUPTED",
    ]
    final = {s.name for s in qbackground.TaskStatus if s.is_final}
    assert final == {"DONE", "FAILED", "CANCELLED", "TIMED_OUT", "INTERRUPTED"}
