"""The release files work: build the sdist and the wheel, check them, install the wheel.

What a user gets from ``pip install qbackground`` is the wheel, not this source tree, so
a module, ``py.typed`` or the ``pytest11`` entry point missing from it would pass every
other test. This one:

1. builds the sdist and, from the sdist, the wheel (``python -m build --no-isolation``:
   the same backend as ``make dist``, with the dev venv's hatchling, so no network);
2. runs ``twine check --strict`` on both;
3. compares the wheel with ``src/qbackground/`` (every file there must be in it) and
   its version with ``pyproject.toml`` and ``qbackground.__version__``;
4. creates a fresh venv that cannot see the source tree, installs the wheel into it
   with pip (``--no-index``: the dependencies are already there), and runs a smoke
   script and a small pytest session *in that venv*, from a folder outside the checkout.

The fresh venv gets the wheel's runtime dependencies (PySide6-Essentials, shiboken6),
and pytest + pytest-qt for the plugin check, as symbolic links to the packages of the
dev venv, each with its ``.dist-info``, found by walking ``Requires-Dist`` from the
wheel's metadata. Nothing else is linked: an import of a package the wheel does not
declare fails here. Linking instead of installing 80 MB of PySide6 keeps the test at a
few seconds and offline.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from qbackground.qt import qt_binding
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "qbackground"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
# Besides the wheel's own dependencies: what the pytest11 plugin needs to load.
PLUGIN_NEEDS = ["pytest", "pytest-qt"]

SMOKE = '''
import importlib.metadata, importlib.resources, os, sys

import qbackground

site = sys.argv[1]
assert qbackground.__file__.startswith(site), f"qbackground came from {qbackground.__file__}, not the venv"
assert not any(p.startswith(sys.argv[2]) for p in sys.path), f"the checkout is on sys.path: {sys.path}"
assert importlib.metadata.version("qbackground") == qbackground.__version__ == sys.argv[3], (
    importlib.metadata.version("qbackground"), qbackground.__version__, sys.argv[3])
assert importlib.resources.files("qbackground").joinpath("py.typed").is_file(), "py.typed is missing"

# Every module of the wheel imports (qbackground.dask and its two helper modules need
# the dask extra).
root = os.path.dirname(qbackground.__file__)
for folder, _dirs, files in os.walk(root):
    for name in files:
        if name.endswith(".py"):
            parts = os.path.relpath(os.path.join(folder, name), os.path.dirname(root))[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            module = ".".join(parts)
            if module not in ("qbackground.dask", "qbackground._dask_remote", "qbackground._dask_tracked"):
                importlib.import_module(module)

[plugin] = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "qbackground"]
assert plugin.value == "qbackground.testing.plugin" and plugin.dist.name == "qbackground", plugin
assert hasattr(plugin.load(), "bg_worker")

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication
from qbackground import BackgroundTask, BackgroundWorker, TaskLifeCycle

seen = []

class Double(BackgroundTask[int, int]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        lifecycle.publish(1)
        return 42

    def progress(self, changes: list[int]) -> None:
        seen.extend(changes)

    def done(self, result: int) -> None:
        seen.append(result)
        app.quit()

app = QApplication([])
handler = BackgroundWorker().handle(Double())
handler.execute()
QTimer.singleShot(20_000, lambda: (seen.append("timed out"), app.quit()))
app.exec()
assert seen == [1, 42], seen
from qbackground.qt import qt_binding
print("binding", qt_binding())
print("smoke ok", qbackground.__version__)
'''

PLUGIN_TEST = '''
from qbackground import BackgroundTask, TaskLifeCycle, TaskStatus
from qbackground.testing import CheckedWorker, wait_task


class Answer(BackgroundTask[None, int]):
    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        return 42


def test_the_fixture_comes_from_the_entry_point(bg_worker: CheckedWorker) -> None:
    handler = wait_task(bg_worker.handle(Answer()).start()).handler
    assert handler.status is TaskStatus.DONE and handler.get_result() == 42
'''


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _closure(requirements: list[str], extras: tuple[str, ...] = ()) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``requirements`` need, transitively (markers evaluated),
    with the wheel's own ``extras`` (``pip install qbackground[pyqt6]``)."""
    plain = {**default_environment(), "extra": ""}
    wheel_envs = [plain, *({**plain, "extra": extra} for extra in extras)]
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [
        requirement
        for requirement in map(Requirement, requirements)
        if requirement.marker is None or any(requirement.marker.evaluate(env) for env in wheel_envs)
    ]
    while todo:
        requirement = todo.pop()  # its marker held (the extras count for the wheel's own only)
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        distribution = importlib.metadata.distribution(requirement.name)
        assert distribution.version in requirement.specifier or not requirement.specifier, (
            f"the dev venv has {requirement.name} {distribution.version}, the wheel needs {requirement}"
        )
        found[name] = distribution
        todo.extend(
            requirement
            for requirement in map(Requirement, distribution.requires or [])
            if requirement.marker is None or requirement.marker.evaluate(plain)
        )
    return list(found.values())


def _link_into(site: Path, distributions: list[importlib.metadata.Distribution]) -> None:
    """Symlink each distribution's top-level files and folders into ``site``."""
    for distribution in distributions:
        base = Path(str(distribution.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in distribution.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            target = site / top
            if not target.exists() and (base / top).exists() and top != "__pycache__":
                target.symlink_to(base / top)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)], cwd=out, timeout=300)
    return out


def test_sdist_and_wheel_are_built_and_pass_twine_check(dist: Path) -> None:
    files = sorted(p.name for p in dist.iterdir())
    assert files == [f"qbackground-{VERSION}-py3-none-any.whl", f"qbackground-{VERSION}.tar.gz"], files
    report = _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))], cwd=dist)
    assert report.count("PASSED") == 2, report


def test_the_wheel_holds_every_file_of_the_package(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"qbackground-{VERSION}.dist-info/METADATA").decode())
        entry_points = archive.read(f"qbackground-{VERSION}.dist-info/entry_points.txt").decode()
    expected = {
        "qbackground/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }
    assert "qbackground/py.typed" in expected
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    assert metadata["Version"] == VERSION
    assert re.search(r"^\[pytest11\]\s*\nqbackground = qbackground\.testing\.plugin\s*$", entry_points, re.M), entry_points


def test_the_version_is_the_same_everywhere() -> None:
    import qbackground

    assert qbackground.__version__ == VERSION, "set qbackground.__version__ to pyproject.toml's version"
    assert importlib.metadata.version("qbackground") == VERSION, (
        "the dev venv's qbackground metadata is stale: pip install -e . (make does it when pyproject.toml changes)"
    )
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(VERSION)}\]", changelog, re.M), f"CHANGELOG.md has no '## [{VERSION}]' entry"


def test_the_installed_wheel_works_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    [wheel] = dist.glob("*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp_path).strip())
    assert site.is_relative_to(venv) and site != Path(sysconfig.get_path("purelib"))
    with zipfile.ZipFile(wheel) as archive:
        metadata = Parser().parsestr(archive.read(f"qbackground-{VERSION}.dist-info/METADATA").decode())
    # On the PyQt6 pass the user's install is pip install "qbackground[pyqt6]".
    extras = ("pyqt6",) if qt_binding() == "pyqt6" else ()
    _link_into(site, _closure([*metadata.get_all("Requires-Dist", []), *PLUGIN_NEEDS], extras))

    # pip from the dev venv installs into the fresh one; --no-index: the dependencies
    # are there already, and pip still checks that they satisfy the wheel's metadata.
    _run([sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install", "--no-index",
          "--no-cache-dir", "--disable-pip-version-check", str(wheel)], cwd=tmp_path)
    installed = site / "qbackground"
    assert installed.is_dir() and not installed.is_symlink()

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "QBACKGROUND_"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "smoke.py").write_text(SMOKE, encoding="utf-8")
    out = _run([str(python), "-I", "smoke.py", str(site), str(ROOT), VERSION], cwd=outside, env=env)
    assert f"smoke ok {VERSION}" in out
    assert f"binding {qt_binding()}" in out  # QT_API from this process: the same binding

    (outside / "test_plugin_from_wheel.py").write_text(PLUGIN_TEST, encoding="utf-8")
    out = _run([str(python), "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_plugin_from_wheel.py"],
               cwd=outside, env=env)
    assert "1 passed" in out, out


def _make_rule(target: str) -> tuple[list[str], list[str]]:
    """The prerequisites and the recipe lines of ``target`` in the Makefile."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{target}:"):
            recipe = []
            for follow in lines[i + 1 :]:
                if not follow.startswith("\t"):
                    break
                recipe.append(follow.strip())
            return line.split(":", 1)[1].split("|")[0].split(), recipe
    raise AssertionError(f"the Makefile has no {target!r} target")


def test_ci_runs_make_test_and_it_covers_these_checks() -> None:
    """CI's entry point runs `make test`, which runs mypy, the docs build and this suite."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "make test" in [line.strip() for line in ci if not line.lstrip().startswith("#")], ".ci/run must call make test"
    prerequisites, _ = _make_rule("test")
    assert {"typecheck", "docs", "pytest"} <= set(prerequisites), prerequisites
    _, docs = _make_rule("docs")
    assert any("mkdocs build --strict" in line for line in docs), docs
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "- docs/hooks/offline_assets.py" in mkdocs and "- docs/hooks/api_checks.py" in mkdocs
    _, pytest_recipe = _make_rule("pytest")
    assert any("-m pytest" in line for line in pytest_recipe), pytest_recipe
    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]["testpaths"]
    for test in ("test_wheel.py", "test_docs_examples.py", "test_docs_site.py"):
        assert any((ROOT / path / test).is_file() for path in testpaths), f"{test} is not under {testpaths}"
    _, dist = _make_rule("dist")
    assert any("-m build" in line for line in dist) and any("twine check" in line for line in dist), dist


def test_the_readme_says_what_make_test_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^make test +# (.*(?:\n {6,}# .*)*)", readme, re.M)
    assert match, "README.md no longer has its 'make test  # ...' line"
    said = " ".join(part.strip().lstrip("# ") for part in match[1].splitlines())
    _, typecheck = _make_rule("typecheck")
    [mypy] = [line for line in typecheck if "mypy" in line]
    for path in mypy.split("--strict", 1)[1].split():
        assert path.rstrip("/") in said, f"README's make test line does not say that mypy checks {path}: {said!r}"
    for words in ("docs", "test suite", "docs sample", "wheel"):
        assert words in said, f"README's make test line does not mention {words!r}: {said!r}"
