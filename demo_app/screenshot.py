"""``--screenshot``: a smoke script that saves a picture of the window mid-task."""

from __future__ import annotations

from pathlib import Path

from .scenarios import ThreadTaskPage
from .smoke import SmokeContext, SmokeScript
from .window import MainWindow

__all__ = ["screenshot_script"]


def screenshot_script(window: MainWindow, path: Path, ctx: SmokeContext, at_percent: int = 45) -> SmokeScript:
    """Start the thread task, grab the window at ``at_percent`` %, save it, cancel the task.

    Example::

        runner = SmokeRunner([("screenshot", partial(screenshot_script, window, path))], watchdog=30)
    """
    page = window.show_scenario(ThreadTaskPage)
    yield ctx.wait_until(page.is_idle, "the thread task page is idle")
    page.start_button.click()
    yield ctx.wait_until(
        lambda: page.progress_bar.value() >= at_percent,
        f"the progress bar shows {at_percent} %",
        timeout=15,
    )
    pixmap = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    ctx.check(
        not pixmap.isNull() and pixmap.save(str(path), "PNG"),
        f"screenshot saved to {path} ({pixmap.width()}×{pixmap.height()})",
    )
    page.cancel_button.click()
    yield ctx.wait_until(page.is_idle, "the task was cancelled after the screenshot")
