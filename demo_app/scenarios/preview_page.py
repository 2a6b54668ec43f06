"""Scenario "Live preview (debounce)": a slider re-renders a preview in the background,
latest wins, only once the drag pauses (DESIGN §8: ``key``, ``policy``, ``debounce``)."""

from __future__ import annotations

import math
import threading

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from qbackground import BackgroundTask, BackgroundTaskHandler, TaskLifeCycle, TaskStatus, background_worker

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, selectable, show_outcome, steady

__all__ = ["PreviewPage", "PreviewTask", "render_preview"]

DEBOUNCE = 0.15
"""Seconds without a newer move before the preview starts."""

_CODE = f"""\
slider.valueChanged.connect(lambda value: worker.handle(
    PreviewTask(page, value),  # owner=page
    key="preview", policy="replace", debounce={DEBOUNCE},
).execute())"""


def render_preview(value: int, lifecycle: TaskLifeCycle[None]) -> str:
    """The "expensive" preview of ``value``: a checksum of a small sampled curve, a few
    tenths of a second of work that stops on cancel."""
    total = 0.0
    for chunk in range(10):
        lifecycle.sleep(0.02)  # raises TaskInterruptedError once superseded or cancelled
        total += sum(math.sin(value * 0.01 * (chunk * 100 + i)) for i in range(100))
    return f"preview of {value}: checksum {total:+.3f}"


class PreviewTask(BackgroundTask[None, str]):
    """Renders the preview of one slider value; reports to its :class:`PreviewPage`."""

    def __init__(self, page: PreviewPage, value: int) -> None:
        super().__init__(owner=page)
        self.page = page
        self.value = value

    def run(self, lifecycle: TaskLifeCycle[None]) -> str:
        self.page.count_run(self.value)  # on the task thread
        return render_preview(self.value, lifecycle)

    def done(self, result: str) -> None:
        self.page.on_done(self.value, result)

    def canceled(self) -> None:
        self.page.on_superseded(self.value)


class PreviewPage(Scenario):
    """Every slider move executes a keyed, debounced handler: a drag runs one preview."""

    title = "Live preview (debounce)"
    name = "preview"
    summary = (
        "Each move of the slider calls <code>execute()</code> on a handler with "
        f"<code>key=\"preview\", policy=\"replace\", debounce={DEBOUNCE}</code>. A newer move "
        "supersedes the waiting one (its <code>canceled()</code> runs), so a whole drag starts "
        "exactly one <code>run()</code>, for the value the slider stopped at."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.executes = 0
        self.runs: list[int] = []
        self._runs_lock = threading.Lock()
        self.superseded = 0
        self.results: list[tuple[int, str]] = []
        box = QGroupBox("Drag the slider")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.valueChanged.connect(self.request)
        self.value_label = steady(QLabel("0"), "100", bold=True)
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout.addLayout(row)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.executes_label = steady(QLabel("0"), "99,999")
        self.runs_label = steady(QLabel("0"), "99,999")
        self.superseded_label = steady(QLabel("0"), "99,999")
        self.result_label = steady(QLabel("—"), "preview of 100: checksum +99.999", bold=True)
        selectable((self.result_label,))
        form.addRow("execute() calls:", self.executes_label)
        form.addRow("run() calls:", self.runs_label)
        form.addRow("Superseded (canceled):", self.superseded_label)
        form.addRow("Last result:", self.result_label)
        layout.addLayout(form)
        code = QLabel(f"<pre>{_CODE}</pre>")
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(code)
        self.body.addWidget(box)
        log_group, self.log = log_box("What reached the GUI thread", "Move the slider.")
        self.body.addWidget(log_group, 1)
        self.log.start_section()

    def active(self) -> BackgroundTaskHandler[str] | None:
        """The newest alive preview handler, or None."""
        handler = background_worker().active_handler("preview")
        return handler

    def is_idle(self) -> bool:
        return self.active() is None

    def request(self, value: int) -> None:
        """A slider move: execute a new keyed, debounced preview handler."""
        self.value_label.setText(str(value))
        self.executes += 1
        background_worker().handle(
            PreviewTask(self, value), key="preview", policy="replace", debounce=DEBOUNCE
        ).execute()
        show_outcome(self.result_label, f"waiting for the drag to pause ({value})…")
        self._show_counts()

    def reset(self) -> None:
        """Zero the counters (the smoke run starts from a clean slate)."""
        self.executes = self.superseded = 0
        with self._runs_lock:
            self.runs = []
        self.results = []
        self.log.start_section()
        self._show_counts()

    def count_run(self, value: int) -> None:
        """Called by ``run()`` on the task thread."""
        with self._runs_lock:
            self.runs.append(value)

    def on_done(self, value: int, result: str) -> None:
        self.results.append((value, result))
        self.log.stamp(f"done({result!r}) after {self.executes} execute() calls")
        show_outcome(self.result_label, result, "done")
        self._show_counts()

    def on_superseded(self, value: int) -> None:
        self.superseded += 1
        self._show_counts()

    def _show_counts(self) -> None:
        self.executes_label.setText(f"{self.executes:,}")
        with self._runs_lock:
            runs = len(self.runs)
        self.runs_label.setText(f"{runs:,}")
        self.superseded_label.setText(f"{self.superseded:,}")

    def _drag(self, start: int, stop: int) -> None:
        for value in range(start, stop):  # one drag: a move per value, no pause
            self.slider.setValue(value)
            QApplication.processEvents()  # the event loop runs between moves, as in a real drag

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        self.reset()
        self._drag(1, 61)
        yield ctx.wait_until(lambda: self.is_idle() and bool(self.results), "the preview rendered", timeout=10)
        yield ctx.pause(0.2, "the status bar caught up (it refreshes once per frame)")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        self.reset()
        self.slider.setValue(0)
        self.reset()
        self._drag(1, 51)
        ctx.check(self.executes == 50, "50 slider moves executed 50 handlers", f"{self.executes}")
        waiting = self.active()
        ctx.check(
            waiting is not None and waiting.status is TaskStatus.QUEUED and not self.runs,
            "during the drag no preview started: the newest one waits for a pause (debounce)",
            f"{None if waiting is None else waiting.status.name}, runs {self.runs}",
        )
        yield ctx.wait_until(lambda: self.is_idle() and bool(self.results), "the drag's preview finished", timeout=10)
        with self._runs_lock:
            runs = list(self.runs)
        ctx.check(runs == [50], "the drag ran exactly one run(), for the last value", f"runs {runs}")
        ctx.check(self.superseded == 49, "the 49 superseded handlers each ran canceled()", f"{self.superseded}")
        expected = "preview of 50: checksum"
        ctx.check(
            [v for v, _ in self.results] == [50] and self.results[0][1].startswith(expected),
            "done() ran once, with the last value's preview",
            f"results {self.results}",
        )
        ctx.check(self.result_label.text().startswith(expected), "the page shows the last value's result",
                  self.result_label.text())
