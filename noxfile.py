"""The test matrix: the suite on Python 3.11, 3.12 and 3.13, each on PySide6 and on PyQt6.

    nox                                   # = nox -s tests: the whole suite, 6 combinations
    nox -s tests -- contract              # the contract suite (CONTRACT below), 6 combinations
    nox -s "tests-3.12(pyqt6)" -- tests/test_owner.py -k closing   # one combination, some tests
    nox -l                                # list the sessions

``make test-matrix`` and ``make test-matrix-contract`` run the first two (CI runs the second).
Each combination has its own venv under ``.nox/``, kept between runs (``reuse_venv``) and
brought up to date by ``pip install -e '.[dev,docs]'`` at every run; pip uses the machine's pip
configuration (its cache and any local index or wheel folder), so a second run installs
nothing. Each venv holds both bindings (the dev extra installs PyQt6 too); ``QT_API``
picks the one a session runs on. The PySide6 pin of pyproject.toml applies as written
(below 6.12 on Python 3.11; 6.12.0 is fine on 3.12+).

A missing interpreter fails its sessions (``error_on_missing_interpreters``) and nox never
downloads one. The interpreters are found on ``PATH`` (``python3.12``...); where that name is
only a pyenv shim that does not serve the version (pyenv's global version is 3.11 here), the
newest ``$PYENV_ROOT/versions/3.12.*`` is used instead, through a symbolic link in
``.nox/.interpreters``.

After the session arguments, ``contract`` stands for the contract suite; anything else is
passed to pytest as it is (test files, ``-k``, ``-x``...) instead of the whole suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

PYTHONS = ["3.11", "3.12", "3.13"]
BINDINGS = ["pyside6", "pyqt6"]

CONTRACT = [
    "tests/test_contract.py",  # DESIGN §2 on every backend: thread, process, asyncio, uvloop, dask
    "tests/test_contract_retry.py",  # DESIGN §11 retries and generator run(), on the same backends
    "tests/test_signal_flood.py",  # the binding refcount hazards (both bindings, one child each)
    "tests/test_owner.py",  # owner binding: is_alive/delete, the binding-specific calls
    "tests/test_gui_release.py",  # Qt objects destroyed on the GUI thread (wrapper lifetimes)
    "tests/test_bindings.py",  # only the chosen binding loads, here and in worker processes
]
"""The per-binding contract: what must hold on every Python x binding combination."""

ROOT = Path(__file__).resolve().parent
nox.options.envdir = str(ROOT / ".nox")
nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"


def _serves(command: str, version: str) -> bool:
    """Whether ``command`` on PATH runs and is Python ``version`` (a pyenv shim may not be)."""
    if shutil.which(command) is None:
        return False
    try:
        done = subprocess.run(
            [command, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def _pyenv_python(version: str) -> Path | None:
    """The newest pyenv-installed ``pythonX.Y`` of ``version`` (final releases only)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for folder in root.glob(f"{version}.*") if root.is_dir() else []:
        match = re.fullmatch(re.escape(version) + r"\.(\d+)", folder.name)
        executable = folder / "bin" / f"python{version}"
        if match and executable.is_file():
            found.append((int(match[1]), executable))
    return max(found)[1] if found else None


def _find_interpreters() -> None:
    """Put a ``pythonX.Y`` link on PATH for each version PATH does not serve but pyenv has."""
    links = Path(nox.options.envdir) / ".interpreters"
    for version in PYTHONS:
        link = links / f"python{version}"
        if link.is_symlink():
            link.unlink()  # made afresh below: the interpreters may have changed since
        if _serves(f"python{version}", version):
            continue
        executable = _pyenv_python(version)
        if executable is None:
            continue  # nox reports the interpreter as missing, and the session fails
        links.mkdir(parents=True, exist_ok=True)
        link.symlink_to(executable)
    if links.is_dir() and str(links) not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = f"{links}{os.pathsep}{os.environ['PATH']}"


_find_interpreters()


@nox.session(python=PYTHONS)
@nox.parametrize("binding", BINDINGS, ids=BINDINGS)
def tests(session: nox.Session, binding: str) -> None:
    """The test suite (or the contract suite, or the given tests) on one Python and binding."""
    # docs: tests/test_docs_site.py builds the site (mkdocs); the whole suite needs it
    session.install("--quiet", "-e", ".[dev,docs]")
    session.env["QT_API"] = binding
    session.env["QT_QPA_PLATFORM"] = "offscreen"
    session.run(
        "python", "-c",
        "import sys, qtpy, qbackground.qt as q; "
        "print('on', q.qt_binding(), qtpy.PYSIDE_VERSION or qtpy.PYQT_VERSION, 'Qt', qtpy.QT_VERSION, "
        "'Python', sys.version.split()[0])",
    )
    args = list(session.posargs)
    if args[:1] == ["contract"]:
        args[:1] = CONTRACT
    session.run("python", "-m", "pytest", *args)
