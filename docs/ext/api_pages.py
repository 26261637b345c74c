"""Writes ``api.rst``: one autosummary table per family module, generated from ``jaxloss.__all__``.

The families and their order come from the package itself (each public name's ``__module__``,
in the order of ``__all__``; the section title is the first line of the module's docstring),
so a function added, moved or renamed needs no edit here. Every name gets its own page
(``api/<name>``, the autosummary stub). ``jaxloss_docs_omit`` (a list of names, settable with
``-D jaxloss_docs_omit=name``) leaves names out: it exists to show that the coverage check
(``coverage_check.py``) then fails the build.

The per-name pages stay out of the sidebar: furo renders the whole navigation tree into every
page and re-parses it for each one, so 180 entries there cost every page of the site (about
half of the build's time) and bloat each page's HTML. The API page, with its tables, is their
index; they remain in the toctree Sphinx builds (no "not in any toctree" warning, and
previous/next links still run through them).
"""

from __future__ import annotations

import importlib
import pathlib
from collections import OrderedDict

from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

HEADER = """\
API reference
=============

Every public name of ``jaxloss`` (``jaxloss.__all__``), grouped by the module that defines it;
import them all from ``jaxloss``. Each page renders the function's docstring: the formula, the
shapes, the reduction and the value at each singular point. The feature extractors of
``jaxloss.models`` (``pip install 'jaxloss[models]'``) follow at the end.

"""


def families(omit: set[str]) -> OrderedDict[str, list[str]]:
    jaxloss = importlib.import_module("jaxloss")
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for name in jaxloss.__all__:
        if name == "__version__" or name in omit:
            continue
        module = getattr(getattr(jaxloss, name), "__module__", None) or "jaxloss"
        groups.setdefault(module, []).append(name)
    return groups


def render(omit: set[str]) -> str:
    parts = [HEADER]
    for module, names in families(omit).items():
        doc = (importlib.import_module(module).__doc__ or module).strip().splitlines()[0]
        title = doc.rstrip(".")
        parts.append(f"{title}\n{'-' * len(title)}\n\n``{module}``\n\n")
        parts.append(".. currentmodule:: jaxloss\n\n")
        parts.append(".. autosummary::\n   :toctree: api\n   :nosignatures:\n\n")
        parts.extend(f"   {name}\n" for name in sorted(names))
        parts.append("\n")
    models = importlib.import_module("jaxloss.models")
    title = "Feature extractors (jaxloss.models)"
    parts.append(f"{title}\n{'-' * len(title)}\n\n")
    parts.append(".. currentmodule:: jaxloss.models\n\n")
    parts.append(".. autosummary::\n   :toctree: api\n   :nosignatures:\n\n")
    parts.extend(
        f"   {name}\n"
        for name in models.__all__
        if not name.isupper()  # constants: no page
    )
    return "".join(parts)


def write_api_page(app: Sphinx, config) -> None:
    text = render(set(config.jaxloss_docs_omit))
    path = pathlib.Path(app.srcdir) / "api.rst"
    if not path.exists() or path.read_text() != text:  # unchanged: no rebuild
        path.write_text(text)


def keep_name_pages_out_of_the_sidebar(app: Sphinx, env: BuildEnvironment) -> None:
    """Drops the autosummary toctrees from the API page's entry in the navigation (``env.tocs``,
    the copy the sidebar is built from), not from the page or ``env.toctree_includes``."""
    toc = env.tocs.get("api")
    if toc is None:
        return
    for node in list(toc.findall(addnodes.toctree)):
        node.parent.remove(node)


def mark_api_reference_current(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    """On a name's page (``api/<name>``), the sidebar marks "API reference" as the current
    section, as it does on the API page itself: the name pages are not in the sidebar's tree
    (see above), so nothing else would. Runs after furo has rendered the tree."""
    tree = context.get("furo_navigation_tree")
    if not pagename.startswith("api/") or not tree:
        return
    entry = '<li class="toctree-l1"><a class="reference internal" href="../api.html">'
    current = (
        '<li class="toctree-l1 current"><a class="current reference internal" href="../api.html">'
    )
    context["furo_navigation_tree"] = tree.replace(entry, current, 1)


def setup(app: Sphinx) -> dict:
    app.add_config_value("jaxloss_docs_omit", [], "env", types=(list, str))
    app.connect("config-inited", write_api_page, priority=400)
    app.connect("env-updated", keep_name_pages_out_of_the_sidebar)
    # furo fills `furo_navigation_tree` at the default priority (500).
    app.connect("html-page-context", mark_api_reference_current, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
