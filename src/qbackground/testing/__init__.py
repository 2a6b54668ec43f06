"""Testing support for code that uses qbackground: a pytest plugin and helpers.

The plugin (registered as the ``pytest11`` entry point ``qbackground``, built on
pytest-qt) provides the ``bg_worker`` and ``bg_executor`` fixtures and the
``qbackground_backends`` and ``qbackground`` markers; see ``docs/testing.md``.

Example::

    from qbackground import TaskStatus
    from qbackground.testing import wait_task

    def test_count(bg_worker):
        handler = bg_worker.handle(Count(3))
        with wait_task(handler, timeout=2):
            handler.execute()
        assert handler.status is TaskStatus.DONE
"""

from .._exports import public_module as _public_module
from ._probe import ChildProcess, child_processes, os_thread_ids, rss_bytes
from ._wait import TaskWait, WaitTaskTimeout, wait_task
from ._worker import CheckedWorker, UnhandledExpectation, format_origin

__all__ = [
    "CheckedWorker",
    "ChildProcess",
    "TaskWait",
    "UnhandledExpectation",
    "WaitTaskTimeout",
    "child_processes",
    "format_origin",
    "os_thread_ids",
    "rss_bytes",
    "wait_task",
]

_public_module(__name__, __all__, globals())
