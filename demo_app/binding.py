"""The demo's ``--binding`` option: which Qt binding it runs on (PySide6 or PyQt6).

The binding must be chosen before anything imports Qt, so ``python -m demo_app`` reads
``--binding`` from the command line with :func:`select_binding` before it imports the rest
of the demo (:mod:`demo_app.cli` lists the option too, so ``--help`` shows it). Without the
option, ``QT_API`` decides, then qbackground's default (PySide6 when both are installed;
see :mod:`qbackground.qt`). This module imports no Qt until :func:`binding_label` is called.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

__all__ = ["CHOICES", "binding_label", "select_binding"]

CHOICES = ("pyside6", "pyqt6")
"""The values of ``--binding`` (and of ``QT_API``): ``qbackground.qt.BINDINGS``, spelled out
here because reading them from there would import Qt before the option is applied."""


def select_binding(argv: Sequence[str]) -> str | None:
    """Apply ``--binding`` from ``argv`` (``QT_API``, before Qt is imported); return it.

    Returns ``None`` when ``argv`` has no valid ``--binding``: ``QT_API`` (or the default)
    then decides, and :func:`demo_app.cli.parse_args` reports a bad value later.

    Example::

        select_binding(["--smoke", "--binding", "pyqt6"])
        assert os.environ["QT_API"] == "pyqt6"
    """
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--binding")
    try:
        known, _rest = parser.parse_known_args(argv)
    except argparse.ArgumentError:  # "--binding" without a value: the full parser says so
        return None
    binding = known.binding
    if binding not in CHOICES:
        return None
    os.environ["QT_API"] = binding
    return str(binding)


def binding_label() -> str:
    """The binding the demo runs on, as shown in its window: ``"PySide6 6.11.3"``,
    ``"PyQt6 6.11.0"`` (the binding's name and version, from qtpy).

    Example::

        window.setWindowTitle(f"qbackground demo · {binding_label()}")
    """
    import qbackground.qt  # noqa: F401  (first: qbackground, not qtpy, picks the default)
    import qtpy

    version = qtpy.PYSIDE_VERSION if qtpy.API == "pyside6" else qtpy.PYQT_VERSION
    return f"{qtpy.API_NAME} {version}"
