"""Scenario "Folder import (group)": twelve files imported as one ``TaskGroup`` with
``fail_fast`` and ``max_parallel`` (DESIGN §9): one overall bar, one Cancel all."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qbackground import BackgroundTask, BackgroundTaskHandler, TaskGroup, TaskLifeCycle, TaskStatus, background_worker

from ..smoke import SmokeContext, SmokeScript
from .base import Scenario
from .widgets import log_box, show_outcome, sized_buttons, status_label, steady

__all__ = ["CorruptFile", "ImportFileTask", "ImportPage"]

FILES = tuple(f"photo-{n:02d}.jpg" for n in range(1, 13))
"""The simulated folder."""
BROKEN = FILES[6]
"""The file that fails when "Make one file fail" is checked."""
MAX_PARALLEL = 3
_STEPS = 10

_CODE = f"""\
group = worker.group(owner=page, fail_fast=True, max_parallel={MAX_PARALLEL})
for name in files:
    group.handle(ImportFileTask(name)).execute()
group.when_done(lambda g: summary.setText(...))
cancel_all.clicked.connect(group.cancel)   # bar: group.fraction"""


class CorruptFile(Exception):
    """The simulated failure of one file's import."""


class ImportFileTask(BackgroundTask[None, int]):
    """Imports one simulated file in :data:`_STEPS` steps; ``fail`` raises half way."""

    def __init__(self, page: ImportPage, name: str, *, fail: bool, step_seconds: float) -> None:
        super().__init__()
        self.page = page
        self.name = name
        self.fail = fail
        self.step_seconds = step_seconds

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        lifecycle.set_total(_STEPS)
        for step in range(1, _STEPS + 1):
            lifecycle.sleep(self.step_seconds)  # raises TaskInterruptedError once cancelled
            if self.fail and step == _STEPS // 2:
                raise CorruptFile(f"{self.name}: not a JPEG file")
            lifecycle.set_message(f"importing {self.name}")
            lifecycle.set_progress(step)
        return 1000 + len(self.name)

    def fraction_changed(self, fraction: float) -> None:
        self.page.refresh()

    def done(self, result: int) -> None:
        self.page.refresh()

    def canceled(self) -> None:
        self.page.refresh()

    def handle_exception(self, exc: BaseException) -> bool:
        self.page.on_failure(self.name, exc)
        return True  # shown by the page; fail_fast cancels the siblings


class ImportPage(Scenario):
    """Imports :data:`FILES` as one group: the first failure stops the rest."""

    title = "Folder import (group)"
    name = "import"
    summary = (
        f"<code>worker.group(fail_fast=True, max_parallel={MAX_PARALLEL})</code> imports twelve "
        "files as one job: the bar is <code>group.fraction</code>, at most three run at once "
        "(the rest wait <code>QUEUED</code> in the group), <i>Cancel all</i> is "
        "<code>group.cancel()</code>, and the first failure cancels every sibling. "
        "<code>when_done</code> runs once, after every member's last callback."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group: TaskGroup[int] | None = None
        self.members: list[BackgroundTaskHandler[int]] = []
        self.when_done_calls = 0
        self.failures: list[str] = []
        self.step_seconds = 0.08
        box = QGroupBox("Import a folder of 12 files")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.start_button = QPushButton("Import")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel all")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.fail_box = QCheckBox(f"Make {BROKEN} fail")
        for button in sized_buttons((self.start_button, self.cancel_button)):
            row.addWidget(button)
        row.addWidget(self.fail_box)
        row.addStretch(1)
        self.status = status_label()
        row.addWidget(self.status)
        layout.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p % of the folder")
        layout.addWidget(self.bar)
        self.summary_label = steady(QLabel("—"), "stopped: photo-07.jpg: not a JPEG file (5 done, 6 cancelled)", bold=True)
        layout.addWidget(self.summary_label)
        self.member_list = QListWidget()
        self.member_list.setMinimumHeight(120)
        layout.addWidget(self.member_list, 1)
        code = QLabel(f"<pre>{_CODE}</pre>")
        code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(code)
        self.body.addWidget(box, 1)
        log_group, self.log = log_box("What reached the GUI thread", "Press Import.")
        log_group.setMaximumHeight(140)
        self.body.addWidget(log_group)

    def is_idle(self) -> bool:
        return self.group is None or not self.group.is_alive()

    def start(self) -> None:
        """The Import button: one group, a member per file."""
        if not self.is_idle():
            return
        self.when_done_calls = 0
        self.failures = []
        self.log.start_section()
        group: TaskGroup[int] = background_worker().group(owner=self, fail_fast=True, max_parallel=MAX_PARALLEL)
        self.group = group
        fail = self.fail_box.isChecked()
        self.members = [
            group.handle(ImportFileTask(self, name, fail=fail and name == BROKEN, step_seconds=self.step_seconds))
            for name in FILES
        ]
        for member in self.members:
            member.execute()
        group.when_done(self._on_group_done)
        self.log.stamp(f"group of {len(self.members)} files, fail_fast, max_parallel={MAX_PARALLEL}")
        show_outcome(self.summary_label, "importing…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("running")
        self.refresh()

    def cancel(self) -> None:
        """Cancel all: ``group.cancel()``."""
        if self.group is not None and self.group.cancel():
            self.log.stamp("group.cancel() → True")
        self.refresh()

    def counts(self) -> dict[TaskStatus, int]:
        """How many members are in each status."""
        found: dict[TaskStatus, int] = {}
        for member in self.members:
            found[member.status] = found.get(member.status, 0) + 1
        return found

    def on_failure(self, name: str, exc: BaseException) -> None:
        self.failures.append(name)
        self.log.stamp(f"{name}: handle_exception({type(exc).__name__}: {exc}); fail_fast cancels the rest")
        self.refresh()

    def refresh(self) -> None:
        """Redraw the bar and the member list from the group and its handlers."""
        group = self.group
        if group is None:
            return
        self.bar.setValue(round(group.fraction * 1000))
        lines = []
        for name, member in zip(FILES, self.members):
            fraction = member.fraction
            percent = "" if fraction is None else f"  {fraction:4.0%}"
            lines.append(f"{name}   {member.status.name}{percent}")
        if self.member_list.count() != len(lines):
            self.member_list.clear()
            self.member_list.addItems(lines)
        else:
            for row, line in enumerate(lines):
                item = self.member_list.item(row)
                if item.text() != line:
                    item.setText(line)

    def _on_group_done(self, group: TaskGroup[Any]) -> None:
        self.when_done_calls += 1
        counts = self.counts()
        done = counts.get(TaskStatus.DONE, 0)
        cancelled = counts.get(TaskStatus.CANCELLED, 0)
        self.log.stamp(f"when_done: {done} done, {cancelled} cancelled, {counts.get(TaskStatus.FAILED, 0)} failed")
        if self.failures:
            text = f"stopped: {self.failures[0]} failed ({done} done, {cancelled} cancelled)"
            show_outcome(self.summary_label, text, "failed")
        elif cancelled:
            show_outcome(self.summary_label, f"cancelled ({done} done, {cancelled} cancelled)", "canceled")
        else:
            show_outcome(self.summary_label, f"imported all {done} files", "done")
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText("")
        self.refresh()

    def prepare_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        self.fail_box.setChecked(False)
        self.start_button.click()
        yield ctx.wait_until(lambda: self.counts().get(TaskStatus.DONE, 0) >= 4, "4 files imported", timeout=20)

    def finish_screenshot(self, ctx: SmokeContext) -> SmokeScript:
        self.cancel()
        yield ctx.wait_until(lambda: self.when_done_calls == 1, "cancelled")

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        self.step_seconds = 0.02
        self.fail_box.setChecked(False)
        self.start_button.click()
        ctx.check(self.counts().get(TaskStatus.QUEUED, 0) >= len(FILES) - MAX_PARALLEL,
                  f"max_parallel={MAX_PARALLEL}: the others wait QUEUED", f"{self.counts()}")
        yield ctx.wait_until(lambda: self.when_done_calls > 0, "the clean import finished", timeout=30)
        ctx.check(self.counts() == {TaskStatus.DONE: len(FILES)}, "a clean import ends with every member DONE",
                  f"{self.counts()}")
        ctx.check(self.bar.value() == 1000, "the overall bar (group.fraction) reached 100 %", f"{self.bar.value()}")
        ctx.check(self.member_list.count() == len(FILES) and all(
            "DONE" in self.member_list.item(row).text() for row in range(len(FILES))),
            "the member list shows every file DONE")
        yield ctx.pause(0.2, "nothing more arrives")
        ctx.check(self.when_done_calls == 1, "when_done ran exactly once", f"{self.when_done_calls}")

        self.fail_box.setChecked(True)
        self.start_button.click()
        yield ctx.wait_until(lambda: self.when_done_calls > 0, "the failing import ended", timeout=30)
        statuses = [member.status for member in self.members]
        broken = FILES.index(BROKEN)
        ctx.check(statuses[broken] is TaskStatus.FAILED and self.failures == [BROKEN],
                  f"{BROKEN} FAILED, handled once", f"{statuses[broken].name}, {self.failures}")
        others = statuses[:broken] + statuses[broken + 1:]
        ctx.check(all(s in (TaskStatus.DONE, TaskStatus.CANCELLED) for s in others),
                  "every other member ended DONE or CANCELLED", f"{[s.name for s in statuses]}")
        ctx.check(all(s is TaskStatus.CANCELLED for s in statuses[broken + MAX_PARALLEL:]),
                  "fail_fast cancelled the siblings still waiting", f"{[s.name for s in statuses]}")
        ctx.check("stopped: photo-07.jpg failed" in self.summary_label.text(), "the summary names the failure",
                  self.summary_label.text())
        yield ctx.pause(0.2, "nothing more arrives")
        ctx.check(self.when_done_calls == 1, "when_done ran exactly once for the failing run too",
                  f"{self.when_done_calls}")
        self.fail_box.setChecked(False)

        self.start_button.click()
        yield ctx.wait_until(lambda: self.counts().get(TaskStatus.DONE, 0) >= 2, "two files imported", timeout=30)
        self.cancel_button.click()
        yield ctx.wait_until(lambda: self.when_done_calls > 0, "Cancel all ended the group", timeout=30)
        counts = self.counts()
        ctx.check(
            counts.get(TaskStatus.CANCELLED, 0) > 0 and set(counts) <= {TaskStatus.DONE, TaskStatus.CANCELLED},
            "Cancel all cancelled every member not yet done",
            f"{counts}",
        )
        ctx.check(self.summary_label.text().startswith("cancelled"), "the summary says cancelled",
                  self.summary_label.text())
        self.step_seconds = 0.08
