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
    "current_lifecycle",
    "TaskGroup",  # DESIGN §9
    "BackgroundTaskWrapper",
    "UIAccessor",
    "TaskStatus",
    "ProgressListener",
    "Retry",  # DESIGN §11
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
        "PAUSED",
        "DONE",
        "FAILED",
        "CANCELLED",
        "TIMED_OUT",
        "INTERRUPTED",
    ]
    final = {s.name for s in qbackground.TaskStatus if s.is_final}
    assert final == {"DONE", "FAILED", "CANCELLED", "TIMED_OUT", "INTERRUPTED"}


# -- every public class reports the public module that exports it ------------------------

PUBLIC_MODULES = [
    "qbackground",
    "qbackground.backends",
    "qbackground.tasker",
    "qbackground.widgets",
    "qbackground.testing",
    "qbackground.dask",
]


def _exported_classes() -> list[tuple[str, str, type]]:
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                found.append((module_name, name, value))
    return found


def test_every_public_module_exports_classes() -> None:
    modules = {module for module, _name, _cls in _exported_classes()}
    assert modules == set(PUBLIC_MODULES)


@pytest.mark.parametrize(
    ("module_name", "name", "cls"),
    _exported_classes(),
    ids=[f"{module}.{name}" for module, name, _cls in _exported_classes()],
)
def test_exported_class_reports_a_public_module(module_name: str, name: str, cls: type) -> None:
    # A class re-exported from another public module keeps its home (ExecutionContext,
    # re-exported by qbackground.tasker, is qbackground.TaskLifeCycle).
    home = importlib.import_module(cls.__module__)
    assert not any(part.startswith("_") for part in cls.__module__.split(".")), (
        f"{module_name}.{name} reports the private module {cls.__module__}"
    )
    assert cls.__module__ in PUBLIC_MODULES
    assert getattr(home, cls.__qualname__) is cls, "pickle finds a class by __module__ + __qualname__"
    if cls.__module__ != module_name:
        assert module_name == "qbackground.tasker" and cls.__module__ == "qbackground"


def test_the_private_module_does_not_show_in_reprs_and_tracebacks() -> None:
    assert repr(qbackground.TaskStateError) == "<class 'qbackground.TaskStateError'>"
    try:
        raise qbackground.TaskStateError("execute() was already called")
    except qbackground.TaskStateError:
        import traceback

        last_line = traceback.format_exc().strip().splitlines()[-1]
    assert last_line == "qbackground.TaskStateError: execute() was already called"
    assert str(qbackground.BackgroundTask[int, str]) == "qbackground.BackgroundTask[int, str]"


@pytest.mark.parametrize("name", [*ERRORS, "TaskInterruptedError"])
def test_errors_pickle_by_their_public_name(name: str) -> None:
    import pickle

    cls = getattr(qbackground, name)
    data = pickle.dumps(cls("across a process boundary"))
    assert b"qbackground._" not in data and b"_errors" not in data
    copy = pickle.loads(data)
    assert type(copy) is cls and str(copy) == "across a process boundary"


class RaisesTaskStateError(qbackground.BackgroundTask[None, None]):
    """Module level: the process backend sends it to a worker process by pickling."""

    def run(self, lifecycle: qbackground.TaskLifeCycle[None]) -> None:
        raise qbackground.TaskStateError("raised in a worker process")

    def handle_exception(self, exc: BaseException) -> bool:
        return True  # handled: get_result() below looks at it


def test_an_error_raised_in_a_worker_process_reaches_the_gui_as_the_same_type(
    worker: qbackground.BackgroundWorker,
) -> None:
    handler = worker.handle(RaisesTaskStateError(), executor="process").start()
    with pytest.raises(qbackground.TaskStateError) as caught:
        handler.get_result(timeout=60)
    assert type(caught.value) is qbackground.TaskStateError
    assert str(caught.value) == "raised in a worker process"
    remote = str(caught.value.__cause__)  # the worker process's traceback, as text
    assert remote.rstrip().endswith("qbackground.TaskStateError: raised in a worker process")
    assert handler.status is qbackground.TaskStatus.FAILED
