"""What crosses a process boundary, and how: GUI references stay home, big buffers go
through shared memory, and what cannot be sent is named by its attribute path.

* **QObjects stay home.** The pickler's ``persistent_id`` replaces every ``QObject``
  (widgets included) by a reference the other side turns into a :class:`StaysHome`
  placeholder: touching it raises :class:`IllegalConcurrentAccessError` naming the
  attribute and its type. The GUI-thread callbacks run on the original task object.
* **Big buffers out of band.** Pickle protocol 5 hands every out-of-band buffer (a NumPy
  array, a ``bytearray``, a ``memoryview``, a ``PickleBuffer``) to a callback: those of
  ``threshold`` bytes or more are copied once into a shared-memory segment (or, when the
  buffer already lives in one — :meth:`SharedArrays.allocate` — not copied at all) and
  only the segment's name travels. The receiver maps it (:mod:`._shm`): a NumPy array
  arrives as a view of the segment, without a copy.
* **Unsendable parts are named**: ``task.conn: socket.socket cannot be sent to a worker
  process (...)``, found by pickling the parts one by one (only when sending failed).
"""

from __future__ import annotations

import io
import mmap
import pickle
import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from . import _shm
from ._stays_home import StaysHome, type_name

__all__ = [
    "Envelope",
    "SharedArrays",
    "StaysHome",
    "Unsendable",
    "decode",
    "encode",
    "find_unsendable",
    "type_name",
]

_DEPTH = 4  # how deep find_unsendable looks for the part at fault
_WIDTH = 64  # ...and how many elements of one container it tries


class Envelope(NamedTuple):
    """A pickled object and the shared-memory segments its large buffers travel in."""

    payload: bytes
    segments: tuple[tuple[str, int, int], ...]  # (name, offset, nbytes), in buffer order
    named: tuple[tuple[str, int, int], ...] = ()  # bytearray/memoryview ones (by name)


class Unsendable(TypeError):
    """An object cannot be sent; the message names the part at fault and its type."""


def _qobject_type() -> type | None:
    core = sys.modules.get("PySide6.QtCore") or sys.modules.get("PyQt6.QtCore")
    return getattr(core, "QObject", None) if core is not None else None


def _children(value: object, path: str) -> Iterator[tuple[str, Any]]:
    """The parts of ``value`` that pickling it would pickle, with their paths."""
    if isinstance(value, dict):
        for index, (key, item) in enumerate(value.items()):
            if index >= _WIDTH:
                return
            yield f"{path}[{key!r}]", item
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            if index >= _WIDTH:
                return
            yield f"{path}[{index}]", item
    else:
        state = getattr(value, "__dict__", None)
        if isinstance(state, dict):
            for name, item in state.items():
                yield f"{path}.{name}", item


def _paths(root: object, label: str, qobject: type) -> dict[int, str]:
    """``id() -> path`` for the QObjects among the first levels of ``root``."""
    found: dict[int, str] = {}
    todo = [(label, root, 0)]
    seen: set[int] = set()
    while todo:
        path, value, depth = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, qobject):
            found.setdefault(id(value), path)
            continue
        if depth < _DEPTH:
            todo.extend((p, v, depth + 1) for p, v in _children(value, path))
    return found


class _Pickler(pickle.Pickler):
    """Protocol 5; QObjects by reference (they stay home); ``bytearray`` and
    ``memoryview`` (which the C pickler keeps in band, or refuses) handed to
    ``buffer_callback`` as well, through ``persistent_id`` (called for every object)."""

    def __init__(
        self,
        file: io.BytesIO,
        buffer_callback: Callable[[pickle.PickleBuffer], bool] | None,
        home: dict[int, str] | None,
        qobject: type | None,
        lists: tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]] | None = None,
    ) -> None:
        super().__init__(file, protocol=5, buffer_callback=buffer_callback)
        self._home = home
        self._qobject = qobject
        self._callback = buffer_callback
        # (where the callback records a segment it used, where the named ones go)
        self._lists = lists

    def persistent_id(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is bytearray or kind is memoryview:
            return self._buffer(obj)
        qobject = self._qobject
        if qobject is not None and isinstance(obj, qobject):
            paths = self._home or {}
            return ("qbackground-home", paths.get(id(obj), "a QObject of the task"), type_name(obj))
        return None

    def _buffer(self, obj: bytearray | memoryview) -> Any:
        view = memoryview(obj)
        fmt, shape = view.format, view.shape or ()
        if not view.contiguous:
            view = memoryview(view.tobytes())
        callback, lists = self._callback, self._lists
        if callback is not None and lists is not None:
            if not callback(pickle.PickleBuffer(view)):  # it went into a segment
                entry = lists[0].pop()
                lists[1].append(entry)
                return ("qbackground-segment", type(obj) is bytearray, entry, fmt, shape)
        if type(obj) is bytearray:
            return None  # in band, as usual
        return ("qbackground-bytes", view.tobytes(), fmt, shape)


def _view(buffer: Any, fmt: str, shape: Any) -> memoryview:
    view: Any = memoryview(buffer).cast("B")
    return memoryview(view.cast(fmt, list(shape)) if fmt != "B" or len(shape) != 1 else view)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, buffers: list[memoryview], named: dict[str, Any]) -> None:
        super().__init__(file, buffers=buffers)
        self._mapped = named

    def persistent_load(self, pid: Any) -> Any:
        tag = pid[0] if isinstance(pid, tuple) and pid else None
        if tag == "qbackground-home":
            return StaysHome(pid[1], pid[2])
        if tag == "qbackground-segment":
            _, is_bytearray, (name, offset, nbytes), fmt, shape = pid
            data = memoryview(self._mapped[name])[offset : offset + nbytes]
            return bytearray(data) if is_bytearray else _view(data, fmt, shape)
        if tag == "qbackground-bytes":
            return _view(pid[1], pid[2], pid[3])
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


class SharedArrays:
    """NumPy arrays allocated in shared memory in this process (``lifecycle.shared_array``).

    Sending such an array sends only its segment's name: no copy at all. A segment
    whose name was sent belongs to the receiver (which unlinks it when it maps it);
    the others are unlinked by :meth:`release` when the task ends.

    Example::

        arrays = SharedArrays(_shm.Namer("qb1x1w1_a"))
        image = arrays.allocate((480, 640), "uint8")
    """

    def __init__(self, namer: _shm.Namer) -> None:
        self._namer = namer
        self._segments: list[tuple[int, int, str]] = []  # (address, size, name)
        self._sent: set[str] = set()

    def allocate(self, shape: Any, dtype: Any) -> Any:
        """A zero-filled NumPy array of ``shape`` and ``dtype`` in a new segment."""
        import numpy

        kind = numpy.dtype(dtype)
        count = 1
        for size in (shape if isinstance(shape, tuple) else (shape,)):
            count *= int(size)
        nbytes = max(1, count * kind.itemsize)
        name = self._namer.next()
        mapping = _shm.create(name, nbytes)
        array = numpy.ndarray(shape, dtype=kind, buffer=mapping)
        self._segments.append((array.ctypes.data, nbytes, name))
        return array

    def locate(self, raw: memoryview) -> tuple[str, int] | None:
        """The segment and offset ``raw`` lies in, if it is one of ours."""
        if not self._segments:
            return None
        import numpy

        address = numpy.frombuffer(raw, dtype=numpy.uint8).ctypes.data
        for start, size, name in self._segments:
            if start <= address and address + raw.nbytes <= start + size:
                self._sent.add(name)
                return name, address - start
        return None

    def release(self) -> None:
        """Unlink the segments whose name was never sent (the task ended)."""
        for _, _, name in self._segments:
            if name not in self._sent:
                _shm.unlink(name)
        self._segments.clear()
        self._sent.clear()


def encode(
    value: object,
    *,
    label: str,
    where: str,
    threshold: int | None,
    namer: _shm.Namer | None,
    arrays: SharedArrays | None = None,
) -> Envelope:
    """Pickle ``value`` for another process; buffers of ``threshold`` bytes or more
    go into new shared-memory segments named by ``namer`` (None: all in band).

    Raises:
        Unsendable: a part of ``value`` cannot be pickled; the message names its path
            (``label`` is the root's name, ``where`` the destination).

    Example::

        envelope = encode(task, label="task", where="a worker process",
                          threshold=1 << 20, namer=names)
    """
    qobject = _qobject_type()
    home = _paths(value, label, qobject) if qobject is not None else None
    created: list[str] = []
    segments: list[tuple[str, int, int]] = []
    named: list[tuple[str, int, int]] = []
    use_shm = threshold is not None and namer is not None and _shm.AVAILABLE

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            raw = buffer.raw()
        except BufferError:  # not contiguous: in band
            return True
        nbytes = raw.nbytes
        if threshold is None or namer is None or nbytes < max(threshold, 1):
            return True
        located = arrays.locate(raw) if arrays is not None else None
        if located is not None:
            segments.append((located[0], located[1], nbytes))
            return False
        name = namer.next()
        mapping = _shm.create(name, nbytes)
        created.append(name)
        try:
            memoryview(mapping)[:] = raw
        finally:
            mapping.close()
        segments.append((name, 0, nbytes))
        return False

    sink = io.BytesIO()
    try:
        _Pickler(sink, out_of_band if use_shm else None, home, qobject, (segments, named)).dump(value)
    except Exception as exc:
        for name in created:
            _shm.unlink(name)
        raise Unsendable(find_unsendable(value, label, where, exc)) from None
    except BaseException:
        for name in created:
            _shm.unlink(name)
        raise
    return Envelope(sink.getvalue(), tuple(segments), tuple(named))


def decode(envelope: Envelope, cache: dict[str, mmap.mmap] | None = None) -> Any:
    """The object ``envelope`` carries; its segments are mapped (and unlinked) here.

    ``cache`` keeps the mappings of one task, so a segment sent twice (a shared array
    published, then returned) is mapped once.

    Example::

        result = decode(envelope)
    """
    mapped: dict[str, mmap.mmap] = {}
    failure: BaseException | None = None
    for name, _, _ in (*envelope.segments, *envelope.named):
        if name in mapped:
            continue
        try:  # map them all, even after a failure: each one mapped is unlinked
            mapping = cache.get(name) if cache is not None else None
            if mapping is None:
                mapping = _shm.attach(name)
                if cache is not None:
                    cache[name] = mapping
            mapped[name] = mapping
        except OSError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    buffers = [
        memoryview(mapped[name])[offset : offset + nbytes]
        for name, offset, nbytes in envelope.segments
    ]
    return _Unpickler(io.BytesIO(envelope.payload), buffers, mapped).load()


def find_unsendable(value: object, label: str, where: str, exc: BaseException) -> str:
    """``"<path>: <type> cannot be sent to <where> (<why>); <what to do>"`` for the
    deepest part of ``value`` that does not pickle (``exc``: the error pickling it all).

    Example::

        find_unsendable(task, "task", "a worker process", exc)
        # "task.conn: socket.socket cannot be sent to a worker process (...)"
    """
    path, part, error = label, value, exc
    qobject = _qobject_type()
    for _ in range(_DEPTH):
        for child_path, child in _children(part, path):
            child_error = _pickle_error(child, qobject)
            if child_error is not None:
                path, part, error = child_path, child, child_error
                break
        else:
            break
    why = f"{type(error).__name__}: {error}"
    hint = (
        "a lambda or a function defined inside another cannot be sent: define it at module "
        "level"
        if callable(part) and ("<lambda>" in why or "<locals>" in why or "local" in why)
        else "keep locks, open files, sockets and connections out of what is sent (open them "
        "in run()), and define classes at module level; QObjects (widgets) may stay: they "
        "are left in the GUI process"
    )
    return f"{path}: {type_name(part)} cannot be sent to {where} ({why}); {hint}"


def _pickle_error(value: object, qobject: type | None) -> Exception | None:
    try:
        _Pickler(io.BytesIO(), None, None, qobject).dump(value)
    except Exception as exc:
        return exc
    return None
