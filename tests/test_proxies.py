"""Reference tests of jaxloss.proxies against pytorch-metric-learning 2.9 (PML) and the papers.

PML holds ``proxies`` ``[C, D]`` as we do; SoftTriple's ``fc`` ``[D, C*K]`` is our
``fc.T.reshape(C, K, D)``. PML's reducers map to our ``reduction``: ``DoNothingReducer`` is
``"none"``, the default ``MeanReducer`` is ``"mean"``; ProxyAnchor's default
``DivisorReducer`` is the value `proxy_anchor_loss` returns. Every configuration runs in one
jitted call (values and gradients with respect to the embeddings and the proxies), compared
with PML in float64 after. The papers' formulas in numpy are second references, including
where PML's definition differs from the paper (ProxyNCA's denominator).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from pytorch_metric_learning import losses, regularizers
from pytorch_metric_learning.reducers import DoNothingReducer

import jaxloss

B, D, C, K = 8, 6, 5, 3
RNG = np.random.default_rng(15)
X = RNG.standard_normal((B, D))
Y = np.array([0, 1, 1, 3, 0, 3, 3, 1])  # classes 2 and 4 absent
P = RNG.standard_normal((C, D))
PK = RNG.standard_normal((C, K, D))
BATCHES = {
    "random": (X, Y),
    "duplicated": (np.repeat(X[:2], 4, axis=0), Y),
    "collapsed": (np.tile(X[:1], (B, 1)), Y),
    "one_class": (X, np.full(B, 2)),
    "angles_0_and_pi": (np.concatenate([2.0 * P[Y[:4]], -P[Y[4:]]]), Y),
}

# (name, our function, our options, PML class, PML options, per-example, uses K centres)
CONFIGS = [
    ("anchor", jaxloss.proxy_anchor_loss, {}, losses.ProxyAnchorLoss, {}, False, False),
    (
        "anchor_m02_a8",
        jaxloss.proxy_anchor_loss,
        {"margin": 0.2, "alpha": 8.0},
        losses.ProxyAnchorLoss,
        {"margin": 0.2, "alpha": 8.0},
        False,
        False,
    ),
    ("nca", jaxloss.proxy_nca_loss, {}, losses.ProxyNCALoss, {}, True, False),
    (
        "nca_s8",
        jaxloss.proxy_nca_loss,
        {"scale": 8.0},
        losses.ProxyNCALoss,
        {"softmax_scale": 8.0},
        True,
        False,
    ),
    (
        "softtriple",
        jaxloss.soft_triple_loss,
        {},
        losses.SoftTripleLoss,
        {"centers_per_class": K},
        True,
        True,
    ),
    (
        "softtriple_opts",
        jaxloss.soft_triple_loss,
        {"scale": 5.0, "gamma": 0.5, "margin": 0.2},
        losses.SoftTripleLoss,
        {"centers_per_class": K, "la": 5.0, "gamma": 0.5, "margin": 0.2},
        True,
        True,
    ),
]


def _pml(cls, options, x, y, per_example, centers):
    """PML's value(s) and the gradients of the mean (float64)."""
    num = {"num_classes": C, "embedding_size": D}
    reducer = {"reducer": DoNothingReducer()} if per_example else {}
    loss = cls(**num, **reducer, **options).double()
    param = loss.fc if centers else loss.proxies
    param.data = torch.tensor(PK.reshape(C * K, D).T.copy() if centers else P)
    xt = torch.tensor(x, requires_grad=True)
    out = loss(xt, torch.tensor(y))
    values = out["loss"]["losses"] if per_example else out
    values.mean().backward()
    gp = param.grad.numpy()
    gp = gp.T.reshape(C, K, D) if centers else gp
    return values.detach().numpy(), xt.grad.numpy(), gp


@pytest.fixture(scope="module")
def ours():
    """Every configuration on every batch (stacked on a leading axis) in one jitted call."""
    xs = jnp.asarray(np.stack([x for x, _ in BATCHES.values()]))
    ys = jnp.asarray(np.stack([y for _, y in BATCHES.values()]))

    def everything(xs, ys, p, pk):
        out = {}
        for name, fn, options, _, _, per_example, centers in CONFIGS:
            reduce = {"reduction": "mean"} if per_example else {}

            def mean(x, y, m, fn=fn, options=options, reduce=reduce):
                return fn(x, y, m, **reduce, **options)

            proxies = pk if centers else p
            per_batch = jax.vmap(jax.value_and_grad(mean, argnums=(0, 2)), in_axes=(0, 0, None))
            means, (gx, gp) = per_batch(xs, ys, proxies)
            out[name] = (fn(xs, ys, proxies, **options), means, gx, gp)
        return out

    out = jax.jit(everything)(xs, ys, jnp.asarray(P), jnp.asarray(PK))
    return {
        (name, batch): tuple(a[i] for a in values)
        for name, values in out.items()
        for i, batch in enumerate(BATCHES)
    }


@pytest.mark.parametrize("batch", list(BATCHES))
@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_values_and_gradients_equal_pml(ours, config, batch):
    name, _, _, cls, options, per_example, centers = config
    x, y = BATCHES[batch]
    values, gx, gp = _pml(cls, options, x, y, per_example, centers)
    v, mean, ox, op = (np.asarray(a) for a in ours[name, batch])
    np.testing.assert_allclose(v, values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, values.mean(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ox, gx, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(op, gp, rtol=1e-8, atol=1e-10)


def test_sparse_centers_penalty_equals_pml():
    centres = np.concatenate([PK[:3], np.repeat(PK[3:4, :1], K, axis=1), PK[4:]])  # one merged
    reg = regularizers.SparseCentersRegularizer(num_classes=C, centers_per_class=K)
    fc = torch.tensor(centres.reshape(C * K, D), requires_grad=True)
    value = reg(fc)
    value.backward()
    ours, grad = jax.jit(jax.value_and_grad(jaxloss.sparse_centers_penalty))(jnp.asarray(centres))
    np.testing.assert_allclose(ours, value.item(), rtol=1e-12)
    # PML's sqrt(2 + tiny - 2c) has a gradient of ~1/sqrt(tiny) times rounding at merged
    # centres; ours is 0 there (the chord distance's subgradient). Elsewhere they agree.
    expected = fc.grad.numpy().reshape(C, K, D)
    merged = np.zeros((C, K, D), bool)
    merged[3] = True
    np.testing.assert_allclose(
        np.where(merged, 0.0, grad), np.where(merged, 0.0, expected), atol=1e-12
    )
    assert np.all(np.isfinite(grad)) and np.all(grad[3] == 0.0)


# The papers' formulas in numpy ---------------------------------------------------------------


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def _lse(a, axis=-1):
    top = a.max(axis, keepdims=True)
    return np.log(np.sum(np.exp(a - top), axis)) + np.squeeze(top, axis)


def test_papers_formulas():
    """Proxy-Anchor (Kim et al. 2020, eq. 4), SoftTriple (Qian et al. 2019, eqs. 7-8 and the
    regulariser of eq. 10) and ProxyNCA: the paper's eq. (8) leaves the positive proxy out of
    the denominator, PML (and ProxyNCA++) keep it, so ours = paper - log(1 - p_y)."""
    x, y = X, Y
    u, p = _unit(x), _unit(P)
    cos = u @ p.T
    pos = y[:, None] == np.arange(C)[None, :]
    alpha, delta = 32.0, 0.1
    pos_terms = np.log1p(np.sum(np.where(pos, np.exp(-alpha * (cos - delta)), 0), 0))
    neg_terms = np.log1p(np.sum(np.where(~pos, np.exp(alpha * (cos + delta)), 0), 0))
    anchor = pos_terms.sum() / pos.any(0).sum() + neg_terms.sum() / C

    d = np.sum((u[:, None] - p[None]) ** 2, -1)
    rows = np.arange(B)
    paper_nca = d[rows, y] + _lse(np.where(pos, -np.inf, -d))  # -log(e^-d_y / sum_{j!=y})
    p_y = np.exp(-d[rows, y] - _lse(-d))

    ck = np.einsum("bd,ckd->bck", u, _unit(PK))
    weights = np.exp(ck / 0.1 - _lse(ck / 0.1)[..., None])
    similarity = np.sum(weights * ck, -1)
    logits = 20.0 * (similarity - 0.01 * pos)
    soft_triple = _lse(logits) - logits[rows, y]
    pk = _unit(PK)
    chords = [
        np.linalg.norm(pk[j, t] - pk[j, s])
        for j in range(C)
        for t in range(K)
        for s in range(t + 1, K)
    ]
    penalty = np.sum(chords) / (C * K * (K - 1))

    def run(x, p, pk):
        return (
            jaxloss.proxy_anchor_loss(x, y, p),
            jaxloss.proxy_nca_loss(x, y, p),
            jaxloss.soft_triple_loss(x, y, pk),
            jaxloss.sparse_centers_penalty(pk),
        )

    out = jax.jit(run)(jnp.asarray(x), jnp.asarray(P), jnp.asarray(PK))
    np.testing.assert_allclose(out[0], anchor, rtol=1e-12)
    np.testing.assert_allclose(out[1], paper_nca - np.log1p(-p_y), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out[2], soft_triple, rtol=1e-10)
    np.testing.assert_allclose(out[3], penalty, rtol=1e-12)


def test_proxy_anchor_where_leaves_examples_out():
    """A masked example is out of every sum and of the proxies with positives (P+): the value
    equals the call on the batch without it, even when it holds NaN and a stray label."""
    x = np.concatenate([X, np.full((1, D), np.nan)])
    y = np.concatenate([Y, [C + 7]])
    where = np.arange(B + 1) < B

    def both(x, x_kept, p):
        masked = jax.value_and_grad(
            lambda a, b: jaxloss.proxy_anchor_loss(a, y, b, where=where), (0, 1)
        )(x, p)
        kept = jax.value_and_grad(lambda a, b: jaxloss.proxy_anchor_loss(a, Y, b), (0, 1))(
            x_kept, p
        )
        return masked, kept

    (v, (gx, gp)), (v0, (gx0, gp0)) = jax.jit(both)(jnp.asarray(x), jnp.asarray(X), jnp.asarray(P))
    np.testing.assert_allclose(v, v0, rtol=1e-12)
    np.testing.assert_allclose(gx[:B], gx0, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gp, gp0, rtol=1e-10, atol=1e-14)
    assert np.all(gx[B] == 0.0)
