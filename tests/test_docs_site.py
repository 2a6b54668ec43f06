"""The documentation site's offline check (docs/hooks/offline_assets.py) catches what it must.

``make docs`` (and so ``make test``) runs the check on the real site after building it;
here it runs on a small hand-made site, once clean and once per planted fault, so a check
that stopped finding anything would fail.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("offline_assets", ROOT / "docs" / "hooks" / "offline_assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _hook()

PAGE = """<html><head><script src="{prefix}assets/javascripts/glightbox.js"></script></head><body>
<pre class="mermaid"><code>flowchart LR
  a --> b</code></pre>
<script id="__config" type="application/json">{{}}</script>
<script src="{prefix}assets/javascripts/bundle.0123.min.js"></script>
</body></html>"""
BUNDLE = 'function as(){return typeof mermaid=="undefined"||mermaid instanceof Element?_t("https://unpkg.com/mermaid@11/dist/mermaid.min.js"):$(void 0)}'


class _Page:
    url = "concepts/"

    class file:
        src_uri = "concepts.md"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "javascripts").mkdir()
    shutil.copy(ROOT / "docs" / hook.MERMAID, tmp_path / hook.MERMAID)
    (tmp_path / "assets" / "javascripts").mkdir(parents=True)
    (tmp_path / "assets" / "javascripts" / "bundle.0123.min.js").write_text(BUNDLE, encoding="utf-8")
    (tmp_path / "concepts").mkdir()
    page = hook.on_post_page(PAGE.format(prefix="../"), _Page(), {})
    (tmp_path / "concepts" / "index.html").write_text(page, encoding="utf-8")
    (tmp_path / "index.html").write_text("<html><body><p>no diagram</p></body></html>", encoding="utf-8")
    return tmp_path


def test_the_mermaid_files_are_shipped() -> None:
    assert (ROOT / "docs" / hook.MERMAID).is_file(), "docs/javascripts/mermaid.min.js is missing"
    assert (ROOT / "docs" / "javascripts" / "mermaid.LICENSE").is_file()


def test_a_page_with_a_diagram_loads_the_local_copy_before_the_bundle(site: Path) -> None:
    html = (site / "concepts" / "index.html").read_text(encoding="utf-8")
    assert html.index('<script src="../javascripts/mermaid.min.js">') < html.index("bundle.0123.min.js")
    assert hook.on_post_page("<p>no diagram</p>", _Page(), {}) == "<p>no diagram</p>"
    assert hook.problems(site) == []


def test_a_script_from_a_cdn_is_reported(site: Path) -> None:
    page = site / "concepts" / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("../javascripts/mermaid.min.js", "https://unpkg.com/mermaid@11/dist/mermaid.min.js"),
        encoding="utf-8",
    )
    assert hook.problems(site) == [
        "concepts/index.html loads a script from another host: https://unpkg.com/mermaid@11/dist/mermaid.min.js",
        "concepts/index.html has a Mermaid diagram but does not load the local javascripts/mermaid.min.js",
    ]


def test_a_protocol_relative_script_is_reported(site: Path) -> None:
    (site / "other.html").write_text('<script src="//cdn.example.org/x.js"></script>', encoding="utf-8")
    assert hook.problems(site) == ["other.html loads a script from another host: //cdn.example.org/x.js"]


def test_a_missing_or_different_mermaid_file_is_reported(site: Path) -> None:
    (site / hook.MERMAID).write_bytes(b"/* another version */")
    [problem] = hook.problems(site)
    assert "is not Mermaid" in problem and "MERMAID_SHA256" in problem
    (site / hook.MERMAID).unlink()
    assert hook.problems(site) == ["javascripts/mermaid.min.js is missing from the built site"]


def test_a_bundle_that_always_fetches_mermaid_is_reported(site: Path) -> None:
    bundle = site / "assets" / "javascripts" / "bundle.0123.min.js"
    bundle.write_text(BUNDLE.replace('typeof mermaid=="undefined"||', ""), encoding="utf-8")
    [problem] = hook.problems(site)
    assert "fetches Mermaid from a CDN without checking for a loaded copy" in problem
