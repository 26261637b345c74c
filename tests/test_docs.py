"""The documentation site (`make docs`): complete, self-contained, and rendered in a browser.

`make test` builds the site before the suite and sets ``JAXLOSS_DOCS_BUILT=1``; without it
(a bare ``pytest``) the tests that read the built site are skipped. The browser test opens the
index and one function page in headless Chromium (Debian's ``chromium``; `make browser`
installs it), checks that the formula is typeset by MathJax (``mjx-container`` elements, no raw
``\\(``/``\\[`` TeX left) and leaves screenshots in ``docs/_build/screenshots``.
"""

from __future__ import annotations

import inspect
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
SCREENSHOTS = DOCS / "_build" / "screenshots"
PUBLIC = sorted(set(jaxloss.__all__) - {"__version__"})

built = pytest.mark.skipif(
    not os.environ.get("JAXLOSS_DOCS_BUILT"), reason="the site is built by `make docs`"
)


def _function_with_formula() -> str:
    """A public function whose docstring has a display formula (``.. math::``)."""
    for name in ("huber_loss", *PUBLIC):
        if name in PUBLIC and ".. math::" in (inspect.getdoc(getattr(jaxloss, name)) or ""):
            return name
    raise AssertionError("no public docstring has a `.. math::` formula")


def _chromium(*args: str, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "headless Chromium is missing: `make browser` installs Debian's chromium"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=20000",  # MathJax typesets before the DOM is read
    ]
    return subprocess.run(
        [browser, *flags, *args], capture_output=True, text=True, timeout=180, check=True
    )


@built
def test_every_public_name_has_a_page():
    missing = [n for n in PUBLIC if not (SITE / "api" / f"jaxloss.{n}.html").is_file()]
    assert not missing, missing


@built
def test_sidebar_marks_the_current_section():
    """A name's page is not in the sidebar's tree (docs/ext/api_pages.py), yet its sidebar
    marks "API reference" as the current section, as the API page's does; and only that."""
    current = re.compile(r'<li class="toctree-l1 current[^"]*"><a [^>]*>([^<]*)')
    for page, section in [
        ("api.html", "API reference"),
        (f"api/jaxloss.{_function_with_formula()}.html", "API reference"),
        ("install.html", "Install"),
    ]:
        assert current.findall((SITE / page).read_text()) == [section], page


@built
def test_site_is_self_contained():
    """No script, stylesheet, image or font is loaded from the network."""
    resource = re.compile(r"<(?:script|img|link|iframe|source)\b[^>]*?(?:src|href)=\"([^\"]+)\"")
    external = {}
    for page in SITE.rglob("*.html"):
        for url in resource.findall(page.read_text(errors="replace")):
            if re.match(r"(https?:)?//", url):
                external.setdefault(url, page.relative_to(SITE))
    assert not external, external
    assert (SITE / "_static" / "mathjax" / "tex-svg.js").is_file()


@built
@pytest.mark.parametrize("page", ["index", "function"])
def test_browser_renders_typeset_math(page, tmp_path):
    name = _function_with_formula()
    target = SITE / ("index.html" if page == "index" else f"api/jaxloss.{name}.html")
    url = target.as_uri()
    dom = _chromium("--dump-dom", url, tmp_path=tmp_path).stdout
    assert "jaxloss" in dom
    if page == "index":
        assert "api.html" in dom and "notebooks/index.html" in dom
    else:
        assert name in dom
        assert dom.count("<mjx-container") >= 1, "MathJax typeset no formula"
        raw = re.findall(r"\\[\(\[]", re.sub(r"<script.*?</script>", "", dom, flags=re.S))
        assert not raw, f"raw TeX left in the page: {raw[:3]}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{page}.png"
    shot.unlink(missing_ok=True)
    _chromium(f"--screenshot={shot}", "--window-size=1280,1400", url, tmp_path=tmp_path)
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) blank"


def test_stored_notebooks_are_the_sources_executed():
    """docs/notebooks holds each notebook of notebooks/ with the same code and its outputs."""
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert sources
    for source in sources:
        stored = DOCS / "notebooks" / source.name
        assert stored.is_file(), f"{stored} is missing: run `make docs-notebooks`"
        code = [
            [c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code"]
            for p in (source, stored)
        ]
        assert code[0] == code[1], f"{stored.name} is stale: run `make docs-notebooks`"
        cells = nbformat.read(stored, as_version=4).cells
        assert any(c.get("outputs") for c in cells if c.cell_type == "code"), stored.name
        assert not any(
            o.get("output_type") == "error" for c in cells for o in c.get("outputs", [])
        ), f"{stored.name} stored an error"


def test_coverage_check_fails_when_a_name_has_no_page(tmp_path):
    """The build fails, naming each, when public names are left out of the API pages.

    All but three names are left out (among them one whose docstring has a formula), so the
    dummy build reads three API pages instead of 180: the check and its message are the same
    for one missing name or many.
    """
    copy = tmp_path / "docs"
    shutil.copytree(
        DOCS,
        copy,
        ignore=shutil.ignore_patterns("_build", "_vendor", "api", "api.rst", "*.ipynb"),
    )
    for name in ("README.md", "CONTRIBUTING.md", "bench"):
        (tmp_path / name).symlink_to(ROOT / name)
    dropped = _function_with_formula()
    kept = [name for name in PUBLIC if name != dropped][:3]
    omitted = [name for name in PUBLIC if name not in kept]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "dummy",
            "-q",
            "-D",
            f"jaxloss_docs_omit={','.join(omitted)}",
            str(copy),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert "coverage check" in result.stderr, result.stderr[-3000:]
    assert f"coverage check: {len(omitted)} public name(s)" in result.stderr, result.stderr[-3000:]
    for name in (dropped, omitted[-1]):
        assert f"jaxloss.{name} (no page documents it)" in result.stderr, result.stderr[-3000:]
    assert not any(f"jaxloss.{name} (" in result.stderr for name in kept), result.stderr[-3000:]
