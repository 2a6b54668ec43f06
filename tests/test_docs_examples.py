"""Every ```python block in README.md and docs/**/*.md runs, and must succeed.

How a block runs
    Each block is a script of its own: it is written to a temporary folder and run in a
    fresh interpreter (``__name__ == "__main__"``, ``QT_QPA_PLATFORM=offscreen``), as a
    reader who copies it into a file would run it. Blank lines are put in front of the
    code so that a traceback's line numbers are the Markdown file's. Blocks run two at a
    time; the whole set takes about 20 s (the process and Dask samples start workers).

``app.exec()``
    A sample may end like an application does, in ``app.exec()``. The runner replaces
    ``exec`` of ``QCoreApplication``/``QGuiApplication``/``QApplication`` by a function
    that runs the real event loop and calls ``app.quit()`` once the background work is
    over: no ``BackgroundWorker`` that is still open has an undecided handler, for 0.2 s
    in a row. ``aboutToQuit`` is emitted as in a real quit. If the work is not over
    within 30 s the block fails.

Module files
    A block titled with a file name, ```python title="primes.py"```, is a module, not a
    script: it is written next to every script of the same page (so the scripts, and the
    worker processes and Dask workers they start, can import it) and not run by itself.
    A block titled ``test_*.py`` is a test module: it is run with ``python -m pytest``.

Opting out
    A block that cannot run (a fragment of a class, a sketch that needs a real Dask
    scheduler) is preceded by ``<!-- not-run: the reason -->`` on the line just above the
    fence. The reason is shown as the skip reason (``pytest -ra``).

A block fails when it exits non-zero, takes more than 60 s, or writes ``Traceback``,
``Unhandled exception`` or ``QThread: Destroyed`` to stderr (an error that qbackground
only logged counts as a failure). A block that shows such a log on purpose says so with
``<!-- expect-stderr: text -->`` above its fence: its stderr must then contain ``text``,
and the other checks of stderr are off for it. At the end the run prints how many blocks
ran, how many opted out and why.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK_TIMEOUT = 60.0
IDLE_LIMIT = 30.0
STDERR_FAILURES = ("Traceback", "Unhandled exception", "QThread: Destroyed")

# Known noise, removed from stderr before the checks (none at the moment: the Dask
# cancel watcher that made a closing scheduler log a CancelledError now ends with its
# task). Add an entry only with its reason, and remove it once the cause is fixed.
KNOWN_STDERR_NOISE: list[re.Pattern[str]] = []

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|expect-stderr):\s*(?P<text>.*?)\s*-->\s*$")
_TITLE = re.compile(r"""title\s*=\s*["']([^"']*)["']""")

# Runs in the block's interpreter before the block: makes app.exec() end by itself.
PRELUDE = textwrap.dedent(
    """
    import runpy, sys, time
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    _original_exec = QCoreApplication.exec
    _stuck = []

    def _exec_until_idle(*_args):
        import qbackground._worker as _worker_module
        app = QCoreApplication.instance()
        started = time.monotonic()
        idle_since = [None]

        def poll():
            now = time.monotonic()
            busy = any(w.active_handlers() for w in list(_worker_module._LIVE))
            if busy:
                idle_since[0] = None
            elif idle_since[0] is None:
                idle_since[0] = now
            elif now - idle_since[0] >= 0.2:
                timer.stop()
                app.quit()
            if now - started > {idle_limit}:
                _stuck.append(True)
                timer.stop()
                app.quit()

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(poll)
        timer.start()
        return _original_exec()

    for _cls in (QCoreApplication, QGuiApplication, QApplication):
        _cls.exec = _exec_until_idle
        if hasattr(_cls, "exec_"):
            _cls.exec_ = _exec_until_idle

    sys.argv = [sys.argv[1]]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        if _stuck:
            print("docs runner: the background work was not over {idle_limit} s after app.exec()",
                  file=sys.stderr)
            sys.stdout.flush()
            import os
            os._exit(97)
    """
).format(idle_limit=IDLE_LIMIT)


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
        return f"{self.page.relative_to(ROOT)}:{self.line}"

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


@dataclass
class Runner:
    """Runs the blocks two at a time in the background; tests wait for their own."""

    folder: Path
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
                    (folder / module.title).write_text(module.code, encoding="utf-8")  # type: ignore[operator]
        for block in BLOCKS:
            if block.skip_reason is None and not block.is_module and (selected is None or block.where in selected):
                self.futures[block.where] = self.pool.submit(self._run, block, pages[block.page])

    def _run(self, block: Block, folder: Path) -> Outcome:
        import time

        if block.is_test:
            script = folder / block.title  # type: ignore[operator]
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
        else:
            script = folder / f"{block.page.stem}_line{block.line}.py"
            command = [sys.executable, "-c", PRELUDE, script.name]
        # Leading blank lines: the traceback's line numbers are the Markdown file's.
        script.write_text("\n" * (block.line - 1) + block.code, encoding="utf-8")
        env = dict(os.environ)
        env["QT_QPA_PLATFORM"] = "offscreen"
        env["PYTHONPATH"] = os.pathsep.join(
            [str(folder), str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
        )
        env.pop("QBACKGROUND_STRICT", None)
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, cwd=folder, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT
            )
        except subprocess.TimeoutExpired as exc:
            return Outcome(-1, str(exc.stdout or ""), f"timed out after {BLOCK_TIMEOUT} s\n{exc.stderr or ''}", BLOCK_TIMEOUT)
        return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


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
    outcome = runner.futures[block.where].result()
    report = f"{block.where} ({outcome.seconds:.1f} s)\n--- stdout ---\n{outcome.stdout}\n--- stderr ---\n{outcome.stderr}"
    assert outcome.returncode == 0, f"exit code {outcome.returncode}: {report}"
    if block.expect_stderr is not None:
        assert block.expect_stderr in outcome.stderr, f"{block.expect_stderr!r} not on stderr: {report}"
        return
    stderr = outcome.stderr
    for noise in KNOWN_STDERR_NOISE:
        stderr = noise.sub("", stderr)
    for text in STDERR_FAILURES:
        assert text not in stderr, f"{text!r} on stderr: {report}"


def test_module_files_compile() -> None:
    for block in BLOCKS:
        if block.is_module:
            compile("\n" * (block.line - 1) + block.code, block.where, "exec")


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
