"""Sphinx configuration of the jaxloss documentation site (`make docs`).

Self-contained: MathJax is served from the site itself (``_vendor/mathjax/tex-svg.js``, fetched
by `make docs` from the npm registry, not committed) and nothing is loaded from a CDN. The
notebooks are rendered from their executed copies in ``docs/notebooks`` (``make
docs-notebooks`` refreshes them), so the build executes nothing.
"""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "ext"))

import jaxloss  # noqa: E402

project = "jaxloss"
author = "the jaxloss authors"
copyright = "the jaxloss authors, Apache-2.0"
release = version = jaxloss.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_nb",
    "api_pages",
    "coverage_check",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_vendor", "ext", "**.ipynb_checkpoints"]

# Autodoc and autosummary: one page per public name, the docstring as written (Google style).
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the Args section states types and shapes
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
default_role = "py:obj"  # `name` in a docstring links to it where it is documented

# MyST: $...$ math in the notebooks, heading anchors for the included Markdown files.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 4
nb_execution_mode = "off"  # stored outputs (docs/notebooks); `make docs-notebooks` refreshes
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN

# MathJax 3 from the site itself: the SVG output needs no font files.
mathjax_path = "mathjax/tex-svg.js"

html_theme = "furo"
html_title = f"jaxloss {release}"
html_static_path = ["_vendor"]
html_show_sourcelink = False
html_copy_source = False
