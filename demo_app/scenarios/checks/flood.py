"""The smoke test of the "Progress flood" page (:class:`~demo_app.scenarios.flood.FloodPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

from time import perf_counter, thread_time

from qbackground import TaskStatus

from ...flood_tasks import NAIVE, QBACKGROUND
from ...smoke import SmokeContext, SmokeScript
from ..flood import FloodPage
from ..latency import format_ms

__all__ = ["smoke"]


def smoke(page: FloodPage, ctx: SmokeContext) -> SmokeScript:
    """Flood with qbackground, then the hand-written way (smaller), and compare."""
    yield ctx.wait_until(page.is_idle, "the page is idle")
    ctx.check(page.meter.is_running(), "the latency meter ticks while the page is shown")
    page.qbackground_column.size_spin.setValue(page.qbackground_items)
    page.naive_column.size_spin.setValue(page.smoke_naive_items)
    page.run_both_button.click()
    ctx.check(
        not page.run_both_button.isEnabled() and not page.naive_column.start_button.isEnabled(),
        "while a flood runs, the Start buttons are disabled",
    )
    yield ctx.wait_until(page.is_idle, "both floods ended", timeout=20)
    qb, naive = page.runs.get(QBACKGROUND), page.runs.get(NAIVE)
    ctx.check(qb is not None and naive is not None, "Run both ran both floods", f"runs {list(page.runs)}")
    assert qb is not None and naive is not None
    ctx.check(qb.terminal == ["done"], "qbackground: done() ran exactly once", f"endings {qb.terminal}")
    ctx.check(
        qb.received == qb.total and qb.in_order(),
        f"qbackground: all {qb.total:,} items arrived, in order",
        f"{qb.received:,} received, in order: {qb.in_order()}",
    )
    ctx.check(
        0 < qb.calls <= qb.total // 100,
        "qbackground: progress() calls were coalesced (at most one per 100 items)",
        f"{qb.calls} calls for {qb.total:,} items",
    )
    ctx.check(
        naive.terminal == ["done"] and naive.received == naive.total and naive.in_order(),
        f"one signal per item: all {naive.total:,} items arrived, in order, one slot call each",
        f"{naive.received:,} received in {naive.calls:,} calls, in order: {naive.in_order()}",
    )
    ctx.check(
        qb.measured and naive.measured and page.meter.ticks > 0,
        "the heartbeat measured both floods to their end",
        f"{page.meter.ticks} ticks",
    )
    # A figure, not a check: how late the GUI thread ran depends on the machine's load
    # (performance is measured by make bench, not by a pass/fail smoke test).
    ctx.report(
        f"worst GUI stall: qbackground {format_ms(qb.worst)} ({qb.total:,} items), "
        f"one signal per item {format_ms(naive.worst)} ({naive.total:,} items)"
    )
    ctx.check(
        "in order ✓" in page.qbackground_column.received_label.text()
        and page.qbackground_column.bar.value() == qb.total,
        "the qbackground column shows every item received",
        page.qbackground_column.received_label.text(),
    )
    ctx.check(
        page.qbackground_column.calls_label.text() == f"{qb.calls:,}"
        and "ms" in page.qbackground_column.stall_label.text(),
        "the qbackground column shows the progress() calls and the stall",
        f"{page.qbackground_column.calls_label.text()!r}, {page.qbackground_column.stall_label.text()!r}",
    )
    handler = page.handler
    ctx.check(
        handler is not None and handler.status is TaskStatus.DONE and not handler.is_alive(),
        "qbackground: the handler status is DONE",
        f"status {handler.status.name if handler else None}",
    )
    yield ctx.pause(0.1, "late deliveries had time to arrive")
    ctx.check(
        qb.late_callbacks == 0 and naive.late_callbacks == 0,
        "nothing arrived after either flood ended",
        f"late: qbackground {qb.late_callbacks}, one signal per item {naive.late_callbacks}",
    )
    ctx.check(
        all(flood.returned for flood in page._naive_floods),
        "the hand-written flood's QRunnable was kept alive until its run() returned",
    )
    ctx.check(
        page.qbackground_column.is_final(qb) and page.naive_column.is_final(naive),
        "once measured, both columns' read-outs are final (an idle refresh skips them)",
    )
    cpu_before, wall_before = thread_time(), perf_counter()
    yield ctx.pause(1.0, "the page sat idle for a second")
    cpu, wall = thread_time() - cpu_before, perf_counter() - wall_before
    ctx.report(f"idle after the floods: the GUI thread used {cpu / wall:.0%} of a core over {wall:.1f} s")
