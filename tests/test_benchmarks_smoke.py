"""Smoke test for the benchmark suite: ``python -m benchmarks --quick`` runs and reports.

Performance goals live in the benchmark's own tables; this test asserts nothing about
numbers, only that every scenario ran and wrote its table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCENARIO_TITLES = (
    "## 1. Progress flood",
    "## 2. Task round trip",
    "## 3. publish() cost",
    "## 4. cancel() → canceled() latency",
    "## 5. Timeout delivery",
    "## 6a. Process backend: warm round trip",
    "## 6b. Process backend: CPU-bound pure Python",
    "## 7. asyncio backend",
    "## 8. A 20 MB NumPy array result",
)


def test_quick_benchmark_writes_every_table(tmp_path: Path) -> None:
    output = tmp_path / "r.md"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = output.read_text(encoding="utf-8")
    for title in SCENARIO_TITLES:
        assert title in text, f"missing table {title!r} in:\n{text}"
    tables = text.split("\n## ")[1:]
    assert len(tables) == len(SCENARIO_TITLES)
    for table in tables:
        header = next(line for line in table.splitlines() if line.startswith("| peer |"))
        rows = [line for line in table.splitlines() if line.startswith(("| qbackground |", "| qbackground ("))]
        assert header.endswith("| target | result |")
        assert rows, f"no qbackground row in:\n{table}"


def test_charts_show_each_rows_headline_number() -> None:
    import xml.etree.ElementTree as ET

    from benchmarks._plots import chart_svg
    from benchmarks._report import Row, Table

    table = Table(
        title="2. Round trip",
        description="",
        columns=["mode", "throughput median (worst)"],
        rows=[
            Row("qbackground", ["GUI", "64,547 tasks/s (60,000 tasks/s)"]),
            Row("superqt", ["GUI", "1,558 tasks/s"]),
            Row("raw QThreadPool", ["GUI", "n/a"]),
        ],
    )
    svg = chart_svg(table)
    assert svg is not None
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "throughput median (tasks/s); higher is better" in texts
    assert "64,547 tasks/s" in texts and "1,558 tasks/s" in texts and "n/a" not in texts
    widths = [float(r.get("width", 0)) for r in root.iter("{http://www.w3.org/2000/svg}rect")][1:]
    assert len(widths) == 2 and widths[0] > 40 * widths[1] > 0
    assert chart_svg(Table(title="x", description="", columns=["a"], rows=[Row("p", ["text"])])) is None
