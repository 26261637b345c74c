"""The contract every public function keeps (CONTRIBUTING.md, section 9), run over the registry."""

from __future__ import annotations

import functools
import pathlib
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from jax.test_util import check_grads

import jaxloss
from tests.registry import Call, Case, all_cases

CASES = all_cases()
BY_NAME = {c.name: c for c in CASES}
README = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()


def _ids(cases):
    return [c.name for c in cases]


def _bind(case: Case, call: Call, **extra):
    """The function of the traced args alone, options closed over."""
    return functools.partial(case.function, **{**call.kwargs, **extra})


def _assert_tree_close(actual, expected, *, rtol, atol):
    chex.assert_trees_all_close(actual, expected, rtol=rtol, atol=atol)


def _tree_finite(tree) -> bool:
    return all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(tree))


def _grad_of_sum(fn, args, argnums):
    def total(*a):
        return jnp.sum(jnp.asarray(fn(*a), jnp.float32))

    return jax.grad(total, argnums=argnums)(*args)


# 1. jit and eager agree ------------------------------------------------------------------


class JitEagerTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[(c.name, c) for c in CASES])
    def test_jit_eager_agree(self, case: Case):
        call = case.make(np.random.default_rng(1), (5,), jnp.float32)
        fn = _bind(case, call)
        expected = jax.jit(fn)(*call.args)
        with jax.disable_jit():
            eager = fn(*call.args)
        actual = self.variant(fn)(*call.args)
        _assert_tree_close(actual, expected, rtol=1e-5, atol=1e-6)
        _assert_tree_close(eager, expected, rtol=1e-5, atol=1e-6)


# 2. vmap over a leading axis -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_vmap_equals_loop_and_batched(case: Case):
    call = case.make(np.random.default_rng(2), (3, 4), jnp.float32)
    fn = jax.jit(_bind(case, call))
    shared = case.shared_args
    in_axes = tuple(None if j in shared else 0 for j in range(len(call.args)))
    vmapped = jax.vmap(fn, in_axes=in_axes)(*call.args)

    def sliced(i):
        return [
            a if j in shared else jax.tree_util.tree_map(lambda x: x[i], a)
            for j, a in enumerate(call.args)
        ]

    slices = [fn(*sliced(i)) for i in range(3)]
    looped = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *slices)
    _assert_tree_close(vmapped, looped, rtol=1e-5, atol=1e-6)
    if case.batched:
        _assert_tree_close(vmapped, fn(*call.args), rtol=1e-5, atol=1e-6)


# 3. gradients ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_check_grads_float64(case: Case):
    call = case.make(np.random.default_rng(3), (3,), jnp.float64)
    argnums = case.grad_argnums
    fixed = list(call.args)

    def of_differentiable(*diff):
        args = list(fixed)
        for i, a in zip(argnums, diff, strict=True):
            args[i] = a
        return _bind(case, call)(*args)

    check_grads(
        of_differentiable,
        tuple(call.args[i] for i in argnums),
        order=1,
        modes=("rev",),
        atol=1e-4,
        rtol=1e-4,
    )


EDGE = [(c, i) for c in CASES for i in range(len(c.edge_cases))]


@pytest.mark.parametrize("case,index", EDGE, ids=[f"{c.name}-{i}" for c, i in EDGE])
def test_finite_values_and_gradients_at_edge_cases(case: Case, index: int):
    call = case.edge_cases[index]()
    fn = jax.jit(_bind(case, call))
    value = fn(*call.args)
    assert _tree_finite(value), f"{case.name}: non-finite value {value}"
    grads = _grad_of_sum(fn, call.args, case.grad_argnums)
    assert _tree_finite(grads), f"{case.name}: non-finite gradient {grads}"


def test_every_case_has_an_edge_case_and_a_bad_call():
    missing_edges = [c.name for c in CASES if not c.edge_cases]
    missing_bad = [c.name for c in CASES if not c.bad_calls]
    assert not missing_edges, f"no edge case registered for {missing_edges}"
    assert not missing_bad, f"no malformed call registered for {missing_bad}"


# 4. shapes per reduction and dtypes -------------------------------------------------------

REDUCING = [c for c in CASES if c.reduces]


@pytest.mark.parametrize("case", REDUCING, ids=_ids(REDUCING))
def test_output_shape_per_reduction(case: Case):
    batch = (2, 3)
    call = case.make(np.random.default_rng(4), batch, jnp.float32)
    fn = _bind(case, call)
    none = jax.jit(fn)(*call.args)
    assert none.shape == case.expected_shape(batch)
    assert jax.jit(functools.partial(fn, reduction="none"))(*call.args).shape == none.shape
    total = jax.jit(functools.partial(fn, reduction="sum"))(*call.args)
    mean = jax.jit(functools.partial(fn, reduction="mean"))(*call.args)
    assert total.shape == () and mean.shape == ()
    np.testing.assert_allclose(total, jnp.sum(none), rtol=1e-5, atol=1e-6)
    assert bool(jnp.isfinite(mean))


DTYPED = [(c, d) for c in CASES for d in c.dtypes]


@pytest.mark.parametrize(
    "case,dtype", DTYPED, ids=[f"{c.name}-{jnp.dtype(d).name}" for c, d in DTYPED]
)
def test_output_dtype_follows_input(case: Case, dtype):
    call = case.make(np.random.default_rng(5), (4,), dtype)
    out = jax.jit(_bind(case, call))(*call.args)
    for leaf in jax.tree_util.tree_leaves(out):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.dtype(dtype), f"{case.name}: {leaf.dtype} for {dtype}"
            assert bool(jnp.all(jnp.isfinite(leaf))), f"{case.name}: non-finite in {dtype}"


# 5. malformed calls raise clearly --------------------------------------------------------

BAD = [(c, i) for c in CASES for i in range(len(c.bad_calls))]


@pytest.mark.parametrize("case,index", BAD, ids=[f"{c.name}-{i}" for c, i in BAD])
def test_malformed_call_raises_at_trace_time(case: Case, index: int):
    bad = case.bad_calls[index]
    call = bad.call()
    with pytest.raises(bad.exception, match=bad.match):
        jax.jit(_bind(case, call))(*call.args)


def test_unknown_reduction_raises_for_every_reducing_function():
    for case in REDUCING:
        call = case.make(np.random.default_rng(6), (2,), jnp.float32)
        with pytest.raises(ValueError, match="reduction"):
            _bind(case, call, reduction="average")(*call.args)


# 6. no retracing -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_no_retracing_with_same_shapes(case: Case):
    chex.clear_trace_counter()
    first = case.make(np.random.default_rng(7), (4,), jnp.float32)
    second = case.make(np.random.default_rng(8), (4,), jnp.float32)
    bound = _bind(case, first)

    def traced(*args):
        return bound(*args)

    fn = jax.jit(chex.assert_max_traces(traced, n=1))
    fn(*first.args)
    fn(*second.args)


# 7. every public name is registered, documented and listed in the README -------------------


def test_every_public_name_is_registered():
    public = set(jaxloss.__all__) - {"__version__"}
    missing = sorted(public - set(BY_NAME))
    stale = sorted(set(BY_NAME) - public)
    assert not missing, f"public but not in the registry: {missing}"
    assert not stale, f"registered but not public: {stale}"


@pytest.mark.parametrize("name", sorted(set(jaxloss.__all__) - {"__version__"}))
def test_documented_and_in_readme(name: str):
    doc = getattr(jaxloss, name).__doc__ or ""
    for section in ("Args:", "Returns:", "References:", "Examples:"):
        assert section in doc, f"{name}: docstring lacks {section}"
    assert re.search(rf"^\|\s*`{re.escape(name)}`", README, re.M), f"{name} not in README table"
