"""The static typing contract: ``mypy --strict`` accepts tests/typing/check_types.py.

check_types.py proves the good types with ``assert_type`` and the bad ones with
``# type: ignore[code]`` lines (``warn_unused_ignores`` turns an unneeded ignore into an
error). The other tests make sure the check cannot pass vacuously.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_FILE = ROOT / "tests" / "typing" / "check_types.py"
IGNORE = re.compile(r"\s*# type: ignore\[([a-z, -]+)\]\s*$")


def run_mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "pyproject.toml", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_lines(output: str, path: Path) -> dict[int, list[str]]:
    """Line number -> error codes reported for ``path``.

    Matched by file name, not full path: mypy's cache can replay the errors of an
    identical file under the path it had in an earlier run (another tmp_path).
    """
    found: dict[int, list[str]] = {}
    for match in re.finditer(
        rf"^(?:.*/)?{re.escape(path.name)}:(\d+): error: .*\[([a-z-]+)\]$", output, re.MULTILINE
    ):
        found.setdefault(int(match.group(1)), []).append(match.group(2))
    return found


def test_check_types_passes_mypy_strict() -> None:
    result = run_mypy(CHECK_FILE)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mypy --strict rejected {CHECK_FILE}:\n{output}"
    assert "Success: no issues found in 1 source file" in output, output


def test_config_keeps_strict_and_warn_unused_ignores() -> None:
    # Without warn_unused_ignores the "must be an error" lines would prove nothing.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config.get("strict") is True
    assert config.get("warn_unused_ignores") is True


def test_every_ignored_line_is_a_real_error(tmp_path: Path) -> None:
    """Strip the ignores: each formerly ignored line must now fail with its own code."""
    source = CHECK_FILE.read_text()
    expected: dict[int, set[str]] = {}
    stripped = []
    for number, line in enumerate(source.splitlines(), start=1):
        match = IGNORE.search(line)
        if match:
            expected[number] = {code.strip() for code in match.group(1).split(",")}
            line = line[: match.start()]
        stripped.append(line)
    assert len(expected) >= 10, "check_types.py lost its must-fail lines"
    copy = tmp_path / "check_types_stripped.py"
    copy.write_text("\n".join(stripped) + "\n")
    result = run_mypy(copy)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    errors = error_lines(output, copy)
    missing = {
        line: codes for line, codes in expected.items() if not codes <= set(errors.get(line, []))
    }
    assert not missing, f"lines that are not the expected type errors: {missing}\n{output}"
    unexpected = {line: codes for line, codes in errors.items() if line not in expected}
    assert not unexpected, f"errors on lines that were not ignored: {unexpected}\n{output}"


def test_a_wrong_file_fails_mypy(tmp_path: Path) -> None:
    """A wrong assert_type and an unneeded ignore both fail, so the check is not vacuous."""
    wrong = tmp_path / "wrong_types.py"
    wrong.write_text(
        "from typing import assert_type\n"
        "from qbackground import BackgroundTask, BackgroundTaskHandler, BackgroundWorker, TaskLifeCycle\n"
        "\n"
        "\n"
        "class Count(BackgroundTask[int, str]):\n"
        "    def run(self, lifecycle: TaskLifeCycle[int]) -> str:\n"
        "        lifecycle.publish(1)  # type: ignore[arg-type]\n"
        "        return 'n'\n"
        "\n"
        "\n"
        "def check(worker: BackgroundWorker) -> None:\n"
        "    assert_type(worker.handle(Count()), BackgroundTaskHandler[int])\n"
        "    assert_type(worker.handle(Count()).get_result(), int)\n"
    )
    result = run_mypy(wrong)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    errors = error_lines(output, wrong)
    assert errors.get(7) == ["unused-ignore"], output
    assert errors.get(12) == ["assert-type"], output
    assert errors.get(13) == ["assert-type"], output
    assert 'Expression is of type "BackgroundTaskHandler[str]"' in output, output
