"""The qbackground pytest plugin (entry point ``pytest11``), built on pytest-qt.

Fixtures:

* ``bg_worker``: a fresh strict :class:`~qbackground.testing.CheckedWorker` per test.
  Right after the test function returns, the worker is shut down and the test
  **fails** if a task was still alive (naming it and where it was started), if a task
  thread, any other thread or a child process was left behind (idle threads of Qt's
  own thread pools do not count: any widget test may start them), or if an exception
  reached ``unhandled_exception`` that the test did not declare with
  ``bg_worker.expect_unhandled(...)``.
* ``bg_executor``: the backend the test runs on ("thread", "process", "asyncio"), or
  None. ``@pytest.mark.qbackground_backends("thread", "process")`` runs the test once
  per backend; ``--qbackground-backend=NAME[,NAME]`` does the same for every test that
  uses ``bg_worker`` (and narrows the marked ones). ``bg_worker.handle(task)`` uses it.

Marker ``@pytest.mark.qbackground(threads=2, processes=1, process_grace=0.3,
shutdown_timeout=5, check_leaks=True, leak_timeout=2, strict=True)`` configures
``bg_worker``.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..qt import qt_binding

if TYPE_CHECKING:
    from ._worker import CheckedWorker

__all__ = [
    "BACKENDS",
    "bg_executor",
    "bg_worker",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_call",
]

BACKENDS = ("thread", "process", "asyncio")
"""The backend names ``qbackground_backends`` and ``--qbackground-backend`` accept."""

_WORKER_KEY = pytest.StashKey["CheckedWorker"]()
_PLUGIN_SETTINGS = {"shutdown_timeout", "check_leaks", "leak_timeout"}
_WORKER_SETTINGS = {"threads", "max_queued", "timeout_check_interval", "strict", "progress_interval", "processes", "process_grace"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qbackground", "qbackground background tasks")
    group.addoption(
        "--qbackground-backend",
        action="append",
        default=[],
        metavar="NAME[,NAME]",
        help=(
            "run every test that uses bg_worker/bg_executor on these backends "
            f"({', '.join(BACKENDS)}, or 'all'); narrows qbackground_backends markers"
        ),
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-qt's, which reads PYTEST_QT_API
def pytest_configure(config: pytest.Config) -> None:
    _align_pytest_qt(config)
    _names(config.getoption("--qbackground-backend") or [], "--qbackground-backend")  # fail early
    config.addinivalue_line(
        "markers",
        "qbackground_backends(*names): run the test once per qbackground backend "
        f"({', '.join(BACKENDS)}); the bg_executor fixture holds the name",
    )
    config.addinivalue_line(
        "markers",
        "qbackground(**settings): settings of the bg_worker fixture (BackgroundWorker "
        "arguments such as threads=2, processes=1, process_grace=0.3; and "
        "shutdown_timeout=5, check_leaks=True)",
    )


def _align_pytest_qt(config: pytest.Config) -> None:
    """Put pytest-qt's ``qtbot``/``qapp`` on the binding qbackground runs on.

    qbackground picked its binding when this plugin was imported (``QT_API``, else the
    binding already imported, else PySide6); pytest-qt would otherwise guess on its own
    and could load the other binding beside it. A ``PYTEST_QT_API`` or ``qt_api`` ini
    value naming the other binding is a usage error: set ``QT_API`` instead.
    """
    binding = qt_binding()
    try:
        ini = str(config.getini("qt_api") or "").lower()
    except ValueError:  # pytest-qt not installed: nothing to align
        return
    env = os.environ.get("PYTEST_QT_API", "").lower()
    for value, where in ((env, "PYTEST_QT_API"), (ini, "the qt_api ini option")):
        if value and value != binding:
            raise pytest.UsageError(
                f"{where} asks pytest-qt for {value!r}, but qbackground runs on {binding!r} "
                f"(QT_API={os.environ.get('QT_API', '')!r}). Set QT_API={value} so both use "
                "the same Qt binding (or drop the pytest-qt setting)"
            )
    os.environ["PYTEST_QT_API"] = binding


def _names(values: list[str], where: str) -> list[str]:
    names: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise pytest.UsageError(f"{where}: backend names are strings, not {value!r}")
        for name in value.split(","):
            name = name.strip()
            if name == "all":
                names.extend(n for n in BACKENDS if n not in names)
            elif name in BACKENDS:
                if name not in names:
                    names.append(name)
            else:
                raise pytest.UsageError(
                    f"{where}: unknown qbackground backend {name!r}; known: {', '.join(BACKENDS)}"
                )
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bg_executor" not in metafunc.fixturenames:
        return
    option = _names(metafunc.config.getoption("--qbackground-backend") or [], "--qbackground-backend")
    marker = metafunc.definition.get_closest_marker("qbackground_backends")
    if marker is not None:
        if marker.kwargs or not marker.args:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: qbackground_backends takes backend names, e.g. "
                f"@pytest.mark.qbackground_backends({', '.join(map(repr, BACKENDS))})"
            )
        names = _names(list(marker.args), f"{metafunc.definition.nodeid}: qbackground_backends")
        if option:
            names = [n for n in names if n in option]
    else:
        names = option
    if names:
        metafunc.parametrize("bg_executor", names, indirect=True, ids=names)


@pytest.fixture
def bg_executor(request: pytest.FixtureRequest) -> str | None:
    """The backend this run of the test uses ("thread", "process", "asyncio"), or None
    when the test is not parametrized over backends (``bg_worker.handle(task)`` then
    picks "thread", or "asyncio" for an ``AsyncBackgroundTask``).

    Example::

        @pytest.mark.qbackground_backends("thread", "process")
        def test_sum(bg_worker, bg_executor):
            handler = bg_worker.handle(Sum(10))          # runs on bg_executor
    """
    return getattr(request, "param", None)


@pytest.fixture
def bg_worker(request: pytest.FixtureRequest, qapp: Any, bg_executor: str | None) -> Iterator[CheckedWorker]:
    """A fresh strict worker for this test; the test fails if it leaks anything.

    Example::

        def test_count(bg_worker):
            handler = bg_worker.handle(Count(3))
            with wait_task(handler):
                handler.execute()
            assert handler.status is TaskStatus.DONE
    """
    from ._worker import CheckedWorker

    settings: dict[str, Any] = {"threads": 4, "processes": 2, "process_grace": 0.5}
    for marker in reversed(list(request.node.iter_markers("qbackground"))):
        if marker.args:
            pytest.fail("the qbackground marker takes keyword settings only", pytrace=False)
        unknown = set(marker.kwargs) - _PLUGIN_SETTINGS - _WORKER_SETTINGS
        if unknown:
            pytest.fail(
                f"qbackground marker: unknown setting(s) {sorted(unknown)}; known: "
                f"{sorted(_PLUGIN_SETTINGS | _WORKER_SETTINGS)}",
                pytrace=False,
            )
        settings.update(marker.kwargs)
    shutdown_timeout = float(settings.pop("shutdown_timeout", 5.0))
    check_leaks = bool(settings.pop("check_leaks", True))
    leak_timeout = float(settings.pop("leak_timeout", 2.0))
    worker = CheckedWorker(
        default_executor=bg_executor,
        shutdown_timeout=shutdown_timeout,
        check_leaks=check_leaks,
        leak_timeout=leak_timeout,
        **settings,
    )
    request.node.stash[_WORKER_KEY] = worker
    try:
        yield worker
    finally:
        # Normally done right after the test function (see pytest_runtest_call); this
        # covers a test that failed or errored first.
        worker.finish(check_leaks=False)
        # The item outlives the test (pytest keeps it for the session): drop the worker
        # and the handlers it recorded.
        del request.node.stash[_WORKER_KEY]
        qapp.processEvents()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After a passing test that used ``bg_worker``: shut it down and fail on leaks."""
    result = yield
    worker = item.stash.get(_WORKER_KEY, None)
    if worker is not None:
        problems = worker.finish()
        if problems:
            count = len(problems)
            pytest.fail(
                f"bg_worker found {count} problem(s) at the end of the test:\n\n"
                + "\n\n".join(f"[{i}] {p}" for i, p in enumerate(problems, 1)),
                pytrace=False,
            )
    return result
