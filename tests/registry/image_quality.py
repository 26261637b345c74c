"""Registry entries for jaxloss.image_quality (SSIM, MS-SSIM, MS-SSIM + L1, PSNR)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, on_device, ones, uniform, zeros

# A small window keeps the programs small: 3 taps, and MS-SSIM with 2 scales needs sides
# above (3 - 1) * 2 = 4. The odd side exercises the zero row of pytorch-msssim's pooling.
SMALL = {"window_size": 3, "sigma": 1.0}
MULTI = {**SMALL, "power_factors": (0.4, 0.6)}
H, W, C = 5, 4, 2
MH, MW = 5, 6


def _pair(rng, batch, dtype, shape):
    x = uniform(rng, (*batch, *shape), dtype)
    noise = uniform(rng, (*batch, *shape), dtype, -0.2, 0.2)
    # numpy on the host copies, in their dtype (no XLA program): float16 and bfloat16 add in
    # float32 and round, as XLA's do.
    return x, on_device(np.clip(np.asarray(x) + np.asarray(noise), 0, 1), dtype)


def _single(kwargs, shape=(H, W, C)):
    def make(rng, batch, dtype):
        return Call(_pair(rng, batch, dtype, shape), dict(kwargs))

    return make


def _singular(shape, examples=slice(None)):
    """The singular points as the examples of one batch (one program for all of them):
    identical images, equal flat images, a flat image against a darker flat one and against
    a textured one, and inverted images (every contrast-structure mean is negative: MS-SSIM
    clips it to 0); `examples` selects some of them.

    Built by numpy on x's host copy, in its dtype (no XLA program)."""
    x = np.asarray(uniform(np.random.default_rng(5), shape, jnp.float64))
    flat = np.full(shape, 0.5)
    predictions = np.stack([x, flat, flat, flat, x])
    targets = np.stack([x, flat, 0.25 * flat, x, 1 - x])
    return on_device(predictions[examples]), on_device(targets[examples])


def _masked(shape, kwargs):
    """Identical and equal flat images beside a masked NaN image (weighted mean over the
    first two): nothing of the NaN leaks."""

    def call():
        x = np.asarray(uniform(np.random.default_rng(5), shape, jnp.float64))  # host copy
        flat = np.full(shape, 0.5)
        return Call(
            (
                on_device(np.stack([x, flat, np.full(shape, np.nan)])),
                on_device(np.stack([x, flat, x])),
            ),
            {
                **kwargs,
                "where": on_device([True, True, False]),
                "weights": on_device([2.0, 1.0, 1.0]),
                "reduction": "mean",
            },
        )

    return call


def _volume(kwargs):
    # jnp.linspace (one program): numpy's rounds differently. Reshaped and squared by numpy.
    v = np.asarray(jnp.linspace(0.0, 1.0, 2 * 5 * 5 * 5)).reshape(2, 5, 5, 5, 1)
    v, v2 = on_device(v), on_device(v**2)
    return lambda: Call((v, v2), {**kwargs, "spatial_dims": 3})


def _bad(shape, kwargs, extra=()):
    ok = ones((2, *shape))
    host = np.asarray(ok)  # sliced and cast by numpy: no XLA program
    return (
        Bad(lambda: Call((ok, ok), {**kwargs, "window_size": 4}), "`window_size`"),
        Bad(lambda: Call((ok, ok), {**kwargs, "sigma": 0.0}), "`sigma`"),
        Bad(lambda: Call((ok, ok), {**kwargs, "data_range": -1.0}), "`data_range`"),
        Bad(lambda: Call((ok, ok), {**kwargs, "k2": 0.0}), "`k2`"),
        Bad(lambda: Call((ok, ok), {**kwargs, "spatial_dims": 1}), "`spatial_dims`"),
        Bad(lambda: Call((ok, on_device(host[..., :1])), dict(kwargs)), "Shapes"),
        Bad(lambda: Call((on_device(host, jnp.int32), ok), dict(kwargs)), "`predictions`"),
        Bad(lambda: Call((on_device(host[0, 0]),) * 2, dict(kwargs)), "`predictions`"),
        Bad(lambda: Call((on_device(host[:, :2]),) * 2, dict(kwargs)), "at least"),
        Bad(lambda: Call((ok, ok), {**kwargs, "where": ones((3,), bool)}), "`where`"),
        Bad(lambda: Call((ok, ok), {**kwargs, "weights": ones((2, 1))}), "`weights`"),
        *extra,
    )


_BAD_MULTI = (
    # the defaults: 11 taps and 5 scales need sides above 10 * 2**4
    Bad(lambda: Call((ones((1, 100, 200, 1)),) * 2, {}), "at least 161"),
    Bad(lambda: Call((ones((1, MH, MW, C)),) * 2, {**SMALL, "power_factors": ()}), "`power_"),
    Bad(
        lambda: Call((ones((1, MH, MW, C)),) * 2, {**SMALL, "power_factors": (0.5, -0.5)}),
        "`power_factors`",
    ),
)
_IMAGE, _MULTI_IMAGE = (H, W, C), (MH, MW, C)

CASES = [
    Case(
        "ssim",
        _single(SMALL),
        edge_cases=(
            _masked(_IMAGE, SMALL),
            lambda: Call(_singular(_IMAGE), dict(SMALL)),
            _volume(SMALL),
        ),
        smooth_at=(1, 2),
        bad_calls=_bad(_IMAGE, SMALL),
    ),
    # 1 - ssim: the singular points and the smoothness there are ssim's (checked above)
    Case(
        "ssim_loss",
        _single(SMALL),
        edge_cases=(_masked(_IMAGE, SMALL),),
        bad_calls=_bad(_IMAGE, SMALL),
    ),
    Case(
        "ms_ssim",
        _single(MULTI, _MULTI_IMAGE),
        edge_cases=(
            _masked(_MULTI_IMAGE, MULTI),
            lambda: Call(_singular(_MULTI_IMAGE), dict(MULTI)),
        ),
        smooth_at=(1,),
        bad_calls=_bad(_MULTI_IMAGE, MULTI, _BAD_MULTI),
    ),
    # 1 - ms_ssim: the singular points and the smoothness there are ms_ssim's
    Case(
        "ms_ssim_loss",
        _single(MULTI, _MULTI_IMAGE),
        edge_cases=(_masked(_MULTI_IMAGE, MULTI),),
        bad_calls=_bad(_MULTI_IMAGE, MULTI, _BAD_MULTI),
    ),
    # |x - y| has its kink at identical and at equal flat images (gradient 0 there, in the
    # masked call); the smooth call is the other singular points.
    Case(
        "ms_ssim_l1_loss",
        _single({**MULTI, "alpha": 0.84}, _MULTI_IMAGE),
        edge_cases=(
            _masked(_MULTI_IMAGE, MULTI),
            lambda: Call(_singular(_MULTI_IMAGE, slice(2, None)), dict(MULTI)),
        ),
        smooth_at=(1,),
        bad_calls=_bad(
            _MULTI_IMAGE,
            MULTI,
            (
                Bad(
                    lambda: Call((ones((1, MH, MW, C)),) * 2, {**MULTI, "alpha": 1.5}),
                    "`alpha`",
                ),
            ),
        ),
    ),
    # identical images give 10 log10(data_range**2 / eps) (eps = 0, +inf, is in the tests)
    Case(
        "psnr",
        _single({}),
        edge_cases=(
            _masked(_IMAGE, {}),
            lambda: Call(_singular(_IMAGE, slice(None, 4)), {}),
            lambda: Call((zeros((1, H, W, C)), ones((1, H, W, C))), {"data_range": 255.0}),
        ),
        smooth_at=(1, 2),
        bad_calls=(
            Bad(lambda: Call((ones((2, H, W, C)),) * 2, {"eps": -1.0}), "`eps`"),
            Bad(lambda: Call((ones((2, H, W, C)),) * 2, {"data_range": 0.0}), "`data_range`"),
            Bad(lambda: Call((ones((2, H, W, C)), ones((2, H, W, 1))), {}), "Shapes"),
            Bad(lambda: Call((ones((H, W)),) * 2, {}), "`predictions`"),
            Bad(lambda: Call((ones((H, W, C)),) * 2, {"spatial_dims": 3}), "`predictions`"),
            Bad(
                lambda: Call((ones((2, H, W, C)),) * 2, {"where": ones((3,), bool)}),
                "`where`",
            ),
        ),
    ),
]
