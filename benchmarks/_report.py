"""Statistics, verdicts and Markdown rendering for the benchmark tables."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version

from PySide6 import __version__ as pyside_version
from qtpy.QtCore import qVersion

__all__ = [
    "Check",
    "Row",
    "Summary",
    "Table",
    "environment_line",
    "fmt_count",
    "fmt_ms",
    "fmt_ns",
    "fmt_ratio",
    "fmt_us",
    "render",
    "summarize",
    "verdict",
]

REFERENCE = "reference"
"""Verdict cell of a peer row that carries no target."""


@dataclass(frozen=True)
class Summary:
    """Median, smallest and largest of a list of samples (``n`` of them)."""

    median: float
    low: float
    high: float
    n: int


def summarize(samples: Sequence[float]) -> Summary:
    """Median/min/max of ``samples`` (NaN everywhere when empty).

    Example::

        assert summarize([3.0, 1.0, 2.0]).median == 2.0
    """
    if not samples:
        nan = float("nan")
        return Summary(nan, nan, nan, 0)
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


def fmt_ms(seconds: float) -> str:
    """Seconds as milliseconds with sensible precision ("0.04 ms", "12.3 ms", "1,234 ms")."""
    if seconds != seconds:  # NaN
        return "—"
    ms = seconds * 1000
    if abs(ms) < 1:
        return f"{ms:.3f} ms"
    if abs(ms) < 100:
        return f"{ms:.1f} ms"
    return f"{ms:,.0f} ms"


def fmt_us(seconds: float) -> str:
    """Seconds as microseconds ("12.3 µs")."""
    if seconds != seconds:
        return "—"
    return f"{seconds * 1e6:,.1f} µs"


def fmt_ns(seconds: float) -> str:
    """Seconds as nanoseconds ("215 ns")."""
    if seconds != seconds:
        return "—"
    return f"{seconds * 1e9:,.0f} ns"


def fmt_count(value: float) -> str:
    """A rate or count with thousands separators ("12,345")."""
    if value != value:
        return "—"
    return f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    """A speed-up factor ("57.3x")."""
    if value != value:
        return "—"
    return f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"


@dataclass(frozen=True)
class Check:
    """One target of a row: ``ok`` against the target, ``aim_ok`` against the stretch aim.

    ``aim_ok`` is None when the target has no separate aim; ``aim`` names it.
    """

    name: str
    ok: bool
    aim_ok: bool | None = None
    aim: str = ""
    note: str = ""


def verdict(checks: Sequence[Check]) -> str:
    """"PASS", "PASS (aims met)", "PASS (aim missed: x)" or "FAIL: x, y".

    Example::

        assert verdict([Check("stall", True, True)]) == "PASS (aims met)"
    """
    failed = [c.name for c in checks if not c.ok]
    notes = [c.note for c in checks if c.note]
    if failed:
        text = "**FAIL**: " + ", ".join(failed)
    else:
        aims = [c for c in checks if c.aim_ok is not None]
        missed = [c.aim or c.name for c in aims if not c.aim_ok]
        if missed:
            text = "PASS (aim missed: " + ", ".join(missed) + ")"
        elif aims:
            text = "PASS (aims met)"
        else:
            text = "PASS"
    if notes:
        text += "; " + "; ".join(notes)
    return text


@dataclass(frozen=True)
class Row:
    """One peer's line: its metric cells, the target text and the verdict."""

    peer: str
    cells: Sequence[str]
    target: str = "—"
    result: str = REFERENCE


@dataclass
class Table:
    """One scenario's result table with a short explanation above it."""

    title: str
    description: str
    columns: Sequence[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        """The table as Markdown (heading, description, table, notes)."""
        header = ["peer", *self.columns, "target", "result"]
        lines = [f"## {self.title}", "", self.description, ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in self.rows:
            cells = [row.peer, *row.cells, row.target, row.result]
            lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - everything is installed in the venv
        return "not installed"


def environment_line(*, quick: bool, repeat: int, trials: int) -> str:
    """The header line: date, interpreter, library versions, CPU count and sizes."""
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "QUICK smoke sizes (not representative)" if quick else "full sizes"
    return (
        f"{date} · Python {platform.python_version()} · PySide6 {pyside_version} "
        f"(Qt {qVersion()}) · superqt {_package_version('superqt')} · "
        f"qbackground {_package_version('qbackground')} · {os.cpu_count()} CPUs · "
        f"{platform.system()} {platform.machine()} · {mode}, repeat {repeat}, "
        f"latency trials {trials}"
    )


def render(header: str, tables: Sequence[Table], footer: Sequence[str] = ()) -> str:
    """The whole results document."""
    parts = ["# qbackground benchmarks", "", header, ""]
    for table in tables:
        parts.append(table.to_markdown())
        parts.append("")
    parts.extend(footer)
    return "\n".join(parts).rstrip() + "\n"
