"""``python -m benchmarks``: run every scenario on each Qt binding, print and write the tables.

Each binding runs in its own child interpreter (``python -m benchmarks._one_binding``
with ``QT_API`` set: a process holds one binding), one after the other; this process
imports no Qt, collects the children's reports and writes ONE document in which every
table shows the PySide6 and the PyQt6 columns side by side, each with its own verdict.

Options::

    --binding B        pyside6, pyqt6 or both (default both; a binding that is not
                       installed is skipped under "both", and named in the header)
    --quick            small sizes: a few seconds per binding (smoke test)
    --repeat N         measured runs per peer in scenarios 1-3, 6b, 7 and 8 (default 3;
                       quick 1); fresh processes per case in scenario 9 (at least 5; quick 1)
    --trials N         samples per peer in the latency scenarios 4, 5 and 10 (default 20; quick 3)
    --scenario NAME    run only this scenario (repeatable)
    --output PATH      where to write the Markdown (default benchmarks/results.md,
                       or benchmarks/results-quick.md with --quick)
    --json PATH        also write every binding's raw report (the tables) as JSON

The exit status is 0 whenever every requested binding's run completed, whatever the
verdicts: the tables carry pass/fail, not the process. It is 1 when a binding's run
failed (the document is still written, the failure at its top), 2 when a requested
binding is not installed.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections import deque  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402

from . import SCENARIOS  # noqa: E402
from ._plots import write_plots  # noqa: E402
from ._report import (  # noqa: E402
    BINDING_NAMES,
    BINDINGS,
    BindingRun,
    environment_line,
    per_binding_rows,
    render,
    side_by_side,
    targets_summary,
)
from ._settings import Settings  # noqa: E402

_HERE = Path(__file__).resolve().parent

CHILD_LIMIT = {True: 600.0, False: 3600.0}
"""Seconds one binding's child may take (quick, full) before it is stopped as hung."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "qbackground vs superqt vs a raw QThreadPool baseline, and qbackground's "
            "process and asyncio backends, on PySide6 and PyQt6."
        ),
    )
    parser.add_argument(
        "--binding",
        choices=[*BINDINGS, "both"],
        default="both",
        help="the Qt binding(s) to run on, each in its own process (default both)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--repeat",
        type=_positive,
        help="measured runs per peer (scenarios 1-3, 6b, 7, 8; scenario 9: at least 5)",
    )
    parser.add_argument("--trials", type=_positive, help="samples per peer (scenarios 4, 5 and 9)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help=f"run only this scenario: {', '.join(SCENARIOS)} (repeatable; default all)",
    )
    parser.add_argument("--output", type=Path, help="Markdown file to write")
    parser.add_argument("--json", type=Path, help="also write the raw reports as JSON")
    return parser.parse_args(argv)


def installed(binding: str) -> bool:
    """Whether the binding's package can be imported (found without importing it)."""
    return importlib.util.find_spec(BINDING_NAMES[binding]) is not None


def _package_version(binding: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(BINDING_NAMES[binding])
    except PackageNotFoundError:
        return "?"


def run_binding(binding: str, args: argparse.Namespace, settings: Settings) -> BindingRun:
    """Run the scenarios in a child interpreter on ``binding``; its report, or why it failed.

    The child's progress lines are echoed to stderr, prefixed with the binding's name.
    """
    name = BINDING_NAMES[binding]
    command = [sys.executable, "-m", "benchmarks._one_binding"]
    if settings.quick:
        command.append("--quick")
    command += ["--repeat", str(settings.repeat), "--trials", str(settings.trials)]
    for scenario in args.scenario or []:
        command += ["--scenario", scenario]
    env = {**os.environ, "QT_API": binding}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    tail: deque[str] = deque(maxlen=25)
    with tempfile.TemporaryDirectory(prefix="qbackground-bench-") as folder:
        report = Path(folder) / f"{binding}.json"
        child = subprocess.Popen(
            [*command, "--json", str(report)],
            cwd=_HERE.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,  # its worker processes can be stopped with it
        )

        def echo() -> None:
            assert child.stderr is not None
            for line in child.stderr:
                tail.append(line.rstrip("\n"))
                print(f"[{name}] {line}", end="", file=sys.stderr, flush=True)

        reader = threading.Thread(target=echo, daemon=True)
        reader.start()
        limit = CHILD_LIMIT[settings.quick]
        try:
            status: int | None = child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            status = None
        except BaseException:  # Ctrl-C: stop the child (and its workers) too
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise
        if status is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        reader.join(timeout=10)
        try:
            run = BindingRun.from_dict(json.loads(report.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            run = BindingRun(binding, _package_version(binding), error=f"no report ({exc})")
    if run.binding != binding:  # QT_API did not reach the child, or it ignored it
        return BindingRun(
            binding,
            _package_version(binding),
            error=f"the child ran on {run.name}, not on {name}",
        )
    if status is None:
        run.error = f"{run.error or 'finished but did not exit'}; stopped after {limit:.0f} s"
    elif status != 0:
        run.error = f"{run.error or 'failed'} (exit status {status})"
    if run.error and tail:
        run.error += "; its last output: " + _last_words(tail)
    return run


def _last_words(lines: Sequence[str], count: int = 4) -> str:
    """The last few telling lines of a child's stderr (no progress lines, no ``^^^`` marks)."""
    kept = [
        line.strip()
        for line in lines
        if line.strip().strip("^~ ") and not line.startswith(("running ", "  ", "on "))
        or line.startswith("  File ")
    ]
    return " / ".join(f"`{line}`" for line in kept[-count:])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected scenarios on each binding and write the results; the exit status."""
    args = parse_args(argv)
    settings = Settings.for_mode(quick=args.quick, repeat=args.repeat, trials=args.trials)
    output: Path = args.output or _HERE / ("results-quick.md" if args.quick else "results.md")
    wanted = list(BINDINGS) if args.binding == "both" else [args.binding]
    skipped = [binding for binding in wanted if not installed(binding)]
    if args.binding != "both" and skipped:
        print(
            f"{BINDING_NAMES[args.binding]} is not installed: pip install "
            f"{BINDING_NAMES[args.binding]} (or 'qbackground[pyqt6]'), or choose another --binding",
            file=sys.stderr,
        )
        return 2
    bindings = [binding for binding in wanted if binding not in skipped]
    if not bindings:
        print("neither PySide6 nor PyQt6 is installed", file=sys.stderr)
        return 2
    for binding in skipped:
        print(f"{BINDING_NAMES[binding]} is not installed: not run", file=sys.stderr)
    started = perf_counter()
    runs = [run_binding(binding, args, settings) for binding in bindings]
    failed = [run for run in runs if run.error]
    header = environment_line(
        runs, quick=settings.quick, repeat=settings.repeat, trials=settings.trials, skipped=skipped
    )
    preamble = [
        f"**The {run.name} run failed**: {run.error}. Its columns show what finished before."
        for run in failed
    ]
    tables = side_by_side(runs)
    summary = targets_summary(tables)
    if summary:
        preamble.append(summary)
    each = ", ".join(
        f"{run.name} {run.seconds:.1f} s" if run.seconds == run.seconds else f"{run.name} —"
        for run in runs
    )
    footer = [
        f"_Total benchmark time: {perf_counter() - started:.1f} s ({each}). Each binding "
        "runs in its own process, one after the other; superqt and the raw QThreadPool "
        "baseline run on the same binding as the qbackground column beside them. "
        "Pass/fail is judged on the median over repeats/trials; the worst value is shown "
        "beside it so outliers stay visible._"
    ]
    document = render(header, tables, footer, preamble)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document, encoding="utf-8")
    print(document)
    print(f"wrote {output}", file=sys.stderr)
    if args.json is not None:
        data = {
            "quick": settings.quick,
            "repeat": settings.repeat,
            "trials": settings.trials,
            "skipped": skipped,
            "runs": [run.to_dict() for run in runs],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    if failed:
        names = ", ".join(run.name for run in failed)
        print(f"the {names} run failed: see the top of {output}", file=sys.stderr)
        return 1
    if not settings.quick and not args.scenario:
        # A full run of everything: refresh the charts of the performance page.
        for path in write_plots(per_binding_rows(runs), _HERE.parent / "docs" / "images"):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
