"""Run in a fresh interpreter by tests/test_bindings.py: which Qt modules get imported.

Imports every public qbackground module, runs a task on the thread, process, asyncio and
(when ``--dask``) Dask backends, and prints one JSON line: the binding qbackground chose,
the Qt-binding modules loaded here and in a worker process, and the results.

``--preimport NAME`` imports ``NAME`` first, as an application that chose its binding by
importing it would.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BINDING_MODULES = ("PySide6", "shiboken6", "PyQt6", "sip", "PyQt5", "PySide2")


def loaded_bindings() -> list[str]:
    """The top-level names of the Qt binding modules imported in this process."""
    return sorted({name.split(".")[0] for name in sys.modules if name.split(".")[0] in BINDING_MODULES})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preimport", default=None)
    parser.add_argument("--dask", action="store_true")
    args = parser.parse_args()
    if args.preimport:
        importlib.import_module(args.preimport)

    import qbackground
    import qbackground.backends
    import qbackground.tasker
    import qbackground.testing
    import qbackground.testing.plugin
    import qbackground.widgets
    from qbackground.qt import qt_binding
    from qtpy.QtWidgets import QApplication, QLabel

    from tests.binding_tasks import AsyncReport, Report, WithLabel

    app = QApplication([])
    worker = qbackground.BackgroundWorker(processes=1)
    out: dict[str, Any] = {"binding": qt_binding(), "qt_api": os.environ.get("QT_API")}
    handlers = {
        "thread": worker.handle(Report(), executor="thread"),
        "process": worker.handle(Report(), executor="process"),
        "asyncio": worker.handle(AsyncReport(), executor="asyncio"),
    }
    label = QLabel("before")
    handlers["process_widget"] = worker.handle(WithLabel(label), executor="process")
    executor = None
    if args.dask:
        from qbackground.dask import DaskExecutor

        executor = DaskExecutor(n_workers=1)
        handlers["dask"] = worker.handle(Report(), executor=executor)
    for handler in handlers.values():
        handler.execute()
    out["results"] = {name: handler.get_result(60) for name, handler in handlers.items()}
    app.processEvents()
    out["label"] = label.text()
    worker.shutdown(timeout=10)
    if executor is not None:
        executor.close()
    out["here"] = loaded_bindings()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
