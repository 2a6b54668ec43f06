"""Scenario "Image filter in a process": an image blurred in a worker process and shown
without a copy (the result is a view of a shared-memory segment, painted as is)."""

from __future__ import annotations

import mmap
from typing import Any

from qtpy.QtCore import QRect, Qt
from qtpy.QtGui import QImage, QPainter, QPaintEvent
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from qbackground import BackgroundTask, TaskLifeCycle, background_worker

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario

__all__ = ["BlurTask", "ImageFilterPage", "ImageView"]

SIZE = 1024
"""The image is SIZE x SIZE 8-bit grey pixels (1 MiB: the shared-memory threshold)."""


class ImageView(QWidget):
    """Paints a QImage that wraps the array's memory (no pixmap copy)."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(256, 256)
        self.image: QImage | None = None
        self.array: Any = None  # keeps the memory the QImage points at alive

    def show_array(self, array: Any) -> None:
        """Wrap ``array`` (uint8, 2-D, C-contiguous) in a QImage and repaint."""
        self.array = array
        height, width = array.shape
        self.image = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.darkGray)
        if self.image is not None:
            side = min(self.width(), self.height())
            painter.drawImage(QRect(0, 0, side, side), self.image)
        painter.end()


class BlurTask(BackgroundTask[int, Any]):
    """Makes a noisy test image and box-blurs it ``passes`` times, in a worker process.

    ``page`` and ``bar`` are widgets: they stay in the GUI process (placeholders in
    the worker); ``progress()`` and ``done()`` use them on the GUI thread.
    """

    def __init__(self, page: ImageFilterPage, passes: int) -> None:
        super().__init__(timeout=60)
        self.page = page
        self.bar = page.bar
        self.passes = passes

    def run(self, lifecycle: TaskLifeCycle[int]) -> Any:
        import numpy

        rows = numpy.arange(SIZE, dtype=numpy.float32)
        image = numpy.add.outer(rows, rows) * (255.0 / (2 * SIZE))
        image += numpy.random.default_rng(16).normal(0, 40, (SIZE, SIZE)).astype(numpy.float32)
        for step in range(self.passes):
            if lifecycle.is_cancelled():
                return None
            padded = numpy.pad(image, 2, mode="edge")
            total = numpy.zeros_like(image)
            for dy in range(5):
                for dx in range(5):
                    total += padded[dy : dy + SIZE, dx : dx + SIZE]
            image = total / 25.0
            lifecycle.publish(step + 1)
        out = lifecycle.shared_array((SIZE, SIZE), "uint8")  # filled in place, sent by name
        numpy.clip(image, 0, 255, out=image)
        out[:] = image
        return out

    def progress(self, changes: list[int]) -> None:
        self.bar.setValue(changes[-1])

    def done(self, result: Any) -> None:
        self.page.show_result(result)

    def handle_exception(self, exc: BaseException) -> bool:
        self.page.status.setText(f"failed: {type(exc).__name__}: {exc}")
        self.page.running = False
        return True


def maps_shared_memory(array: Any) -> bool:
    """``array`` is a view of a shared-memory mapping (it owns no copy)."""
    base = array
    while getattr(base, "base", None) is not None:
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


class ImageFilterPage(Scenario):
    title = "Image filter in a process"
    name = "image"
    summary = (
        "A 1024×1024 image is blurred in a <b>worker process</b>. The task keeps this page's "
        "widgets (they stay in the GUI process); the result comes back through shared "
        "memory and is painted straight from it: no pickle through a pipe, no copy."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout()
        self.passes = QSpinBox()
        self.passes.setRange(1, 20)
        self.passes.setValue(4)
        self.passes.setPrefix("passes: ")
        self.start = QPushButton("Blur in a worker process")
        self.start.clicked.connect(self.run_filter)
        self.bar = QProgressBar()
        row.addWidget(self.passes)
        row.addWidget(self.start)
        row.addWidget(self.bar, 1)
        self.body.addLayout(row)
        self.status = QLabel("—")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.addWidget(self.status)
        self.view = ImageView()
        self.body.addWidget(self.view, 1)
        self.running = False
        self.result: Any = None

    def is_idle(self) -> bool:
        return not self.running

    def run_filter(self) -> None:
        """Start one blur on the process backend."""
        if self.running:
            return
        self.running = True
        self.bar.setRange(0, self.passes.value())
        self.bar.setValue(0)
        self.status.setText("blurring in a worker process ...")
        background_worker().handle(BlurTask(self, self.passes.value()), executor="process").execute()

    def show_result(self, array: Any) -> None:
        """Show the result (GUI thread); ``array`` is a view of the shared segment."""
        self.running = False
        if array is None:
            self.status.setText("cancelled")
            return
        self.result = array
        self.view.show_array(array)
        where = "a view of shared memory, no copy" if maps_shared_memory(array) else "a copy"
        self.status.setText(f"{array.nbytes:,} bytes back from the worker: {where}")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        self.passes.setValue(2)
        self.start.click()
        yield ctx.wait_until(self.is_idle, "the blur finished", timeout=60)
        ctx.check(self.result is not None, "done() received the image", self.status.text())
        if self.result is None:
            return
        ctx.check(maps_shared_memory(self.result), "the image is a view of a shared segment")
        ctx.check(self.bar.value() == 2, "progress() moved the page's real progress bar")
        ctx.check(self.view.image is not None, "the view paints the array's memory")
        ctx.check(
            abs(float(self.result.mean()) - 127) < 20, "the blurred gradient looks right",
            f"mean {float(self.result.mean()):.1f}",
        )
