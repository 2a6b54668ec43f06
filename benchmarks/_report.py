"""Statistics, verdicts and Markdown rendering for the benchmark tables.

No Qt here: the parent process of ``python -m benchmarks`` (which imports no binding)
merges the tables its per-binding child processes report (:class:`BindingRun`, as JSON)
into one document where every table shows each binding's columns side by side.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any


__all__ = [
    "BINDINGS",
    "BINDING_NAMES",
    "BindingRun",
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
    "per_binding_rows",
    "render",
    "side_by_side",
    "summarize",
    "targets_summary",
    "verdict",
]

BINDINGS: tuple[str, ...] = ("pyside6", "pyqt6")
"""The Qt bindings ``python -m benchmarks`` runs on (``QT_API`` values), in column order."""
BINDING_NAMES: dict[str, str] = {"pyside6": "PySide6", "pyqt6": "PyQt6"}
"""``QT_API`` value → the binding's name (also its top-level module)."""

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
    results: Sequence[str] = ()
    """One verdict per binding (side-by-side tables); when empty, ``result`` is the one."""


@dataclass
class Table:
    """One scenario's result table with a short explanation above it."""

    title: str
    description: str
    columns: Sequence[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: int = 0
    """How many leading columns name the row (e.g. "cancel via"), not measure it: side by
    side they are shown once, the measured columns once per binding."""
    result_columns: Sequence[str] = ("result",)
    """Headers of the verdict columns (one per binding side by side)."""

    def to_markdown(self) -> str:
        """The table as Markdown (heading, description, table, notes)."""
        header = ["peer", *self.columns, "target", *self.result_columns]
        lines = [f"## {self.title}", "", self.description, ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in self.rows:
            cells = [row.peer, *row.cells, row.target, *(row.results or [row.result])]
            lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (what a per-binding child process reports)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Table:
        """The table :meth:`to_dict` described.

        Example::

            table = Table("1. x", "", ["a"], [Row("p", ["1"])])
            assert Table.from_dict(table.to_dict()) == table
        """
        fields = dict(data)
        rows = [Row(**{**row, "cells": list(row["cells"])}) for row in fields.pop("rows")]
        fields["columns"] = list(fields["columns"])
        fields["result_columns"] = tuple(fields.get("result_columns", ("result",)))
        return cls(**fields, rows=rows)


@dataclass
class BindingRun:
    """One binding's part of a run: what its child process reported.

    ``error`` is empty when every requested scenario ran; otherwise it says where the run
    stopped, and ``tables`` holds the scenarios that finished before.
    """

    binding: str
    """``"pyside6"`` or ``"pyqt6"``."""
    version: str
    """The binding's package version."""
    qt: str = ""
    """The Qt version the binding runs (``qVersion()``), "" when the child never said."""
    tables: list[Table] = field(default_factory=list)
    seconds: float = float("nan")
    """Wall time of the child's scenarios."""
    error: str = ""

    @property
    def name(self) -> str:
        """The binding's name ("PySide6")."""
        return BINDING_NAMES.get(self.binding, self.binding)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "binding": self.binding,
            "version": self.version,
            "qt": self.qt,
            "tables": [table.to_dict() for table in self.tables],
            "seconds": self.seconds,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BindingRun:
        """The run :meth:`to_dict` described."""
        return cls(
            binding=str(data["binding"]),
            version=str(data["version"]),
            qt=str(data.get("qt", "")),
            tables=[Table.from_dict(table) for table in data.get("tables", [])],
            seconds=float(data.get("seconds", float("nan"))),
            error=str(data.get("error", "")),
        )


def side_by_side(runs: Sequence[BindingRun]) -> list[Table]:
    """One table per scenario with every run's measured columns next to each other.

    Each measured column ``c`` becomes ``c · PySide6``, ``c · PyQt6`` (in the order of
    ``runs``); the row-naming columns (:attr:`Table.keys`) and the target appear once,
    the verdict once per binding (``result · PySide6``...). Rows are matched by peer and
    row-naming cells; a binding that lacks a table or a row (its run stopped early) shows
    "—" and "not run". A note that every binding made alike appears once, the others
    prefixed with the binding's name.
    """
    titles: list[str] = []
    base: dict[str, Table] = {}
    for run in runs:
        for table in run.tables:
            if table.title not in base:
                base[table.title] = table
                titles.append(table.title)
    merged: list[Table] = []
    for title in titles:
        first = base[title]
        keys = first.keys
        measured = list(first.columns[keys:])
        own: list[Table | None] = [
            next((t for t in run.tables if t.title == title), None) for run in runs
        ]
        table = Table(
            title=title,
            description=first.description,
            columns=[*first.columns[:keys]]
            + [f"{column} · {run.name}" for column in measured for run in runs],
            keys=keys,
            result_columns=[f"result · {run.name}" for run in runs],
        )
        order: list[tuple[str, ...]] = []
        found: dict[tuple[int, tuple[str, ...]], Row] = {}
        for index, theirs in enumerate(own):
            for theirs_row in theirs.rows if theirs is not None else []:
                key = (theirs_row.peer, *theirs_row.cells[:keys])
                if key not in order:
                    order.append(key)
                found.setdefault((index, key), theirs_row)
        for key in order:
            rows = [found.get((index, key)) for index in range(len(runs))]
            named = next(row for row in rows if row is not None)
            cells = list(key[1:])
            for offset in range(keys, keys + len(measured)):
                for maybe in rows:
                    present = maybe is not None and offset < len(maybe.cells)
                    cells.append(maybe.cells[offset] if maybe is not None and present else "—")
            results = [maybe.result if maybe is not None else "not run" for maybe in rows]
            table.rows.append(Row(named.peer, cells, named.target, results=results))
        every = [t.notes if t is not None else [] for t in own]
        common = [note for note in every[0] if all(note in notes for notes in every[1:])]
        table.notes.extend(common)
        for run, notes in zip(runs, every):
            table.notes.extend(f"{run.name}: {note}" for note in notes if note not in common)
        merged.append(table)
    return merged


def per_binding_rows(runs: Sequence[BindingRun]) -> list[Table]:
    """The tables with one row per peer and binding ("qbackground · PyQt6"), for charts.

    Rows of a peer on each binding follow each other, in the order of ``runs``.
    """
    titles: list[str] = []
    for run in runs:
        titles.extend(t.title for t in run.tables if t.title not in titles)
    tables: list[Table] = []
    for title in titles:
        own = [(run, next((t for t in run.tables if t.title == title), None)) for run in runs]
        first = next(t for _, t in own if t is not None)
        table = Table(title, first.description, list(first.columns), keys=first.keys)
        for index in range(max(len(t.rows) for _, t in own if t is not None)):
            for run, theirs in own:
                if theirs is not None and index < len(theirs.rows):
                    row = theirs.rows[index]
                    table.rows.append(
                        Row(f"{row.peer} · {run.name}", row.cells, row.target, row.result)
                    )
        tables.append(table)
    return tables


def targets_summary(tables: Sequence[Table]) -> str:
    """The verdict of every row with a target, on each binding: one short Markdown table.

    ``tables`` are :func:`side_by_side` tables.
    """
    if not tables:
        return ""
    lines = [
        "## Targets on each binding",
        "",
        "Every row that carries a target, with its verdict on each binding "
        "(the numbers are in the tables below).",
        "",
        "| scenario | row | target | " + " | ".join(tables[0].result_columns) + " |",
        "|" + "|".join("---" for _ in range(3 + len(tables[0].result_columns))) + "|",
    ]
    for table in tables:
        scenario = table.title.split(" (")[0]
        for row in table.rows:
            if row.target in ("", "—"):
                continue
            name = " · ".join([row.peer, *row.cells[: table.keys]])
            cells = [scenario, name, row.target, *(row.results or [row.result])]
            lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return "\n".join(lines)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - everything is installed in the venv
        return "not installed"


def environment_line(
    runs: Sequence[BindingRun],
    *,
    quick: bool,
    repeat: int,
    trials: int,
    skipped: Sequence[str] = (),
) -> str:
    """The header line: date, interpreter, each binding's versions, the other libraries'
    versions, CPU count and sizes. ``skipped`` are bindings that are not installed.

    Example::

        line = environment_line([BindingRun("pyqt6", "6.11.0", "6.11.0")], quick=True,
                                repeat=1, trials=3)
        assert "PyQt6 6.11.0 (Qt 6.11.0)" in line
    """
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "QUICK smoke sizes (not representative)" if quick else "full sizes"
    bindings = [
        f"{run.name} {run.version}" + (f" (Qt {run.qt})" if run.qt else "")
        + (" — run failed" if run.error else "")
        for run in runs
    ]
    bindings += [f"{BINDING_NAMES.get(b, b)} not installed (not run)" for b in skipped]
    return (
        f"{date} · Python {platform.python_version()} · {' · '.join(bindings)} · "
        f"qtpy {_package_version('qtpy')} · superqt {_package_version('superqt')} · "
        f"qbackground {_package_version('qbackground')} · {os.cpu_count()} CPUs · "
        f"{platform.system()} {platform.machine()} · {mode}, repeat {repeat}, "
        f"latency trials {trials}"
    )


def render(
    header: str,
    tables: Sequence[Table],
    footer: Sequence[str] = (),
    preamble: Sequence[str] = (),
) -> str:
    """The whole results document; ``preamble`` paragraphs go between header and tables."""
    parts = ["# qbackground benchmarks", "", header, ""]
    for paragraph in preamble:
        parts.extend([paragraph, ""])
    for table in tables:
        parts.append(table.to_markdown())
        parts.append("")
    parts.extend(footer)
    return "\n".join(parts).rstrip() + "\n"
