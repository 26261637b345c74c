"""jaxloss.registration against MONAI 1.6 (torch CPU, float64) and a numpy Jacobian.

References: MONAI's ``LocalNormalizedCrossCorrelationLoss``, ``BendingEnergyLoss`` and
``DiffusionLoss`` (``monai.losses``) on the channel-first transposes of the same inputs, values
(``reduction="mean"`` and the per-example means of ``reduction="none"``) and gradients by
torch autograd; the folding penalty against ``np.gradient`` + ``np.linalg.det`` written here
(values) and ``torch.gradient`` + ``torch.linalg.det`` (gradients). Every configuration of a
function runs in one jitted program.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxloss import (
    bending_energy_loss,
    diffusion_regularizer,
    jacobian_folding_penalty,
    local_normalized_cross_correlation_loss,
)

monai_losses = pytest.importorskip("monai.losses")

RNG = np.random.default_rng(0)


def _pair(shape, rng):
    """Two related images: the target is the prediction plus noise, so correlations vary."""
    p = rng.standard_normal(shape)
    return p, 0.7 * p + 0.5 * rng.standard_normal(shape)


# LNCC: (shape [B, spatial..., C], options)
LNCC_CONFIGS = [
    ((2, 9, 8, 2), {"kernel": "rectangular", "kernel_size": 3}),
    ((2, 9, 8, 2), {"kernel": "rectangular", "kernel_size": 5, "smooth_nr": 1e-3}),
    ((2, 9, 8, 2), {"kernel": "triangular", "kernel_size": 5}),
    ((2, 9, 8, 2), {"kernel": "triangular", "kernel_size": 7, "smooth_dr": 1e-2}),
    ((2, 9, 8, 2), {"kernel": "gaussian", "kernel_size": 3}),
    ((2, 9, 8, 2), {"kernel": "gaussian", "kernel_size": 7}),
    ((2, 7, 6, 5, 1), {"kernel": "rectangular", "kernel_size": 3}),
    ((2, 7, 6, 5, 1), {"kernel": "gaussian", "kernel_size": 5}),
    ((2, 7, 6, 5, 1), {"kernel": "triangular", "kernel_size": 5}),
]
LNCC_INPUTS = [_pair(shape, RNG) for shape, _ in LNCC_CONFIGS]
# Constant images (0/0 inside, MONAI's clamp): both constant, and a constant prediction.
CONSTANT = np.full((2, 6, 5, 1), 0.5)
LNCC_CONFIGS += [
    ((2, 6, 5, 1), {"kernel": "rectangular", "kernel_size": 3}),
    # Rectangular: the clamped variance (1e-5) amplifies any rounding of the cross term, and
    # MONAI's float32 Gaussian kernel rounds it (0.1% in the gradient here); the registry
    # checks the Gaussian case against float64 and central differences.
    ((2, 6, 5, 1), {"kernel": "rectangular", "kernel_size": 5}),
]
LNCC_INPUTS += [(CONSTANT, CONSTANT), (CONSTANT, RNG.standard_normal((2, 6, 5, 1)))]
# The constant prediction: its clamped variance amplifies the rounding of the cross term, and
# the float64 gradients differ from MONAI's by up to 5e-12 relative (the order of the sums;
# 1e-12 held on one CPU and not on another).
AMPLIFIED = {len(LNCC_CONFIGS) - 1}

# The displacement fields: 1-D, 2-D and 3-D, components last.
FIELDS = [RNG.standard_normal(s) for s in [(3, 7, 1), (2, 5, 6, 2), (2, 4, 5, 6, 3)]]


def _channels_first(x):
    return torch.tensor(np.moveaxis(np.asarray(x, np.float64), -1, 1), requires_grad=True)


def _channels_last(t):
    return np.moveaxis(t.detach().numpy(), 1, -1)


REGULARIZERS = (("bending", bending_energy_loss), ("diffusion", diffusion_regularizer))


@pytest.fixture(scope="module", autouse=True)
def _torch_one_thread():
    """The references are tiny: one torch thread (two wait on each other on a loaded machine,
    0.5 s a call instead of 2 ms). Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ours():
    """Every value and gradient of this module's checks, in one jitted program."""

    def lncc(p, t, options, reduction):
        dims = p.ndim - 2
        return local_normalized_cross_correlation_loss(
            p, t, reduction=reduction, spatial_dims=dims, **options
        )

    def program(lncc_inputs, fields, folded):
        out = {"lncc": [], "bending": [], "diffusion": [], "folding": []}
        for (p, t), (_, options) in zip(lncc_inputs, LNCC_CONFIGS, strict=True):
            mean, grads = jax.value_and_grad(lncc, argnums=(0, 1))(p, t, options, "mean")
            none = lncc(p, t, options, "none")
            swapped = lncc(t, p, options, "none")
            out["lncc"].append({"mean": mean, "grads": grads, "none": none, "swapped": swapped})
        for u in fields:
            for name, fn in REGULARIZERS:
                for normalize in (False, True):

                    def mean_of(u, fn=fn, normalize=normalize):
                        return fn(u, normalize=normalize, reduction="mean")

                    value, grad = jax.value_and_grad(mean_of)(u)
                    none = fn(u, normalize=normalize)
                    out[name].append({"mean": value, "grad": grad, "none": none})
        for u in folded:

            def folding_mean(u):
                return jacobian_folding_penalty(u, reduction="mean")

            value, grad = jax.value_and_grad(folding_mean)(u)
            none = jacobian_folding_penalty(u)
            out["folding"].append({"mean": value, "grad": grad, "none": none})
        return out

    folded = [2.0 * f for f in FIELDS] + [SMOOTH_SMALL]
    return jax.jit(program)(LNCC_INPUTS, FIELDS, folded)


def _close(actual, expected, rtol, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


# LNCC -----------------------------------------------------------------------------------


def _monai_lncc(p, t, shape, options):
    loss = monai_losses.LocalNormalizedCrossCorrelationLoss(
        spatial_dims=len(shape) - 2,
        kernel_type=options["kernel"],
        **{k: v for k, v in options.items() if k != "kernel"},
    )
    none_loss = monai_losses.LocalNormalizedCrossCorrelationLoss(
        spatial_dims=len(shape) - 2,
        kernel_type=options["kernel"],
        reduction="none",
        **{k: v for k, v in options.items() if k != "kernel"},
    )
    tp, tt = _channels_first(p), _channels_first(t)
    mean = loss(tp, tt)
    mean.backward()
    per_voxel = none_loss(tp.detach(), tt.detach())
    per_example = per_voxel.reshape(per_voxel.shape[0], -1).mean(1)
    return mean.item(), (_channels_last(tp.grad), _channels_last(tt.grad)), per_example.numpy()


@pytest.mark.parametrize("index", range(len(LNCC_CONFIGS)))
def test_lncc_matches_monai(ours, index):
    shape, options = LNCC_CONFIGS[index]
    p, t = LNCC_INPUTS[index]
    mean, grads, per_example = _monai_lncc(p, t, shape, options)
    got = ours["lncc"][index]
    # MONAI builds the Gaussian and triangular kernels in float32 (relative error ~1e-7).
    exact = options["kernel"] == "rectangular"
    rtol = 1e-12 if exact else 1e-6
    _close(got["mean"], mean, rtol, 1e-12)
    _close(got["none"], per_example, rtol, 1e-12)
    scale = max(np.max(np.abs(g)) for g in grads)
    grad_rtol = 1e-10 if index in AMPLIFIED else rtol
    for g, ref in zip(got["grads"], grads, strict=True):
        _close(g, ref, grad_rtol, (1e-12 if exact else 1e-6) * scale)
    # Symmetric in its two images.
    _close(got["swapped"], got["none"], 1e-12, 1e-12)
    assert np.all(np.isfinite(np.asarray(got["grads"][0])))


def test_lncc_constant_images_follow_monais_clamp(ours):
    both, one = ours["lncc"][-2], ours["lncc"][-1]
    # Both constant: interior windows give smooth_nr / smooth_dr^2 = 0, the border windows
    # (zero padding) a perfect correlation.
    assert -1.0 < float(both["mean"]) < 0.0
    assert np.all(np.isfinite(np.asarray(both["grads"])))
    assert np.all(np.isfinite(np.asarray(one["grads"])))


def test_lncc_float32_keeps_its_precision_on_bright_flat_images():
    """Centred sums: float32 agrees with float64 where raw sums would cancel.

    Predictions of intensity 100 + U(0, 1) (the raw float32 sums lose about 0.8% of the
    gradient to cancellation) and a constant prediction (cross term and variance exactly
    zero inside, so the clamped variance amplifies nothing), both kernels with a border.
    """
    rng = np.random.default_rng(3)
    bright = (100.0 + rng.random((2, 12, 12, 1)), rng.random((2, 12, 12, 1)))
    flat = (np.full((2, 8, 8, 1), 0.5), rng.random((2, 8, 8, 1)))
    cases = [(bright, "gaussian", 5), (bright, "rectangular", 3), (flat, "gaussian", 3)]

    def program(inputs):
        out = []
        for (p, t), (_, kernel, size) in zip(inputs, cases, strict=True):

            def loss(p, t, kernel=kernel, size=size):
                return local_normalized_cross_correlation_loss(
                    p, t, kernel=kernel, kernel_size=size, reduction="sum"
                )

            out.append(jax.value_and_grad(loss, argnums=(0, 1))(p, t))
        return out

    as32 = [tuple(np.float32(a) for a in pair) for pair, _, _ in cases]
    low = jax.jit(program)(as32)
    high = jax.jit(program)([pair for pair, _, _ in cases])
    for (v32, g32), (v64, g64), (_, kernel, size) in zip(low, high, cases, strict=True):
        np.testing.assert_allclose(v32, v64, rtol=2e-6, err_msg=f"{kernel} {size}")
        for a, b in zip(g32, g64, strict=True):
            scale = float(np.max(np.abs(b)))
            np.testing.assert_allclose(a, b, atol=3e-5 * scale, err_msg=f"{kernel} {size}")


def test_lncc_refuses_volumes_smaller_than_the_kernel():
    x = jnp.ones((1, 8, 9, 4, 1))
    with pytest.raises(ValueError, match=r"at least kernel_size=5 voxels.*got spatial shape"):
        local_normalized_cross_correlation_loss(x, x, kernel_size=5, spatial_dims=3)
    with pytest.raises(ValueError, match="`kernel_size`"):
        local_normalized_cross_correlation_loss(x, x, kernel_size=4, spatial_dims=3)


# Bending energy and diffusion -------------------------------------------------------------


def _monai_deform(cls, u, normalize):
    """MONAI's value and gradient; the default dtype float64 so that its `normalize` factors
    (an int tensor divided) are float64 too."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tu = _channels_first(u)
        value = cls(normalize=normalize)(tu)
        value.backward()
        per_voxel = cls(normalize=normalize, reduction="none")(tu.detach())
    finally:
        torch.set_default_dtype(default)
    per_example = per_voxel.reshape(per_voxel.shape[0], -1).mean(1).numpy()
    return value.item(), _channels_last(tu.grad), per_example


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("name", ["bending", "diffusion"])
def test_deformation_regularizers_match_monai(ours, name):
    cls = {"bending": monai_losses.BendingEnergyLoss, "diffusion": monai_losses.DiffusionLoss}
    index = 0
    for u in FIELDS:
        for normalize in (False, True):
            value, grad, per_example = _monai_deform(cls[name], u, normalize)
            got = ours[name][index]
            _close(got["mean"], value, 1e-12)
            _close(got["none"], per_example, 1e-12)
            _close(got["grad"], grad, 1e-10, 1e-12 * np.max(np.abs(grad)))
            index += 1


def test_zero_displacement_costs_nothing():
    fns = (bending_energy_loss, diffusion_regularizer, jacobian_folding_penalty)

    @jax.jit
    def values_and_grads(u):
        return [jax.value_and_grad(lambda u, fn=fn: fn(u, reduction="sum"))(u) for fn in fns]

    for fn, (value, grad) in zip(fns, values_and_grads(jnp.zeros((2, 5, 4, 3, 3))), strict=True):
        assert float(value) == 0.0 and not np.any(np.asarray(grad)), fn.__name__


def test_deformation_regularizers_refuse_fields_too_small():
    with pytest.raises(ValueError, match="at least 3 voxels along every spatial axis"):
        bending_energy_loss(jnp.ones((2, 5, 2, 2)))
    with pytest.raises(ValueError, match="at least 2 voxels along every spatial axis"):
        jacobian_folding_penalty(jnp.ones((2, 1, 4, 2)))


# Jacobian folding ---------------------------------------------------------------------------

_H, _W = np.meshgrid(np.arange(6.0), np.arange(5.0), indexing="ij")
# A small smooth field: det J stays close to 1, nothing folds.
SMOOTH_SMALL = 0.2 * np.stack([np.sin(_H / 2.0) * np.cos(_W / 3.0), np.cos(_H + _W)], -1)[None]


def folding_numpy(u):
    """mean over voxels of max(-det(I + grad u), 0); grad by np.gradient (central inside,
    one-sided on the faces), component c along spatial axis c. u: [B, spatial..., n]."""
    n = u.shape[-1]
    spatial = tuple(range(1, n + 1))
    grads = np.gradient(u, axis=spatial) if n > 1 else [np.gradient(u, axis=1)]
    jac = np.stack([np.stack([grads[i][..., c] for i in range(n)], -1) for c in range(n)], -2)
    det = np.linalg.det(jac + np.eye(n))
    return np.maximum(-det, 0.0).mean(axis=spatial)


def folding_torch_grad(u):
    """The gradient of the batch mean by torch autograd: torch.gradient and torch.linalg.det."""
    x = torch.tensor(u, requires_grad=True)
    n = u.shape[-1]
    grads = torch.gradient(x, dim=list(range(1, n + 1)), edge_order=1)
    jac = torch.stack([torch.stack([grads[i][..., c] for i in range(n)], -1) for c in range(n)], -2)
    det = torch.linalg.det(jac + torch.eye(n, dtype=x.dtype))
    torch.relu(-det).mean().backward()
    return x.grad.numpy()


def test_folding_penalty_matches_numpy_and_torch(ours):
    fields = [2.0 * f for f in FIELDS] + [SMOOTH_SMALL]
    for u, got in zip(fields, ours["folding"], strict=True):
        expected = folding_numpy(u)
        _close(got["none"], expected, 1e-12, 1e-14)
        _close(got["mean"], expected.mean(), 1e-12, 1e-14)
        _close(got["grad"], folding_torch_grad(u), 1e-10, 1e-14)
    for got in ours["folding"][:-1]:
        assert float(got["mean"]) > 0.0  # large random fields fold
    smooth = ours["folding"][-1]
    assert float(smooth["mean"]) == 0.0 and not np.any(np.asarray(smooth["grad"]))
