"""A griffe extension: render the reST bits of qbackground's docstrings as Markdown.

The docstrings are Google style, read by humans in editors and by ``help()``; a few use
reST conventions that Markdown would print literally. This extension rewrites them when
mkdocstrings loads the package (the source files are not touched):

* ``Example::`` followed by an indented block becomes an ``Examples:`` section holding a
  fenced ``python`` block; any other paragraph ending in ``::`` keeps one colon and its
  block becomes a fenced block (a bare ``::`` line just introduces the block).
* ``:class:`~qbackground.BackgroundTask``` and friends become code spans, linked to the
  API reference when they name a documented public object (``qbackground.X``,
  ``qbackground.backends.X``, ``qbackground.dask.X``, or a bare name exported by
  ``qbackground``).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|exc|data|mod|obj):`(~?)([^`]+)`")
_LINKED_PACKAGES = ("qbackground", "qbackground.backends", "qbackground.dask")
_CALLABLE_ROLES = {"meth", "func"}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def literal_blocks_to_fences(text: str) -> str:
    """``para::`` + indented block -> ``para:`` + fenced block (``Example::`` -> section)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped.endswith("::"):
            out.append(line)
            i += 1
            continue
        base = _indent(line)
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j == len(lines) or _indent(lines[j]) <= base:
            out.append(line)  # no literal block follows: leave it alone
            i += 1
            continue
        end = j
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
            end += 1
        block = lines[j:end]
        while block and not block[-1].strip():
            block.pop()
        code = textwrap.dedent("\n".join(block)).split("\n")
        pad = " " * base
        head = stripped[:-2].rstrip()
        if head in ("Example", "Examples"):
            out.append(pad + "Examples:")
            pad += "    "
            language = "python"
        elif head:
            out.append(pad + head + ":")
            out.append("")
            language = "python"
        else:
            language = "text"  # a bare "::" introduces a diagram or a listing
        out.append(f"{pad}```{language}")
        out.extend(pad + c if c.strip() else "" for c in code)
        out.append(pad + "```")
        if end < len(lines):
            out.append("")
        i = end
    return "\n".join(out)


def roles_to_markdown(text: str, exported: frozenset[str]) -> str:
    """``:class:`~a.b.C``` -> `` `C` ``, linked when it names a documented object."""

    def replace(match: re.Match[str]) -> str:
        role, tilde, target = match.groups()
        target = target.strip()
        shown = target.rsplit(".", 1)[-1] if tilde else target
        if role in _CALLABLE_ROLES and not shown.endswith(")"):
            shown += "()"
        identifier = None
        if "." in target and target.rsplit(".", 1)[0] in _LINKED_PACKAGES:
            identifier = target
        elif target in exported:
            identifier = f"qbackground.{target}"
        if identifier is None:
            return f"`{shown}`"
        return f"[`{shown}`][{identifier}]"

    return _ROLE.sub(replace, text)


class RstToMarkdown(griffe.Extension):
    """Rewrites every docstring of a loaded package once it is fully loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        exported = frozenset(pkg.exports or ()) if pkg.name == "qbackground" else frozenset()
        seen: set[int] = set()

        def walk(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                value = literal_blocks_to_fences(obj.docstring.value)
                obj.docstring.value = roles_to_markdown(value, exported)
            for member in obj.members.values():
                if not member.is_alias:
                    walk(member)  # type: ignore[arg-type]

        walk(pkg)
