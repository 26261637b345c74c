"""Every overlap loss on volumes ``[batch, D, H, W, C]`` against MONAI (and optax for optax's
own names), values and gradients.

MONAI 1.6 is channel-first (``[B, C, D, H, W]``): its inputs are our maps with the class axis
moved, its gradients moved back. Each MONAI loss runs in float64 under torch autograd; every
jaxloss loss and gradient comes from one compiled program. The Lovász losses are checked on
volumes in tests/test_lovasz.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from monai import losses as monai

import jaxloss as jl

TOL = {"rtol": 1e-10, "atol": 1e-12}
# MONAI computes these in float32 whatever the input dtype: GeneralizedDiceLoss its class
# weights (`ground_o.float()`), FocalLoss everything (`input.float()`).
FLOAT32_INSIDE = {"generalized_dice_loss", "dice_focal_loss sigmoid", "dice_focal_loss softmax"}
FLOAT32_TOL = {"rtol": 1e-5, "atol": 1e-7}
SHAPE = (2, 3, 4, 5)  # [B, D, H, W]
C = 3


def _cf(x):
    return torch.tensor(np.moveaxis(np.asarray(x, np.float64), -1, 1))


def _torch_value_and_grad(loss, x, target):
    """MONAI's scalar loss and its gradient, channel-last."""
    xt = _cf(x).requires_grad_(True)
    value = loss(xt, target)
    value.backward()
    return value.item(), np.moveaxis(xt.grad.numpy(), 1, -1)


def test_every_overlap_loss_on_volumes_matches_monai():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((*SHAPE, C))
    labels = rng.integers(0, C, SHAPE)
    labels[0][labels[0] == 2] = 1  # class 2 absent from volume 0
    onehot = np.eye(C)[labels]
    x1 = rng.standard_normal((*SHAPE, 1))
    mask = rng.integers(0, 2, (*SHAPE, 1)).astype(np.float64)

    # name: (jaxloss scalar of (x, target), jaxloss inputs, MONAI loss, MONAI target)
    def mean(fn, **kw):
        return lambda x, t: jnp.mean(fn(x, t, **kw))

    configs = {
        "dice_coefficient": (
            lambda x, t: 1.0 - jl.dice_coefficient(x, t, smooth=0.1, reduction="mean"),
            "x labels",
            monai.DiceLoss(softmax=True, smooth_nr=0.1, smooth_dr=0.1),
            _cf(onehot),
        ),
        "dice_coefficient batch squared": (
            lambda x, t: 1.0 - jl.dice_coefficient(x, t, batch_dice=True, squared=True),
            "x labels",
            monai.DiceLoss(softmax=True, batch=True, squared_pred=True),
            _cf(onehot),
        ),
        "dice_loss": (  # optax's smoothing s is MONAI's 2s
            mean(jl.dice_loss),
            "x onehot",
            monai.DiceLoss(softmax=True, smooth_nr=2.0, smooth_dr=2.0),
            _cf(onehot),
        ),
        "binary_dice_loss": (
            mean(jl.binary_dice_loss),
            "x1 mask",
            monai.DiceLoss(sigmoid=True, smooth_nr=2.0, smooth_dr=2.0),
            _cf(mask),
        ),
        "generalized_dice_loss": (
            lambda x, t: jl.generalized_dice_loss(x, t, reduction="mean"),
            "x labels",
            monai.GeneralizedDiceLoss(softmax=True),
            _cf(onehot),
        ),
        "tversky_loss": (
            lambda x, t: jl.tversky_loss(x, t, alpha=0.3, beta=0.7, reduction="mean"),
            "x labels",
            monai.TverskyLoss(softmax=True, alpha=0.3, beta=0.7),
            _cf(onehot),
        ),
        "focal_tversky_loss": (  # MONAI's per-class Tversky loss raised to gamma
            lambda x, t: jl.focal_tversky_loss(x, t, reduction="mean"),
            "x labels",
            lambda x, t: torch.mean(
                monai.TverskyLoss(softmax=True, alpha=0.3, beta=0.7, reduction="none")(x, t) ** 0.75
            ),
            _cf(onehot),
        ),
        "iou_loss": (  # MONAI's Jaccard with smoothing 2s
            lambda x, t: jl.iou_loss(x, t, smooth=0.05, reduction="mean"),
            "x labels",
            monai.DiceLoss(softmax=True, jaccard=True, smooth_nr=0.1, smooth_dr=0.1),
            _cf(onehot),
        ),
        "dice_bce_loss": (
            lambda x, t: jl.dice_bce_loss(x, t, reduction="mean"),
            "x1 mask",
            monai.DiceCELoss(sigmoid=True),
            _cf(mask),
        ),
        "dice_cross_entropy_loss": (
            lambda x, t: jl.dice_cross_entropy_loss(x, t, reduction="mean"),
            "x labels",
            monai.DiceCELoss(softmax=True, to_onehot_y=True),
            torch.tensor(labels[:, None]),
        ),
        "dice_focal_loss sigmoid": (
            lambda x, t: jl.dice_focal_loss(x, t, activation="sigmoid", reduction="mean"),
            "x onehot",
            monai.DiceFocalLoss(sigmoid=True, gamma=2.0),
            _cf(onehot),
        ),
        "dice_focal_loss softmax": (
            lambda x, t: jl.dice_focal_loss(x, t, reduction="mean"),
            "x labels",
            lambda x, t: (
                monai.DiceLoss(softmax=True)(x, t)
                + monai.FocalLoss(use_softmax=True, gamma=2.0)(x, t)
            ),
            _cf(onehot),
        ),
    }
    arrays = {"x": x, "labels": labels, "onehot": onehot, "x1": x1, "mask": mask[..., 0]}

    @jax.jit
    def ours(arrays):
        out = {}
        for name, (fn, inputs, _, _) in configs.items():
            a, t = inputs.split()
            out[name] = jax.value_and_grad(fn)(arrays[a], arrays[t])
        # optax's own generalized Dice (no MONAI equivalent) on the same volumes
        out["multiclass_generalized_dice_loss"] = jax.value_and_grad(
            jl.multiclass_generalized_dice_loss
        )(arrays["x"], arrays["onehot"])
        with jax.numpy_rank_promotion("allow"):  # optax broadcasts [B, C] with [C]
            out["optax multiclass_generalized_dice_loss"] = jax.value_and_grad(
                optax.losses.multiclass_generalized_dice_loss
            )(arrays["x"], arrays["onehot"])
        return out

    got = ours({k: jnp.asarray(v) for k, v in arrays.items()})
    for name, (_, inputs, loss, target) in configs.items():
        value, grad = _torch_value_and_grad(loss, arrays[inputs.split()[0]], target)
        tol = FLOAT32_TOL if name in FLOAT32_INSIDE else TOL
        np.testing.assert_allclose(got[name][0], value, **tol, err_msg=name)
        np.testing.assert_allclose(got[name][1], grad, **tol, err_msg=name)
        assert np.any(grad != 0), name
    ours_gdl, optax_gdl = (
        got["multiclass_generalized_dice_loss"],
        got["optax multiclass_generalized_dice_loss"],
    )
    np.testing.assert_allclose(ours_gdl[0], optax_gdl[0], **TOL)
    np.testing.assert_allclose(ours_gdl[1], optax_gdl[1], **TOL)
