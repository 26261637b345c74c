"""The opt-in checked mode (CONTRIBUTING.md, section 7): free when off, raising when on.

Each family's tests check its own data conditions (which argument, which values). Here, over
the whole registry: every function whose traced program contains a data check compiles, with
the checks off (the default), to the same XLA program as with the checks stripped at trace
time, and gives the same values under ``checkify`` on valid data.
"""

from __future__ import annotations

import collections
import functools
import re

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxloss
from bench.checked_mode import checks_stripped
from tests.registry import Case, all_cases


def _has_check(jaxpr) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "check":
            return True
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            if _has_check(sub):
                return True
    return False


def _call(case: Case):
    call = case.make(np.random.default_rng(0), (3,), jnp.float32)
    return functools.partial(case.function, **call.kwargs), call.args


CHECKED = []
for _case in all_cases():
    _fn, _args = _call(_case)
    if _has_check(jax.make_jaxpr(_fn)(*_args).jaxpr):
        CHECKED.append(_case)


def _op_counts(compiled) -> collections.Counter:
    """The multiset of (result type, opcode) of every instruction: the program's structure,
    blind to instruction names and source metadata."""
    text = compiled.as_text()
    return collections.Counter(re.findall(r"=\s+(\S+)\s+([a-z][a-z0-9\-]*)\(", text))


def test_some_functions_check_their_data():
    names = {c.name for c in CHECKED}
    assert {"softmax_cross_entropy_with_integer_labels", "mutual_information"} <= names, names


@pytest.mark.parametrize("case", CHECKED, ids=[c.name for c in CHECKED])
def test_checks_off_compile_to_the_program_without_checks(case: Case):
    fn, args = _call(case)
    default = jax.jit(fn).lower(*args).compile()
    with checks_stripped():
        jax.clear_caches()  # private jitted kernels must be traced again without the checks
        assert not _has_check(jax.make_jaxpr(fn)(*args).jaxpr)
        stripped = jax.jit(functools.partial(fn)).lower(*args).compile()
    jax.clear_caches()
    assert _op_counts(default) == _op_counts(stripped)
    err, checked = jax.jit(checkify.checkify(fn, errors=checkify.user_checks))(*args)
    assert err.get() is None, err.get()
    jax.tree.map(
        lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
        checked,
        default(*args),
    )


def test_checked_mode_raises_on_negative_weights_under_jit():
    loss = jax.jit(
        checkify.checkify(lambda v, w: jaxloss.reduce(v, weights=w), errors=checkify.user_checks)
    )
    err, _ = loss(jnp.ones(3), jnp.array([1.0, -2.0, 1.0]))
    assert "`weights` must lie in [0, inf]; got -2.0" in err.get()
    err, value = loss(jnp.ones(3), jnp.array([1.0, 2.0, 1.0]))
    assert err.get() is None and float(value) == 1.0
    with pytest.raises(ValueError, match="`weights` must lie in"):
        jaxloss.reduce(jnp.ones(3), weights=jnp.array([1.0, -2.0, 1.0]))
