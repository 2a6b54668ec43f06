"""The Qt binding (DESIGN §6): which one qbackground picks, and that it loads only that one.

Each case runs a fresh interpreter (``tests/binding_probe.py``): the choice is made once
per process, when qbackground is first imported.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qbackground.qt import BINDINGS, choose_binding, qt_binding

ROOT = Path(__file__).resolve().parent.parent
MODULE = {"pyside6": "PySide6", "pyqt6": "PyQt6"}
OTHER = {"pyside6": ("PyQt6", "sip"), "pyqt6": ("PySide6", "shiboken6")}
INSTALLED = [b for b in BINDINGS if importlib.util.find_spec(MODULE[b]) is not None]


def probe(*args: str, qt_api: str | None, timeout: float = 120) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_API", "PYTEST_QT_API", "FORCE_QT_API")}
    if qt_api is not None:
        env["QT_API"] = qt_api
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "tests.binding_probe", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, f"probe failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_both_bindings_are_installed_in_the_dev_environment() -> None:
    # make test runs the suite on each; a missing one would silently shrink the matrix
    assert INSTALLED == list(BINDINGS), f"installed: {INSTALLED}; pip install -e '.[dev]'"


@pytest.mark.parametrize("binding", INSTALLED)
def test_only_the_chosen_binding_is_ever_imported(binding: str) -> None:
    """Every module, every in-process backend and a worker process: the other binding never loads."""
    out = probe("--dask", qt_api=binding, timeout=180)
    assert out["binding"] == binding and out["qt_api"] == binding
    assert out["here"] == sorted({MODULE[binding], "shiboken6" if binding == "pyside6" else "PyQt6"})
    for name, result in out["results"].items():
        assert not set(result["modules"]) & set(OTHER[binding]), f"{name} loaded {result['modules']}"
        assert result["qt_api"] == binding, name  # worker processes inherit the choice
    # the process task kept its QLabel home and done() wrote to the real one
    assert out["label"] == f"done in {out['results']['process_widget']['pid']}"
    assert out["results"]["process"]["pid"] != out["results"]["thread"]["pid"]


@pytest.mark.parametrize("binding", INSTALLED)
def test_an_application_that_imported_a_binding_first_keeps_it(binding: str) -> None:
    out = probe("--preimport", f"{MODULE[binding]}.QtWidgets", qt_api=None)
    assert out["binding"] == binding and out["qt_api"] == binding
    assert not set(out["here"]) & set(OTHER[binding])
    assert out["results"]["process"]["qt_api"] == binding


def test_pyside6_is_the_default_when_both_are_installed() -> None:
    if INSTALLED != list(BINDINGS):
        pytest.fail(f"both bindings must be installed for this test; installed: {INSTALLED}")
    out = probe(qt_api=None)
    assert out["binding"] == "pyside6" and "PyQt6" not in out["here"]


@pytest.mark.parametrize("binding", INSTALLED)
def test_qtpy_imported_first_decides(binding: str) -> None:
    other = next(b for b in INSTALLED if b != binding) if len(INSTALLED) > 1 else binding
    # QT_API names the other binding, but qtpy was imported (and chose) first
    env_script = (
        "import os; os.environ['QT_API'] = %r; import qtpy; os.environ['QT_API'] = %r; "
        "from qbackground.qt import qt_binding; import sys; print(qt_binding())" % (binding, other)
    )
    done = subprocess.run([sys.executable, "-c", env_script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == binding


@pytest.mark.parametrize("value", ["pyqt5", "pyside2", "tkinter"])
def test_an_unsupported_qt_api_is_a_clear_import_error(value: str) -> None:
    env = {**os.environ, "QT_API": value}
    done = subprocess.run([sys.executable, "-c", "import qbackground"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: qbackground runs on PySide6 or PyQt6"), last
    assert f"'{value}'" in last and "QT_API=pyside6" in last


def test_choose_binding_agrees_with_the_running_process() -> None:
    assert choose_binding() == qt_binding() == os.environ["QT_API"]


def test_nothing_outside_qt_py_imports_a_binding_directly() -> None:
    """One module knows the bindings; everything else goes through qtpy (DESIGN §6)."""
    banned = {"PySide6", "PyQt6", "shiboken6", "sip", "PyQt5", "PySide2"}
    offenders: list[str] = []
    for path in sorted((ROOT / "src" / "qbackground").rglob("*.py")):
        if path.name == "qt.py" and path.parent.name == "qbackground":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in banned]
    assert not offenders, "import Qt through qtpy (or qbackground.qt):\n" + "\n".join(offenders)


@pytest.mark.parametrize("binding", INSTALLED)
def test_qt_api_against_an_imported_binding_says_which_to_change(binding: str) -> None:
    if len(INSTALLED) < 2:
        pytest.fail(f"both bindings must be installed for this test; installed: {INSTALLED}")
    other = next(b for b in INSTALLED if b != binding)
    env = {**os.environ, "QT_API": binding}
    script = f"import {MODULE[other]}.QtCore; import qbackground"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"ImportError: QT_API={binding} but the application already imported {MODULE[other]}; one "
        f"process runs one Qt binding. Unset QT_API (qbackground then uses {MODULE[other]}) or "
        f"import {MODULE[binding]} instead"
    ), last
