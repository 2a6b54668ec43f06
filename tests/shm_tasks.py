"""Module-level tasks for the shared-memory and GUI-references tests (process and Dask)."""

from __future__ import annotations

import os
import signal
import socket
import time
from typing import Any

from qtpy.QtWidgets import QLabel, QProgressBar

from qbackground import BackgroundTask, TaskLifeCycle


class _Recorder(BackgroundTask[Any, Any]):
    """Records its callbacks on the GUI side."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result: Any = None
        self.items: list[Any] = []
        self.events: list[tuple[str, Any]] = []
        self.error: BaseException | None = None
        self.ended = ""

    def progress(self, changes: list[Any]) -> None:
        self.items.extend(changes)

    def handle_event(self, name: str, data: Any) -> None:
        self.events.append((name, data))

    def done(self, result: Any) -> None:
        self.result = result
        self.ended = "done"

    def canceled(self) -> None:
        self.ended = "canceled"

    def handle_exception(self, exc: BaseException) -> bool:
        self.error = exc
        self.ended = "error"
        return True

    def handle_timeout_exception(self) -> bool:
        self.ended = "timeout"
        return True


class WithWidgets(_Recorder):
    """Keeps a QLabel and a QProgressBar; updates them from progress() and done()."""

    def __init__(self, steps: int, touch: str = "") -> None:
        super().__init__()
        self.label = QLabel("waiting")
        self.bar = QProgressBar()
        self.bar.setRange(0, steps)
        self.steps = steps
        self.touch = touch  # "label": run() touches self.label

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        if self.touch == "label":
            self.label.setText("from the worker")
        seen = repr(self.label)  # repr() of a placeholder is allowed
        for step in range(1, self.steps + 1):
            lifecycle.publish(step)
        return (os.getpid(), seen)

    def progress(self, changes: list[Any]) -> None:
        super().progress(changes)
        self.bar.setValue(changes[-1])

    def done(self, result: Any) -> None:
        super().done(result)
        self.label.setText(f"done in {result[0]}")


class HoldsSocket(_Recorder):
    """An attribute that cannot be pickled (and is not a QObject)."""

    def __init__(self) -> None:
        super().__init__()
        self.conn = socket.socket()

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        return 1


class Buffers(_Recorder):
    """Sends buffers back: ``kind`` is array, shared, bytearray, memoryview or small."""

    def __init__(self, kind: str, nbytes: int, payload: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.nbytes = nbytes
        self.payload = payload  # a big argument going the other way

    def make(self, lifecycle: TaskLifeCycle[Any], fill: int) -> Any:
        if self.kind == "bytearray":
            return bytearray([fill]) * self.nbytes
        if self.kind == "memoryview":
            return memoryview(bytearray([fill]) * self.nbytes)
        import numpy

        if self.kind == "shared":
            array = lifecycle.shared_array(self.nbytes, "uint8")
            array.fill(fill)
            return array
        return numpy.full(self.nbytes, fill, dtype=numpy.uint8)

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        received = None
        if self.payload is not None:
            received = (len(self.payload), bytes(self.payload[:1]), bytes(self.payload[-1:]))
        item = self.make(lifecycle, 1)
        lifecycle.publish(item)
        lifecycle.send_event("frame", self.make(lifecycle, 2))
        if self.kind == "shared":
            lifecycle.publish(item)  # the same segment twice
        lifecycle.flush()
        return (self.make(lifecycle, 3), received)


class Lingers(_Recorder):
    """Allocates (or publishes) a big buffer, then ends as ``how`` says."""

    def __init__(self, how: str, nbytes: int = 4 << 20, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.how = how
        self.nbytes = nbytes

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        import numpy

        kept = lifecycle.shared_array(self.nbytes, "uint8")
        kept.fill(5)
        lifecycle.publish(numpy.ones(self.nbytes, dtype=numpy.uint8))  # a copy in a segment
        lifecycle.publish("started")
        lifecycle.flush()
        if self.how == "raise":
            raise ValueError("failed after publishing")
        if self.how == "kill":  # mid-transfer: a segment made, its message never sent
            lifecycle.shared_array(self.nbytes, "uint8")
            os.kill(os.getpid(), signal.SIGKILL)
        if self.how == "wait":  # until cancelled, timed out, or the owner closes
            while True:
                lifecycle.sleep(0.01)
        if self.how == "stubborn":  # ignores the cancel: killed after the grace
            time.sleep(60)
        return kept
