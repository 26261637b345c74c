"""The contract every public function keeps (CONTRIBUTING.md, section 9), run over the registry."""

from __future__ import annotations

import functools
import inspect
import pathlib
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.registry import Call, Case, all_cases, on_device

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
    return all(bool(np.all(np.isfinite(np.asarray(x)))) for x in jax.tree_util.tree_leaves(tree))


# 1. jit and eager agree; no retracing with the same shapes (6) -----------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_jit_eager_agree_without_retracing(case: Case):
    """The jitted call, the op-by-op eager call and the pure-Python call (``disable_jit``)
    agree; a second jitted call with new values of the same shapes does not retrace.

    One compile per function: the jitted call is the one whose traces are counted.
    """
    call = case.make(np.random.default_rng(1), (5,), jnp.float32)
    again = case.make(np.random.default_rng(8), (5,), jnp.float32)
    fn = _bind(case, call)
    chex.clear_trace_counter()
    jitted = jax.jit(chex.assert_max_traces(lambda *args: fn(*args), n=1))
    expected = jitted(*call.args)
    jitted(*again.args)
    eager = fn(*call.args)
    with jax.disable_jit():
        python = fn(*call.args)
    _assert_tree_close(eager, expected, rtol=1e-5, atol=1e-6)
    _assert_tree_close(python, expected, rtol=1e-5, atol=1e-6)


# 2. vmap over a leading axis -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_vmap_equals_loop_and_batched(case: Case):
    call = case.make(np.random.default_rng(2), (3, 4), jnp.float32)
    fn = _bind(case, call)
    shared = case.shared_args
    in_axes = tuple(None if j in shared else 0 for j in range(len(call.args)))

    def program(args):
        # One compile: the vmapped call, the loop over slices and the batched call. The loop
        # is `lax.map` (a scan: one call of `fn` per slice, no batching rule involved), which
        # traces `fn` once instead of once per slice.
        def one(slices):
            it = iter(slices)
            return fn(*[a if j in shared else next(it) for j, a in enumerate(args)])

        mapped = [a for j, a in enumerate(args) if j not in shared]
        return (
            jax.vmap(fn, in_axes=in_axes)(*args),
            jax.lax.map(one, mapped),
            fn(*args) if case.batched else None,
        )

    vmapped, looped, batched = jax.jit(program)(call.args)
    _assert_tree_close(vmapped, looped, rtol=1e-5, atol=1e-6)
    if case.batched:
        _assert_tree_close(vmapped, batched, rtol=1e-5, atol=1e-6)


# 3. gradients ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_check_grads_float64(case: Case):
    """The reverse-mode check of ``jax.test_util.check_grads`` (order 1), in one program."""
    if case.surrogate_gradient:
        pytest.skip("surrogate gradient (Case.surrogate_gradient): compared with its reference")
    call = case.make(np.random.default_rng(3), (3,), jnp.float64)
    argnums = case.grad_argnums
    fixed = list(call.args)

    def of_differentiable(*diff):
        args = list(fixed)
        for i, a in zip(argnums, diff, strict=True):
            args[i] = a
        return _bind(case, call)(*args)

    _check_vjp_in_one_program(
        of_differentiable, tuple(call.args[i] for i in argnums), atol=1e-4, rtol=1e-4
    )


def _check_vjp_in_one_program(f, args, *, atol: float, rtol: float, eps: float = 1e-4):
    """``jax.test_util.check_grads(f, args, order=1, modes=("rev",))`` as one program.

    The same check (jax/_src/public_test_util.py, `check_vjp`): the VJP's primal output equals
    `f`; for a random tangent ``t`` and cotangent ``c`` (drawn in that order from
    ``np.random.RandomState(0)``, as jax does), ``<t, vjp(c)>`` equals ``<jvp_num(t), c>``
    with the central difference ``(f(x + eps t) - f(x - eps t)) / (2 eps)``. Here the
    evaluations, the VJP and the inner products are one jitted program: one compile instead
    of three programs and the eager arithmetic between them.
    """
    tree_map = jax.tree_util.tree_map
    rng = np.random.RandomState(0)
    tangent = tree_map(lambda x: np.asarray(rng.randn(*np.shape(x)), x.dtype), args)
    cotangent = tree_map(
        lambda s: np.asarray(rng.randn(*s.shape), s.dtype), jax.eval_shape(f, *args)
    )

    def inner(xs, ys):
        pairs = zip(jax.tree_util.tree_leaves(xs), jax.tree_util.tree_leaves(ys), strict=True)
        return sum(jnp.vdot(x, y) for x, y in pairs)

    def program(args, tangent, cotangent):
        out, vjp = jax.vjp(f, *args)
        plus = f(*tree_map(lambda a, t: a + eps * t, args, tangent))
        minus = f(*tree_map(lambda a, t: a - eps * t, args, tangent))
        numeric = tree_map(lambda p, m: (p - m) * (0.5 / eps), plus, minus)
        return out, f(*args), inner(tangent, vjp(cotangent)), inner(numeric, cotangent)

    out, expected, pulled, pushed = jax.jit(program)(args, tangent, cotangent)
    _assert_tree_close(out, expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(pulled, pushed, rtol=rtol, atol=atol, err_msg="VJP")


def _cast_floats(tree, dtype_of):
    """`tree` with every floating array leaf cast to ``dtype_of(leaf.dtype)``."""

    def cast(x):
        if isinstance(x, jax.Array | np.ndarray) and jnp.issubdtype(x.dtype, jnp.floating):
            return on_device(x, dtype_of(jnp.dtype(x.dtype)))
        return x

    return jax.tree_util.tree_map(cast, tree)


def _low(dtype):
    """The precision an edge case is run at: float64 inputs run in float32."""
    return jnp.dtype(jnp.float32) if dtype == jnp.float64 else dtype


def _edge_program(
    case: Case, calls: list[Call], *, forward_over_reverse: bool, step: float | None = None
):
    """One jitted program over all of a function's edge cases (one compile per precision).

    For each call: the summed value, its gradient, and a Hessian-vector product along the
    call's directions: forward-over-reverse, as `jax.hessian` computes it (a third less
    tracing than reverse-over-reverse, and cheaper to compile than a full Hessian), or with
    `forward_over_reverse=False` reverse-over-reverse, which also runs through a custom VJP
    (it has no forward mode). With `step` (the float64
    program), also the summed value at ``args + step * directions`` and
    ``args - step * directions`` (central differences); there the Hessian-vector product and
    the shifted values are built only at the smooth points (``Case.smooth_at``), the only
    places the test reads them, which keeps the program (and its compile) smaller.
    """
    argnums = case.grad_argnums

    def one(fn, args, directions, smooth):
        def total(*args):
            return jnp.sum(jnp.asarray(fn(*args)).astype(jnp.float64))

        def value_and_grad_at(*diff):
            full = list(args)
            for i, d in zip(argnums, diff, strict=True):
                full[i] = d
            return jax.value_and_grad(total, argnums=argnums)(*full)

        def along(*diff):
            # The directional derivative, with the value and gradient as auxiliary outputs:
            # one trace of the function gives all three and the Hessian-vector product.
            value, grads = value_and_grad_at(*diff)
            leaves = jax.tree_util.tree_leaves
            pairs = zip(leaves(grads), leaves(directions), strict=True)
            slope = sum(jnp.vdot(g, d.astype(g.dtype)).astype(jnp.float64) for g, d in pairs)
            return slope, (value, grads)

        diff = tuple(args[i] for i in argnums)
        if case.check_hessian and (step is None or smooth):
            if forward_over_reverse:
                tangents = tuple(
                    jax.tree_util.tree_map(lambda d, a: d.astype(a.dtype), d, a)
                    for d, a in zip(directions, diff, strict=True)
                )
                (value, grads), (_, hvp) = jax.jvp(value_and_grad_at, diff, tangents)
            else:
                hvp, (value, grads) = jax.grad(
                    along, argnums=tuple(range(len(diff))), has_aux=True
                )(*diff)
        else:
            (value, grads), hvp = value_and_grad_at(*diff), ()
        out = {"value": value, "grads": grads, "hvp": hvp}
        if step is not None and smooth:

            def shifted(sign):
                moved = list(args)
                for i, d in zip(argnums, directions, strict=True):
                    moved[i] = jax.tree_util.tree_map(lambda a, v: a + sign * step * v, moved[i], d)
                return total(*moved)

            out["shifted"] = (shifted(1.0), shifted(-1.0))
        return out

    fns = [_bind(case, call) for call in calls]

    def program(all_args, all_directions):
        return [
            one(fn, args, directions, index in case.smooth_at)
            for index, (fn, args, directions) in enumerate(
                zip(fns, all_args, all_directions, strict=True)
            )
        ]

    return jax.jit(program)


def _flat(tree) -> np.ndarray:
    return np.concatenate(
        [np.ravel(np.asarray(x, np.float64)) for x in jax.tree_util.tree_leaves(tree)]
    )


EDGED = [c for c in CASES if c.edge_cases]


@pytest.mark.parametrize("case", EDGED, ids=_ids(EDGED))
def test_values_gradients_and_hessians_at_edge_cases(case: Case):
    """At every registered singular point: finite and *right*.

    Values, gradients and Hessian-vector products are finite at the input precision
    (float64 inputs run in float32). The float32 gradient and Hessian-vector product match
    the float64 ones, and where the function is smooth (``Case.smooth_at``) the float64
    gradient matches central differences and the float32 Hessian-vector product the float64
    one, so a derivative that is finite but wrong (a subgradient convention leaking into a
    smooth function) fails. All edge cases of a function run in one program per precision.
    """
    # Functions without float32 support (optax re-exports whose `dtypes` are empty) run in
    # float64 only.
    low = _low if jnp.float32 in case.dtypes else (lambda d: d)
    low_calls, high_calls, directions, low_directions = [], [], [], []
    for index, make in enumerate(case.edge_cases):
        call = make()
        low_call = Call(_cast_floats(call.args, low), _cast_floats(call.kwargs, low))
        high_call = Call(
            _cast_floats(call.args, lambda _: jnp.float64),
            _cast_floats(call.kwargs, lambda _: jnp.float64),
        )
        rng = np.random.default_rng(index)
        high_dirs = [
            jax.tree_util.tree_map(
                lambda x, rng=rng: on_device(rng.standard_normal(x.shape), x.dtype), a
            )
            for a in (high_call.args[i] for i in case.grad_argnums)
        ]
        low_dirs = [
            jax.tree_util.tree_map(lambda d, a: on_device(d, a.dtype), d, low_call.args[i])
            for d, i in zip(high_dirs, case.grad_argnums, strict=True)
        ]
        low_calls.append(low_call)
        high_calls.append(high_call)
        directions.append(high_dirs)
        low_directions.append(low_dirs)

    step = 1e-6
    low_args = [c.args for c in low_calls]
    forward_over_reverse = True
    try:
        lows = _edge_program(case, low_calls, forward_over_reverse=True)(low_args, low_directions)
    except TypeError as error:
        if "custom_vjp" not in str(error):
            raise
        forward_over_reverse = False
        lows = _edge_program(case, low_calls, forward_over_reverse=False)(low_args, low_directions)
    highs = _edge_program(case, high_calls, forward_over_reverse=forward_over_reverse, step=step)(
        [c.args for c in high_calls], directions
    )
    for index, (low_call, lo, hi, dirs) in enumerate(
        zip(low_calls, lows, highs, directions, strict=True)
    ):
        name = f"{case.name} edge case {index}"
        assert _tree_finite(lo["value"]), f"{name}: non-finite value {lo['value']}"
        assert _tree_finite(lo["grads"]), f"{name}: non-finite gradient {lo['grads']}"
        assert _tree_finite(lo["hvp"]), f"{name}: non-finite Hessian-vector product {lo['hvp']}"
        low_is_single = all(
            x.dtype != jnp.float16 and x.dtype != jnp.bfloat16
            for x in jax.tree_util.tree_leaves(low_call.args)
            if jnp.issubdtype(x.dtype, jnp.floating)
        )
        if low_is_single:
            g, g64 = _flat(lo["grads"]), _flat(hi["grads"])
            scale = max(1.0, float(np.max(np.abs(g64), initial=0.0)))
            np.testing.assert_allclose(g, g64, rtol=1e-3, atol=1e-4 * scale, err_msg=name)
            if index in case.smooth_at:
                h, h64 = _flat(lo["hvp"]), _flat(hi["hvp"])
                hscale = max(1.0, float(np.max(np.abs(h64), initial=0.0)))
                np.testing.assert_allclose(h, h64, rtol=1e-2, atol=1e-3 * hscale, err_msg=name)
        if index not in case.smooth_at:
            continue
        # Central differences of the float64 function along the same directions.
        plus, minus = (float(v) for v in hi["shifted"])
        numeric = (plus - minus) / (2 * step)
        analytic = float(np.dot(_flat(hi["grads"]), _flat(dirs)))
        value64 = float(hi["value"])
        tol = 1e-5 * (abs(analytic) + abs(numeric)) + 1e-7 * (1.0 + abs(value64))
        assert abs(numeric - analytic) <= tol, (
            f"{name}: directional derivative {analytic} but central differences give {numeric}"
        )


def test_every_case_has_an_edge_case_and_a_bad_call():
    missing_edges = [c.name for c in CASES if not c.edge_cases]
    missing_bad = [c.name for c in CASES if not c.bad_calls]
    assert not missing_edges, f"no edge case registered for {missing_edges}"
    assert not missing_bad, f"no malformed call registered for {missing_bad}"


# 4. shapes per reduction and dtypes -------------------------------------------------------

REDUCING = [c for c in CASES if c.reduces]
# Losses that compare the examples of a batch with each other: `where` removes an example
# entirely, as an anchor and as a candidate of the other anchors (CONTRIBUTING.md, section 4),
# so their masked "none" is `weights` times the loss of the batch without the masked
# examples, zero where masked, rather than `where * weights` times the unmasked loss.
WHERE_REMOVES_EXAMPLES = frozenset(
    {
        "batch_all_triplet_loss",
        "batch_hard_quadruplet_loss",
        "batch_hard_triplet_loss",
        "clip_loss",
        "infonce_loss",
        "ntxent",
        "semihard_triplet_loss",
        "sigmoid_contrastive_loss",
        "supervised_contrastive_loss",
        # batch statistics: the class frequencies are counted over the kept examples
        "multiclass_generalized_dice_loss",
        # pair weighting
        "angular_loss",
        "circle_loss",
        "fast_ap_loss",
        "lifted_structure_loss",
        "margin_loss",
        "multi_similarity_loss",
        "npairs_loss",
    }
)


def _takes(case: Case, *names: str) -> bool:
    params = inspect.signature(case.function).parameters
    return all(n in params for n in names)


@pytest.mark.parametrize("case", REDUCING, ids=_ids(REDUCING))
def test_output_shape_per_reduction(case: Case):
    """Shapes of every reduction, and the one meaning of `where`, `weights`, "sum_and_count".

    For every reducing loss (one compile for all of it): "sum" is the sum of the "none"
    values; "sum_and_count" is ("sum", count) and its quotient is "mean"; with a mask and
    weights, "none" is m * w * l and "sum" its sum (section 4).
    """
    batch = (2, 3)
    call = case.make(np.random.default_rng(4), batch, jnp.float32)
    fn = _bind(case, call)
    shape = case.expected_shape(batch)
    masked = _takes(case, "where", "weights")
    rng = np.random.default_rng(7)
    where = on_device(rng.random(shape) < 0.6)
    weights = on_device(rng.uniform(0.5, 2.0, shape), jnp.float32)

    def all_reductions(args, where, weights):
        out = {r: fn(*args, reduction=r) for r in ("none", "sum", "mean", "sum_and_count")}
        out["default"] = fn(*args)
        if masked:
            for r in ("none", "sum", "mean", "sum_and_count"):
                out["masked_" + r] = fn(*args, reduction=r, where=where, weights=weights)
            out["where_only_none"] = fn(*args, reduction="none", where=where)
        return out

    # The comparisons in numpy (section 9): eager jnp here would compile a program per shape.
    out = jax.tree.map(np.asarray, jax.jit(all_reductions)(call.args, where, weights))
    where, weights = np.asarray(where), np.asarray(weights)
    none = out["none"]
    assert out["default"].shape == shape and none.shape == shape
    assert out["sum"].shape == () and out["mean"].shape == ()
    np.testing.assert_allclose(out["sum"], np.sum(none), rtol=1e-5, atol=1e-6)
    assert bool(np.isfinite(out["mean"]))
    total, count = out["sum_and_count"]
    assert total.shape == () and count.shape == ()
    # Losses that compare examples weight anchors by a count (section 4): their "sum" adds
    # the per-anchor values total / count while the pair holds sum(total), so the two agree
    # only where every count is 1.
    if case.name not in WHERE_REMOVES_EXAMPLES:
        np.testing.assert_allclose(total, out["sum"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        jaxloss.mean_from_sum_and_count((total, count)), out["mean"], rtol=1e-5, atol=1e-6
    )
    if masked:
        base = out["where_only_none"] if case.name in WHERE_REMOVES_EXAMPLES else none
        np.testing.assert_allclose(
            out["where_only_none"], np.where(where, base, 0.0), rtol=1e-5, atol=1e-6
        )
        expected = np.where(where, weights * base, 0.0)
        np.testing.assert_allclose(out["masked_none"], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["masked_sum"], np.sum(expected), rtol=1e-5, atol=1e-6)
        m_total, m_count = out["masked_sum_and_count"]
        if case.name not in WHERE_REMOVES_EXAMPLES:
            np.testing.assert_allclose(m_total, out["masked_sum"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            jaxloss.mean_from_sum_and_count((m_total, m_count)),
            out["masked_mean"],
            rtol=1e-5,
            atol=1e-6,
        )


MASKED = [c for c in REDUCING if _takes(c, "where")]


def _poison_example(x, index: int, batch: int):
    """A floating array with a leading batch axis gets NaN in example `index`."""
    if (
        isinstance(x, jax.Array | np.ndarray)
        and jnp.issubdtype(x.dtype, jnp.floating)
        and x.ndim >= 1
        and x.shape[0] == batch
    ):
        poisoned = np.array(x)
        poisoned[index] = np.nan
        return on_device(poisoned)
    return x


@pytest.mark.parametrize("case", MASKED, ids=_ids(MASKED))
def test_masked_non_finite_example_contributes_nothing(case: Case):
    """Section 4: an example `where` masks contributes nothing to the value or the gradient,
    even when its inputs are NaN. Example 1 of 3 is masked and set to NaN in every batched
    floating input; the summed value and its gradient equal those of the clean inputs under
    the same mask (both in one program)."""
    call = case.make(np.random.default_rng(9), (3,), jnp.float32)
    where = np.ones(case.expected_shape((3,)), bool)
    where[1] = False

    def poison(x):
        return _poison_example(x, 1, 3)

    poisoned = [
        a if i in case.shared_args else jax.tree_util.tree_map(poison, a)
        for i, a in enumerate(call.args)
    ]
    fn = _bind(case, call, where=jnp.asarray(where), reduction="sum")
    argnums = case.grad_argnums

    def value_and_grads(args):
        def total(*diff):
            full = list(args)
            for i, d in zip(argnums, diff, strict=True):
                full[i] = d
            return jnp.sum(jnp.asarray(fn(*full)).astype(jnp.float64))

        return jax.value_and_grad(total, argnums=tuple(range(len(argnums))))(
            *(args[i] for i in argnums)
        )

    clean, dirty = jax.jit(lambda a, b: (value_and_grads(a), value_and_grads(b)))(
        list(call.args), poisoned
    )
    assert _tree_finite(dirty), f"{case.name}: non-finite value or gradient {dirty}"
    _assert_tree_close(dirty, clean, rtol=1e-5, atol=1e-6)


DTYPED = [c for c in CASES if c.dtypes]


@pytest.mark.parametrize("case", DTYPED, ids=_ids(DTYPED))
def test_output_dtype_follows_input(case: Case):
    """float16, bfloat16 and float32 inputs give outputs of their dtype (one program)."""
    calls = {jnp.dtype(d).name: case.make(np.random.default_rng(5), (4,), d) for d in case.dtypes}
    fns = {name: _bind(case, call) for name, call in calls.items()}
    outs = jax.jit(lambda args: {name: fns[name](*args[name]) for name in fns})(
        {name: call.args for name, call in calls.items()}
    )
    for name, out in outs.items():
        for leaf in jax.tree_util.tree_leaves(out):
            if jnp.issubdtype(leaf.dtype, jnp.floating):
                assert leaf.dtype == jnp.dtype(name), f"{case.name}: {leaf.dtype} for {name}"
                finite = np.isfinite(np.asarray(leaf, np.float32))  # numpy: no eager program
                assert finite.all(), f"{case.name}: non-finite in {name}"


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
