"""SVG bar charts of a run's headline numbers, for the performance page.

No plotting library: each chart is a small hand-written SVG (one horizontal bar per
row of a table, for the table's first numeric column), so ``make bench`` needs nothing
beyond the dev extra and the charts diff well in git.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from ._report import Table

__all__ = ["chart_svg", "write_plots"]

_NUMBER = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(ns|µs|us|ms|s|x|tasks/s)?\b")
_TO_MS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}

_BAR = 22
_GAP = 8
_TOP = 44
_COLOURS = {"qbackground": "#2a7ab9", "superqt": "#b9772a", "raw": "#8a8a8a"}


def _parse(cell: str) -> tuple[float, str] | None:
    """``"28.7 ms (33.3 ms)"`` → ``(28.7, "ms")``; time units are converted to ms."""
    match = _NUMBER.match(cell)
    if match is None:
        return None
    value = float(match.group(1).replace(",", ""))
    unit = match.group(2) or ""
    if unit in _TO_MS:
        return value * _TO_MS[unit], "ms"
    return value, unit


def _headline(table: Table) -> tuple[int, str] | None:
    """The first column with a number in at least two rows, and its unit."""
    for index, _name in enumerate(table.columns):
        parsed = [_parse(row.cells[index]) for row in table.rows if index < len(row.cells)]
        numbers = [p for p in parsed if p is not None and math.isfinite(p[0])]
        if len(numbers) >= 2:
            return index, numbers[0][1]
    return None


def _label(row_peer: str, cells: Sequence[str], table: Table) -> str:
    """The peer, plus the first text column when peers repeat (e.g. the cancel mode)."""
    first = cells[0] if cells and _parse(cells[0]) is None else ""
    return f"{row_peer} · {first}" if first and len(table.rows) > len({r.peer for r in table.rows}) else row_peer


def chart_svg(table: Table) -> str | None:
    """The table's headline column as a bar chart, or None when it has no numbers."""
    found = _headline(table)
    if found is None:
        return None
    index, unit = found
    bars: list[tuple[str, str, float, str]] = []
    for row in table.rows:
        if index >= len(row.cells):
            continue
        parsed = _parse(row.cells[index])
        if parsed is None or not math.isfinite(parsed[0]):
            continue
        bars.append((row.peer, _label(row.peer, row.cells, table), parsed[0], row.cells[index].split(" (")[0]))
    if len(bars) < 2:
        return None
    top = max(value for _, _, value, _ in bars) or 1.0
    # About 7.5 px per character at 13 px: wide enough for the longest label.
    label_width = max(160, round(max(len(label) for _, label, _, _ in bars) * 7.5) + 16)
    width = max(round(len(table.title) * 8) + 16, label_width + 420)  # the title is bold
    heading = re.sub(r"\s*\(.*\)$", "", table.columns[index])  # "wall time median (worst)"
    height = _TOP + len(bars) * (_BAR + _GAP) + 24
    span = width - label_width - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="8" y="20" font-weight="bold">{escape(table.title)}</text>',
        f'<text x="8" y="36" fill="#555">{escape(heading)}'
        f'{" (" + unit + ")" if unit else ""}; '
        f'{"higher" if unit in ("tasks/s", "x") else "lower"} is better</text>',
    ]
    for i, (peer, label, value, text) in enumerate(bars):
        y = _TOP + i * (_BAR + _GAP)
        bar = max(1.0, span * value / top)
        colour = next((c for key, c in _COLOURS.items() if peer.startswith(key)), "#5a9e5a")
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        # Side by side, the PyQt6 bar of a peer is a lighter shade of its PySide6 bar.
        shade = ' fill-opacity="0.6"' if peer.endswith("· PyQt6") else ""
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{bar:.1f}" height="{_BAR}" fill="{colour}"{shade}/>'
        )
        parts.append(f'<text x="{label_width + bar + 6:.1f}" y="{y + 16}">{escape(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_plots(tables: Sequence[Table], folder: Path) -> list[Path]:
    """Write ``bench-<number>.svg`` for every table that has a headline number."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for table in tables:
        svg = chart_svg(table)
        if svg is None:
            continue
        number = table.title.split(".")[0].strip().lower()
        path = folder / f"bench-{number}.svg"
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written
