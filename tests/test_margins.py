"""Reference tests of jaxloss.margins against pytorch-metric-learning 2.9 (PML) and the papers.

PML's heads hold their class matrix as ``W`` ``[D, C]``; ours is ``weight`` ``[C, D]``
(``W.T``; sub-centres ``W.T.reshape(C, K, D)``). PML's reducers map to our ``reduction``:
``DoNothingReducer`` is ``"none"`` (per-example values) and the default ``MeanReducer`` is
``"mean"``. All configurations are computed in one jitted call (values and gradients with
respect to the embeddings and the class matrix) and compared with PML in float64 after.
Where PML has no counterpart (ArcFace's ``easy_margin``), the paper's formula in numpy is
the reference, its gradients by central differences.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from pytorch_metric_learning import losses
from pytorch_metric_learning.reducers import DoNothingReducer

import jaxloss

# PML builds its SphereFace binomials from numpy arrays of tensors (a numpy 2 deprecation).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

B, D, C, K = 8, 6, 5, 3
RNG = np.random.default_rng(15)
X = RNG.standard_normal((B, D))
Y = np.array([0, 1, 1, 3, 0, 3, 3, 1])  # classes 2 and 4 absent
W = RNG.standard_normal((C, D))
WK = RNG.standard_normal((C, K, D))
DUPLICATED = np.repeat(X[:2], 4, axis=0)  # two distinct rows, each four times
COLLAPSED = np.tile(X[:1], (B, 1))
ONE_CLASS = np.full(B, 2)
# An embedding close to its class row (angle ~1e-3): the arccos region of PML issue #209.
NEAR = W[Y] + 1e-3 * RNG.standard_normal((B, D))
# Embeddings equal and opposite to their (non-axis) class rows: cosines +-1 up to rounding.
ANGLES = np.concatenate([2.0 * W[Y[:4]], -W[Y[4:]]])

# (name, our function, our options, PML class, PML options, uses sub-centres)
CONFIGS = [
    ("arcface", jaxloss.arcface_loss, {}, losses.ArcFaceLoss, {}, False),
    (
        "arcface_m03_s10",
        jaxloss.arcface_loss,
        {"margin": 0.3, "scale": 10.0},
        losses.ArcFaceLoss,
        {"margin": math.degrees(0.3), "scale": 10.0},
        False,
    ),
    ("cosface", jaxloss.cosface_loss, {}, losses.CosFaceLoss, {}, False),
    (
        "cosface_m02_s8",
        jaxloss.cosface_loss,
        {"margin": 0.2, "scale": 8.0},
        losses.CosFaceLoss,
        {"margin": 0.2, "scale": 8.0},
        False,
    ),
    ("sphereface", jaxloss.sphereface_loss, {}, losses.SphereFaceLoss, {}, False),
    (
        "sphereface_m3_s2",
        jaxloss.sphereface_loss,
        {"margin": 3, "scale": 2.0},
        losses.SphereFaceLoss,
        {"margin": 3, "scale": 2.0},
        False,
    ),
    ("normsoftmax", jaxloss.normalized_softmax_loss, {}, losses.NormalizedSoftmaxLoss, {}, False),
    (
        "normsoftmax_t03",
        jaxloss.normalized_softmax_loss,
        {"temperature": 0.3},
        losses.NormalizedSoftmaxLoss,
        {"temperature": 0.3},
        False,
    ),
    (
        "subcenter",
        jaxloss.subcenter_arcface_loss,
        {},
        losses.SubCenterArcFaceLoss,
        {"sub_centers": K},
        True,
    ),
]
BATCHES = {
    "random": (X, Y),
    "duplicated": (DUPLICATED, Y),
    "collapsed": (COLLAPSED, Y),
    "one_class": (X, ONE_CLASS),
    "near_class_row": (NEAR, Y),
    "angles_0_and_pi": (ANGLES, Y),
}


def _pml(cls, options, x, y, centers):
    """PML's per-example values and the gradients of their mean (float64)."""
    num = {"num_classes": C, "embedding_size": D}
    loss = cls(**num, reducer=DoNothingReducer(), **options).double()
    loss.W.data = torch.tensor((WK.reshape(C * K, D) if centers else W).T.copy())
    xt = torch.tensor(x, requires_grad=True)
    values = loss(xt, torch.tensor(y))["loss"]["losses"]
    values.mean().backward()
    gw = loss.W.grad.numpy().T
    return values.detach().numpy(), xt.grad.numpy(), gw.reshape(C, K, D) if centers else gw


@pytest.fixture(scope="module")
def ours():
    """Every configuration on every batch in one jitted call: values, mean, and gradients.

    The batches are stacked on a leading axis: the values come from one batched call, the
    per-batch means and their gradients from one ``vmap``.
    """
    xs = jnp.asarray(np.stack([x for x, _ in BATCHES.values()]))
    ys = jnp.asarray(np.stack([y for _, y in BATCHES.values()]))

    def everything(xs, ys, w, wk):
        out = {}
        for name, fn, options, _, _, centers in CONFIGS:

            def mean(x, y, m, fn=fn, options=options):
                return fn(x, y, m, reduction="mean", **options)

            matrix = wk if centers else w
            per_batch = jax.vmap(jax.value_and_grad(mean, argnums=(0, 2)), in_axes=(0, 0, None))
            means, (gx, gw) = per_batch(xs, ys, matrix)
            out[name] = (fn(xs, ys, matrix, **options), means, gx, gw)
        return out

    out = jax.jit(everything)(xs, ys, jnp.asarray(W), jnp.asarray(WK))
    return {
        (name, batch): tuple(a[i] for a in values)
        for name, values in out.items()
        for i, batch in enumerate(BATCHES)
    }


@pytest.mark.parametrize("batch", list(BATCHES))
@pytest.mark.parametrize("config", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_values_and_gradients_equal_pml(ours, config, batch):
    name, _, _, cls, options, centers = config
    x, y = BATCHES[batch]
    values, gx, gw = _pml(cls, options, x, y, centers)
    v, mean, ox, ow = (np.asarray(a) for a in ours[name, batch])
    # At angle 0, sin(theta) = sqrt(1 - c^2) amplifies the rounding of c (1e-16) to 1e-8:
    # ours snaps it to 0 within 4 eps (module docstring of jaxloss.margins), PML keeps it.
    atol = 1e-8 if batch == "angles_0_and_pi" else 1e-10
    np.testing.assert_allclose(v, values, rtol=1e-10, atol=atol)
    np.testing.assert_allclose(mean, values.mean(), rtol=1e-10, atol=atol)
    if batch == "angles_0_and_pi" and "arcface" in name:
        # At angle 0 the angle is a cone (no gradient); PML differentiates arccos there and
        # gets NaN or a rounding-sized direction times ~1/sqrt(eps) (issues #209, #309).
        # Ours: the sin term's gradient is 0 (the limit along the class row); checked for
        # finiteness here and against float64 in the contract suite's edge cases.
        assert np.all(np.isfinite(ox)) and np.all(np.isfinite(ow))
        return
    np.testing.assert_allclose(ox, gx, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ow, gw, rtol=1e-8, atol=1e-10)


def test_default_reducer_is_mean():
    """PML's default reducer (MeanReducer) is our "mean"; its SumReducer our "sum"."""
    from pytorch_metric_learning.reducers import SumReducer

    y = torch.tensor(Y)
    pml = losses.CosFaceLoss(num_classes=C, embedding_size=D).double()
    pml_sum = losses.CosFaceLoss(num_classes=C, embedding_size=D, reducer=SumReducer()).double()
    for loss in (pml, pml_sum):
        loss.W.data = torch.tensor(W.T.copy())
    args = (jnp.asarray(X), jnp.asarray(Y), jnp.asarray(W))
    ours = jax.jit(
        lambda a, b, c: [jaxloss.cosface_loss(a, b, c, reduction=r) for r in ("mean", "sum")]
    )
    mean, total = ours(*args)
    np.testing.assert_allclose(mean, pml(torch.tensor(X), y).item(), rtol=1e-12)
    np.testing.assert_allclose(total, pml_sum(torch.tensor(X), y).item(), rtol=1e-12)


# The paper's formulas in numpy (where PML has no counterpart) -----------------------------


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-8)


def _arcface_paper(x, y, w, s, m, easy):
    """ArcFace (Deng et al. 2019, eq. 3, and the insightface code's two variants)."""
    cos = _unit(x) @ _unit(w).T
    c = cos[np.arange(len(y)), y]
    theta = np.arccos(np.clip(c, -1, 1))
    shifted = np.cos(theta + m)
    if easy:
        psi = np.where(c > 0, shifted, c)
    else:
        psi = np.where(theta <= np.pi - m, shifted, c - m * np.sin(m))
    logits = s * cos
    logits[np.arange(len(y)), y] = s * psi
    lse = np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1)) + logits.max(1)
    return lse - logits[np.arange(len(y)), y]


def _central_differences(f, a, step=1e-6):
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[i] = step
        g[i] = (f(a + e) - f(a - e)) / (2 * step)
    return g


@pytest.mark.parametrize("easy", [True, False])
def test_arcface_equals_the_paper_formula(easy):
    s, m = 8.0, 0.5
    # Targets on both sides of c = 0 and past theta = pi - m (the fallback branch).
    x = np.concatenate([X[:4], -W[[0, 1]] + 0.2 * X[4:6], W[[3, 3]] + X[6:]])
    y = np.array([0, 1, 1, 3, 0, 1, 3, 3])

    def mean_paper(x, w):
        return _arcface_paper(x, y, w, s, m, easy).mean()

    def ours(x, w):
        kw = {"scale": s, "margin": m, "easy_margin": easy}
        values = jaxloss.arcface_loss(x, y, w, **kw)
        grads = jax.grad(lambda a, b: jaxloss.arcface_loss(a, y, b, reduction="mean", **kw), (0, 1))
        return values, grads(x, w)

    values, (gx, gw) = jax.jit(ours)(jnp.asarray(x), jnp.asarray(W))
    np.testing.assert_allclose(values, _arcface_paper(x, y, W, s, m, easy), rtol=1e-10)
    np.testing.assert_allclose(gx, _central_differences(lambda a: mean_paper(a, W), x), atol=1e-7)
    np.testing.assert_allclose(gw, _central_differences(lambda b: mean_paper(x, b), W), atol=1e-7)


# Low precision and the angles at 0 and pi (PML issues #209, #309) --------------------------


def test_low_precision_is_finite_and_close_at_angles_0_and_pi(ours):
    """The angles batch in bfloat16 and float16 (computed in float32 inside): finite values
    and gradients, equal to float64's within the input precision."""
    # The heads that form angles (the others are smooth functions of the cosines).
    heads = {c[0]: c for c in CONFIGS if c[0] in ("arcface", "sphereface", "subcenter")}

    def all_heads(args):
        out = {}
        for dtype, (x, w, wk) in args.items():
            for name, fn, options, _, _, centers in heads.values():

                def mean(a, b, fn=fn, options=options):
                    return fn(a, Y, b, reduction="mean", **options)

                m = wk if centers else w
                out[dtype, name] = (mean(x, m), *jax.grad(mean, (0, 1))(x, m))
        return out

    dtypes = ("bfloat16", "float16")
    args = {d: tuple(jnp.asarray(a, d) for a in (ANGLES, W, WK)) for d in dtypes}
    out = jax.jit(all_heads)(args)
    for dtype in dtypes:
        for name in heads:
            _, mean, gx, gw = ours[name, "angles_0_and_pi"]
            for lo, hi in zip(out[dtype, name], (mean, gx, gw), strict=True):
                lo = np.asarray(lo)  # comparisons in numpy (ml_dtypes for bfloat16)
                assert lo.dtype == dtype and np.all(np.isfinite(lo)), (dtype, name)
                scale = max(1.0, float(np.max(np.abs(np.asarray(hi)))))
                np.testing.assert_allclose(
                    np.asarray(lo, np.float64), hi, atol=0.05 * scale, rtol=0.05, err_msg=name
                )
