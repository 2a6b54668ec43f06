"""The smoke test of the "Owner window" page (:class:`~demo_app.scenarios.owner.OwnerPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

from qbackground.qt import is_alive

from qbackground import TaskInterruptedError, TaskStatus

from ...owner_windows import WINDOW, ReportDialog
from ...smoke import SmokeContext, SmokeScript
from ..owner import OwnerPage

__all__ = ["smoke"]


def smoke(page: OwnerPage, ctx: SmokeContext) -> SmokeScript:
    """Close a window, hide a window, reject a dialog; check each task's fate."""
    yield ctx.wait_until(page.is_idle, "the page is idle")
    page.steps, page.step_seconds = page.smoke_steps, page.smoke_step_seconds
    try:
        yield from _close(page, ctx)
        yield from _hide(page, ctx)
        yield from _reject(page, ctx)
    finally:
        page.steps, page.step_seconds = type(page).steps, type(page).step_seconds


def _close(page: OwnerPage, ctx: SmokeContext) -> SmokeScript:
    yield from page._scenario_close(ctx)
    run = page.runs[-1]
    window_kind = "a separate top-level window"
    ctx.check(
        run.kind == WINDOW and run.handler is not None and run.section >= 5,
        f"Open window… opened {window_kind} whose task reported progress into it",
    )
    handler = run.handler
    assert handler is not None
    ctx.check(
        handler.status is TaskStatus.INTERRUPTED and not handler.is_alive() and run.closed,
        "close: closing the window interrupted its task at once (status INTERRUPTED)",
        f"status {handler.status.name}, closed {run.closed}",
    )
    yield ctx.wait_until(lambda: run.deleted and run.stopped, "the window was deleted and run() returned")
    yield ctx.pause(0.2, "late callbacks had time to arrive")
    ctx.check(
        run.callbacks == [] and run.after_close == 0,
        "close: silent — no done(), canceled() or error callback, nothing after the close",
        f"callbacks {run.callbacks}, {run.after_close} after the close",
    )
    ctx.check(not is_alive(run.window), "close: the window was deleted (WA_DeleteOnClose)")
    try:
        handler.get_result(timeout=1)
        raised = "nothing"
    except TaskInterruptedError:
        raised = "TaskInterruptedError"
    except BaseException as exc:  # noqa: BLE001 - reported in the check
        raised = type(exc).__name__
    ctx.check(raised == "TaskInterruptedError", "close: get_result() raises TaskInterruptedError", raised)
    ctx.check("INTERRUPTED" in page.window_status.text(), "close: the page shows INTERRUPTED")


def _hide(page: OwnerPage, ctx: SmokeContext) -> SmokeScript:
    page.open_window_button.click()
    run = page.runs[-1]
    window = run.window
    ctx.check(
        window.isWindow() and window.window() is window and window.isVisible(),
        "hide: the report window is a top-level window of its own",
    )
    yield ctx.wait_until(lambda: run.section >= 3, "the window's task built 3 sections")
    page.hide_button.click()
    handler = run.handler
    assert handler is not None
    ctx.check(
        not window.isVisible() and handler.status is TaskStatus.RUNNING and handler.is_alive(),
        "hide: hiding the window did not interrupt its task",
        f"visible {window.isVisible()}, status {handler.status.name}",
    )
    yield ctx.wait_until(lambda: bool(run.callbacks), "the hidden window's task ended", timeout=10)
    ctx.check(
        run.callbacks == ["done"] and handler.status is TaskStatus.DONE,
        "hide: the task finished and done() ran once",
        f"callbacks {run.callbacks}, status {handler.status.name}",
    )
    ctx.check(
        is_alive(window) and window.message.text().startswith("Report ready"),
        "hide: done() updated the hidden window",
        window.message.text() if is_alive(window) else "deleted",
    )
    page.close_button.click()
    yield ctx.wait_until(lambda: run.deleted and run.stopped, "the window closed after its task")
    ctx.check(
        run.callbacks == ["done"] and handler.status is TaskStatus.DONE,
        "hide: closing the window after its task finished changed nothing",
        f"callbacks {run.callbacks}, status {handler.status.name}",
    )


def _reject(page: OwnerPage, ctx: SmokeContext) -> SmokeScript:
    yield from page._scenario_reject(ctx)
    run = page.runs[-1]
    handler = run.handler
    assert handler is not None and isinstance(run.window, ReportDialog)
    ctx.check(
        handler.status is TaskStatus.INTERRUPTED and not handler.is_alive() and run.closed,
        "reject: reject() finished the dialog and interrupted its task at once (INTERRUPTED)",
        f"status {handler.status.name}, closed {run.closed}",
    )
    yield ctx.wait_until(lambda: run.deleted and run.stopped, "the dialog was deleted and run() returned")
    yield ctx.pause(0.2, "late callbacks had time to arrive")
    ctx.check(
        run.callbacks == [] and run.after_close == 0,
        "reject: silent — no callback, nothing touched the deleted dialog",
        f"callbacks {run.callbacks}, {run.after_close} after the close",
    )
    ctx.check(page.is_idle(), "every window is closed and every task's run() returned")
