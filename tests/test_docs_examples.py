"""Every ```python block in README.md and docs/**/*.md runs, and must succeed.

How a block runs
    Each block is a script of its own: it is written to a temporary folder and run with
    ``python script.py`` in a fresh interpreter (``QT_QPA_PLATFORM=offscreen``), exactly
    as a reader who copies it into a file would run it: nothing is patched. Blank lines
    are put in front of the code so that a traceback's line numbers are the Markdown
    file's. Blocks run two at a time; the whole set takes about 20 s (the process and
    Dask samples start workers). They run on the suite's Qt binding (``QT_API`` is passed
    on): ``QT_API=pyqt6`` checks them on PyQt6. Every sample imports Qt through qtpy, and
    qbackground before qtpy (``test_samples_import_qt_through_qtpy_after_qbackground``).

Samples end by themselves
    A sample that ends in ``app.exec()`` must quit the application once its work is
    over, as a reader running it expects (``app.quit()`` in ``done()`` or
    ``canceled()``, ``handler.when_stopped(lambda _: app.quit())``, quitting when
    ``worker.tasks_changed`` finds no task running, ...). Remember that ``app.quit()``
    does nothing before ``app.exec()`` runs: quit from something the event loop
    delivers. A block still running after 45 s fails with a message that says so;
    its whole process group (worker processes, Dask workers) is killed.

Module files
    A block titled with a file name, ```python title="primes.py"```, is a module, not a
    script: it is written next to every script of the same page (so the scripts, and the
    worker processes and Dask workers they start, can import it) and not run by itself;
    ``test_module_files_import`` imports each one in a fresh interpreter.
    A block titled ``test_*.py`` is a test module: it is run with ``python -m pytest``.

Opting out
    A block that cannot run (a fragment of a class, a sketch that needs a real Dask
    scheduler) is preceded by ``<!-- not-run: the reason -->`` on the line just above the
    fence. The reason is shown as the skip reason (``pytest -ra``).

A block fails when it exits non-zero, does not end within 45 s, or writes ``Traceback``,
``Unhandled exception`` or ``QThread: Destroyed`` to stderr (an error that qbackground
only logged counts as a failure). A block that shows such a log on purpose says so with
``<!-- expect-stderr: text -->`` above its fence: its stderr must then contain ``text``,
and the other checks of stderr are off for it. At the end the run prints how many blocks
ran, how many opted out and why.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import subprocess
import sys
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qbackground.qt import qt_binding

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK_TIMEOUT = 45.0
STDERR_FAILURES = ("Traceback", "Unhandled exception", "QThread: Destroyed")

# Known noise, removed from stderr before the checks (none at the moment: the Dask
# cancel watcher that made a closing scheduler log a CancelledError now ends with its
# task). Add an entry only with its reason, and remove it once the cause is fixed.
KNOWN_STDERR_NOISE: list[re.Pattern[str]] = []

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|expect-stderr):\s*(?P<text>.*?)\s*-->\s*$")
_TITLE = re.compile(r"""title\s*=\s*["']([^"']*)["']""")

@dataclass
class Block:
    """One fenced ```python block."""

    page: Path
    line: int  # 1-based line of the first code line
    code: str
    title: str | None
    skip_reason: str | None
    expect_stderr: str | None = None

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    @property
    def is_module(self) -> bool:
        return bool(self.title and self.title.endswith(".py") and not self.is_test)

    @property
    def is_test(self) -> bool:
        return bool(self.title and re.fullmatch(r"test_\w*\.py", self.title))


def extract_blocks(page: Path) -> list[Block]:
    """The ```python blocks of ``page``, with their titles and opt-out markers."""
    lines = page.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        end = i + 1
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        words = info.split(None, 1)
        if words and words[0].lstrip(".{") in ("python", "py"):
            body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1 : end]]
            title = _TITLE.search(info)
            markers: dict[str, str] = {}
            previous = i - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            while previous >= 0 and (marker := _MARKER.match(lines[previous])) is not None:
                markers[marker["kind"]] = marker["text"]
                previous -= 1
            skip_reason = None
            if "not-run" in markers:
                skip_reason = markers["not-run"] or "(no reason given)"
            blocks.append(
                Block(
                    page,
                    i + 2,
                    "\n".join(body) + "\n",
                    title[1] if title else None,
                    skip_reason,
                    markers.get("expect-stderr") or None,
                )
            )
        i = end + 1
    return blocks


BLOCKS = [block for page in PAGES for block in extract_blocks(page)]


@dataclass
class Outcome:
    """What running one block produced."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


@dataclass
class Runner:
    """Runs the blocks two at a time in the background; tests wait for their own."""

    folder: Path
    timeout: float = BLOCK_TIMEOUT
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=2))
    futures: dict[str, Future[Outcome]] = field(default_factory=dict)

    def start_all(self, selected: set[str] | None = None) -> None:
        """Start every runnable block (or those whose ``where`` is in ``selected``)."""
        pages: dict[Path, Path] = {}
        for block in BLOCKS:
            folder = pages.get(block.page)
            if folder is None:
                folder = self.folder / re.sub(r"\W", "_", str(block.page.relative_to(ROOT)))
                folder.mkdir()
                pages[block.page] = folder
                for module in (b for b in BLOCKS if b.page == block.page and b.is_module):
                    (folder / module.title).write_text(  # type: ignore[operator]
                        "\n" * (module.line - 1) + module.code, encoding="utf-8"
                    )
        for block in BLOCKS:
            if block.skip_reason is None and not block.is_module and (selected is None or block.where in selected):
                self.futures[block.where] = self.pool.submit(self._run, block, pages[block.page])

    def _run(self, block: Block, folder: Path) -> Outcome:
        if block.is_test:
            script = folder / block.title  # type: ignore[operator]
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
        else:
            script = folder / f"{block.page.stem}_line{block.line}.py"
            command = [sys.executable, script.name]
        # Leading blank lines: the traceback's line numbers are the Markdown file's.
        script.write_text("\n" * (block.line - 1) + block.code, encoding="utf-8")
        return run_script(command, folder, self.timeout)


def run_script(command: list[str], folder: Path, timeout: float) -> Outcome:
    """Run ``command`` in ``folder`` as a reader would, in a process group of its own.

    On timeout the whole group is killed (a hung sample's worker processes and Dask
    workers too), and the outcome says it timed out.
    """
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["QT_API"] = qt_binding()  # the samples run on the suite's binding
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("QBACKGROUND_STRICT", None)
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return Outcome(process.returncode, stdout, stderr, time.monotonic() - started, timed_out=True)
    return Outcome(process.returncode, stdout, stderr, time.monotonic() - started)


def check_outcome(block: Block, outcome: Outcome) -> None:
    """Fail (AssertionError) unless ``outcome`` is a clean run of ``block``."""
    report = f"{block.where} ({outcome.seconds:.1f} s)\n--- stdout ---\n{outcome.stdout}\n--- stderr ---\n{outcome.stderr}"
    if outcome.timed_out:
        raise AssertionError(
            f"{block.where}: the sample did not end by itself within {outcome.seconds:.0f} s, so it "
            "hangs for a reader who runs it. A sample that ends in app.exec() must quit the "
            "application once its work is over (app.quit() in done() or canceled(), "
            "handler.when_stopped(lambda _: app.quit()), ...; app.quit() before app.exec() "
            f"does nothing). Killed it.\n{report}"
        )
    assert outcome.returncode == 0, f"exit code {outcome.returncode}: {report}"
    if block.expect_stderr is not None:
        assert block.expect_stderr in outcome.stderr, f"{block.expect_stderr!r} not on stderr: {report}"
        return
    stderr = outcome.stderr
    for noise in KNOWN_STDERR_NOISE:
        stderr = noise.sub("", stderr)
    for text in STDERR_FAILURES:
        assert text not in stderr, f"{text!r} on stderr: {report}"


class _Summary:
    """Prints, at the end of the session, what ran and what opted out."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        ran = [b for b in BLOCKS if b.skip_reason is None and not b.is_module]
        skipped = [b for b in BLOCKS if b.skip_reason is not None]
        modules = [b for b in BLOCKS if b.is_module and b.skip_reason is None]
        terminalreporter.write_sep("-", "documentation code samples")
        terminalreporter.write_line(
            f"{len(ran)} blocks ran (as scripts or pytest modules), {len(modules)} module files "
            f"imported by them, {len(skipped)} opted out:"
        )
        for block in skipped:
            terminalreporter.write_line(f"  {block.where}: {block.skip_reason}")


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Runner:
    runner = Runner(tmp_path_factory.mktemp("docs-examples"))
    selected = {
        item.callspec.params["block"].where
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_block_runs" and hasattr(item, "callspec")
    }
    runner.start_all(selected)
    request.config.pluginmanager.register(_Summary(runner), "qbackground-docs-examples-summary")
    request.addfinalizer(lambda: runner.pool.shutdown(wait=True, cancel_futures=True))
    return runner


@pytest.mark.parametrize("block", [b for b in BLOCKS if not b.is_module], ids=lambda b: b.where)
def test_block_runs(block: Block, runner: Runner) -> None:
    if block.skip_reason is not None:
        pytest.skip(f"not-run: {block.skip_reason}")
    check_outcome(block, runner.futures[block.where].result())


def test_module_files_import(tmp_path: Path) -> None:
    """Each module file imports (not only compiles) next to its page's other modules.

    In a fresh interpreter, as the scripts of its page import it: an import error, a
    name error at module level or a module that needs something the page does not show
    fails here, with the Markdown file's line numbers.
    """
    modules = [block for block in BLOCKS if block.is_module and block.skip_reason is None]
    assert modules, "no module file found: the title= handling of the extractor is broken"
    for page in sorted({block.page for block in modules}):
        folder = tmp_path / re.sub(r"\W", "_", str(page.relative_to(ROOT)))
        folder.mkdir()
        names = []
        for block in (b for b in modules if b.page == page):
            (folder / block.title).write_text("\n" * (block.line - 1) + block.code, encoding="utf-8")  # type: ignore[operator]
            names.append(Path(block.title).stem)  # type: ignore[arg-type]
        importer = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
        outcome = run_script([sys.executable, "-c", importer, *names], folder, BLOCK_TIMEOUT)
        where = ", ".join(b.where for b in modules if b.page == page)
        assert not outcome.timed_out, f"importing the module files of {where} did not end within {outcome.seconds:.0f} s"
        assert outcome.returncode == 0 and not outcome.stderr, (
            f"the module files of {where} do not import:\n{outcome.stderr}{outcome.stdout}"
        )


def test_a_sample_that_never_ends_fails_clearly(tmp_path: Path) -> None:
    """The runner does not wait forever for a sample that forgets to quit its app.exec()."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nfrom qtpy.QtWidgets import QApplication\n\napp = QApplication([])\n"
        "app.quit()          # before exec(): does nothing\napp.exec()\n```\n",
        encoding="utf-8",
    )
    [block] = extract_blocks(page)
    script = tmp_path / "sample.py"
    script.write_text(block.code, encoding="utf-8")
    outcome = run_script([sys.executable, script.name], tmp_path, timeout=2.0)
    assert outcome.timed_out
    with pytest.raises(AssertionError, match=r"did not end by itself within 2 s.*must quit the application"):
        check_outcome(block, outcome)
    # ... and a sample that does quit is fine.
    script.write_text(
        "from qtpy.QtCore import QTimer\nfrom qtpy.QtWidgets import QApplication\n\n"
        "app = QApplication([])\nQTimer.singleShot(0, app.quit)\napp.exec()\n",
        encoding="utf-8",
    )
    outcome = run_script([sys.executable, script.name], tmp_path, timeout=BLOCK_TIMEOUT)
    check_outcome(block, outcome)


def test_the_misuse_count_on_the_testing_page_is_right() -> None:
    """docs/testing.md says how many misuses tests/test_misuse.py checks: keep it true."""
    tree = ast.parse((ROOT / "tests" / "test_misuse.py").read_text(encoding="utf-8"))
    [cases] = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "CASES" for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
    ]
    assert isinstance(cases, ast.List)
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    claims = [int(n) for n in re.findall(r"a table of\s+(\d+)\s+misuses", text)]
    assert claims, "docs/testing.md no longer says 'a table of N misuses': update this test"
    assert claims == [len(cases.elts)], (
        f"docs/testing.md says tests/test_misuse.py has {claims[0]} misuse cases; it has "
        f"{len(cases.elts)}: update the number on the page"
    )


# The page about the two bindings may import one directly (to show that the application's
# own import decides); every other sample goes through qtpy, as qbackground does.
DIRECT_BINDING_IMPORTS_ALLOWED = {"bindings.md"}
_BINDING_MODULES = {"PySide6", "PyQt6", "shiboken6", "sip"}
# Modules that pick a Qt binding when imported: a sample imports qbackground before them, so
# that qbackground's rule decides (PySide6 by default; qtpy and qasync try PyQt6 first).
_BINDING_PICKERS = {"qtpy", "qasync"}


def _top_level_imports(code: str) -> list[tuple[int, str]]:
    """(line, top-level package) of each module-level import of ``code``, in order."""
    found: list[tuple[int, str]] = []
    for node in ast.parse(code).body:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def import_order_problems(block: Block) -> list[str]:
    """What is wrong with how ``block`` imports Qt (empty: nothing)."""
    try:
        imports = _top_level_imports(block.code)
    except SyntaxError:  # a fragment (not run): nothing to check
        return []
    problems = []
    if block.page.name not in DIRECT_BINDING_IMPORTS_ALLOWED:
        problems += [
            f"line {block.line + line - 1} imports {name} directly: import Qt through qtpy "
            "(from qtpy.QtWidgets import ...), and qbackground.qt.is_alive/delete for shiboken6/sip"
            for line, name in imports
            if name in _BINDING_MODULES
        ]
    first_qbackground = next((line for line, name in imports if name == "qbackground"), None)
    if first_qbackground is not None:
        problems += [
            f"line {block.line + line - 1} imports {name} before qbackground: import qbackground "
            f"first, so that it chooses the Qt binding (PySide6 unless QT_API says otherwise)"
            for line, name in imports
            if name in _BINDING_PICKERS and line < first_qbackground
        ]
    return problems


def test_samples_import_qt_through_qtpy_after_qbackground() -> None:
    """Every sample runs on both bindings (QT_API=pyside6 or pyqt6): it imports Qt through
    qtpy, and qbackground before qtpy (and qasync), as docs/bindings.md tells readers to."""
    problems = [f"{block.where}: {problem}" for block in BLOCKS for problem in import_order_problems(block)]
    assert not problems, "\n".join(problems)


def test_import_order_check_finds_problems(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nfrom qtpy.QtWidgets import QApplication\nfrom qbackground import background_worker\n```\n\n"
        "```python\nimport qbackground\nfrom PySide6.QtWidgets import QLabel\n```\n\n"
        "```python\nfrom qbackground import background_worker\nimport qasync\nfrom qtpy import QtCore\n```\n",
        encoding="utf-8",
    )
    first, second, good = extract_blocks(page)
    assert [p.split(" imports")[0] for p in import_order_problems(first)] == ["line 2"]
    assert "PySide6 directly" in import_order_problems(second)[0]
    assert import_order_problems(good) == []


def test_samples_were_found() -> None:
    """The extractor finds the samples (a broken fence regex would silently test nothing)."""
    assert any(block.page.name == "README.md" for block in BLOCKS)
    assert sum(block.skip_reason is None and not block.is_module for block in BLOCKS) >= 10


def test_extract_blocks_understands_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nprint(1)\n```\n\n<!-- not-run: needs a cluster -->\n"
        '```python\nimport nothing\n```\n\n```python title="mod.py"\nX = 1\n```\n\n'
        "```sh\nmake docs\n```\n\n!!! note\n    ```python\n    print(2)\n    ```\n"
        "<!-- expect-stderr: Unhandled exception -->\n```python\nraise SystemExit\n```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(page)
    assert [(b.line, b.code, b.title, b.skip_reason, b.expect_stderr) for b in blocks] == [
        (4, "print(1)\n", None, None, None),
        (9, "import nothing\n", None, "needs a cluster", None),
        (13, "X = 1\n", "mod.py", None, None),
        (22, "print(2)\n", None, None, None),
        (26, "raise SystemExit\n", None, None, "Unhandled exception"),
    ]
    assert blocks[2].is_module and not blocks[0].is_module
