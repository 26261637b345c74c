"""Reference tests for jaxloss.topology (clDice, Dice + clDice, Hausdorff DT loss) and its
distance transform (jaxloss._distance_transform).

Oracles: MONAI 1.6 (`monai.losses.SoftclDiceLoss`, `SoftDiceclDiceLoss`, `HausdorffDTLoss`,
installed; channel-first, so the maps are transposed) in float64 with torch autograd for the
gradients, and `scipy.ndimage.distance_transform_edt` for the distance transform. MONAI casts
its distance maps to float32, hence the Hausdorff tolerance. Every JAX configuration of a
test runs in one jitted program.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from monai import losses as monai_losses
from scipy import ndimage

import jaxloss as jl
from jaxloss import _distance_transform

TOL = {"rtol": 1e-10, "atol": 1e-12}  # float64 against float64 torch
HAUSDORFF_TOL = {"rtol": 1e-6, "atol": 1e-9}  # MONAI's distances are float32


def cf(x):
    """channel-last -> channel-first (MONAI's BNHW[D])."""
    return np.moveaxis(np.asarray(x, np.float64), -1, 1)


def monai_value_and_grad(loss, x, y):
    """MONAI's summed loss and its gradient with respect to `x` (channel-last)."""
    xt = torch.tensor(cf(x), requires_grad=True)
    value = loss(xt, torch.tensor(cf(y)))
    value.sum().backward()
    assert xt.grad is not None
    return value.detach().numpy(), np.moveaxis(xt.grad.numpy(), 1, -1)


# --- the distance transform against scipy ---------------------------------------------------


def scipy_squared_edt(mask, spatial):
    """scipy's EDT of every slice along the non-spatial axes, squared."""
    other = [a for a in range(mask.ndim) if a not in spatial]
    moved = np.moveaxis(mask, other, list(range(len(other))))
    flat = moved.reshape(-1, *moved.shape[len(other) :])
    out = np.stack([ndimage.distance_transform_edt(s) ** 2 for s in flat]).reshape(moved.shape)
    return np.moveaxis(out, list(range(len(other))), other)


MASKS = {
    # name: (mask, spatial axes)
    "2d": (np.random.default_rng(0).random((3, 9, 7)) < 0.8, (1, 2)),
    "3d_channels": (np.random.default_rng(1).random((2, 5, 6, 7, 2)) < 0.9, (1, 2, 3)),
    "one_zero": (np.ones((6, 5), bool) & (np.arange(30).reshape(6, 5) != 13), (0, 1)),
    "1d": (np.random.default_rng(2).random((4, 11)) < 0.6, (1,)),
}


@pytest.fixture(scope="module")
def edts():
    masks = {name: jnp.asarray(m) for name, (m, _) in MASKS.items()}
    masks["empty"] = jnp.zeros((4, 5, 3), bool)
    masks["full"] = jnp.ones((4, 5, 3), bool)

    @jax.jit
    def run(masks):
        axes = {name: a for name, (_, a) in MASKS.items()} | {"empty": (0, 1), "full": (0, 1)}
        return {name: _distance_transform.squared_edt(m, axes[name]) for name, m in masks.items()}

    return run(masks)


@pytest.mark.parametrize("name", sorted(MASKS))
def test_squared_edt_is_scipy_exactly(edts, name):
    mask, spatial = MASKS[name]
    ours = np.asarray(edts[name])
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, np.round(scipy_squared_edt(mask, spatial)))


def test_squared_edt_empty_and_full_masks(edts):
    """No True element: all 0 (scipy's value). No False element: nothing to measure to, inf
    (scipy returns an artefact there; MONAI's Hausdorff loss sets such maps to 0)."""
    np.testing.assert_array_equal(edts["empty"], 0.0)
    assert bool(jnp.all(jnp.isinf(edts["full"])))


def test_squared_edt_in_blocks_equals_one_step(monkeypatch):
    """Maps larger than the block budget loop over blocks of output positions: same values."""
    mask, spatial = MASKS["3d_channels"]
    monkeypatch.setattr(_distance_transform, "_BLOCK_ELEMENTS", 1000)
    blocked = jax.jit(lambda m: _distance_transform.squared_edt(m, spatial))(mask)
    np.testing.assert_array_equal(blocked, np.round(scipy_squared_edt(mask, spatial)))


def test_squared_edt_errors():
    with pytest.raises(TypeError, match="`mask`"):
        _distance_transform.squared_edt(jnp.ones((3, 3)), (0, 1))
    with pytest.raises(ValueError, match="`spatial_axes`"):
        _distance_transform.squared_edt(jnp.ones((3, 3), bool), ())


# --- the losses against MONAI ---------------------------------------------------------------


def _inputs():
    """Named (logits, targets) maps; targets one-hot (channel-last) for MONAI, with the
    integer labels where the JAX call takes them."""
    rng = np.random.default_rng(0)
    labels2 = rng.integers(0, 3, (3, 7, 6))
    labels2[0] = 0  # classes 1 and 2 absent from example 0
    labels2[1] = 0
    labels2[1, 3, 2] = 2  # a one-pixel structure
    labels3 = rng.integers(0, 2, (2, 4, 5, 6))
    binary = (rng.random((2, 5, 6, 4)) < 0.4).astype(np.float64)
    binary[1] = 1.0  # a full target
    return {
        "2d": (rng.standard_normal((3, 7, 6, 3)), labels2, np.eye(3)[labels2]),
        "3d": (rng.standard_normal((2, 4, 5, 6, 2)), labels3, np.eye(2)[labels3]),
        "soft": (  # soft targets, 2-D, sigmoid channels
            rng.standard_normal((2, 6, 6, 2)),
            None,
            rng.uniform(0.0, 1.0, (2, 6, 6, 2)),
        ),
        "binary3d": (3 * rng.standard_normal((2, 5, 6, 4, 1)), None, binary[..., None]),
        # logits from {-1, 0, 1}: equal probabilities inside most pooling windows, where
        # the gradient goes to the first extremum of the window, as torch's max_pool's
        "ties": (
            rng.integers(-1, 2, (2, 6, 7, 3)).astype(np.float64),
            ties := rng.integers(0, 3, (2, 6, 7)),
            np.eye(3)[ties],
        ),
    }


INPUTS = _inputs()

# name: (jax function, inputs, jax options, MONAI loss with reduction "none" or "mean")
CONFIGS = {
    "cldice_2d": (
        jl.soft_cldice_loss,
        "2d",
        {},
        monai_losses.SoftclDiceLoss(softmax=True, reduction="none"),
    ),
    "cldice_2d_options": (
        jl.soft_cldice_loss,
        "2d",
        {"iterations": 0, "smooth": 0.5, "eps": 1e-2, "ignore_background": True},
        monai_losses.SoftclDiceLoss(
            iter_=0,
            smooth_nr=0.5,
            smooth_dr=0.5,
            smooth=1e-2,
            include_background=False,
            softmax=True,
            reduction="none",
        ),
    ),
    "cldice_3d": (
        jl.soft_cldice_loss,
        "3d",
        {"iterations": 2},
        monai_losses.SoftclDiceLoss(iter_=2, softmax=True, reduction="none"),
    ),
    "cldice_soft_sigmoid": (
        jl.soft_cldice_loss,
        "soft",
        {"activation": "sigmoid", "iterations": 5},
        monai_losses.SoftclDiceLoss(iter_=5, sigmoid=True, reduction="none"),
    ),
    "dice_cldice_2d": (
        jl.soft_dice_cldice_loss,
        "2d",
        {"alpha": 0.3, "ignore_background": True, "reduction": "mean"},
        monai_losses.SoftDiceclDiceLoss(
            alpha=0.3, include_background=False, softmax=True, reduction="mean"
        ),
    ),
    "dice_cldice_binary_3d": (
        jl.soft_dice_cldice_loss,
        "binary3d",
        {"activation": "sigmoid", "smooth": 0.1, "reduction": "mean"},
        monai_losses.SoftDiceclDiceLoss(
            sigmoid=True, smooth_nr=0.1, smooth_dr=0.1, reduction="mean"
        ),
    ),
    "cldice_ties": (
        jl.soft_cldice_loss,
        "ties",
        {"iterations": 2},
        monai_losses.SoftclDiceLoss(iter_=2, softmax=True, reduction="none"),
    ),
    "hausdorff_2d": (
        jl.hausdorff_dt_loss,
        "2d",
        {"reduction": "mean"},
        monai_losses.HausdorffDTLoss(softmax=True, reduction="mean"),
    ),
    "hausdorff_2d_background": (
        jl.hausdorff_dt_loss,
        "2d",
        {"alpha": 1.5, "ignore_background": False, "reduction": "mean"},
        monai_losses.HausdorffDTLoss(
            alpha=1.5, include_background=True, softmax=True, reduction="mean"
        ),
    ),
    "hausdorff_3d": (
        jl.hausdorff_dt_loss,
        "3d",
        {"reduction": "mean"},
        monai_losses.HausdorffDTLoss(softmax=True, reduction="mean"),
    ),
    "hausdorff_binary_3d": (
        jl.hausdorff_dt_loss,
        "binary3d",
        {"activation": "sigmoid", "alpha": 1.0, "reduction": "mean"},
        monai_losses.HausdorffDTLoss(alpha=1.0, sigmoid=True, reduction="mean"),
    ),
}


@pytest.fixture(scope="module")
def ours():
    """Values and gradients of every configuration, one jitted program."""

    def targets(name):
        _, labels, onehot = INPUTS[name]
        return jnp.asarray(onehot) if labels is None else jnp.asarray(labels)

    @jax.jit
    def run(logits):
        out = {}
        for config, (fn, name, options, _) in CONFIGS.items():

            def total(x, fn=fn, name=name, options=options):
                values = fn(x, targets(name), **options)
                return jnp.sum(values), values

            (_, values), grad = jax.value_and_grad(total, has_aux=True)(logits[name])
            out[config] = (values, grad)
        return out

    return run({name: jnp.asarray(x) for name, (x, _, _) in INPUTS.items()})


@pytest.mark.filterwarnings("ignore:single channel prediction")  # MONAI, C == 1
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_matches_monai_values_and_gradients(ours, config):
    _, name, _, monai_loss = CONFIGS[config]
    logits, _, onehot = INPUTS[name]
    expected, expected_grad = monai_value_and_grad(monai_loss, logits, onehot)
    values, grad = ours[config]
    tol = HAUSDORFF_TOL if config.startswith("hausdorff") else TOL
    np.testing.assert_allclose(values, expected, **tol)
    np.testing.assert_allclose(grad, expected_grad, **tol)


def test_hausdorff_per_example_is_monai_none_averaged_over_classes():
    logits, labels, onehot = INPUTS["2d"]
    expected = monai_losses.HausdorffDTLoss(softmax=True, reduction="none")(
        torch.tensor(cf(logits)), torch.tensor(cf(onehot))
    )
    ours = jax.jit(jl.hausdorff_dt_loss)(jnp.asarray(logits), jnp.asarray(labels))
    np.testing.assert_allclose(ours, expected.numpy().reshape(3, 2).mean(-1), **HAUSDORFF_TOL)


# --- values at the singular points ----------------------------------------------------------


def test_values_at_singular_points():
    line = jnp.zeros((1, 6, 6, 1)).at[0, 3, 1:5, 0].set(1.0)  # a thin structure
    empty = jnp.zeros((1, 6, 6, 1))
    pixel = jnp.zeros((1, 6, 6, 1)).at[0, 0, 0, 0].set(1.0)  # in a corner

    @jax.jit
    def run():
        probs = {"activation": None}
        return {
            # a binary mask is its own perfect prediction: both ratios 1
            "cldice_perfect": jl.soft_cldice_loss(line, line, **probs),
            # empty skeletons: both ratios s / s = 1; at smooth=0, 0 / 0 is 1 too
            "cldice_empty": jl.soft_cldice_loss(empty, empty, **probs),
            "cldice_empty_smooth0": jl.soft_cldice_loss(empty, empty, smooth=0.0, **probs),
            # disjoint at smooth = eps = 0: both ratios 0, the loss 1
            "cldice_apart": jl.soft_cldice_loss(line, pixel, smooth=0.0, eps=0.0, **probs),
            "cldice_pixel_skeleton": jl.soft_cldice_loss(pixel, pixel, smooth=0.0, **probs),
            "dice_cldice_empty": jl.soft_dice_cldice_loss(empty, empty, **probs),
            # no boundary in either map: distances 0
            "hausdorff_empty_full": jl.hausdorff_dt_loss(empty, jnp.ones_like(empty), **probs),
            # a stray pixel: d_p = 1 (its own boundary), d_t^2 = 3^2 + 1^2 (to the line)
            "hausdorff_stray": jl.hausdorff_dt_loss(line + pixel, line, **probs),
        }

    out = {k: float(v[0]) for k, v in run().items()}
    eps = 1e-4
    assert out["cldice_perfect"] == pytest.approx(1 - 2 / (2 + eps), abs=1e-15)
    assert out["cldice_empty"] == pytest.approx(1 - 2 / (2 + eps), abs=1e-15)
    assert out["cldice_empty_smooth0"] == pytest.approx(1 - 2 / (2 + eps), abs=1e-15)
    assert out["cldice_apart"] == 1.0
    assert out["cldice_pixel_skeleton"] == pytest.approx(1 - 2 / (2 + eps), abs=1e-15)
    assert out["dice_cldice_empty"] == pytest.approx(0.5 * (1 - 2 / (2 + eps)), abs=1e-15)
    assert out["hausdorff_empty_full"] == 0.0  # an error of 1 everywhere, weighted 0 + 0
    assert out["hausdorff_stray"] == pytest.approx((1.0 + 10.0) / 36, rel=1e-15)


def test_hausdorff_data_checks_raise_eagerly():
    logits = jnp.zeros((1, 4, 4, 3))
    with pytest.raises(ValueError, match="`targets`"):
        jl.hausdorff_dt_loss(logits, jnp.full((1, 4, 4), 3))
    with pytest.raises(ValueError, match="`predictions`"):
        jl.soft_cldice_loss(2.0 * jnp.ones((1, 4, 4, 1)), jnp.ones((1, 4, 4)), activation=None)
