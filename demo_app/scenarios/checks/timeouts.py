"""The smoke test of the "Timeouts" page (:class:`~demo_app.scenarios.timeouts.TimeoutsPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

from qbackground import TaskStatus, TaskTimeoutError

from ...smoke import SmokeContext, SmokeScript
from ..timeouts import CASES, HANDLED, IN_TIME, UNHANDLED, TimeoutsPage, _ms

__all__ = ["smoke"]


def smoke(page: TimeoutsPage, ctx: SmokeContext) -> SmokeScript:
    """Run all three with a short timeout and check each ending."""
    yield ctx.wait_until(page.is_idle, "the page is idle")
    yield ctx.pause(0.05, "the page is laid out")
    widths = [row.bar.width() for row in page.rows.values()]
    page.timeout_spin.setValue(page.smoke_timeout)
    for key, seconds in page.smoke_work.items():
        page.rows[key].work_spin.setValue(seconds)
    page.run_all_button.click()
    ctx.check(
        len(page.runs) == len(CASES) and not page.run_all_button.isEnabled(),
        "Run all three started the three tasks (and disabled itself)",
        f"runs {list(page.runs)}",
    )
    yield ctx.wait_until(page.is_idle, "every task ended and its run() returned", timeout=10)
    yield ctx.pause(0.2, "late callbacks had time to arrive")
    ctx.check(
        [row.bar.width() for row in page.rows.values()] == widths,
        "the progress bars kept their width when the outcomes arrived",
        f"{widths} → {[row.bar.width() for row in page.rows.values()]}",
    )
    limit = f"{page.lateness_limit * 1000:.0f} ms"
    lateness: list[str] = []
    for case in (HANDLED, UNHANDLED):
        run = page.runs[case.key]
        handler = run.handler
        ctx.check(
            run.terminal == ["timeout"],
            f"{case.key}: handle_timeout_exception() ran once, and done() never did",
            f"endings {run.terminal}",
        )
        ctx.check(
            handler is not None and handler.status is TaskStatus.TIMED_OUT and not handler.is_alive(),
            f"{case.key}: the handler status is TIMED_OUT",
            f"status {handler.status.name if handler else None}",
        )
        late = run.lateness
        ctx.check(
            late is not None and -0.002 <= late < page.lateness_limit,
            f"{case.key}: the timeout arrived less than {limit} after the deadline "
            f"({_ms(late)} after it)",
            f"lateness {late}",
        )
        lateness.append(_ms(late))
        stopped = run.stopped_after
        ctx.check(
            stopped is not None and stopped - run.timeout < page.lateness_limit + 0.05,
            f"{case.key}: run() stopped promptly (its sleep() was woken)",
            f"stopped {stopped} s after execute(), timeout {run.timeout}",
        )
        ctx.check(
            0 < run.fraction < 1 and run.late_callbacks == 0,
            f"{case.key}: the progress stopped part way, with nothing after the timeout",
            f"fraction {run.fraction:.2f}, {run.late_callbacks} late callbacks",
        )
        if handler is not None:
            try:
                handler.get_result(timeout=1)
                raised = "nothing"
            except TaskTimeoutError:
                raised = "TaskTimeoutError"
            except BaseException as exc:  # noqa: BLE001 - reported in the check
                raised = type(exc).__name__
            ctx.check(raised == "TaskTimeoutError", f"{case.key}: get_result() raises TaskTimeoutError", raised)
    ctx.check(
        page.runs[HANDLED.key].timed_out_signals == 0,
        "handled: the worker did not emit task_timed_out (handle_timeout_exception() returned True)",
    )
    ctx.check(
        page.runs[UNHANDLED.key].timed_out_signals == 1,
        "unhandled: the worker emitted task_timed_out once",
        f"{page.runs[UNHANDLED.key].timed_out_signals} times",
    )
    in_time = page.runs[IN_TIME.key]
    ended = in_time.ended_after
    ctx.check(
        in_time.terminal == ["done"] and ended is not None and ended < in_time.timeout,
        "in time: done() ran once, before the deadline",
        f"endings {in_time.terminal}, after {ended} s",
    )
    ctx.check(
        in_time.handler is not None and in_time.handler.status is TaskStatus.DONE and in_time.fraction == 1.0,
        "in time: the handler status is DONE and its progress reached 100 %",
        f"status {in_time.handler.status.name if in_time.handler else None}, fraction {in_time.fraction}",
    )
    yield ctx.pause(max(0.0, in_time.timeout - (ended or 0.0)) + 0.05, "the in-time task's deadline passed")
    ctx.check(
        in_time.terminal == ["done"] and in_time.late_callbacks == 0,
        "in time: its deadline passing later changed nothing",
        f"endings {in_time.terminal}",
    )
    texts = [page.rows[case.key].outcome.text() for case in CASES]
    ctx.check(
        texts[0].startswith("timed out · handled")
        and texts[1].startswith("timed out · not handled")
        and texts[2].startswith("done after"),
        f"the outcome column shows each ending (timeouts {' and '.join(lateness)} late)",
        f"{texts}",
    )
    ctx.check(page.run_all_button.isEnabled(), "the page is idle again (Run all three enabled)")
