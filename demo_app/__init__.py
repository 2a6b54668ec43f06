"""The qbackground demo application: one page per scenario, each with a headless self-test.

Run it with ``python -m demo_app`` (or ``make demo``). ``--smoke`` drives every scenario
automatically and exits with the result; ``--screenshot PATH`` saves a picture of the
window while a task runs. See :mod:`demo_app.cli` for every option.

Adding a scenario: subclass :class:`~demo_app.scenarios.Scenario` (or
:class:`~demo_app.scenarios.TaskPage` for a task with the usual controls), implement
``smoke()``, and add the class to :data:`demo_app.scenarios.SCENARIOS`. A page with a
long smoke test keeps it in :mod:`demo_app.scenarios.checks`, and builds its widgets
from the shared ones in :mod:`demo_app.scenarios.widgets` (a log that follows its last
line and keeps the run's clock, fixed-size live labels, outcome colours).

Qt binding: ``--binding pyside6|pyqt6`` (or ``QT_API``) picks PySide6 or PyQt6; by default
PySide6 when both are installed (see :mod:`demo_app.binding`). Importing this package imports
no Qt, so ``python -m demo_app`` can apply ``--binding`` first.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo (:func:`demo_app.app.main`); returns the process exit code.

    Imported on call, so that importing :mod:`demo_app` imports no Qt.

    Example::

        raise SystemExit(main(["--smoke", "--binding", "pyqt6"]))
    """
    from .app import main as run

    return run(argv)
