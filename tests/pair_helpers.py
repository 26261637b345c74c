"""Helpers shared by test_pair_weighting and test_pair_ranking: the batches (all of one
shape, B = 10, D = 4, so one jitted, vmapped program computes every value and gradient), and
pytorch-metric-learning's values and gradients (torch CPU, float64)."""

from __future__ import annotations

import jax
import numpy as np
import torch

B, D = 10, 4
# PML agrees to ~1e-13 everywhere except circle loss, whose torch Softplus returns its input
# above 20 (an error up to e^-20 ~ 2e-9, seen as ~1e-9 relative in the gradient).
TOL = {"rtol": 1e-8, "atol": 1e-10}


def _batches():
    """(embeddings [N, B, D], labels [N, B], where [N, B]): random and edge batches."""
    rng = np.random.default_rng(15)
    normal = rng.standard_normal((B, D))
    pairs = np.repeat(rng.standard_normal((B // 2, D)), 2, axis=0)  # duplicated rows
    padded = normal.copy()
    padded[[3, 8]] = np.nan  # masked padding
    rows = [
        (rng.standard_normal((B, D)), rng.integers(0, 3, B)),  # random, 3 classes
        (rng.standard_normal((B, D)), rng.integers(0, 2, B)),  # random, 2 classes
        (normal, np.array([0, 0, 0, 3, 3, 5, 7, 7, 7, 9])),  # singletons, absent classes
        (pairs, rng.permutation(np.arange(B) % 3)),  # duplicated embeddings
        (np.tile(rng.standard_normal(D), (B, 1)), np.arange(B) % 2),  # collapsed
        (rng.standard_normal((B, D)), np.zeros(B, int)),  # one class
        (rng.standard_normal((B, D)), np.arange(B)),  # no positive pair
        (padded, np.array([0, 1, 0, 9, 1, 0, 1, 2, 9, 2])),  # two masked rows
    ]
    where = np.ones((len(rows), B), bool)
    where[-1, [3, 8]] = False
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]), where


EMB, LABELS, WHERE = _batches()
BATCHES = range(len(EMB))


def torch_value_and_grad(make_loss, make_miner, x, y, *, parameter=None):
    """PML's reduced loss and gradient (embeddings, and the loss's `beta` if asked)."""
    emb = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor(y)
    loss = make_loss()
    if parameter is not None:
        loss.beta.data = loss.beta.data.double()
    miner = make_miner() if make_miner is not None else None
    value = loss(emb, labels, miner(emb, labels) if miner is not None else None)
    if value.requires_grad:
        value.backward()

    def grad_of(t):  # None where PML's zero loss is not connected to the tensor
        return np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy().copy()

    beta_grad = None if parameter is None else grad_of(loss.beta)
    return float(value.detach()), grad_of(emb), beta_grad


def scatter(values, keep):
    """Values of the kept rows placed back in the full batch (0 at masked rows)."""
    full = np.zeros((len(keep), *np.shape(values)[1:]))
    full[keep] = values
    return full


def pml_reduced(configs):
    """``{(name, batch): (value, gradient)}`` of PML for each ``name: (_, _, loss, miner)``."""
    # PML builds some tensors in the default dtype; it is restored after, since the other test
    # modules of this process (torchvision's VGG weights) rely on float32.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    out = {}
    try:
        for i in BATCHES:
            keep = WHERE[i]
            for name, (_, _, make_loss, make_miner) in configs.items():
                value, grad, _ = torch_value_and_grad(
                    make_loss, make_miner, EMB[i][keep], LABELS[i][keep]
                )
                out[name, i] = (value, scatter(grad, keep))
    finally:
        torch.set_default_dtype(previous)
    return out


def our_reduced(configs, x, y, where):
    """``{name: (mean, gradient)}`` of ours on one batch, for use inside a jitted program."""
    out = {}
    for name, (fn, kw, _, _) in configs.items():

        def mean(x, fn=fn, kw=kw):
            return fn(x, y, where=where, reduction="mean", **kw)

        out[name] = jax.value_and_grad(mean)(x)
    return out


def assert_equal_pml(ours, pml, name):
    value, grad = ours[name]
    for i in BATCHES:
        expected_value, expected_grad = pml[name, i]
        np.testing.assert_allclose(value[i], expected_value, **TOL, err_msg=f"{name} batch {i}")
        got = np.where(WHERE[i][:, None], np.asarray(grad[i]), 0.0)
        np.testing.assert_allclose(got, expected_grad, **TOL, err_msg=f"{name} grad batch {i}")
        # A masked (NaN) row gets no gradient at all.
        assert np.all(np.asarray(grad[i])[~WHERE[i]] == 0.0)
