"""Fails the build when a public name of ``jaxloss`` has no page of its own.

After Sphinx has read every source (``env-check-consistency``), each name of
``jaxloss.__all__`` must be a documented Python object (``jaxloss.<name>`` in the Python
domain, i.e. an autodoc directive ran for it) on its own page (``api/jaxloss.<name>``). A
missing name raises `CoverageError` listing every missing name, so the build fails with or
without ``-W``.
"""

from __future__ import annotations

import importlib
from typing import cast

from sphinx.application import Sphinx
from sphinx.domains.python import PythonDomain
from sphinx.environment import BuildEnvironment
from sphinx.errors import SphinxError


class CoverageError(SphinxError):
    category = "jaxloss coverage check failed"


def undocumented(env: BuildEnvironment) -> list[str]:
    """The public names without a page: ``[(name, why), ...]`` as strings."""
    jaxloss = importlib.import_module("jaxloss")
    # full name -> ObjectEntry(docname, node_id, objtype, aliased)
    objects = cast(PythonDomain, env.get_domain("py")).objects
    problems = []
    for name in sorted(set(jaxloss.__all__) - {"__version__"}):
        entry = objects.get(f"jaxloss.{name}")
        if entry is None:
            problems.append(f"jaxloss.{name} (no page documents it)")
        elif entry.docname != f"api/jaxloss.{name}":
            problems.append(f"jaxloss.{name} (documented in {entry.docname}, not on its own page)")
    return problems


def check(app: Sphinx, env: BuildEnvironment) -> None:
    problems = undocumented(env)
    if problems:
        raise CoverageError(
            f"coverage check: {len(problems)} public name(s) of jaxloss.__all__ without a "
            "page: " + ", ".join(problems)
        )


def setup(app: Sphinx) -> dict:
    app.connect("env-check-consistency", check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
