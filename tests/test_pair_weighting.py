"""Reference tests of jaxloss.pair_weighting against pytorch-metric-learning 2.9 (torch CPU,
float64) and, where PML's definition differs from the paper's, a numpy formula of the paper.

Every batch has the same shape (tests/pair_helpers.py), so one jitted, vmapped program
computes all our values and gradients and one torch pass computes PML's.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from pytorch_metric_learning import reducers as pml_reducers

import jaxloss
from tests.pair_helpers import (
    BATCHES,
    EMB,
    LABELS,
    TOL,
    WHERE,
    assert_equal_pml,
    our_reduced,
    pml_reduced,
    scatter,
)

# name -> (jaxloss function, keyword options, PML loss factory, PML miner factory or None)
CONFIGS = {
    "multi_similarity": (jaxloss.multi_similarity_loss, {}, pml_losses.MultiSimilarityLoss, None),
    "multi_similarity_options": (
        jaxloss.multi_similarity_loss,
        {"alpha": 3.0, "beta": 20.0, "margin": 0.3},
        lambda: pml_losses.MultiSimilarityLoss(alpha=3, beta=20, base=0.3),
        None,
    ),
    "multi_similarity_mined": (
        jaxloss.multi_similarity_loss,
        {"mine": True, "margin2": 0.2},
        pml_losses.MultiSimilarityLoss,
        lambda: pml_miners.MultiSimilarityMiner(epsilon=0.2),
    ),
    "circle": (jaxloss.circle_loss, {}, pml_losses.CircleLoss, None),
    "circle_options": (
        jaxloss.circle_loss,
        {"margin": 0.25, "gamma": 16.0},
        lambda: pml_losses.CircleLoss(m=0.25, gamma=16),
        None,
    ),
    "lifted": (jaxloss.lifted_structure_loss, {}, pml_losses.GeneralizedLiftedStructureLoss, None),
    "lifted_options": (
        jaxloss.lifted_structure_loss,
        {"margin": 0.6, "margin2": 0.1},
        lambda: pml_losses.GeneralizedLiftedStructureLoss(neg_margin=0.6, pos_margin=0.1),
        None,
    ),
    "npairs": (jaxloss.npairs_loss, {}, pml_losses.NPairsLoss, None),
    "angular_pml": (
        jaxloss.angular_loss,
        {"normalize": "pairs"},
        pml_losses.AngularLoss,
        None,
    ),
    "angular_pml_50": (
        jaxloss.angular_loss,
        {"normalize": "pairs", "alpha": 50.0},
        lambda: pml_losses.AngularLoss(alpha=50),
        None,
    ),
}
# Element-wise PML losses whose per-anchor values (DoNothingReducer) are our "none" values.
PER_ANCHOR = {
    "multi_similarity": lambda: pml_losses.MultiSimilarityLoss(
        reducer=pml_reducers.DoNothingReducer()
    ),
    "circle": lambda: pml_losses.CircleLoss(reducer=pml_reducers.DoNothingReducer()),
    "lifted": lambda: pml_losses.GeneralizedLiftedStructureLoss(
        reducer=pml_reducers.DoNothingReducer()
    ),
}


@pytest.fixture(scope="module")
def pml():
    out = pml_reduced(CONFIGS)
    for i in BATCHES:
        keep = WHERE[i]
        x, y = torch.tensor(EMB[i][keep]), torch.tensor(LABELS[i][keep])
        for name, make_loss in PER_ANCHOR.items():
            info = make_loss()(x, y)["loss"]
            values = np.zeros(int(keep.sum()))  # PML's zero loss ("losses": 0) without pairs
            if torch.is_tensor(info["losses"]):
                values[np.asarray(info["indices"])] = info["losses"].detach().numpy().ravel()
            out[name + "_none", i] = scatter(values, keep)
    return out


@pytest.fixture(scope="module")
def ours():
    """Every configuration's mean, gradient and per-anchor values, one compile."""

    def one_batch(x, y, where):
        out = our_reduced(CONFIGS, x, y, where)
        for name in PER_ANCHOR:
            fn, kw = CONFIGS[name][:2]
            out[name + "_none"] = fn(x, y, where=where, **kw)
        for name, (fn, kw) in PAPER.items():
            out["paper_" + name] = jax.value_and_grad(
                lambda x, fn=fn, kw=kw: fn(x, y, where=where, reduction="mean", **kw)
            )(x)
        return out

    return jax.jit(jax.vmap(one_batch))(jnp.asarray(EMB), jnp.asarray(LABELS), WHERE)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_value_and_gradient_equal_pml(pml, ours, name):
    assert_equal_pml(ours, pml, name)


@pytest.mark.parametrize("name", sorted(PER_ANCHOR))
def test_per_anchor_values_equal_pml_element_losses(pml, ours, name):
    for i in BATCHES:
        np.testing.assert_allclose(ours[name + "_none"][i], pml[name + "_none", i], **TOL)


# The paper's formula where PML's definition differs ------------------------------------------


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _paper_angular(x, y, alpha=40.0):
    """Wang et al. 2017, eq. (8) over every ordered positive pair, all vectors unit length."""
    u, t = _unit(x), np.tan(np.radians(alpha)) ** 2
    values = []
    for a in range(len(y)):
        for p in range(len(y)):
            if p == a or y[p] != y[a]:
                continue
            negs = [n for n in range(len(y)) if y[n] != y[a]]
            f = [4 * t * (u[a] + u[p]) @ u[n] - 2 * (1 + t) * u[a] @ u[p] for n in negs]
            values.append(np.log1p(np.sum(np.exp(f))) if negs else 0.0)
    return np.mean(values) if values else 0.0


def _paper_npairs(x, y):
    """Sohn 2016, eq. (6): inner products of raw embeddings, one pair per class."""
    classes = [c for c in dict.fromkeys(y.tolist()) if np.sum(y == c) >= 2]
    anchors = np.stack([x[np.flatnonzero(y == c)[0]] for c in classes]) if classes else None
    if anchors is None:
        return 0.0
    positives = np.stack([x[np.flatnonzero(y == c)[1]] for c in classes])
    logits = anchors @ positives.T
    top = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
    return np.mean(lse - np.diag(logits))


def _paper_lifted(x, y, margin=1.0):
    """Hermans et al. 2017, eq. (4) on raw Euclidean distances (empty sums' logs are 0)."""
    d = np.sqrt(np.sum((x[:, None] - x[None]) ** 2, axis=-1))
    out = []
    for a in range(len(y)):
        pos = [p for p in range(len(y)) if p != a and y[p] == y[a]]
        neg = [n for n in range(len(y)) if y[n] != y[a]]
        lp = np.log(np.sum(np.exp(d[a, pos]))) if pos else 0.0
        ln = np.log(np.sum(np.exp(margin - d[a, neg]))) if neg else 0.0
        out.append(max(lp + ln, 0.0))
    return np.mean(out)


PAPER = {
    "angular": (jaxloss.angular_loss, {}),
    "npairs": (jaxloss.npairs_loss, {"normalize": False}),
    "lifted": (jaxloss.lifted_structure_loss, {"normalize": False}),
}
PAPER_FORMULA = {"angular": _paper_angular, "npairs": _paper_npairs, "lifted": _paper_lifted}


def _numeric_gradient(f, x, step=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = step
        grad[index] = (f(x + e) - f(x - e)) / (2 * step)
    return grad


# Batches without ties or zero distances: central differences are exact there.
SMOOTH_BATCHES = (0, 1, 2, 5, 6, 7)


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_formula_where_pml_differs(ours, name):
    value, grad = ours["paper_" + name]
    formula = PAPER_FORMULA[name]
    for i in BATCHES:
        keep = WHERE[i]
        x, y = EMB[i][keep], LABELS[i][keep]
        np.testing.assert_allclose(value[i], formula(x, y), **TOL, err_msg=f"batch {i}")
        if i in SMOOTH_BATCHES:
            expected = _numeric_gradient(functools.partial(formula, y=y), x)
            got = np.asarray(grad[i])[keep]
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=f"{i}")


def test_angular_loss_paper_and_pml_forms_agree_on_unit_vectors():
    x = _unit(EMB[0])
    ours_pml = jaxloss.angular_loss(x, LABELS[0], normalize="pairs", reduction="mean")
    ours_paper = jaxloss.angular_loss(x, LABELS[0], reduction="mean")
    np.testing.assert_allclose(ours_pml, ours_paper, **TOL)


def test_angular_loss_memory_grows_as_b_squared():
    """No [B, B, B] tensor: doubling the batch at most quadruples the temporary memory."""

    def temp_bytes(b):
        x = jax.ShapeDtypeStruct((b, 8), jnp.float32)
        y = jax.ShapeDtypeStruct((b,), jnp.int32)
        step = jax.jit(jax.grad(lambda x, y: jaxloss.angular_loss(x, y, reduction="mean")))
        return step.lower(x, y).compile().memory_analysis().temp_size_in_bytes

    small, large = temp_bytes(256), temp_bytes(512)
    assert large <= 4.5 * small, (small, large)
