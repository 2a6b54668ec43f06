"""The smoke test of the "Dask cluster" page (:class:`~demo_app.scenarios.dask_page.DaskPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

import os
from time import monotonic

from qbackground import TaskStatus

from ...dask_tasks import ChecksumError, squares_total
from ...smoke import SmokeContext, SmokeScript
from ..dask_page import DASK_AVAILABLE, DaskPage, _dask_children

__all__ = ["smoke"]


def smoke(page: DaskPage, ctx: SmokeContext) -> SmokeScript:
    if not DASK_AVAILABLE:
        ctx.check(
            not page.start_button.isEnabled() and "not installed" in page.scheduler_label.text(),
            "distributed is not installed: the page says so and Start cluster is disabled",
        )
        return
    yield from _start(page, ctx)
    yield from _run(page, ctx)
    yield from _cancel(page, ctx)
    yield from _fail(page, ctx)
    yield from _stop(page, ctx)


def _start(page: DaskPage, ctx: SmokeContext) -> SmokeScript:
    ctx.check(
        page.state == "stopped" and page.start_button.isEnabled() and not page.run_button.isEnabled(),
        "the page starts with no cluster (Start cluster enabled, Run disabled)",
    )
    clicked = monotonic()
    page.start_button.click()
    click_seconds = monotonic() - clicked
    ctx.check(
        page.state == "starting" and click_seconds < 0.25,
        "Start cluster returned at once: the cluster is created on a worker thread",
        f"state {page.state}, the click took {click_seconds:.3f} s",
    )
    texts: set[str] = set()

    def started() -> bool:
        texts.add(page.cluster_label.text())
        return page.state != "starting"

    yield ctx.wait_until(started, "the cluster started", timeout=40)
    info = page.info
    ctx.check(
        page.state == "running" and page.executor is not None and info is not None,
        "done() handed the DaskExecutor to the page",
        f"state {page.state}, error {page.cluster_error!r}",
    )
    assert info is not None
    ctx.check(
        len(texts) >= 3,
        "the GUI stayed live while the cluster started (the elapsed-time label kept ticking)",
        f"{len(texts)} distinct texts: {sorted(texts)}",
    )
    ctx.check(
        info.scheduler.startswith("tcp://127.0.0.1:") and len(info.workers) == page.n_workers,
        f"the scheduler listens on loopback with {page.n_workers} workers",
        f"{info.scheduler}, workers {info.workers}",
    )
    ctx.check(
        "disabled" in page.dashboard_label.text() and info.scheduler in page.scheduler_label.text(),
        "the page shows the scheduler's address and that the dashboard is disabled",
        f"{page.scheduler_label.text()!r}, {page.dashboard_label.text()!r}",
    )


def _run(page: DaskPage, ctx: SmokeContext) -> SmokeScript:
    page.run_button.click()
    normal = [index for index, row in enumerate(page.rows) if row.fail_at is None]
    ctx.check(
        all(page.handlers[index].is_alive() for index in normal) and page.cancel_button.isEnabled(),
        f"Run started {len(normal)} tasks on the cluster (Cancel enabled)",
    )
    yield ctx.wait_until(page.is_idle, "the tasks finished", timeout=30)
    records = [page.records[index] for index in normal]
    ctx.check(
        all(record.terminal == ["done"] for record in records),
        "done() ran exactly once per task",
        f"{[record.terminal for record in records]}",
    )
    ctx.check(
        all(record.items == list(range(1, record.steps + 1)) for record in records),
        "progress() received every published step, in order",
        f"{[(len(record.items), record.items[-1:]) for record in records]}",
    )
    ctx.check(
        all(0 < record.progress_calls < len(record.items) for record in records),
        "progress() calls were coalesced (batched on the Dask worker)",
        f"{[(record.progress_calls, len(record.items)) for record in records]}",
    )
    ctx.check(
        all(record.fraction == 1.0 for record in records)
        and all(page.bars[index].value() == 100 for index in normal),
        "every progress bar reached 100 % (set_progress() from the cluster)",
        f"{[page.bars[index].value() for index in normal]}",
    )
    ctx.check(
        all(
            record.result is not None and record.result.total == squares_total(record.steps)
            for record in records
        ),
        "every result is right (the sum of squares)",
        f"{[record.result for record in records]}",
    )
    info = page.info
    ran_on = {record.result.worker for record in records if record.result is not None}
    pids = {record.result.pid for record in records if record.result is not None}
    ctx.check(
        info is not None and ran_on <= set(info.workers) and os.getpid() not in pids,
        "the tasks ran on the cluster's worker processes, not in this process",
        f"workers {sorted(ran_on)}, pids {sorted(pids)}, this process {os.getpid()}",
    )
    ctx.check(
        all(page.handlers[index].status is TaskStatus.DONE for index in normal),
        "the handler statuses are DONE",
        f"{[page.handlers[index].status.name for index in normal]}",
    )


def _cancel(page: DaskPage, ctx: SmokeContext) -> SmokeScript:
    page.run_button.click()
    last = max(index for index, row in enumerate(page.rows) if row.fail_at is None)
    yield ctx.wait_until(lambda: page.bars[0].value() >= 20, "task 1 shows 20 %", timeout=20)
    page.cancel_button.click()
    normal = [index for index, row in enumerate(page.rows) if row.fail_at is None]
    records = [page.records[index] for index in normal]
    ctx.check(
        all(record.terminal == ["canceled"] for record in records),
        "Cancel ran canceled() exactly once per task, at once",
        f"{[record.terminal for record in records]}",
    )
    ctx.check(
        all(page.handlers[index].status is TaskStatus.CANCELLED for index in normal),
        "the handler statuses are CANCELLED",
        f"{[page.handlers[index].status.name for index in normal]}",
    )
    bars_at_cancel = [bar.value() for bar in page.bars]
    ctx.check(
        20 <= bars_at_cancel[0] < 100 and bars_at_cancel[last] < 100,
        "the tasks stopped part way",
        f"{bars_at_cancel}",
    )
    ctx.check(page.is_idle() and page.run_button.isEnabled(), "after Cancel the UI is idle again")
    yield ctx.pause(0.6, "late callbacks had time to arrive (the remote cancel watcher polls)")
    ctx.check(
        all(record.late_callbacks == 0 and record.terminal == ["canceled"] for record in records),
        "no callback arrived after canceled()",
        f"{[(record.late_callbacks, record.terminal) for record in records]}",
    )
    ctx.check(
        [bar.value() for bar in page.bars] == bars_at_cancel,
        "the progress bars did not move after canceled()",
        f"{bars_at_cancel} → {[bar.value() for bar in page.bars]}",
    )


def _fail(page: DaskPage, ctx: SmokeContext) -> SmokeScript:
    index = next(index for index, row in enumerate(page.rows) if row.fail_at is not None)
    row = page.rows[index]
    assert row.fail_at is not None
    page.fail_button.click()
    yield ctx.wait_until(page.is_idle, "the failing task ended", timeout=20)
    record = page.records[index]
    ctx.check(
        record.terminal == ["handle_exception"],
        "after the cancel, the same cluster runs the next task; handle_exception() ran once",
        f"terminal {record.terminal}",
    )
    ctx.check(
        isinstance(record.error, ChecksumError),
        "the remote exception kept its type (demo_app.dask_tasks.ChecksumError)",
        repr(record.error),
    )
    cause = record.error.__cause__ if record.error is not None else None
    remote = str(cause) if cause is not None else ""
    ctx.check(
        "dask_tasks.py" in remote and "_fail" in remote and "ChecksumError" in remote,
        "its __cause__ carries the remote traceback (frames from the Dask worker)",
        remote[-300:],
    )
    ctx.check(
        "ChecksumError" in page.error_label.text() and "_fail" in page.traceback_view.toPlainText()
        and page.tabs.currentIndex() == 1,
        "the page shows the exception type and the remote traceback",
        page.error_label.text(),
    )
    ctx.check(
        record.items == list(range(1, row.fail_at)),
        "every step published before the error arrived first, in order",
        f"{len(record.items)} items, last {record.items[-1:]}",
    )
    ctx.check(
        page.handlers[index].status is TaskStatus.FAILED,
        "the handler status is FAILED",
        page.handlers[index].status.name,
    )


def _stop(page: DaskPage, ctx: SmokeContext) -> SmokeScript:
    page.stop_button.click()
    ctx.check(page.state == "stopping" and not page.stop_button.isEnabled(), "Stop cluster started closing it")
    yield ctx.wait_until(lambda: page.state != "stopping", "the cluster stopped", timeout=20)
    ctx.check(
        page.state == "stopped" and page.executor is None and page.start_button.isEnabled(),
        "the cluster stopped (Start cluster enabled again, Run disabled)",
        f"state {page.state}, error {page.cluster_error!r}",
    )
    yield ctx.wait_until(lambda: not _dask_children(), "the Dask worker processes exited", timeout=10)
    ctx.check(not _dask_children(), "no Dask worker process is left")
    ctx.check(
        not any(handler.is_alive() for handler in page.handlers.values()),
        "no task of the page is left running",
    )
