"""Entry point: build the application and window, then run interactively or automatically."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from functools import partial

import qbackground.qt  # noqa: F401  (before qtpy: qbackground decides the binding, PySide6 by default)
from qtpy.QtCore import QMessageLogContext, QtMsgType, QTimer, qInstallMessageHandler, qVersion
from qtpy.QtGui import QStatusTipEvent
from qtpy.QtWidgets import QApplication

from qbackground import background_worker
from qbackground.qt import qt_binding

from .cli import Options, parse_args
from .close_guard_smoke import close_guard_smoke
from .scenarios import Scenario
from .screenshot import screenshot_script
from .smoke import HardDeadline, SmokeContext, SmokeRunner, SmokeScript, SmokeStep
from .window import MainWindow

__all__ = ["main"]

_OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints()"

_HARD_DEADLINE_GRACE = 10.0
"""Seconds the hard deadline waits beyond the watchdog (see :class:`HardDeadline`)."""

_PROCESSES = 2
"""Worker processes of the default worker, unless ``QBACKGROUND_PROCESSES`` says otherwise:
the CPU page splits its work into two tasks, so more would only cost start-up time."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code.

    Example::

        raise SystemExit(main(["--smoke"]))
    """
    options = parse_args(argv)
    if options.binding is not None and options.binding != qt_binding():
        # Called in a process that already runs on the other binding (python -m demo_app
        # applies --binding before Qt is imported; a second binding cannot be loaded).
        print(
            f"python -m demo_app: error: --binding {options.binding}, but Qt was already imported "
            f"as {qt_binding()}; pass --binding (or set QT_API) before anything imports Qt",
            file=sys.stderr,
        )
        return 2
    # Read when background_worker() first creates the default worker, in MainWindow().
    os.environ.setdefault("QBACKGROUND_PROCESSES", str(_PROCESSES))
    qInstallMessageHandler(_drop_offscreen_noise)
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("qbackground demo")
    window = MainWindow()
    first_page = window.page_named(options.page) if options.page is not None else window.pages[0]
    window.show_page(first_page)
    window.show()
    try:
        steps = _automatic_steps(window, first_page, options)
        if not steps:
            return app.exec()
        # First line of an automatic run: which binding it ran on (tests/test_demo_smoke.py).
        print(f"demo: runs on {window.binding} (QT_API={qt_binding()}, Qt {qVersion()})", flush=True)
        runner = SmokeRunner(steps, watchdog=options.watchdog)
        runner.finished.connect(app.exit)
        QTimer.singleShot(0, runner.start)
        with HardDeadline(options.watchdog + _HARD_DEADLINE_GRACE):
            code = app.exec()
        return code if runner.result is None else runner.result
    finally:
        window.close()
        app.processEvents()


def _drop_offscreen_noise(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Print Qt's messages to stderr, except the offscreen platform's harmless complaint
    about size hints (one line each time a label's text changes the window's minimum)."""
    if message != _OFFSCREEN_NOISE:
        print(message, file=sys.stderr, flush=True)


def _automatic_steps(window: MainWindow, first_page: Scenario, options: Options) -> list[SmokeStep]:
    """The scripts ``--screenshot`` (of ``first_page``) and ``--smoke`` ask for, in order
    (none: interactive)."""
    steps: list[SmokeStep] = []
    if options.screenshot is not None:
        steps.append(("screenshot", partial(screenshot_script, window, options.screenshot, first_page)))
    if options.smoke:
        errors: list[BaseException] = []
        background_worker().unhandled_exception.connect(lambda _task, exc: errors.append(exc))
        for page in window.pages:
            steps.append((page.title.lower(), partial(_page_smoke, window, page)))
        steps.append(("window", partial(_window_smoke, window)))
        steps.append(("close guard", partial(close_guard_smoke, window)))
        steps.append(("worker", partial(_worker_smoke, errors)))
    return steps


def _page_smoke(window: MainWindow, page: Scenario, ctx: SmokeContext) -> SmokeScript:
    """Show ``page`` (so a watcher sees it run), then run its smoke test."""
    window.show_page(page)
    yield from page.smoke(ctx)


def _window_smoke(window: MainWindow, ctx: SmokeContext) -> SmokeScript:
    """The title and status bar name the Qt binding; the status bar's text survives the
    menus' status tips (hovering the File menu)."""
    text = window.status_text.text()
    ctx.check(
        window.binding.split()[0] == {"pyside6": "PySide6", "pyqt6": "PyQt6"}[qt_binding()]
        and window.binding in window.windowTitle()
        and window.binding in text,
        "the window title and the status bar name the Qt binding",
        f"{window.windowTitle()!r}, {text!r}",
    )
    QApplication.sendEvent(window, QStatusTipEvent("Quit the demo"))
    ctx.check(
        window.statusBar().currentMessage() == "Quit the demo",
        "a menu's status tip shows in the status bar",
        repr(window.statusBar().currentMessage()),
    )
    QApplication.sendEvent(window, QStatusTipEvent(""))  # the pointer left the menu item
    yield ctx.wait_until(window.status_text.isVisible, "the status text is shown again", timeout=2)
    ctx.check(
        window.status_text.text() == text and window.statusBar().currentMessage() == "",
        "after a status tip, the status bar shows its own text again",
        repr(window.status_text.text()),
    )


def _worker_smoke(errors: list[BaseException], ctx: SmokeContext) -> SmokeScript:
    """Last step: nothing went unhandled, and every thread and process stops on shutdown."""
    ctx.check(
        not errors,
        "no exception reached BackgroundWorker.unhandled_exception",
        "; ".join(f"{type(exc).__name__}: {exc}" for exc in errors),
    )
    ctx.check(
        background_worker().shutdown(timeout=5),
        "every task thread, worker process and the asyncio loop stopped on shutdown()",
    )
    left = multiprocessing.active_children()
    ctx.check(
        not left, "no worker process is left", ", ".join(f"{child.name} (pid {child.pid})" for child in left)
    )
    yield from ()
