"""``--screenshot``: a smoke script that saves a picture of a page mid-task."""

from __future__ import annotations

from pathlib import Path

from .scenarios import Scenario
from .smoke import SmokeContext, SmokeScript
from .window import MainWindow

__all__ = ["screenshot_script"]


def screenshot_script(window: MainWindow, path: Path, page: Scenario, ctx: SmokeContext) -> SmokeScript:
    """Show ``page``, let it prepare (say, start its task), grab the window, save it, clean up.

    What the page does before and after the picture is up to its
    :meth:`~demo_app.scenarios.Scenario.prepare_screenshot` and
    :meth:`~demo_app.scenarios.Scenario.finish_screenshot`.

    Example::

        script = partial(screenshot_script, window, path, window.page_named("thread"))
        runner = SmokeRunner([("screenshot", script)], watchdog=30)
    """
    window.show_page(page)
    yield ctx.wait_until(page.is_idle, f"the {page.title.lower()} page is idle")
    yield from page.prepare_screenshot(ctx)
    pixmap = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    ctx.check(
        not pixmap.isNull() and pixmap.save(str(path), "PNG"),
        f"screenshot saved to {path} ({pixmap.width()}×{pixmap.height()})",
    )
    yield from page.finish_screenshot(ctx)
