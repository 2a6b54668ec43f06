"""A mkdocs hook: the site works offline, Mermaid diagrams included.

mkdocs-material renders ```mermaid fences in the browser with Mermaid.js, and fetches
it from ``https://unpkg.com/mermaid@11/...`` unless a global ``mermaid`` is already
defined: offline, or behind a proxy, the reader sees the diagram's source instead of the
diagram. So the site ships its own copy, ``docs/javascripts/mermaid.min.js`` (Mermaid
``MERMAID_VERSION``, MIT, its licence beside it), and this hook

* adds ``<script src=".../javascripts/mermaid.min.js">`` in front of material's bundle
  on the pages that have a diagram (and only there: the file is 3.5 MB);
* after the build, logs a warning (an error under ``mkdocs build --strict``) when

  - a built page loads a script from another host (``<script src="https://...">``),
  - a page with a diagram does not load the local copy, or that copy is missing from
    the site or is not the file recorded below (``MERMAID_SHA256``),
  - material's bundle would fetch Mermaid from a CDN even with the local copy loaded
    (its ``typeof mermaid=="undefined"`` guard is gone: re-check after an upgrade).

Updating Mermaid: ``npm pack mermaid@<version>``, copy ``package/dist/mermaid.min.js``
and ``package/LICENSE`` (as ``mermaid.LICENSE``) into ``docs/javascripts/``, and update
``MERMAID_VERSION`` and ``MERMAID_SHA256`` here. Keep the major version material asks
for (the URL in its bundle: ``mermaid@11``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.offline_assets")

MERMAID = "javascripts/mermaid.min.js"
MERMAID_VERSION = "11.17.2"
MERMAID_SHA256 = "581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8"

_DIAGRAM = re.compile(r"""<(?:pre|div)\b[^>]*\bclass=["'](?:[^"']*\s)?mermaid(?:\s[^"']*)?["']""")
_BUNDLE_SCRIPT = re.compile(r"""<script\b[^>]*\bsrc=["'][^"']*assets/javascripts/bundle\.[^"']*["'][^>]*>""")
_SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc=["']([^"']+)["']""", re.IGNORECASE)
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_CDN_MERMAID = re.compile(r"https?://[^\"'`]*mermaid[^\"'`]*\.js")
_GUARD = 'typeof mermaid=="undefined"'


def on_post_page(output: str, page: Any, config: Any) -> str:
    """Load the local Mermaid on pages with a diagram, before material's bundle runs."""
    if not _DIAGRAM.search(output):
        return output
    from mkdocs.utils import get_relative_url  # here: problems() runs without mkdocs

    src = get_relative_url(MERMAID, page.url)
    tag = f'<script src="{src}"></script>\n      '
    bundle = _BUNDLE_SCRIPT.search(output)
    if bundle is None:
        log.warning("offline_assets: %s has a Mermaid diagram but no material bundle script to load it before", page.file.src_uri)
        return output
    return output[: bundle.start()] + tag + output[bundle.start() :]


def problems(site_dir: Path) -> list[str]:
    """What keeps the built site in ``site_dir`` from working offline (empty: nothing)."""
    found: list[str] = []
    local = site_dir / MERMAID
    if not local.is_file():
        found.append(f"{MERMAID} is missing from the built site")
    elif hashlib.sha256(local.read_bytes()).hexdigest() != MERMAID_SHA256:
        found.append(
            f"{MERMAID} is not Mermaid {MERMAID_VERSION} as recorded in docs/hooks/offline_assets.py "
            "(MERMAID_SHA256): update the version and hash there together with the file"
        )
    diagram_pages = 0
    for html in sorted(site_dir.rglob("*.html")):
        text = html.read_text(encoding="utf-8", errors="replace")
        where = html.relative_to(site_dir)
        sources = _SCRIPT_SRC.findall(text)
        for src in sources:
            if _EXTERNAL.match(src):
                found.append(f"{where} loads a script from another host: {src}")
        if _DIAGRAM.search(text):
            diagram_pages += 1
            if not any(src.endswith(MERMAID) and not _EXTERNAL.match(src) for src in sources):
                found.append(f"{where} has a Mermaid diagram but does not load the local {MERMAID}")
    bundles = sorted((site_dir / "assets" / "javascripts").glob("bundle.*.js"))
    if diagram_pages and not bundles:
        found.append("no material bundle found under assets/javascripts/: cannot check how it loads Mermaid")
    for bundle in bundles:
        code = bundle.read_text(encoding="utf-8", errors="replace")
        if _CDN_MERMAID.search(code) and _GUARD not in code:
            found.append(
                f"assets/javascripts/{bundle.name} fetches Mermaid from a CDN without checking for a "
                f"loaded copy ({_GUARD!r} not found): material changed how it loads Mermaid; "
                "make the site load the local copy again"
            )
    return found


def on_post_build(config: Any) -> None:
    """Warn (an error with ``--strict``) about everything :func:`problems` finds."""
    for problem in problems(Path(config["site_dir"])):
        log.warning("offline_assets: %s", problem)


if __name__ == "__main__":
    import sys

    issues = problems(Path(sys.argv[1] if len(sys.argv) > 1 else "site"))
    print("\n".join(issues) or "the site works offline")
    raise SystemExit(1 if issues else 0)
