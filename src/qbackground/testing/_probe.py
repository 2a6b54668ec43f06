"""What the process owns right now: OS threads, child processes, memory.

Linux first (``/proc``), with portable fallbacks, so a leak check can compare a
snapshot taken before a test with one taken after it. ``threading.active_count()`` is
not enough: it does not see threads Python did not start (a ``QThread``), and a
``_DummyThread`` made by ``threading.current_thread()`` on such a thread never goes away.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "QT_POOL_THREAD_NAME",
    "ChildProcess",
    "child_processes",
    "describe_thread",
    "os_thread_ids",
    "qt_pool_threads",
    "qt_private_pool_limit",
    "rss_bytes",
    "stop_idle_qt_global_pool",
]

_PROC = "/proc"

QT_POOL_THREAD_NAME = "Thread (pooled)"
"""The OS name Qt gives every ``QThreadPool`` thread (``QThreadPoolThread``)."""


def os_thread_ids() -> set[int]:
    """The ids of every OS thread of this process (``/proc/self/task``).

    Example::

        before = os_thread_ids()
        ...
        leaked = os_thread_ids() - before
    """
    try:
        return {int(name) for name in os.listdir(f"{_PROC}/self/task")}
    except OSError:  # not Linux: the threads Python knows about
        return {t.native_id for t in threading.enumerate() if t.native_id is not None}


def _os_thread_name(tid: int) -> str | None:
    try:
        with open(f"{_PROC}/self/task/{tid}/comm", encoding="utf-8") as comm:
            return comm.read().strip()
    except OSError:  # gone, or not Linux
        return None


def describe_thread(tid: int) -> str:
    """A readable name for OS thread ``tid``: its Python name if Python started it.

    Example::

        print(describe_thread(threading.get_native_id()))
    """
    for thread in threading.enumerate():
        if thread.native_id == tid:
            kind = "daemon thread" if thread.daemon else "thread"
            return f"Python {kind} {thread.name!r} (tid {tid})"
    name = _os_thread_name(tid)
    if name == QT_POOL_THREAD_NAME:
        return (
            f"non-Python thread {name!r} (tid {tid}; a QThreadPool's thread: of a pool the "
            "test did not delete, or of QThreadPool.globalInstance() still running a task)"
        )
    return f"non-Python thread {name or '?'!r} (tid {tid}; a QThread or a C library's thread)"


def qt_pool_threads(tids: Iterable[int]) -> set[int]:
    """The threads among ``tids`` that a ``QThreadPool`` started (by the OS name Qt
    gives them), leaving out threads Python started (a Python thread started from a
    pool thread inherits its name).

    Example::

        if qt_pool_threads(os_thread_ids() - before):
            busy = stop_idle_qt_global_pool(timeout=2)
    """
    python = {
        t.native_id
        for t in threading.enumerate()
        if not isinstance(t, threading._DummyThread)  # a pool thread seen from Python
    }
    return {tid for tid in tids if tid not in python and _os_thread_name(tid) == QT_POOL_THREAD_NAME}


def stop_idle_qt_global_pool(timeout: float) -> int:
    """Wait up to ``timeout`` s for ``QThreadPool.globalInstance()`` to finish its tasks,
    then stop its idle threads; the number of its tasks still running (0: all stopped).

    Qt keeps an idle pool thread for the pool's ``expiryTimeout`` (30 s by default); the
    pool starts new ones when it needs them. Returns 0 at once when Qt's ``QtCore`` is
    not loaded.

    Example::

        assert stop_idle_qt_global_pool(timeout=2) == 0, "a QRunnable still runs"
    """
    qtcore = sys.modules.get("PySide6.QtCore") or sys.modules.get("PyQt6.QtCore")
    if qtcore is None:
        return 0
    pool = qtcore.QThreadPool.globalInstance()
    if pool.waitForDone(max(1, round(timeout * 1000))):
        return 0
    return max(1, int(pool.activeThreadCount()))


def qt_private_pool_limit() -> int:
    """How many idle threads Qt's own private pools may keep: ``QThread.idealThreadCount()``.

    Qt GUI paints with a thread pool of its own (image conversion and scaling, which an
    indeterminate ``QProgressBar``'s animation triggers on every frame), separate from
    ``QThreadPool.globalInstance()`` and out of reach of the Qt API: its threads can
    only be recognized by their name and bounded by its size, at most the ideal thread
    count (1 when ``QtCore`` is not loaded).

    Example::

        leftovers = qt_pool_threads(os_thread_ids() - before)
        assert len(leftovers) <= qt_private_pool_limit()
    """
    qtcore = sys.modules.get("PySide6.QtCore") or sys.modules.get("PyQt6.QtCore")
    if qtcore is None:
        return 1
    return max(1, int(qtcore.QThread.idealThreadCount()))


@dataclass(frozen=True)
class ChildProcess:
    """A direct child of this process: its pid, state letter and command line."""

    pid: int
    """The child's process id."""
    state: str
    """Its state letter from ``/proc/<pid>/stat`` (``R``, ``S``, ``Z`` for a zombie...)."""
    command: str
    """Its command line, for failure messages."""

    def __str__(self) -> str:
        what = "zombie (exited, never reaped)" if self.state == "Z" else f"state {self.state}"
        return f"pid {self.pid} ({what}): {self.command}"


def _long_lived_helpers() -> set[int]:
    """multiprocessing's resource tracker and forkserver: started once, kept on purpose."""
    pids: set[int] = set()
    try:
        from multiprocessing import resource_tracker

        pid = getattr(resource_tracker._resource_tracker, "_pid", None)
        if isinstance(pid, int):
            pids.add(pid)
    except Exception:  # pragma: no cover - private API moved
        pass
    try:
        from multiprocessing import forkserver

        pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
        if isinstance(pid, int):
            pids.add(pid)
    except Exception:  # pragma: no cover
        pass
    return pids


def child_processes() -> dict[int, ChildProcess]:
    """Direct children of this process, zombies included, except multiprocessing's own
    long-lived helpers (its resource tracker and forkserver).

    Example::

        before = child_processes()
        ...
        leaked = set(child_processes()) - set(before)
    """
    me = os.getpid()
    helpers = _long_lived_helpers()
    found: dict[int, ChildProcess] = {}
    if not sys.platform.startswith("linux"):  # pragma: no cover - portable fallback
        for child in multiprocessing.active_children():
            if child.pid is not None and child.pid not in helpers:
                found[child.pid] = ChildProcess(child.pid, "?", child.name)
        return found
    try:
        entries = os.listdir(_PROC)
    except OSError:  # pragma: no cover
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in helpers:
            continue
        try:
            with open(f"{_PROC}/{entry}/stat", encoding="utf-8", errors="replace") as stat:
                text = stat.read()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        head, _, tail = text.rpartition(")")
        fields = tail.split()
        if len(fields) < 2 or int(fields[1]) != me:
            continue
        try:
            with open(f"{_PROC}/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            command = ""
        if not command:
            command = head.partition("(")[2]
        found[pid] = ChildProcess(pid, fields[0], command[:200])
    return found


def rss_bytes() -> int:
    """The resident set size of this process, in bytes (0 if unknown).

    Example::

        print(f"{rss_bytes() / 2**20:.1f} MiB")
    """
    try:
        with open(f"{_PROC}/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        try:
            import resource

            return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
        except Exception:
            return 0
