"""The smoke test of the "asyncio: simulated downloads" page (:class:`~demo_app.scenarios.downloads.DownloadsPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

from qbackground import TaskStatus, background_worker

from ...smoke import SmokeContext, SmokeScript
from ..downloads import DownloadsPage

__all__ = ["smoke"]


def smoke(page: DownloadsPage, ctx: SmokeContext) -> SmokeScript:
    yield from _finish(page, ctx)
    yield from _cancel(page, ctx)


def _finish(page: DownloadsPage, ctx: SmokeContext) -> SmokeScript:
    count = page.smoke_count
    ctx.check(page.is_idle(), "the page starts idle (Start enabled, Cancel all disabled)")
    yield ctx.pause(0.05, "the page is laid out")
    columns = [page.table.columnWidth(column) for column in range(page.table.columnCount())]
    page.count_spin.setValue(count)
    ctx.check(
        bool(page.record.plans) or page.overall_bar.text() == f"0 of {count} downloads done",
        "before the first batch, the overall bar counts the N downloads to come",
        page.overall_bar.text(),
    )
    page.start_button.click()
    ctx.check(
        not page.start_button.isEnabled() and page.cancel_button.isEnabled() and len(page.handlers) == count,
        f"Start launched {count} downloads; Start is disabled and Cancel all enabled",
        f"{len(page.handlers)} handlers",
    )
    yield ctx.wait_until(page.is_idle, "every download ended", timeout=15)
    yield ctx.pause(0.05, "the page is laid out again")
    ctx.check(
        [page.table.columnWidth(column) for column in range(page.table.columnCount())] == columns,
        "the table's columns kept their width as the statuses and sizes arrived",
        f"{columns} → {[page.table.columnWidth(column) for column in range(page.table.columnCount())]}",
    )
    record = page.record
    ctx.check(
        record.terminal == [["done"]] * count,
        "done() ran exactly once for every download",
        page.outcome_label.text(),
    )
    ctx.check(
        record.received == [plan.size for plan in record.plans],
        "every download received all its bytes",
        f"{sum(record.received)} of {sum(plan.size for plan in record.plans)} bytes",
    )
    ctx.check(
        0 < record.progress_calls and record.late_callbacks == 0,
        "progress() reported bytes so far, never after done()",
        f"{record.progress_calls} calls, {record.late_callbacks} late",
    )
    ctx.check(
        page.overall_bar.value() == page.overall_bar.maximum() == count,
        f"the overall progress bar shows {count} of {count} done",
        f"{page.overall_bar.value()} of {page.overall_bar.maximum()}",
    )
    seconds = record.seconds or 0.0
    ctx.check(
        record.longest <= seconds,
        "the batch took at least as long as its longest download",
        f"{seconds:.2f} s, longest {record.longest:.2f} s",
    )
    ctx.check(
        seconds < record.total / 2,
        "the downloads overlapped (far less time than their sleeps added up)",
        f"{seconds:.2f} s, added up {record.total:.1f} s",
    )
    ctx.check(
        f"{seconds:.2f} s" in page.elapsed_label.text(),
        "the elapsed time is shown",
        repr(page.elapsed_label.text()),
    )
    ctx.check(
        all(handler.status is TaskStatus.DONE for handler in page.handlers),
        "the handler statuses are DONE",
        f"{sorted({handler.status.name for handler in page.handlers})}",
    )
    ctx.check(
        not background_worker().active_handlers(),
        "no handler is left running after the batch",
        f"{len(background_worker().active_handlers())} active handlers",
    )


def _cancel(page: DownloadsPage, ctx: SmokeContext) -> SmokeScript:
    count = page.smoke_count
    page.start_button.click()
    yield ctx.wait_until(lambda: page.record.progress_calls > 0, "the first bytes arrived", timeout=10)
    record = page.record
    done_before = record.count("done")
    page.cancel_button.click()
    ctx.check(
        done_before == 0 and record.terminal == [["canceled"]] * count,
        "Cancel all part way ran canceled() exactly once for every download (at once)",
        f"{done_before} done before the click; {page.outcome_label.text()}",
    )
    ctx.check(
        0 < sum(record.received) < sum(plan.size for plan in record.plans),
        "the downloads were part way when cancelled",
        f"{sum(record.received)} bytes received",
    )
    ctx.check(page.is_idle(), "after Cancel all the UI is idle again")
    ctx.check(
        page.overall_bar.value() == 0, "the overall progress bar shows 0 done", f"{page.overall_bar.value()}"
    )
    ctx.check(
        all(handler.status is TaskStatus.CANCELLED for handler in page.handlers),
        "the handler statuses are CANCELLED",
        f"{sorted({handler.status.name for handler in page.handlers})}",
    )
    ctx.check(
        not background_worker().active_handlers(),
        "nothing is left running (no active handlers)",
        f"{len(background_worker().active_handlers())} active handlers",
    )
    yield ctx.pause(0.5, "late callbacks had time to arrive")
    ctx.check(
        record.late_callbacks == 0 and record.terminal == [["canceled"]] * count,
        "no callback arrived after canceled()",
        f"{record.late_callbacks} late callbacks; {page.outcome_label.text()}",
    )
