"""Registry entries for jaxloss.images."""

import jax
import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, normal, on_device, ones, uniform, zeros

H, W, C = 5, 4, 3


def _images(rng, batch, dtype, shape=(H, W, C)):
    return uniform(rng, (*batch, *shape), dtype)


_KERNELS = (
    np.random.default_rng(42).standard_normal((3, 3, C, 4)) / 3.0,
    np.random.default_rng(43).standard_normal((3, 3, 4, 6)) / 4.0,
)


def tiny_features(images):
    """A smooth two-layer conv stack (tanh keeps check_grads away from ReLU kinks)."""
    out = {}
    x = images
    for i, kernel in enumerate(_KERNELS):
        x = jax.lax.conv_general_dilated(
            x,
            jnp.asarray(kernel, x.dtype),
            window_strides=(1, 1),
            padding="SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        x = jnp.tanh(x)
        out[f"layer{i}"] = x
    return out


def _gram(rng, batch, dtype):
    return Call((normal(rng, (*batch, H, W, C), dtype),), {})


def _style(rng, batch, dtype):
    preds = [normal(rng, (*batch, 4, 4, 3), dtype), normal(rng, (*batch, 2, 3, 5), dtype)]
    targs = [normal(rng, (*batch, 4, 4, 3), dtype), normal(rng, (*batch, 2, 3, 5), dtype)]
    return Call((preds, targs), {"layer_weights": (1.0, 0.5)})


def _perceptual(rng, batch, dtype):
    return Call(
        (_images(rng, batch, dtype), _images(rng, batch, dtype)),
        {"feature_fn": tiny_features, "layer_weights": {"layer0": 1.0, "layer1": 2.0}},
    )


def _tv(rng, batch, dtype):
    return Call((_images(rng, batch, dtype),), {"beta": 1.5})


def _anisotropic_tv(rng, batch, dtype):
    return Call((_images(rng, batch, dtype),), {})


_FLAT = full((2, H, W, C), 0.5)
_ONE_PIXEL = full((2, 1, 1, C), 0.5)
# Built by numpy and transferred: no XLA program (tests/registry/__init__.py).
_partly_flat = np.zeros((2, H, W, C))
_partly_flat[:, 2:, :, 1] = 1.0
_PARTLY_FLAT = on_device(_partly_flat)
_PARTLY_FLAT_FIRST = on_device(_partly_flat[:1])
# The second image is NaN and masked out; the first is weighted: nothing of the NaN leaks.
_nan_second = _partly_flat.copy()
_nan_second[1] = np.nan
_NAN_SECOND = on_device(_nan_second)
_MASKED = {"where": on_device([True, False]), "weights": on_device([2.0, 1.0]), "reduction": "mean"}


def _bad_masks(args, kwargs=None):
    kwargs = kwargs or {}
    return (
        Bad(lambda: Call(args(), {**kwargs, "where": ones((3,), bool)}), "`where`"),
        Bad(lambda: Call(args(), {**kwargs, "where": ones((2,))}), "`where`"),
        Bad(lambda: Call(args(), {**kwargs, "weights": ones((2, 1))}), "`weights`"),
    )


CASES = [
    Case(
        "gram_matrix",
        _gram,
        reduces=False,
        out_shape=lambda batch: (*batch, C, C),
        edge_cases=(
            lambda: Call((zeros((2, H, W, C)),), {}),
            lambda: Call((ones((1, 1, C)),), {"normalize": "chw"}),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((H, W)),), {}), "`features`"),
            Bad(lambda: Call((ones((H, W, C), jnp.int32),), {}), "`features`"),
            Bad(lambda: Call((ones((H, W, C)),), {"normalize": "c"}), "`normalize`"),
        ),
    ),
    Case(
        "style_loss",
        _style,
        edge_cases=(
            lambda: Call((ones((2, 3, 3, 2)), ones((2, 3, 3, 2))), {}),
            lambda: Call(
                ({"a": zeros((2, 3, 3, 2))}, {"a": zeros((1, 5, 5, 2))}),
                {"normalize": False},
            ),
            lambda: Call((_NAN_SECOND, _PARTLY_FLAT_FIRST), dict(_MASKED)),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, 3, 3, 2)), ones((2, 3, 3, 4))), {}), "channels"),
            Bad(lambda: Call((ones((3, 2)), ones((3, 2))), {}), "`predictions`"),
            Bad(
                lambda: Call(([ones((2, 3, 3, 2))], [ones((2, 3, 3, 2))] * 2), {}),
                "`targets`",
            ),
            Bad(
                lambda: Call(
                    ([ones((2, 3, 3, 2))], [ones((2, 3, 3, 2))]),
                    {"layer_weights": (-1.0,)},
                ),
                "`layer_weights`",
            ),
            Bad(lambda: Call((ones((2, 3, 3, 2)), ones((3, 3, 3, 2))), {}), "`targets`"),
            *_bad_masks(lambda: (ones((2, 3, 3, 2)), ones((2, 3, 3, 2)))),
        ),
    ),
    Case(
        "perceptual_loss",
        _perceptual,
        edge_cases=(
            lambda: Call(
                (_FLAT, _FLAT), {"feature_fn": tiny_features, "penalty": "absolute_error"}
            ),
            lambda: Call(
                (zeros((2, H, W, C)), zeros((2, H, W, C))),
                {"feature_fn": tiny_features, "normalize_features": True},
            ),
            lambda: Call(
                (zeros((2, H, W, C)), _PARTLY_FLAT),
                {"feature_fn": tiny_features, "normalize_features": True},
            ),
            lambda: Call(
                (_NAN_SECOND, _FLAT),
                {"feature_fn": tiny_features, "normalize_features": True, **_MASKED},
            ),
        ),
        bad_calls=(
            Bad(
                lambda: Call(
                    (ones((1, H, W, C)), ones((1, H, W + 1, C))),
                    {"feature_fn": tiny_features},
                ),
                "`targets`",
            ),
            Bad(
                lambda: Call(
                    (ones((1, H, W, C)), ones((1, H, W, C))),
                    {"feature_fn": tiny_features, "layers": ["layer9"]},
                ),
                "`layers`",
            ),
            Bad(
                lambda: Call(
                    (ones((1, H, W, C)), ones((1, H, W, C))),
                    {"feature_fn": tiny_features, "penalty": "mse"},
                ),
                "`penalty`",
            ),
            Bad(
                lambda: Call(
                    (ones((1, H, W, C)), ones((1, H, W, C))),
                    {"feature_fn": lambda x: x},
                ),
                "`feature_fn`",
            ),
            Bad(
                lambda: Call((ones((H, W)), ones((H, W))), {"feature_fn": tiny_features}),
                "`predictions`",
            ),
            *_bad_masks(lambda: (_FLAT, _FLAT), {"feature_fn": tiny_features}),
        ),
    ),
    Case(
        "total_variation",
        _tv,
        edge_cases=(
            lambda: Call((_FLAT,), {"beta": 1.0}),
            lambda: Call((_FLAT,), {"beta": 0.5}),
            lambda: Call((_PARTLY_FLAT,), {"beta": 1.0}),
            lambda: Call((_PARTLY_FLAT,), {"beta": 0.3}),
            lambda: Call((_ONE_PIXEL,), {"beta": 1.0}),
            lambda: Call((on_device(_FLAT, jnp.bfloat16),), {"beta": 1.0}),
            lambda: Call((_NAN_SECOND,), {"beta": 0.5, **_MASKED}),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((H, W, C)),), {"beta": 0.0}), "`beta`"),
            Bad(lambda: Call((ones((H, W, C)),), {"beta": -1.0}), "`beta`"),
            Bad(lambda: Call((ones((H, W)),), {}), "`images`"),
            Bad(lambda: Call((ones((H, W, C), jnp.int32),), {}), "`images`"),
            *_bad_masks(lambda: (_FLAT,)),
        ),
    ),
    Case(
        "anisotropic_total_variation",
        _anisotropic_tv,
        edge_cases=(
            lambda: Call((_FLAT,), {}),
            lambda: Call((_PARTLY_FLAT,), {}),
            lambda: Call((_ONE_PIXEL,), {}),
            lambda: Call((_NAN_SECOND,), dict(_MASKED)),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((W,)),), {}), "`images`"),
            Bad(lambda: Call((ones((H, W, C), jnp.uint8),), {}), "`images`"),
            *_bad_masks(lambda: (_FLAT,)),
        ),
    ),
]
