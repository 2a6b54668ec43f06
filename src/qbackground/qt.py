"""The Qt binding: which one qbackground runs on, and the two things qtpy does not hide.

Every Qt import in qbackground goes through ``qtpy``; this module is the only one that
knows there are two bindings. It decides the binding **before** qtpy is imported, by the
rule of DESIGN §6:

1. ``QT_API`` if it is set (``pyside6`` or ``pyqt6``);
2. else the binding the application already imported (``PySide6`` or ``PyQt6`` in
   ``sys.modules``), or the one qtpy already picked if the application imported qtpy first;
3. else PySide6 if it is installed, else PyQt6.

Unlike qtpy's own default (which tries PyQt6 before PySide6), PySide6 stays the default
when both are installed. The choice is written to ``os.environ["QT_API"]``, so worker
processes (the process backend, a local Dask cluster) import the same binding.

What qtpy does not cover, and is kept here: :func:`is_alive` (``shiboken6.isValid`` /
``not sip.isdeleted``) and :func:`delete` (``shiboken6.delete`` / ``sip.delete``).

Example::

    import os
    os.environ["QT_API"] = "pyqt6"   # before anything imports Qt
    from qbackground.qt import qt_binding
    assert qt_binding() == "pyqt6"
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, Literal

__all__ = ["BINDINGS", "Binding", "choose_binding", "delete", "is_alive", "qt_binding"]

Binding = Literal["pyside6", "pyqt6"]
"""A Qt binding qbackground runs on, named as ``QT_API`` names it."""
BINDINGS: tuple[Binding, ...] = ("pyside6", "pyqt6")
"""The supported bindings, the default first."""
_MODULES: dict[Binding, str] = {"pyside6": "PySide6", "pyqt6": "PyQt6"}


def _unsupported(name: str, where: str) -> ImportError:
    return ImportError(
        f"qbackground runs on PySide6 or PyQt6, but {where} selects {name!r}. "
        "Set QT_API=pyside6 or QT_API=pyqt6 before anything imports Qt "
        "(pip install qbackground brings PySide6; pip install 'qbackground[pyqt6]' adds PyQt6)"
    )


def choose_binding() -> Binding:
    """The binding qbackground uses, decided without importing Qt (DESIGN §6 order).

    Raises :class:`ImportError` saying what to do when ``QT_API`` names another binding,
    the application already runs on PyQt5/PySide2, or neither PySide6 nor PyQt6 is
    installed.

    Example::

        from qbackground.qt import choose_binding
        print(choose_binding())   # "pyside6" unless QT_API or an import said otherwise
    """
    qtpy = sys.modules.get("qtpy")
    if qtpy is not None:  # the application imported qtpy first: it has decided
        api = str(getattr(qtpy, "API", "")).lower()
        if api in BINDINGS:
            return api
        raise _unsupported(api, "qtpy (imported before qbackground)")
    requested = os.environ.get("QT_API", "").strip().lower()
    if requested:
        if requested not in BINDINGS:
            raise _unsupported(requested, "the QT_API environment variable")
        for binding, module in _MODULES.items():
            if binding != requested and module in sys.modules:
                # qtpy would follow the imported binding and ignore QT_API; two bindings
                # in one process cannot share widgets, so say which to change.
                raise ImportError(
                    f"QT_API={requested} but the application already imported {module}; "
                    f"one process runs one Qt binding. Unset QT_API (qbackground then uses "
                    f"{module}) or import {_MODULES[requested]} instead"
                )
        if importlib.util.find_spec(_MODULES[requested]) is None:
            install = "pip install 'qbackground[pyqt6]'" if requested == "pyqt6" else "pip install PySide6-Essentials"
            raise ImportError(
                f"QT_API={requested} but {_MODULES[requested]} is not installed: {install}, "
                "or set QT_API to the binding you have"
            )
        return requested
    for old in ("PyQt5", "PySide2"):
        if old in sys.modules:
            raise _unsupported(old, "the application (it imported it)")
    for binding, module in _MODULES.items():
        if module in sys.modules:
            return binding
    for binding, module in _MODULES.items():
        if importlib.util.find_spec(module) is not None:
            return binding
    raise ImportError(
        "qbackground needs PySide6 or PyQt6 and neither is installed: "
        "pip install qbackground brings PySide6, pip install 'qbackground[pyqt6]' adds PyQt6"
    )


_BINDING: Binding = choose_binding()
# qtpy reads QT_API when it is first imported; child processes inherit it and so import
# the same binding (the process backend, a local Dask cluster).
os.environ["QT_API"] = _BINDING

import qtpy  # noqa: E402  (after QT_API is set)

if str(qtpy.API).lower() != _BINDING:  # qtpy fell back: QT_API named a missing binding
    install = "pip install 'qbackground[pyqt6]'" if _BINDING == "pyqt6" else "pip install PySide6-Essentials"
    raise ImportError(
        f"QT_API={_BINDING} but {_MODULES[_BINDING]} cannot be imported (qtpy fell back to "
        f"{qtpy.API_NAME}); {install}, or set QT_API to the binding you have"
    )

if _BINDING == "pyside6":
    import shiboken6 as _shiboken

    def is_alive(obj: object) -> bool:
        """Whether ``obj``'s C++ object still exists (``shiboken6.isValid``).

        Example::

            from qbackground.qt import is_alive

            if is_alive(self.label):   # the window may have been closed meanwhile
                self.label.setText("done")
        """
        return bool(_shiboken.isValid(obj))

    def delete(obj: object) -> None:
        """Delete ``obj``'s C++ object now (``shiboken6.delete``); the wrapper stays.

        Example::

            from qbackground.qt import delete

            delete(window)   # as if Qt had destroyed it (tests of owner binding)
        """
        _shiboken.delete(obj)  # type: ignore[arg-type]

else:
    _sip: Any = importlib.import_module("qtpy.sip")  # Any: mypy checks against PySide6

    def is_alive(obj: object) -> bool:
        """Whether ``obj``'s C++ object still exists (``not sip.isdeleted``).

        Example::

            from qbackground.qt import is_alive

            if is_alive(self.label):   # the window may have been closed meanwhile
                self.label.setText("done")
        """
        return not _sip.isdeleted(obj)

    def delete(obj: object) -> None:
        """Delete ``obj``'s C++ object now (``sip.delete``); the wrapper stays.

        Example::

            from qbackground.qt import delete

            delete(window)   # as if Qt had destroyed it (tests of owner binding)
        """
        _sip.delete(obj)


def qt_binding() -> Binding:
    """The Qt binding qbackground runs on: ``"pyside6"`` or ``"pyqt6"``.

    Example::

        from qbackground.qt import qt_binding
        print(qt_binding())
    """
    return _BINDING
