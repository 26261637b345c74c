"""Helpers shared by the overlap families' tests (test_dice, test_overlap, test_compound).

Oracles written here in numpy, channel-first as MONAI takes it, from the formulas of MONAI's
monai/losses/dice.py (`DiceLoss`, `GeneralizedDiceLoss`), monai/losses/tversky.py
(`TverskyLoss`) and monai/losses/focal_loss.py (`FocalLoss`, `softmax_focal_loss`). Each
takes MONAI's ``smooth_nr = smooth_dr`` as ``smooth``: ``(2I + smooth) / (P + T + smooth)``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import torch
from jax.experimental import checkify

TOL = {"rtol": 1e-10, "atol": 1e-12}  # float64 inputs against float64 numpy/torch


def j(fn):
    """`fn` jitted with its keyword arguments closed over (much faster than op-by-op)."""

    def call(*args, **kwargs):
        return jax.jit(functools.partial(fn, **kwargs))(*args)

    return call


def jgrad(fn):
    return jax.jit(jax.grad(fn))


def cf(x):
    """channel-last -> channel-first (MONAI's BNHW[D])."""
    return np.moveaxis(np.asarray(x, np.float64), -1, 1)


def softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def to_torch(x):
    return torch.from_numpy(np.array(x, np.float64))


def inputs(rng, shape, *, absent=()):
    """Logits [..., C], integer labels [...] (classes in `absent` never occur) and one-hot."""
    classes = [c for c in range(shape[-1]) if c not in absent]
    logits = rng.standard_normal(shape)
    labels = rng.choice(classes, size=shape[:-1])
    onehot = np.eye(shape[-1])[labels]
    return jnp.asarray(logits), jnp.asarray(labels, jnp.int32), jnp.asarray(onehot)


def mean_over(x, keep):
    """Mean over every axis but the first `keep` ones."""
    return np.mean(np.asarray(x).reshape(*np.shape(x)[:keep], -1), axis=-1)


def monai_dice(
    inp,
    tgt,
    *,
    squared_pred=False,
    jaccard=False,
    batch=False,
    smooth=1e-5,
    include_background=True,
):
    """monai.losses.DiceLoss(reduction="none") on probabilities: f = 1 - (2I + s)/(den + s)."""
    if not include_background:
        inp, tgt = inp[:, 1:], tgt[:, 1:]
    axes = tuple(range(2, inp.ndim))
    if batch:
        axes = (0, *axes)
    intersection = np.sum(tgt * inp, axis=axes)
    if squared_pred:
        ground_o, pred_o = np.sum(tgt**2, axis=axes), np.sum(inp**2, axis=axes)
    else:
        ground_o, pred_o = np.sum(tgt, axis=axes), np.sum(inp, axis=axes)
    denominator = ground_o + pred_o
    if jaccard:
        denominator = 2.0 * (denominator - intersection)
    return 1.0 - (2.0 * intersection + smooth) / (denominator + smooth)


def monai_generalized_dice(
    inp, tgt, *, w_type="square", batch=False, smooth=1e-5, include_background=True
):
    """monai.losses.GeneralizedDiceLoss: inf weights replaced by the max finite weight."""
    if not include_background:
        inp, tgt = inp[:, 1:], tgt[:, 1:]
    axes = tuple(range(2, inp.ndim))
    if batch:
        axes = (0, *axes)
    intersection = np.sum(tgt * inp, axes)
    ground_o = np.sum(tgt, axes)
    denominator = ground_o + np.sum(inp, axes)
    with np.errstate(divide="ignore"):
        w = {"square": 1.0 / ground_o**2, "simple": 1.0 / ground_o, "uniform": ground_o * 0 + 1}[
            w_type
        ]
    infs = np.isinf(w)
    w = np.where(infs, 0.0, w)
    if batch:
        w = w + infs * np.max(w)
    else:
        w = w + infs * np.max(w, axis=1, keepdims=True)
    final = 0 if batch else 1
    numer = 2.0 * (intersection * w).sum(final) + smooth
    denom = (denominator * w).sum(final) + smooth
    return 1.0 - numer / denom


def monai_tversky(
    inp, tgt, *, alpha=0.5, beta=0.5, batch=False, smooth=1e-5, include_background=True
):
    """monai.losses.TverskyLoss(reduction="none"): tp, fp = alpha sum p0 g1, fn = beta sum p1 g0."""
    if not include_background:
        inp, tgt = inp[:, 1:], tgt[:, 1:]
    p0, g0 = inp, tgt
    p1, g1 = 1 - p0, 1 - g0
    axes = tuple(range(2, inp.ndim))
    if batch:
        axes = (0, *axes)
    tp = np.sum(p0 * g0, axes)
    fp = alpha * np.sum(p0 * g1, axes)
    fn = beta * np.sum(p1 * g0, axes)
    return 1.0 - (tp + smooth) / (tp + fp + fn + smooth)


def monai_sigmoid_focal(x, t, gamma):
    """monai FocalLoss (sigmoid): BCE * exp(gamma * logsigmoid(-x (2t - 1))), elementwise."""
    max_val = np.clip(-x, 0, None)
    ce = x - x * t + max_val + np.log(np.exp(-max_val) + np.exp(-x - max_val))
    return np.exp(gamma * -np.logaddexp(0, x * (t * 2.0 - 1.0))) * ce


def monai_softmax_focal(x, t, gamma):
    """monai softmax_focal_loss, channel-last: -(1 - p)^gamma log p t, per class."""
    ls = np.log(softmax(x))
    return -((1 - np.exp(ls)) ** gamma) * ls * t


def masked_mean(values, where, weights):
    """The reference of `jaxloss.reduce`'s mean: sum(m w l) / sum(m w) (torch's weighted mean)."""
    mw = np.asarray(where, np.float64) * np.asarray(weights, np.float64)
    return np.sum(mw * values) / np.sum(mw)


def checked(fn):
    """`fn` jitted in the checked mode: returns (error message or None, value)."""
    run = checkify.checkify(jax.jit(fn), errors=checkify.user_checks)

    def call(*args):
        err, out = run(*args)
        return err.get(), out

    return call
