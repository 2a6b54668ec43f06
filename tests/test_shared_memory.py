"""Off-process tasks (DESIGN §7): GUI references stay home, big buffers travel through
shared memory, and no segment outlives what uses it (``/dev/shm`` listed before/after)."""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest
from qtpy.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from qbackground import BackgroundWorker, IllegalConcurrentAccessError, QBackgroundError
from qbackground.backends import _sending, _shm

from .shm_tasks import Buffers, HoldsSocket, Lingers, WithWidgets

MiB = 1 << 20


def segments() -> set[str]:
    """Our segments in /dev/shm (every test process's, by prefix)."""
    return {name for name in os.listdir("/dev/shm") if name.startswith("qb")}


@pytest.fixture(scope="module")
def pworker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(processes=2, process_grace=0.3)
    yield worker
    assert worker.shutdown(timeout=10)


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the segments the GUI process creates during the test."""
    names: list[str] = []
    real = _shm.create

    def spy(name: str, size: int) -> mmap.mmap:
        names.append(name)
        return real(name, size)

    monkeypatch.setattr(_shm, "create", spy)
    return names


def run(worker: BackgroundWorker, qtbot: QtBot, task: Any, **kwargs: Any) -> Any:
    handler = worker.handle(task, executor="process", **kwargs)
    handler.execute()
    qtbot.waitUntil(lambda: task.ended != "", timeout=30_000)
    return handler


def maps_a_segment(value: Any) -> bool:
    """``value`` is a view of a shared-memory mapping (no copy of its own)."""
    base = value
    while isinstance(base, numpy.ndarray) and base.base is not None:
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


# -- GUI references stay home ----------------------------------------------------------


def test_widgets_stay_home_and_callbacks_use_them(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = WithWidgets(5)
    label, bar = task.label, task.bar
    run(pworker, qtbot, task)
    assert task.ended == "done", task.error
    pid, seen = task.result
    assert pid != os.getpid()
    assert "task.label" in seen and "QLabel" in seen  # a placeholder in the worker
    assert task.label is label and task.bar is bar  # the original object, real widgets
    assert label.text() == f"done in {pid}" and bar.value() == 5


def test_touching_a_widget_in_the_worker_names_it(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = WithWidgets(1, touch="label")
    run(pworker, qtbot, task)
    assert isinstance(task.error, IllegalConcurrentAccessError)
    assert f"task.label is a {QLabel.__module__}.QLabel, which stays in the GUI process" in str(task.error)
    assert ".setText" in str(task.error)


def test_an_unpicklable_attribute_is_named(pworker: BackgroundWorker, qtbot: QtBot) -> None:
    task = HoldsSocket()
    try:
        run(pworker, qtbot, task)
    finally:
        task.conn.close()
    assert isinstance(task.error, QBackgroundError)
    message = str(task.error)
    assert message.startswith("task.conn: socket.socket cannot be sent to a worker process ("), message
    assert "_sending" not in message and "Pickler" not in message


# -- big buffers through shared memory ----------------------------------------------------


@pytest.mark.parametrize("kind", ["array", "shared", "bytearray", "memoryview"])
def test_big_buffers_come_back_through_shared_memory(
    pworker: BackgroundWorker, qtbot: QtBot, created: list[str], kind: str
) -> None:
    before = segments()
    payload = bytearray(b"a") * (2 * MiB) + b"z"  # an argument going to the worker
    task = Buffers(kind, 3 * MiB, payload)
    run(pworker, qtbot, task)
    assert task.ended == "done", task.error
    value, received = task.result
    assert received == (2 * MiB + 1, b"a", b"z")
    assert len(created) == 1  # the argument went through a segment, not the pipe
    assert bytes(value[:1]) == b"\x03" and len(value) == 3 * MiB
    assert bytes(task.items[0][-1:]) == b"\x01" and task.events[0][0] == "frame"
    assert bytes(task.events[0][1][:1]) == b"\x02"
    if kind in ("array", "shared"):
        assert maps_a_segment(value) and maps_a_segment(task.items[0])
        assert value.flags.writeable
    if kind == "memoryview":
        assert isinstance(value, memoryview) and isinstance(value.obj, mmap.mmap)
    if kind == "shared":
        assert len(task.items) == 2
        assert numpy.shares_memory(task.items[0], task.items[1])  # one segment, mapped once
    assert segments() == before  # names unlinked as soon as they were mapped


def test_small_buffers_stay_in_the_pipe(
    pworker: BackgroundWorker, qtbot: QtBot, created: list[str]
) -> None:
    task = Buffers("array", MiB - 1, bytearray(100))
    run(pworker, qtbot, task)
    assert task.ended == "done" and not created
    assert task.result[0].flags.owndata or not maps_a_segment(task.result[0])


def test_threshold_setting(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QBACKGROUND_SHARED_MEMORY_THRESHOLD", "4096")
    worker = BackgroundWorker()
    try:
        assert worker._processes.shared_memory_threshold == 4096
    finally:
        worker.shutdown()
    with pytest.raises(ValueError, match="shared_memory_threshold must be at least 1"):
        BackgroundWorker(shared_memory_threshold=0)
    monkeypatch.setenv("QBACKGROUND_SHARED_MEMORY_THRESHOLD", "lots")
    with pytest.raises(ValueError, match="QBACKGROUND_SHARED_MEMORY_THRESHOLD='lots'"):
        BackgroundWorker()


def test_shared_array_elsewhere_is_a_plain_array(worker: BackgroundWorker, qtbot: QtBot) -> None:
    task = Buffers("shared", 1000)
    worker.handle(task, executor="thread").execute()
    qtbot.waitUntil(lambda: task.ended != "", timeout=10_000)
    assert task.ended == "done" and task.result[0].flags.owndata


# -- lifetime: no segment left behind -----------------------------------------------------


@pytest.mark.parametrize("how", ["return", "raise"])
def test_no_segment_left_after_success_or_failure(
    pworker: BackgroundWorker, qtbot: QtBot, how: str
) -> None:
    before = segments()
    task = Lingers(how)
    run(pworker, qtbot, task)
    assert task.ended == ("done" if how == "return" else "error")
    if how == "return":
        assert maps_a_segment(task.result) and int(task.result[0]) == 5
        del task.result
    assert segments() == before


@pytest.mark.parametrize("end", ["cancel", "timeout", "owner", "kill", "stubborn"])
def test_no_segment_left_after_an_interruption(
    pworker: BackgroundWorker, qtbot: QtBot, end: str
) -> None:
    before = segments()
    owner = QWidget() if end == "owner" else None
    if owner is not None:
        qtbot.addWidget(owner)
        owner.show()
    how = {"kill": "kill", "stubborn": "stubborn"}.get(end, "wait")
    task = Lingers(how, timeout=1.0 if end == "timeout" else None, owner=owner)
    handler = pworker.handle(task, executor="process")
    handler.execute()
    qtbot.waitUntil(lambda: "started" in [i for i in task.items if isinstance(i, str)] or task.ended != "", timeout=30_000)
    if end in ("cancel", "stubborn"):
        handler.cancel()
    elif end == "owner":
        assert owner is not None
        assert owner.close()  # interrupts silently: no callback
    expected = {"cancel": "canceled", "stubborn": "canceled", "timeout": "timeout", "kill": "error"}
    if end == "owner":  # no callback: the handler is decided, silently
        qtbot.waitUntil(lambda: not handler.is_alive(), timeout=30_000)
    else:  # is_alive() turns false when the outcome is decided, before its callback runs
        qtbot.waitUntil(lambda: task.ended != "", timeout=30_000)
    assert task.ended == expected.get(end, "")
    # the worker process finished (or was replaced) before the segments went
    qtbot.waitUntil(lambda: segments() == before, timeout=10_000)


def test_no_segment_left_after_shutdown(qapp: QApplication, qtbot: QtBot) -> None:
    before = segments()
    worker = BackgroundWorker(processes=1, process_grace=0.2)
    task = Lingers("stubborn")
    worker.handle(task, executor="process").execute()
    qtbot.waitUntil(lambda: "started" in [i for i in task.items if isinstance(i, str)], timeout=30_000)
    assert segments() != before or True  # (the kept array lives in the worker)
    assert worker.shutdown(timeout=10)
    assert segments() == before


APP = """
import os, sys
from qtpy.QtWidgets import QApplication
from qbackground import BackgroundWorker
sys.path.insert(0, {root!r})
{block}
from tests.shm_tasks import {task}

if __name__ == "__main__":
    app = QApplication([])
    worker = BackgroundWorker(processes=1, process_grace=0.2)
    task = {make}
    worker.handle(task, executor="process").execute()
    while task.ended == "" and "started" not in [i for i in task.items if isinstance(i, str)]:
        app.processEvents()
    print(task.ended or "started", type(task.result).__name__, flush=True)
    os._exit(0) if {hard} else sys.exit(0)  # no shutdown(): the application just exits
"""


@pytest.mark.parametrize(
    ("task", "make", "block", "expect"),
    [
        ("Lingers", "Lingers('stubborn')", "", "started NoneType"),  # a running task at exit
        # without NumPy, bytearray still goes through shared memory
        ("Buffers", "Buffers('bytearray', 3 << 20)", "sys.modules['numpy'] = None", "done tuple"),
    ],
)
def test_no_segment_left_after_the_application_exits(
    tmp_path: Path, task: str, make: str, block: str, expect: str
) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP.format(root=root, block=block, task=task, make=make, hard=False)))
    before = segments()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QBACKGROUND_SHARED_MEMORY_THRESHOLD": str(MiB)}
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect, out.stderr
    assert segments() == before


def test_unsendable_names_paths_inside_containers() -> None:
    import threading

    class Holder:
        pass

    holder = Holder()
    holder.parts = [1, {"lock": threading.Lock()}]  # type: ignore[attr-defined]
    with pytest.raises(_sending.Unsendable) as info:
        _sending.encode(holder, label="task", where="a worker process", threshold=None, namer=None)
    assert str(info.value).startswith(
        "task.parts[1]['lock']: _thread.lock cannot be sent to a worker process"
    ) or "Holder" in str(info.value)
