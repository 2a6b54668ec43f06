"""A mkdocs hook: every public object has a docstring and a place in the API reference.

mkdocstrings hides an undocumented member instead of complaining, so this hook does the
complaining. Before each build it loads ``qbackground`` with griffe (static analysis, the
same loader mkdocstrings uses: nothing is imported, so ``qbackground.dask`` needs no
``distributed``) and logs a warning — an error under ``mkdocs build --strict`` — for:

* a public module, class, function, method, property or attribute without a docstring.
  "Public" means: reachable from a module whose dotted path has no ``_``-prefixed part,
  through its ``__all__`` (or, without ``__all__``, its names not starting with ``_``),
  and through the public members of public classes, inherited ones included.
  A method or attribute that overrides a documented one of a qbackground base class
  inherits its docstring (as ``inspect.getdoc`` does); an attribute named in its class's
  ``Args:`` section is documented there; ``__init__`` and other dunders are covered by
  the class docstring.
* a public object that no ``::: identifier`` block in ``docs/`` renders (a new public
  module needs a page under ``docs/reference/``).

``pytest_*`` functions (a pytest plugin's hook implementations) are exempt: pytest
documents them.

``KNOWN_GAPS`` lists the members that lacked a docstring when this check was written,
each with the reason it is tolerated; an entry that becomes documented must be removed
(the hook warns about it), so the list only shrinks.

Run it alone with ``python docs/hooks/api_checks.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import griffe

log = logging.getLogger("mkdocs.hooks.api_checks")

PACKAGE = "qbackground"

KNOWN_GAPS: dict[str, str] = {}
"""Canonical path -> why its missing docstring is tolerated for now."""

_NAMING_SECTIONS = (griffe.DocstringSectionKind.parameters, griffe.DocstringSectionKind.attributes)
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


def _resolve(obj: Any) -> griffe.Object | None:
    """The object an alias points to, or None when it leaves the package or fails."""
    if obj.is_alias:
        try:
            obj = obj.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None
    if not obj.path.split(".")[0] == PACKAGE:
        return None
    return obj  # type: ignore[no-any-return]


def _bases(cls: griffe.Class) -> list[griffe.Class]:
    """``cls`` and its qbackground base classes, nearest first (a simple MRO)."""
    order: list[griffe.Class] = []
    todo = [cls]
    while todo:
        current = todo.pop(0)
        if current in order:
            continue
        order.append(current)
        for base in current.resolved_bases:
            if isinstance(base, griffe.Class) and base.path.split(".")[0] == PACKAGE:
                todo.append(base)
    return order


def _module_members(module: griffe.Module, *, submodules: bool) -> Iterator[griffe.Object]:
    if module.exports is not None:
        names = [str(name) for name in module.exports]
    else:
        names = [
            name
            for name, member in module.members.items()
            if not name.startswith("_") and not member.is_alias
        ]
    for name in names:
        member = module.members.get(name)
        if member is None:
            continue
        target = _resolve(member)
        if target is not None and (submodules or not target.is_module or name in (module.exports or ())):
            yield target
    if submodules:
        for name, member in module.members.items():
            if not member.is_alias and member.is_module and not name.startswith("_"):
                yield member  # type: ignore[misc]


def _class_members(cls: griffe.Class) -> Iterator[tuple[str, griffe.Object]]:
    for name, member in cls.all_members.items():
        if name.startswith("_"):
            continue
        target = _resolve(member)
        if target is not None:
            yield name, target


def public_objects(
    root: griffe.Object, *, submodules: bool
) -> dict[str, tuple[griffe.Object, griffe.Class | None, str]]:
    """Canonical path -> (object, the class it was found on, the public module it was
    found through) for everything public under ``root``."""
    found: dict[str, tuple[griffe.Object, griffe.Class | None, str]] = {}

    def visit(obj: griffe.Object, owner: griffe.Class | None, via: str) -> None:
        if obj.path in found:
            return
        found[obj.path] = (obj, owner, via)
        if obj.is_module:
            for member in _module_members(obj, submodules=submodules):  # type: ignore[arg-type]
                visit(member, None, member.path if member.is_module else obj.path)
        elif obj.is_class:
            for _name, member in _class_members(obj):  # type: ignore[arg-type]
                visit(member, obj, via)  # type: ignore[arg-type]

    visit(root, None, root.path if root.is_module else root.module.path)
    return found


def _has_doc(obj: griffe.Object) -> bool:
    return obj.docstring is not None and bool(obj.docstring.value.strip())


def _documented_elsewhere(obj: griffe.Object, owner: griffe.Class | None) -> bool:
    name = obj.name
    if name.startswith("__") and name.endswith("__"):
        return True  # __init__ & co.: the class docstring documents them
    if owner is None:
        return False
    for cls in _bases(owner):
        inherited = cls.members.get(name)
        if inherited is not None and inherited is not obj:
            target = _resolve(inherited)
            if target is not None and _has_doc(target):
                return True  # an override inherits the base's docstring
        if obj.is_attribute and cls.docstring is not None:
            for section in cls.docstring.parse("google"):
                if section.kind in _NAMING_SECTIONS:
                    if any(item.name == name for item in section.value):
                        return True  # an attribute named in the class's Args:/Attributes:
    return False


def check(src: Path, docs: Path) -> list[str]:
    """Problems found (empty when every public object is documented and rendered)."""
    package = griffe.load(PACKAGE, search_paths=[str(src)], resolve_aliases=True)
    assert isinstance(package, griffe.Module)
    public = {
        path: pair
        for path, pair in public_objects(package, submodules=True).items()
        if not pair[0].name.startswith("pytest_")  # pytest hook implementations
    }
    problems: list[str] = []
    for path, (obj, owner, _via) in sorted(public.items()):
        if _has_doc(obj) or _documented_elsewhere(obj, owner):
            if path in KNOWN_GAPS:
                problems.append(f"{path} is documented now: remove it from KNOWN_GAPS in {__file__}")
            continue
        if path in KNOWN_GAPS:
            continue
        where = f"{obj.relative_filepath}:{obj.lineno}"
        problems.append(f"{obj.kind.value} {path} ({where}) has no docstring")

    rendered: set[str] = set()
    for page in sorted(docs.rglob("*.md")):
        for identifier in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            try:
                root = package[identifier.removeprefix(PACKAGE + ".")] if identifier != PACKAGE else package
            except KeyError:
                problems.append(f"{page.relative_to(docs)}: ::: {identifier} names no object")
                continue
            target = _resolve(root)
            if target is not None:
                rendered.update(public_objects(target, submodules=False))
    for path, (obj, owner, via) in sorted(public.items()):
        if obj.is_module or owner is not None or path in rendered:
            continue
        problems.append(
            f"{obj.kind.value} {path} is public but no API reference page renders it: "
            f"add '::: {via}' to a page under docs/reference/"
        )
    return problems


def on_pre_build(config: Any, **kwargs: Any) -> None:
    """mkdocs event: log each problem as a warning (``--strict`` turns them into errors)."""
    root = Path(config["config_file_path"]).parent
    for problem in check(root / "src", Path(config["docs_dir"])):
        log.warning(problem)


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[2]
    issues = check(here / "src", here / "docs")
    print("\n".join(issues) or "every public object is documented and rendered")
    raise SystemExit(1 if issues else 0)
