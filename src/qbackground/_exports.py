"""Public classes report the public module that exports them.

Each public package ends its ``__init__.py`` with one call::

    _public_module(__name__, __all__, globals())

so ``TaskStateError`` shows as ``qbackground.TaskStateError`` — not
``qbackground._errors.TaskStateError`` — in reprs, tracebacks and pickles (a pickle
names a class by ``__module__``; ``qbackground`` re-exports it, so loading it in another
process still finds the same class). numpy, trio and attrs do the same.

One call per package rather than ``__module__ = "..."`` in each class body: a class
exported later cannot be forgotten, and the class bodies stay free of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["public_module"]


def public_module(package: str, names: Iterable[str], namespace: Mapping[str, object]) -> None:
    """Set ``__module__`` to ``package`` on the classes among ``names`` defined in
    one of its submodules.

    A class defined elsewhere keeps its module: ``qbackground.tasker`` re-exports
    ``ExecutionContext``, which stays ``qbackground.TaskLifeCycle``.
    """
    inside = package + "."
    for name in names:
        value = namespace[name]
        if isinstance(value, type) and value.__module__.startswith(inside):
            value.__module__ = package
