"""Reference tests for jaxloss.fused against torch and the materialized loss.

The oracles build the whole ``[N, V]`` logits: torch's ``F.linear`` + ``F.cross_entropy``
(``ignore_index``, ``label_smoothing``, mean over the counted tokens) with autograd gradients,
and jaxloss's own ``softmax_cross_entropy_with_integer_labels`` on ``embeddings @ weight.T +
bias``, which the issue names as the definition. The z-loss is PaLM's ``z * lse^2`` and the
soft-cap Gemma 2's ``cap * tanh(z / cap)``, both written out on the materialized logits.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify

import jaxloss
from jaxloss import fused_linear_cross_entropy as fused
from jaxloss import softmax_cross_entropy_with_integer_labels

IGNORE = -100
OPTIONS = {
    "plain": {},
    "ignore": {"ignore_index": IGNORE},
    "smoothing": {"label_smoothing": 0.2, "ignore_index": IGNORE},
    "z_loss": {"z_loss": 0.05},
    "softcap": {"logit_softcap": 2.5},
    "all": {"label_smoothing": 0.1, "z_loss": 1e-2, "logit_softcap": 4.0, "ignore_index": IGNORE},
}
REDUCTIONS = ("none", "mean", "sum")


def _problem(rng, batch, d, v, *, bias=True, ignore=False, dtype=np.float64):
    x = rng.normal(size=(*batch, d)).astype(dtype)
    w = (rng.normal(size=(v, d)) / np.sqrt(d)).astype(dtype)
    b = rng.normal(size=(v,)).astype(dtype) if bias else None
    y = rng.integers(0, v, size=batch)
    if ignore:
        y.reshape(-1)[::3] = IGNORE
    return x, w, b, y


def _torch_loss_and_grads(x, w, b, y, weights, options, reduction):
    """Value of sum(weights * loss) (or of the scalar) and its gradients, by torch autograd."""
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    z = F.linear(tx.reshape(-1, x.shape[-1]), tw, tb)
    cap = options.get("logit_softcap")
    if cap is not None:
        z = cap * torch.tanh(z / cap)
    target = torch.tensor(y.reshape(-1))
    ignore_index = options.get("ignore_index", -1000)
    per_token = F.cross_entropy(
        z,
        target,
        ignore_index=ignore_index,
        label_smoothing=options.get("label_smoothing", 0.0),
        reduction="none",
    )
    counted = target != ignore_index
    per_token = per_token + torch.where(
        counted, options.get("z_loss", 0.0) * torch.logsumexp(z, -1) ** 2, 0.0
    )
    if reduction == "none":
        out = per_token.reshape(y.shape)
        objective = (torch.tensor(weights) * out).sum()
    else:
        out = per_token.sum()
        if reduction == "mean":
            out = out / counted.sum()
        objective = 1.7 * out
    objective.backward()
    grads = [tx.grad.numpy(), tw.grad.numpy()] + ([] if tb is None else [tb.grad.numpy()])
    return out.detach().numpy(), grads


def _jax_loss_and_grads(fn, x, w, b, weights, reduction):
    def objective(x, w, b):
        out = fn(x, w, b)
        total = jnp.sum(weights * out) if reduction == "none" else 1.7 * out
        return total, out

    argnums = (0, 1) if b is None else (0, 1, 2)
    (_, out), grads = jax.value_and_grad(objective, argnums=argnums, has_aux=True)(x, w, b)
    return out, list(grads)


def _assert_close(actual, expected, tol):
    out, grads = actual
    ref_out, ref_grads = expected
    np.testing.assert_allclose(out, ref_out, rtol=tol, atol=tol)
    assert len(grads) == len(ref_grads)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)


# Chunk sizes that divide the axes, that leave a remainder, and the defaults.
CHUNKS = [(None, None), (4, 2), (5, 3), (16, 16)]


BATCHES = [(7,), (3, 4), (2, 3, 2)]


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_torch_values_and_gradients(rng, option, reduction):
    options = OPTIONS[option]
    # Batch shapes (flattened internally) and chunkings cycle over the parameter grid.
    index = sorted(OPTIONS).index(option) + REDUCTIONS.index(reduction)
    batch = BATCHES[index % len(BATCHES)]
    x, w, b, y = _problem(rng, batch, 5, 13, ignore="ignore_index" in options)
    weights = rng.uniform(0.5, 2.0, size=batch)
    chunk, tokens = CHUNKS[index % len(CHUNKS)]

    def fn(x, w, b):
        return fused(
            x,
            w,
            jnp.asarray(y),
            bias=b,
            reduction=reduction,
            chunk_size=chunk,
            token_chunk_size=tokens,
            **options,
        )

    expected = _torch_loss_and_grads(x, w, b, y, weights, options, reduction)
    _assert_close(_jax_loss_and_grads(jax.jit(fn), x, w, b, weights, reduction), expected, 1e-10)


def _materialized(x, w, y, *, bias=None, where=None, z_loss=0.0, logit_softcap=None, **kw):
    """The definition from the issue, on the materialized logits."""
    z = x @ w.T
    z = z if bias is None else z + jnp.broadcast_to(bias, z.shape)
    if logit_softcap is not None:
        z = logit_softcap * jnp.tanh(z / logit_softcap)
    reduction = kw.pop("reduction", "mean")
    loss = softmax_cross_entropy_with_integer_labels(z, y, where=where, **kw)
    counted = jnp.ones(y.shape, bool) if where is None else where
    if kw.get("ignore_index") is not None:
        counted = counted & (y != kw["ignore_index"])
    loss = loss + jnp.where(counted, z_loss * jax.nn.logsumexp(z, axis=-1) ** 2, 0.0)
    return jaxloss.reduce(loss, reduction=reduction, where=counted)


@pytest.mark.parametrize("v,chunk,tokens", [(64, 16, 8), (37, 8, 5)])
@pytest.mark.parametrize("option", ["plain", "all"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_materialized_float32(rng, v, chunk, tokens, option, reduction):
    options = OPTIONS[option]
    x, w, b, y = _problem(rng, (4, 6), 8, v, ignore=option == "all", dtype=np.float32)
    where = jnp.asarray(rng.uniform(size=(4, 6)) > 0.2)
    weights = jnp.asarray(rng.uniform(0.5, 2.0, size=(4, 6)), jnp.float32)
    kwargs = {**options, "where": where, "reduction": reduction}

    def f(x, w, b):
        return fused(x, w, y, bias=b, chunk_size=chunk, token_chunk_size=tokens, **kwargs)

    def m(x, w, b):
        return _materialized(x, w, y, bias=b, **kwargs)

    actual = _jax_loss_and_grads(jax.jit(f), x, w, b, weights, reduction)
    expected = _jax_loss_and_grads(jax.jit(m), x, w, b, weights, reduction)
    assert actual[0].dtype == jnp.float32
    _assert_close(actual, expected, 1e-5)


@settings(max_examples=6)
@given(
    n=st.integers(1, 9),
    v=st.integers(1, 12),
    chunk=st.integers(1, 13),
    tokens=st.integers(1, 10),
    reduction=st.sampled_from(REDUCTIONS),
)
def test_any_chunking_matches_materialized(n, v, chunk, tokens, reduction):
    rng = np.random.default_rng(n * 100 + v)
    x, w, b, y = _problem(rng, (n,), 3, v)
    options = {"chunk_size": chunk, "token_chunk_size": tokens, "reduction": reduction}

    @jax.jit  # one program: the fused loss and the materialized reference
    def both(x, w, b):
        want = _materialized(x, w, jnp.asarray(y), bias=b, reduction=reduction)
        return fused(x, w, y, bias=b, **options), want

    got, want = both(x, w, b)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_loss_is_nonnegative_and_bounded_by_log_v_for_zero_weights(rng):
    # Without z-loss, cross-entropy >= 0; uniform logits give exactly log V.
    x, _, _, y = _problem(rng, (6,), 4, 9)
    out = jax.jit(lambda x, w: fused(x, w, y, reduction="none"))(x, np.zeros((9, 4)))
    np.testing.assert_allclose(out, np.full(6, np.log(9.0)), rtol=1e-12)


# --- dtypes --------------------------------------------------------------------------------


def test_bfloat16_accumulates_in_float32_and_returns_bfloat16_gradients(rng):
    x, w, b, y = _problem(rng, (16,), 8, 48, dtype=np.float32)
    xb, wb, bb = (jnp.asarray(a, jnp.bfloat16) for a in (x, w, b))

    def loss(x, w, b):
        return fused(
            x,
            w,
            y,
            bias=b,
            chunk_size=16,
            token_chunk_size=8,
            label_smoothing=0.1,
            reduction="mean",
        )

    @jax.jit  # one program: the fused loss and the float32 materialized reference
    def both(xb, wb, bb):
        # Reference: the same bfloat16 inputs, materialized in float32.
        up = [jnp.asarray(a, jnp.float32) for a in (xb, wb, bb)]
        ref = jax.value_and_grad(
            lambda x, w, b: _materialized(x, w, y, bias=b, label_smoothing=0.1),
            argnums=(0, 1, 2),
        )(*up)
        return jax.value_and_grad(loss, argnums=(0, 1, 2))(xb, wb, bb), ref

    (value, grads), (ref_value, ref_grads) = both(xb, wb, bb)
    assert value.dtype == jnp.bfloat16
    assert [g.dtype for g in grads] == [jnp.bfloat16] * 3
    np.testing.assert_allclose(float(value), ref_value, rtol=1e-2)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(np.asarray(g, np.float32), r, rtol=2e-2, atol=2e-3)
    # The program never forms a float32 array of the weight's shape (the matmuls take
    # bfloat16 operands; XLA:CPU may still upcast them itself, GPUs and TPUs do not).
    jaxpr = jax.make_jaxpr(jax.value_and_grad(loss, argnums=(0, 1, 2)))(xb, wb, bb)
    assert "f32[48,8]" not in str(jaxpr)
    assert "bf16[48,8]" in str(jaxpr)


def test_mixed_dtypes_promote(rng):
    x, w, _, y = _problem(rng, (5,), 4, 6, dtype=np.float32)
    out = fused(jnp.asarray(x, jnp.bfloat16), jnp.asarray(w), y)
    assert out.dtype == jnp.float32


# --- memory --------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_temporary_memory_is_at_most_one_sixteenth_of_materialized(reduction):
    n, d, v = 512, 128, 8192
    x = jax.ShapeDtypeStruct((n, d), jnp.float32)
    w = jax.ShapeDtypeStruct((v, d), jnp.float32)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)

    def temp(loss):
        compiled = jax.jit(jax.value_and_grad(loss, argnums=(0, 1))).lower(x, w, y).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    materialized = temp(lambda x, w, y: _materialized(x, w, y))
    # "none" takes the per-token schedule (recomputing backward pass), "mean" the reduced one.
    blocked = temp(lambda x, w, y: jnp.mean(fused(x, w, y, reduction=reduction)))
    assert materialized >= n * v * 4  # the logits alone
    assert blocked * 16 <= materialized, (blocked, materialized)


# --- edge cases ----------------------------------------------------------------------------


def test_edge_cases_are_finite_or_documented(rng):
    x, w, _, _ = _problem(rng, (4,), 3, 5, dtype=np.float32)
    ignored = {"ignore_index": IGNORE, "reduction": "mean"}
    big = np.array([[1e4, 0.0, 0.0]], np.float32)
    eye = np.eye(5, 3, dtype=np.float32)

    @jax.jit  # one program for every case but the two eager ones below
    def program(x, w, big, eye, y_bad):
        res = {}
        # Every token ignored: a mean over nothing is 0, with zero gradients.
        all_ignored = np.full((4,), IGNORE)
        res["ignored"] = fused(x, w, all_ignored, **ignored)
        res["ignored_grad"] = jax.grad(lambda x, w: fused(x, w, all_ignored, **ignored), (0, 1))(
            x, w
        )
        # Huge logits: the online log-sum-exp stays finite (loss of the label with the top
        # logit is 0, of another one the logit gap).
        for red in ("none", "mean"):  # the per-token and the reduced schedule
            res["big_" + red] = fused(big, eye, np.array([1]), reduction=red, chunk_size=2)
            res["big_grad_" + red] = jax.grad(
                lambda x, r=red: jnp.sum(fused(x, eye, np.array([1]), reduction=r))
            )(big)
        # Under jit a label outside [0, V) that is not ignored gives NaN (as the materialized
        # function).
        res["bad_label"] = fused(x, w, y_bad)
        return res

    res = program(x, w, big, eye, np.array([0, 1, 5, 2]))
    assert float(res["ignored"]) == 0.0
    assert all(not np.any(g) for g in res["ignored_grad"])
    # No token at all: 0, eagerly and under jit (where the traced-label check has nothing
    # to check).
    nothing = (np.zeros((0, 3), np.float32), w, np.zeros((0,), np.int32))
    assert float(fused(*nothing, reduction="mean")) == 0.0
    assert float(jax.jit(lambda *a: fused(*a, reduction="mean"))(*nothing)) == 0.0
    for red in ("none", "mean"):
        np.testing.assert_allclose(np.reshape(res["big_" + red], -1), [1e4], rtol=1e-6)
        assert bool(np.all(np.isfinite(res["big_grad_" + red])))
    out = res["bad_label"]
    assert np.isnan(out[2]) and np.all(np.isfinite(np.delete(np.asarray(out), 2)))
    # Concrete labels raise (an eager call).
    with pytest.raises(ValueError, match=r"`labels` must hold class ids in \[0, 5\); got 5"):
        fused(x, w, jnp.array([0, 1, 5, 2]))


def test_rejects_malformed_calls():
    x, w, y = jnp.ones((2, 3)), jnp.ones((4, 3)), jnp.zeros((2,), jnp.int32)
    with pytest.raises(ValueError, match="`weight`"):
        fused(x, jnp.ones((4, 2)), y)
    with pytest.raises(ValueError, match="`weight`"):
        fused(x, jnp.ones((3,)), y)
    with pytest.raises(TypeError, match="`labels`"):
        fused(x, w, jnp.zeros((2,)))
    with pytest.raises(ValueError, match="`bias`"):
        fused(x, w, y, bias=jnp.ones((3,)))
    with pytest.raises(ValueError, match="`z_loss`"):
        fused(x, w, y, z_loss=-0.1)
    with pytest.raises(ValueError, match="`token_chunk_size`"):
        fused(x, w, y, token_chunk_size=2.5)
    with pytest.raises(ValueError, match="`where`"):
        fused(x, w, y, where=jnp.ones((3,), bool))


# --- reduction default, weights, checked mode -----------------------------------------------


def test_default_reduction_is_none(rng):
    # Changed from "mean" (issue #11): per-token losses, like every per-example loss.
    assert inspect.signature(fused).parameters["reduction"].default == "none"
    x, w, b, y = _problem(rng, (2, 3), 4, 9)
    # one program: the default call and the materialized reference
    out, want = jax.jit(
        lambda x, w, b: (fused(x, w, y, bias=b), _materialized(x, w, y, bias=b, reduction="none"))
    )(x, w, b)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, want, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "sum_and_count"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weights_match_torch(rng, reduction, dtype):
    # float64/float32 weights with a reduction take the schedule that forms the gradients in
    # the forward pass; "none" the per-token one.
    options = {"ignore_index": IGNORE, "label_smoothing": 0.1, "z_loss": 1e-2}
    x, w, b, y = _problem(rng, (3, 4), 5, 11, ignore=True, dtype=dtype)
    v = rng.uniform(0.5, 2.0, size=(3, 1)).astype(dtype)  # broadcast over the tokens of a row
    m = rng.uniform(size=(3, 4)) > 0.2
    vm = np.where(m, np.broadcast_to(v, (3, 4)), 0.0)
    # torch: per-token losses (z-loss on the counted tokens), times the masked weights; the mean
    # divides by their sum over the counted tokens.
    tx, tw, tb = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    z = F.linear(tx.reshape(-1, 5), tw, tb)
    target = torch.tensor(y.reshape(-1))
    per_token = F.cross_entropy(
        z, target, ignore_index=IGNORE, label_smoothing=0.1, reduction="none"
    )
    counted = target != IGNORE
    per_token = per_token + torch.where(counted, 1e-2 * torch.logsumexp(z, -1) ** 2, 0.0)
    weighted = torch.tensor(vm.reshape(-1)) * per_token
    count = float(np.sum(np.where(counted.numpy(), vm.reshape(-1), 0.0)))
    objective = {
        "none": (weighted * torch.linspace(0.5, 1.5, 12, dtype=torch.float64)).sum(),
        "mean": weighted.sum() / count,
    }.get(reduction, weighted.sum())
    objective.backward()
    expected_grads = [tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()]

    def loss(x, w, b):
        return fused(x, w, y, bias=b, where=m, weights=v, reduction=reduction, **options)

    def scalar(x, w, b):
        out = loss(x, w, b)
        if reduction == "none":
            return jnp.sum(out * jnp.linspace(0.5, 1.5, 12).reshape(3, 4))
        return out[0] if reduction == "sum_and_count" else out

    out = jax.jit(loss)(x, w, b)
    grads = jax.jit(jax.grad(scalar, argnums=(0, 1, 2)))(x, w, b)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    if reduction == "none":
        np.testing.assert_allclose(out, weighted.detach().numpy().reshape(3, 4), rtol=tol, atol=tol)
    elif reduction == "sum_and_count":
        np.testing.assert_allclose(out, [weighted.sum().item(), count], rtol=tol)
    else:
        np.testing.assert_allclose(out, objective.item(), rtol=tol)
    for g, e in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradient_with_respect_to_weights(rng, reduction):
    # Both schedules: d/dv of sum(t * v * l) is t * l, of the mean (l - mean) / sum(v).
    x, w, b, y = _problem(rng, (6,), 4, 7)
    v = rng.uniform(0.5, 2.0, size=6)
    t = np.linspace(0.5, 1.5, 6)

    def objective(v):
        out = fused(x, w, y, bias=b, weights=v, reduction=reduction)
        return jnp.sum(t * out) if reduction == "none" else out

    def materialized(v):
        out = _materialized(x, w, y, bias=b, reduction="none")
        return jnp.sum(t * v * out) if reduction == "none" else jnp.sum(v * out) / jnp.sum(v)

    # one program: both gradients
    got, want = jax.jit(lambda v: (jax.grad(objective)(v), jax.grad(materialized)(v)))(v)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_class_ids_out_of_range_raise_in_checked_mode(rng, reduction):
    x, w, _, _ = _problem(rng, (3,), 4, 6)

    def f(y, m):
        return fused(x, w, y, where=m, ignore_index=IGNORE, reduction=reduction)

    checked = checkify.checkify(jax.jit(f), errors=checkify.user_checks)
    everything = jnp.ones(3, bool)
    good = jnp.array([0, 5, IGNORE])
    err, value = checked(good, everything)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(f)(good, everything))
    err, _ = checked(jnp.array([0, 6, 1]), jnp.array([True, False, True]))
    assert err.get() is None  # masked out
    for bad in ([0, 6, 1], [-1, 0, 1]):
        err, value = checked(jnp.array(bad), everything)
        assert "`labels` must hold class ids in [0, 6)" in err.get()
        assert np.isnan(value).any()
    with pytest.raises(ValueError, match="`labels`"):
        f(jnp.array([0, 6, 1]), everything)
    with pytest.raises(ValueError, match="`weights`"):
        fused(x, w, good, ignore_index=IGNORE, weights=jnp.array([1.0, -1.0, 1.0]))
