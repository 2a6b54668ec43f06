"""``python -m benchmarks._one_binding``: the scenarios on one Qt binding, in this process.

``python -m benchmarks`` starts one of these per binding with ``QT_API`` set (a process
can hold only one Qt binding) and merges their reports. Each writes its
:class:`~benchmarks._report.BindingRun` as JSON to ``--json``, rewritten after every
scenario, so a run that dies half-way still reports the scenarios that finished.
Progress goes to stderr; nothing is printed on stdout.

Options: ``--json PATH`` (required), ``--quick``, ``--repeat N``, ``--trials N``,
``--scenario NAME`` (repeatable), as for ``python -m benchmarks``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402

import qbackground.qt  # noqa: E402  (first: it decides the binding, from QT_API, before qtpy)
import qtpy  # noqa: E402
from qtpy.QtCore import qVersion  # noqa: E402

from . import (  # noqa: E402
    SCENARIOS,
    asyncio_backend,
    big_arrays,
    cancel_latency,
    flood,
    gui_stalls,
    pause_latency,
    process_backend,
    publish_cost,
    roundtrip,
    timeout_delivery,
)
from ._harness import Settings, application  # noqa: E402
from ._report import BindingRun, Table  # noqa: E402

__all__ = ["RUNNERS", "binding_run", "main"]

RUNNERS: dict[str, Callable[[Settings], Table | list[Table]]] = {
    flood.NAME: flood.run,
    roundtrip.NAME: roundtrip.run,
    publish_cost.NAME: publish_cost.run,
    cancel_latency.NAME: cancel_latency.run,
    timeout_delivery.NAME: timeout_delivery.run,
    process_backend.NAME: process_backend.run,
    asyncio_backend.NAME: asyncio_backend.run,
    big_arrays.NAME: big_arrays.run,
    gui_stalls.NAME: gui_stalls.run,
    pause_latency.NAME: pause_latency.run,
}
"""Scenario name → its ``run(settings)``, which returns its table (or tables, in order)."""
assert tuple(RUNNERS) == SCENARIOS, "benchmarks.SCENARIOS and the scenario modules disagree"


def binding_run() -> BindingRun:
    """An empty report naming the binding this process runs on and its versions."""
    binding = qbackground.qt.qt_binding()
    version = str(qtpy.PYSIDE_VERSION if binding == "pyside6" else qtpy.PYQT_VERSION)
    return BindingRun(binding=binding, version=version, qt=qVersion() or "")


def _write(run: BindingRun, path: Path) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(run.to_dict(), ensure_ascii=False), encoding="utf-8")
    partial.replace(path)  # the parent never reads a half-written file


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected scenarios on this process's binding, writing the report as it goes."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._one_binding")
    parser.add_argument("--json", type=Path, required=True, help="where to write the report")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--scenario", action="append", choices=list(RUNNERS))
    args = parser.parse_args(argv)
    settings = Settings.for_mode(quick=args.quick, repeat=args.repeat, trials=args.trials)
    run = binding_run()
    application()
    names: list[str] = args.scenario or list(RUNNERS)
    print(f"on {run.name} {run.version} (Qt {run.qt})", file=sys.stderr, flush=True)
    started = perf_counter()
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        run.error = f"stopped during the {name} scenario"
        _write(run, args.json)
        scenario_started = perf_counter()
        produced = RUNNERS[name](settings)
        run.tables.extend(produced if isinstance(produced, list) else [produced])
        run.seconds = perf_counter() - started
        print(f"  {name}: {perf_counter() - scenario_started:.1f} s", file=sys.stderr, flush=True)
    run.error = ""
    run.seconds = perf_counter() - started
    _write(run, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
