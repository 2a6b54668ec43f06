"""POSIX shared-memory segments for the process backend, and their lifetime.

A segment is created by the side that sends a large buffer, filled once, and *attached
then unlinked at once* by the side that receives it: from then on its name is gone from
``/dev/shm`` and its memory lives exactly as long as the receiver's mapping, which the
objects built on it (NumPy arrays, memoryviews) keep alive. So the memory is released
when the last object using it is freed, and no name can outlive a crash.

Names carry the GUI process's id, the executor and the worker process
(``qb<pid>x<executor>w<worker>_...``): when a worker dies before a segment it created
(or one sent to it) was attached, the GUI process sweeps that worker's prefix; an
executor's ``shutdown()`` sweeps the executor's, and the interpreter's exit sweeps the
whole process's. Listing names is Linux's ``/dev/shm``; elsewhere the sweep is
best-effort (only names this process created itself).

This module talks to ``shm_open`` directly (the standard library's ``_posixshmem``,
which ``multiprocessing.shared_memory`` uses) rather than through ``SharedMemory``
objects: those register every segment with a resource tracker that would unlink, and
warn about, segments whose ownership passed to the other process, and their ``close()``
fails while a NumPy array still maps them.
"""

from __future__ import annotations

import atexit
import itertools
import mmap
import os
import threading
from typing import Any

try:  # POSIX only; elsewhere large buffers go through the pipe like the rest
    import _posixshmem as _shm_native  # type: ignore[import-not-found]

    _native: Any = _shm_native
except ImportError:  # pragma: no cover - Windows
    _native = None

__all__ = ["AVAILABLE", "Namer", "attach", "create", "process_prefix", "sweep", "unlink"]

AVAILABLE = _native is not None
"""Whether this platform has POSIX shared memory (Linux, macOS, the BSDs)."""

_DIRECTORY = "/dev/shm"
_TRACK = not os.path.isdir(_DIRECTORY)  # no listing: remember our own names instead
_created: set[str] = set()  # names this process created and did not yet see unlinked
_created_lock = threading.Lock()


def process_prefix(pid: int | None = None) -> str:
    """The prefix of every segment name belonging to GUI process ``pid`` (default: this one).

    Example::

        leftovers = [n for n in os.listdir("/dev/shm") if n.startswith(process_prefix())]
    """
    return f"qb{os.getpid() if pid is None else pid}x"


class Namer:
    """Fresh segment names under one prefix (thread-safe).

    Example::

        names = Namer("qb123x1w2_c")
        first = names.next()  # "qb123x1w2_c1"
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._counter = itertools.count(1)

    def next(self) -> str:
        """A name not used before by this namer."""
        return f"{self.prefix}{next(self._counter)}"


def create(name: str, size: int) -> mmap.mmap:
    """A new segment of ``size`` bytes (> 0), mapped read-write.

    Example::

        mapping = create("qb123x1w1_p1", 4096)
    """
    assert _native is not None
    fd = _native.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
    if _TRACK:  # pragma: no cover - macOS
        with _created_lock:
            _created.add(name)
    try:
        os.ftruncate(fd, size)
        return mmap.mmap(fd, size)
    except BaseException:
        unlink(name)
        raise
    finally:
        os.close(fd)


def attach(name: str) -> mmap.mmap:
    """Map the segment ``name`` read-write and unlink its name at once.

    Raises:
        FileNotFoundError: no such segment (its sender died, or it was attached already).

    Example::

        mapping = attach("qb123x1w1_c7")
        data = memoryview(mapping)[:nbytes]
    """
    assert _native is not None
    fd = _native.shm_open("/" + name, os.O_RDWR, mode=0o600)
    try:
        size = os.fstat(fd).st_size
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)
        unlink(name)


def unlink(name: str) -> None:
    """Remove the name ``name`` (memory still mapped somewhere stays valid); no error if gone.

    Example::

        unlink("qb123x1w1_p1")
    """
    with _created_lock:
        _created.discard(name)
    if _native is None:  # pragma: no cover
        return
    try:
        _native.shm_unlink("/" + name)
    except FileNotFoundError:
        pass


def sweep(prefix: str) -> int:
    """Unlink every segment whose name starts with ``prefix``; how many were found.

    Example::

        sweep(process_prefix())  # at exit: nothing of ours stays in /dev/shm
    """
    if _native is None:  # pragma: no cover
        return 0
    try:
        names = set(os.listdir(_DIRECTORY))
    except OSError:  # pragma: no cover - no /dev/shm listing (macOS): what we made
        names = set()
    with _created_lock:
        names |= set(_created)
    found = [name for name in names if name.startswith(prefix)]
    for name in found:
        unlink(name)
    return len(found)


@atexit.register
def _sweep_at_exit() -> None:
    sweep(process_prefix())
