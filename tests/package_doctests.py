"""The package's doctests, run in the test session (`make test`: `-p tests.package_doctests`).

Every ``Examples:`` block in ``jaxloss/`` is collected beside the suite, so the pytest workers
already started for the suite run them (no second session importing jax and the references).
Each example runs as a user runs it, in float32: the session enables float64 for its gradient
checks (tests/conftest.py), which would change the dtypes the examples print, so it is turned
off around each doctest. Rank promotion raises there too, as in the rest of the session.
"""

from __future__ import annotations

import pathlib

import jax
import pytest
from _pytest.doctest import DoctestItem, DoctestModule

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxloss"


def pytest_collect_file(file_path: pathlib.Path, parent):
    if file_path.suffix == ".py" and file_path.is_relative_to(PACKAGE):
        return DoctestModule.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not isinstance(item, DoctestItem):
        return (yield)
    with jax.enable_x64(False):
        return (yield)
