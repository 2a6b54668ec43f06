"""Smoke test for the benchmark suite: ``python -m benchmarks --quick`` runs and reports.

Performance goals live in the benchmark's own tables; this test asserts nothing about
numbers, only that every scenario ran and wrote its table, with a column per binding.
The quick run goes on the suite's binding only (``make test`` runs this file once per
binding); the side-by-side layout of both bindings is checked on that run's real tables,
merged with a copy of them labelled as the other binding.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qbackground.qt import BINDINGS, qt_binding

ROOT = Path(__file__).resolve().parents[1]
NAMES = {"pyside6": "PySide6", "pyqt6": "PyQt6"}

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
    "## 9. GUI stalls in a cold process",
    "## 10. pause() / resume() latency",
)


def _tables(text: str) -> list[str]:
    """The scenario sections of a results document ("1. Progress flood ..." onwards)."""
    return [part for part in text.split("\n## ")[1:] if part[:1].isdigit()]


def check_document(text: str, names: list[str]) -> None:
    """Every scenario table is there, each measured column once per binding in ``names``
    (and for no other binding), a verdict column per binding, and a qbackground row."""
    others = [name for name in NAMES.values() if name not in names]
    for title in SCENARIO_TITLES:
        assert title in text, f"missing table {title!r} in:\n{text}"
    tables = _tables(text)
    assert len(tables) == len(SCENARIO_TITLES)
    for table in tables:
        lines = table.splitlines()
        header_line = next(line for line in lines if line.startswith("| peer |"))
        header = [cell.strip() for cell in header_line.strip("|").split("|")]
        assert header[-len(names):] == [f"result · {name}" for name in names], header
        assert header[-len(names) - 1] == "target", header
        body = header[1 : -len(names) - 1]  # between the peer and the target
        measured = {
            name: [cell.removesuffix(f" · {name}") for cell in body if cell.endswith(f" · {name}")]
            for name in names
        }
        first = measured[names[0]]
        assert len(first) >= 2, f"no measured column for {names[0]}: {header}"
        for name in names[1:]:
            assert measured[name] == first, f"{name}'s columns differ from {names[0]}'s: {header}"
        assert not [cell for cell in header for other in others if other in cell], header
        rows = [line for line in lines if line.startswith(("| qbackground |", "| qbackground ("))]
        assert rows, f"no qbackground row in:\n{table}"
        for row in rows:
            cells = row.strip("|").split(" | ")
            assert len(cells) == len(header), f"{row} does not fit {header}"
            assert all(cell.strip() not in ("", "not run") for cell in cells[-len(names):]), row
    summary = text.split("\n## Targets on each binding\n")[1].split("\n## ")[0]
    assert "| scenario | row | target | " + " | ".join(f"result · {n}" for n in names) + " |" in summary
    assert "| 1. Progress flood | qbackground |" in summary


def test_quick_benchmark_writes_every_table(tmp_path: Path) -> None:
    binding = qt_binding()
    other = next(b for b in BINDINGS if b != binding)
    output, report = tmp_path / "r.md", tmp_path / "r.json"
    # No QT_API in the environment: --binding alone must put the child on its binding.
    env = {k: v for k, v in os.environ.items() if k not in ("QT_API", "PYTEST_QT_API", "FORCE_QT_API")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--binding", binding,
         "--output", str(output), "--json", str(report)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    text = output.read_text(encoding="utf-8")
    [run_data] = json.loads(report.read_text(encoding="utf-8"))["runs"]
    assert run_data["binding"] == binding and not run_data["error"], run_data["error"]
    environment = text.splitlines()[2]
    assert f" · {NAMES[binding]} {run_data['version']} (Qt " in environment, environment
    assert NAMES[other] not in environment
    check_document(text, [NAMES[binding]])

    # Both bindings side by side: this run's real tables, and a copy as the other binding.
    from benchmarks._report import BindingRun, environment_line, render, side_by_side, targets_summary

    ran = BindingRun.from_dict(run_data)
    twin = copy.deepcopy(ran)
    twin.binding, twin.version, twin.qt = other, "0.0", "0.0"
    runs = sorted([ran, twin], key=lambda r: BINDINGS.index(r.binding))
    tables = side_by_side(runs)
    both = render(
        environment_line(runs, quick=True, repeat=1, trials=3), tables, (), [targets_summary(tables)]
    )
    check_document(both, ["PySide6", "PyQt6"])
    assert "PySide6 " in both.splitlines()[2] and "PyQt6 " in both.splitlines()[2]
    # The check is not blind: a table missing one binding's column fails it.
    flood = next(line for line in both.splitlines() if line.startswith("| peer | wall time"))
    cells = flood.split(" | ")
    dropped = " | ".join(c for c in cells if c != "items/s · PyQt6")
    assert dropped != flood
    with pytest.raises(AssertionError):
        check_document(both.replace(flood, dropped), ["PySide6", "PyQt6"])


def test_parent_imports_no_qt_and_refuses_a_missing_binding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent starts one child per binding: it must not hold a binding itself.
    probe = (
        "import sys, benchmarks.__main__; "
        "print(sorted(m for m in ('PySide6', 'PyQt6', 'qtpy', 'shiboken6') if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert completed.stdout.strip() == "[]", completed.stdout + completed.stderr
    import benchmarks.__main__ as cli

    monkeypatch.setattr(cli, "installed", lambda binding: binding != "pyqt6")
    monkeypatch.setattr(cli, "run_binding", lambda *a: pytest.fail("no child may start"))
    output = tmp_path / "r.md"
    assert cli.main(["--quick", "--binding", "pyqt6", "--output", str(output)]) == 2
    assert not output.exists()


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


def test_charts_show_each_binding() -> None:
    import xml.etree.ElementTree as ET

    from benchmarks._plots import chart_svg
    from benchmarks._report import BindingRun, Row, Table, per_binding_rows

    def run(binding: str, qb: str, raw: str) -> BindingRun:
        rows = [Row("qbackground", [qb]), Row("raw QThreadPool", [raw])]
        return BindingRun(binding, "6", "6", [Table("1. Flood", "", ["wall time"], rows)])

    [table] = per_binding_rows([run("pyside6", "20 ms", "2,000 ms"), run("pyqt6", "25 ms", "1,900 ms")])
    assert [r.peer for r in table.rows] == [
        "qbackground · PySide6", "qbackground · PyQt6", "raw QThreadPool · PySide6", "raw QThreadPool · PyQt6"
    ]
    svg = chart_svg(table)
    assert svg is not None
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "qbackground · PyQt6" in texts and "25 ms" in texts and "1,900 ms" in texts
    bars = list(root.iter("{http://www.w3.org/2000/svg}rect"))[1:]
    assert [b.get("fill-opacity") for b in bars] == [None, "0.6", None, "0.6"]
