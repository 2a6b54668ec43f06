"""The smoke step of the demo window's :class:`~qbackground.widgets.CloseGuard`."""

from __future__ import annotations

from qtpy.QtWidgets import QApplication

from .scenarios import SubmitPage
from .smoke import SmokeContext, SmokeScript
from .window import MainWindow

__all__ = ["close_guard_smoke"]


def close_guard_smoke(window: MainWindow, ctx: SmokeContext) -> SmokeScript:
    """Close the window while a page's task runs: the guard asks; "Keep working" keeps
    the window and the task. (The window is never really closed here: the last window
    closing would quit the smoke run; ``tests/test_close_guard.py`` covers stopping.)"""
    guard = window.close_guard
    page = window.show_scenario(SubmitPage)
    page.limit.setValue(2_000_000)
    page.start_button.click()
    yield ctx.wait_until(lambda: page.bar.value() > 0, "the page's task runs", timeout=20)
    ctx.check(guard.tasks() == [page.handler], "the guard sees the page's task as the window's")
    window.close()  # as the title bar's close button, or File > Quit, does
    question = guard.question
    ctx.check(
        window.isVisible() and question is not None and question.isModal(),
        "closing the window while a task runs asks first (a modal question)",
    )
    if question is None:
        return
    ctx.check("Stop them and close the window?" in question.informativeText(), "the question says what it will do",
              question.informativeText())
    [keep] = [button for button in question.buttons() if button.text() == "Keep working"]
    keep.click()
    QApplication.processEvents()
    ctx.check(
        window.isVisible() and guard.question is None and page.handler is not None and page.handler.is_alive(),
        '"Keep working" keeps the window open and the task running',
    )
    page.cancel()
    yield ctx.wait_until(page.is_idle, "the task was cancelled", timeout=10)
    yield ctx.wait_until(lambda: not guard.tasks(), "the guard sees no task left", timeout=10)
    window.show_page(window.pages[0])
