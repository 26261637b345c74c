"""Registry entries for jaxloss.registration (channel-last images and displacement fields)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, normal, on_device, ones, zeros

H, W, C = 4, 5, 2
_MASKED = {"where": on_device([True, False]), "weights": on_device([2.0, 1.0]), "reduction": "mean"}


def _lncc(rng, batch, dtype):
    p = normal(rng, (*batch, H, W, C), dtype)
    # Added by numpy on the host copies, in their dtype (float16 and bfloat16 add in float32
    # and round, as XLA's do): no XLA program.
    t = on_device(np.asarray(normal(rng, (*batch, H, W, C), dtype)) + np.asarray(p), dtype)
    return Call((p, t), {"kernel": "gaussian", "kernel_size": 3})


def _field(shape, scale):
    def make(rng, batch, dtype):
        # Scaled by numpy on the host copy, the factor cast to its dtype first as jnp casts a
        # Python scalar (numpy would compute bfloat16 in float32): no XLA program.
        x = np.asarray(normal(rng, (*batch, *shape), dtype))
        return Call((on_device(x.dtype.type(scale) * x, dtype),), {})

    return make


_RANDOM = on_device(np.random.default_rng(0).standard_normal((2, H, W, 1)))
_HALF = full((2, H, W, 1), 0.5)


def _nan_second(x):
    """`x` with its second example NaN, changed by numpy on its host copy: no XLA program."""
    host = np.array(x)
    host[1] = np.nan
    return on_device(host)


# The second example is NaN and masked out: nothing of it reaches the value or the gradient.
_NAN_IMAGES = _nan_second(_RANDOM)


def _grid(shape):
    """[*shape, n] voxel coordinates of an n-D grid (built by numpy: no XLA program)."""
    return on_device(
        np.stack(np.meshgrid(*[np.arange(float(s)) for s in shape], indexing="ij"), -1)
    )


_GRID2 = _grid((H, W))
_GRID2_HOST = np.asarray(_GRID2)  # its host copy (of its dtype), for numpy's arithmetic below
_FIELD = on_device(np.random.default_rng(1).standard_normal((2, H, W, 2)))
_FIELD_HOST = np.asarray(_FIELD)  # sliced by numpy below
_NAN_FIELD = _nan_second(_FIELD)


def _bad_masks(args, kwargs=None):
    kwargs = kwargs or {}
    return (
        Bad(lambda: Call(args(), {**kwargs, "where": ones((3,), bool)}), "`where`"),
        Bad(lambda: Call(args(), {**kwargs, "where": ones((2,))}), "`where`"),
        Bad(lambda: Call(args(), {**kwargs, "weights": ones((2, 1))}), "`weights`"),
    )


def _bad_fields(minimum):
    small = (2, *(minimum - 1 for _ in range(2)), 2)
    return (
        Bad(lambda: Call((ones(small),)), f"at least {minimum} voxels"),
        Bad(lambda: Call((ones((2, 4, 4, 4, 4, 4)),)), "1, 2 or 3 components"),
        Bad(lambda: Call((ones((4, 3)),)), "`displacement`"),
        Bad(lambda: Call((ones((2, 4, 4, 2), jnp.int32),)), "`displacement`"),
        *_bad_masks(lambda: (ones((2, 4, 4, 2)),)),
    )


_IMAGES = (ones((2, H, W, C)), ones((2, H, W, C)))

CASES = [
    Case(
        "local_normalized_cross_correlation_loss",
        _lncc,
        edge_cases=(
            # Constant images: 0/0 in every interior window, both variances clamped.
            lambda: Call((_HALF, _HALF), {}),
            # One constant image: its variance is clamped, the cross term is 0 inside.
            lambda: Call((_HALF, _RANDOM), {"kernel": "gaussian"}),
            lambda: Call((zeros((2, H, W, 1)), zeros((2, H, W, 1))), {}),
            # smooth_nr / smooth_dr^2 on constant windows; a 3-D volume the size of the kernel.
            lambda: Call(
                (full((1, 3, 3, 3, 1), 2.0), full((1, 3, 3, 3, 1), 0.25)),
                {"kernel": "triangular", "smooth_nr": 1e-12, "spatial_dims": 3},
            ),
            lambda: Call((_NAN_IMAGES, _RANDOM), {"kernel": "gaussian", **_MASKED}),
        ),
        smooth_at=(0, 1, 2, 3),
        bad_calls=(
            Bad(lambda: Call(_IMAGES, {"kernel_size": 5}), "at least kernel_size=5"),
            Bad(lambda: Call(_IMAGES, {"kernel_size": 2}), "`kernel_size`"),
            Bad(lambda: Call(_IMAGES, {"kernel": "box"}), "`kernel`"),
            Bad(lambda: Call(_IMAGES, {"smooth_dr": 0.0}), "`smooth_dr`"),
            Bad(lambda: Call(_IMAGES, {"smooth_nr": -1.0}), "`smooth_nr`"),
            Bad(lambda: Call(_IMAGES, {"spatial_dims": 4}), "`spatial_dims`"),
            Bad(lambda: Call((ones((5, 5)), ones((5, 5))), {"spatial_dims": 2}), "rank"),
            Bad(lambda: Call((ones((2, H, W, C)), ones((2, H, W, 1)))), "`targets`"),
            Bad(lambda: Call((ones((H, W)), ones((H, W)))), "`predictions`"),
            Bad(
                lambda: Call((ones((1, H, W, 3, 1)),) * 2, {"spatial_dims": 3, "kernel_size": 5}),
                "at least kernel_size=5",
            ),
            Bad(
                lambda: Call((ones((2, H, W, C), jnp.int32), ones((2, H, W, C)))),
                "`predictions`",
            ),
            *_bad_masks(lambda: _IMAGES),
        ),
    ),
    Case(
        "bending_energy_loss",
        _field((H, W, 2), 1.0),
        edge_cases=(
            lambda: Call((zeros((2, H, W, 2)),), {}),
            lambda: Call((on_device(0.3 * _GRID2_HOST + 1.0),), {"normalize": True}),  # affine: 0
            lambda: Call((on_device(_FIELD_HOST[:1, :3, :3]),), {"normalize": True}),
            lambda: Call((zeros((2, 3, 3, 3, 3)),), {"normalize": True}),
            lambda: Call((on_device(_FIELD_HOST[:, :, 0, :1]),), {}),  # 1-D: [2, H, 1]
            lambda: Call((_NAN_FIELD,), dict(_MASKED)),
        ),
        smooth_at=(0, 1, 2, 3, 4),
        bad_calls=(
            *_bad_fields(3),
            Bad(lambda: Call((ones((2, 4, 4, 2)),), {"normalize": "yes"}), "`normalize`"),
        ),
    ),
    Case(
        "diffusion_regularizer",
        _field((H, W, 2), 1.0),
        edge_cases=(
            lambda: Call((zeros((2, H, W, 2)),), {}),
            lambda: Call((full((2, H, W, 2), 3.0),), {"normalize": True}),  # constant: 0
            lambda: Call((on_device(_FIELD_HOST[:1, :3, :3]),), {"normalize": True}),
            lambda: Call((zeros((2, 3, 3, 3, 3)),), {}),
            lambda: Call((_NAN_FIELD,), dict(_MASKED)),
        ),
        smooth_at=(0, 1, 2, 3),
        bad_calls=(
            *_bad_fields(3),
            Bad(lambda: Call((ones((2, 4, 4, 2)),), {"normalize": 1}), "`normalize`"),
        ),
    ),
    Case(
        "jacobian_folding_penalty",
        _field((H, W, 2), 0.8),
        edge_cases=(
            lambda: Call((zeros((2, H, W, 2)),), {}),
            # A smooth small field: det J > 0 everywhere, penalty 0.
            # (jnp.sin: numpy's float32 sine differs from XLA's in the last bit)
            lambda: Call((0.1 * jnp.sin(_GRID2),), {}),
            # Uniform folding (det J = -1) and a 2x2x2 volume, the smallest.
            lambda: Call((on_device(-2.0 * _GRID2_HOST * np.array([[[1.0, 0.0]]])),), {}),
            lambda: Call((on_device(np.random.default_rng(2).normal(size=(2, 2, 2, 2, 3))),), {}),
            # det J == 0 everywhere (axis 0 collapsed): the ReLU's kink, gradient 0.
            lambda: Call((on_device(-1.0 * _GRID2_HOST * np.array([[[1.0, 0.0]]])),), {}),
            lambda: Call((_NAN_FIELD,), dict(_MASKED)),
        ),
        smooth_at=(0, 1, 2, 3),
        bad_calls=_bad_fields(2),
    ),
]
