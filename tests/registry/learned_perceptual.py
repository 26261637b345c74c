"""Registry entries for jaxloss.learned_perceptual.

The trunk is a thin VGG16: the 13 convolutions of `jaxloss.models.VGG16`'s layout with a few
channels each (any chaining widths are accepted), on the smallest images VGG16 takes (16x16,
relu5_3 1x1). The generic checks then cost little; the full-width network is compared with
the lpips package in tests/test_learned_perceptual.py.
"""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, on_device, ones, uniform

S = 16
LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")


def thin_vgg(rng: np.random.Generator, widths=(4, 5, 6, 7, 8)) -> tuple[dict, dict]:
    """Random VGG16-layout variables (He-normal kernels, small biases) and positive heads.

    Channel 0 of every layer is a constant 1 (zero kernel, bias 1), so no feature vector is
    all zero. Where one is (every ReLU of a pixel off), LPIPS's normalization jumps from
    ``0 / (0 + eps) = 0`` to unit vectors nearby: a discontinuity of the metric (the
    package's too) that finite differences would straddle. With a few channels such pixels
    are common; with VGG16's 64 and more, rare.
    """
    params, c_in = {}, 3
    for block, (width, depth) in enumerate(zip(widths, (2, 2, 3, 3, 3), strict=True), 1):
        for k in range(1, depth + 1):
            kernel = rng.standard_normal((3, 3, c_in, width)) * np.sqrt(2 / (9 * c_in))
            bias = rng.normal(0, 0.1, width)
            kernel[..., 0], bias[0] = 0.0, 1.0  # channel 0: a constant 1, never off
            params[f"conv{block}_{k}"] = {
                "kernel": on_device(kernel, jnp.float32),
                "bias": on_device(bias, jnp.float32),
            }
            c_in = width
    heads = {
        n: on_device(rng.uniform(0.1, 1.0, w), jnp.float32)
        for n, w in zip(LAYERS, widths, strict=True)
    }
    return {"params": params}, heads


# The trunk is piecewise linear (ReLU, max-pool): check_grads's central differences (step
# 1e-4) straddle a kink now and then, and their error is then ~1% (with step 1e-5 it is
# gone). Of seeds 0..5 at the contract's check_grads inputs, 0 and 3 straddle one; 1 does not.
VGG, HEADS = thin_vgg(np.random.default_rng(1))


def _images(rng, batch, dtype, size=S):
    return uniform(rng, (*batch, size, size, 3), dtype, -1.0, 1.0)


def _lpips(rng, batch, dtype):
    return Call((_images(rng, batch, dtype), _images(rng, batch, dtype), VGG, HEADS), {})


_RANDOM = _images(np.random.default_rng(11), (2,), jnp.float32)
# Host copies (float32), changed by numpy and transferred: no XLA program.
_nan_second = np.array(_RANDOM)
_nan_second[1] = np.nan
_NAN_SECOND = on_device(_nan_second)
_REVERSED = on_device(np.asarray(_RANDOM)[::-1])
_MASKED = {"where": on_device([True, False]), "weights": on_device([2.0, 1.0]), "reduction": "mean"}


def _with(**changes):
    """The thin trunk with some layers replaced (for the malformed calls)."""
    return {"params": {**VGG["params"], **changes}}


_ONE = ones((1, S, S, 3))
_small = np.asarray(_ONE)[:, :8, :8]  # sliced by numpy, transferred when called

CASES = [
    Case(
        "lpips",
        _lpips,
        shared_args=(2, 3),
        edge_cases=(
            # identical images: 0, a zero gradient, smooth (a square of a difference)
            lambda: Call((_RANDOM, _RANDOM, VGG, HEADS), {}),
            # constant images: max-pool ties everywhere inside
            lambda: Call((full((2, S, S, 3), 0.25), full((2, S, S, 3), -0.5), VGG, HEADS)),
            # a NaN pair masked out, the other weighted: nothing of the NaN leaks
            lambda: Call((_NAN_SECOND, _REVERSED, VGG, HEADS), dict(_MASKED)),
        ),
        smooth_at=(0,),
        bad_calls=(
            Bad(lambda: Call((on_device(_small), on_device(_small), VGG, HEADS)), "`predictions`"),
            Bad(lambda: Call((ones((1, S, S, 4)),) * 2 + (VGG, HEADS)), "`predictions`"),
            Bad(lambda: Call((_ONE, ones((1, S, S + 1, 3)), VGG, HEADS)), "`targets`"),
            Bad(lambda: Call((_ONE, _ONE, VGG, {**HEADS, "relu5_3": ones(9)})), "`lpips_heads`"),
            Bad(lambda: Call((_ONE, _ONE, VGG, {"relu1_2": HEADS["relu1_2"]})), "`lpips_heads`"),
            Bad(lambda: Call((_ONE, _ONE, _with(conv5_3=None), HEADS)), "`vgg_variables`"),
            Bad(
                lambda: Call(
                    (
                        _ONE,
                        _ONE,
                        _with(conv2_1={"kernel": ones((3, 3, 5, 5)), "bias": ones(5)}),
                        HEADS,
                    )
                ),
                "`vgg_variables`",
            ),
            Bad(
                lambda: Call((_ONE, _ONE, _with(conv3_4=VGG["params"]["conv3_3"]), HEADS)), "VGG19"
            ),
            Bad(lambda: Call((_ONE, _ONE, VGG, HEADS), {"eps": -1.0}), "`eps`"),
            Bad(lambda: Call((_ONE, _ONE, VGG, HEADS), {"where": ones((3,), bool)}), "`where`"),
            Bad(lambda: Call((_ONE, _ONE, VGG, HEADS), {"weights": ones((1, 2))}), "`weights`"),
        ),
    ),
]
