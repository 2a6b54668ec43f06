"""Command-line options of the demo."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .binding import CHOICES
from .scenarios import SCENARIOS

__all__ = ["Options", "parse_args"]


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    smoke: bool
    """Run every scenario's self-test headless and exit with its result."""
    screenshot: Path | None
    """Save a PNG of the window (showing :attr:`page`, mid-task), then exit."""
    page: str | None
    """The :attr:`~demo_app.scenarios.Scenario.name` of the page to show first and to
    photograph with ``--screenshot`` (``None``: the first page)."""
    watchdog: float
    """Seconds after which an automatic run (smoke or screenshot) counts as failed."""
    binding: str | None = None
    """The Qt binding asked for with ``--binding`` (``"pyside6"`` or ``"pyqt6"``; ``None``:
    ``QT_API``, else PySide6 when both are installed). ``python -m demo_app`` applies it
    before Qt is imported (:func:`demo_app.binding.select_binding`)."""


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse ``argv`` (default: ``sys.argv[1:]``); exits with a usage message on errors.

    Example::

        options = parse_args(["--smoke", "--watchdog", "10"])
        assert options.smoke and options.watchdog == 10.0
        assert parse_args(["--page", "asyncio"]).page == "asyncio"
        assert parse_args(["--binding", "pyqt6"]).binding == "pyqt6"
    """
    parser = argparse.ArgumentParser(
        prog="python -m demo_app",
        description="qbackground demo: background tasks on threads, processes and asyncio, with "
        "progress, messages and cancel.",
        epilog="Set QT_QPA_PLATFORM=offscreen to run --smoke or --screenshot without a display. "
        "The QT_API environment variable (pyside6 or pyqt6) chooses the binding too.",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="run every scenario automatically, print one line per check and exit "
        "(0: all passed, 1: a check failed, 3: the watchdog fired)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="save a PNG of the main window while the --page's task runs, then exit "
        "(with --smoke: take it first, then run the smoke test)",
    )
    names = [scenario.name for scenario in SCENARIOS]
    parser.add_argument(
        "--page",
        metavar="NAME",
        choices=names,
        help="show this page first, and photograph it with --screenshot "
        f"(default: {names[0]}); NAME is one of: {', '.join(names)}",
    )
    parser.add_argument(
        "--watchdog",
        metavar="SECONDS",
        type=_positive_seconds,
        default=120.0,
        help="fail an automatic run that has not finished after SECONDS (default: 120)",
    )
    parser.add_argument(
        "--binding",
        choices=CHOICES,
        help="the Qt binding to run on (default: the QT_API environment variable, else PySide6 "
        "when both are installed); the window's title and status bar name it",
    )
    args = parser.parse_args(argv)
    return Options(
        smoke=args.smoke,
        screenshot=args.screenshot,
        page=args.page,
        watchdog=args.watchdog,
        binding=args.binding,
    )
