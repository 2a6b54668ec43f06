"""``python -m benchmarks``: run every scenario, print the tables, write the Markdown.

Options::

    --quick            small sizes: the whole run takes a few seconds (smoke test)
    --repeat N         measured runs per peer in scenarios 1-3, 6b and 7 (default 3; quick 1)
    --trials N         samples per peer in the latency scenarios 4-5 (default 20; quick 3)
    --scenario NAME    run only this scenario (repeatable)
    --output PATH      where to write the Markdown (default benchmarks/results.md,
                       or benchmarks/results-quick.md with --quick)

The exit status is 0 whenever the run completed, whatever the verdicts: the tables
carry pass/fail, not the process.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402

from . import (  # noqa: E402
    asyncio_backend,
    big_arrays,
    cancel_latency,
    flood,
    process_backend,
    publish_cost,
    roundtrip,
    timeout_delivery,
)
from ._harness import Settings, application  # noqa: E402
from ._plots import write_plots  # noqa: E402
from ._report import Table, environment_line, render  # noqa: E402

SCENARIOS: dict[str, Callable[[Settings], Table | list[Table]]] = {
    flood.NAME: flood.run,
    roundtrip.NAME: roundtrip.run,
    publish_cost.NAME: publish_cost.run,
    cancel_latency.NAME: cancel_latency.run,
    timeout_delivery.NAME: timeout_delivery.run,
    process_backend.NAME: process_backend.run,
    asyncio_backend.NAME: asyncio_backend.run,
    big_arrays.NAME: big_arrays.run,
}
"""Scenario name → its ``run(settings)``, which returns its table (or tables, in order)."""

_HERE = Path(__file__).resolve().parent


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
            "process and asyncio backends."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument(
        "--repeat", type=_positive, help="measured runs per peer (scenarios 1-3, 6b, 7)"
    )
    parser.add_argument("--trials", type=_positive, help="samples per peer (scenarios 4-5)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        help="run only this scenario (repeatable; default all)",
    )
    parser.add_argument("--output", type=Path, help="Markdown file to write")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected scenarios and write the results; returns the exit status."""
    args = parse_args(argv)
    settings = Settings.for_mode(quick=args.quick, repeat=args.repeat, trials=args.trials)
    output: Path = args.output or _HERE / ("results-quick.md" if args.quick else "results.md")
    application()
    names: list[str] = args.scenario or list(SCENARIOS)
    tables: list[Table] = []
    started = perf_counter()
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        scenario_started = perf_counter()
        produced = SCENARIOS[name](settings)
        tables.extend(produced if isinstance(produced, list) else [produced])
        print(f"  {name}: {perf_counter() - scenario_started:.1f} s", file=sys.stderr, flush=True)
    header = environment_line(quick=settings.quick, repeat=settings.repeat, trials=settings.trials)
    footer = [
        f"_Total benchmark time: {perf_counter() - started:.1f} s. "
        "Pass/fail is judged on the median over repeats/trials; the worst value is shown "
        "beside it so outliers stay visible._"
    ]
    document = render(header, tables, footer)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document, encoding="utf-8")
    print(document)
    print(f"wrote {output}", file=sys.stderr)
    if not settings.quick and not args.scenario:
        # A full run of everything: refresh the charts of the performance page.
        for path in write_plots(tables, _HERE.parent / "docs" / "images"):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
