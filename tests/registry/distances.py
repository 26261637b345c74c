"""Registry entries for jaxloss.distances and jaxloss.similarity (per-pair distances)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, normal, on_device, ones, uniform, zeros

D = 5


def _vectors(**kwargs):
    def make(rng, batch, dtype):
        return Call((normal(rng, (*batch, D), dtype), normal(rng, (*batch, D), dtype)), kwargs)

    return make


def _memberships(rng, batch, dtype):
    return Call((uniform(rng, (*batch, D), dtype), uniform(rng, (*batch, D), dtype)))


def _precision(dtype):
    a = np.random.default_rng(11).standard_normal((D, D))
    return on_device(np.eye(D) + 0.1 * a @ a.T, dtype)


def _mahalanobis(rng, batch, dtype):
    return _vectors(precision=_precision(dtype))(rng, batch, dtype)


_point = on_device([[1.0, -2.0, 0.5, 3.0, 0.0]])
_zero = zeros((1, D))
_other = on_device([[0.5, 1.0, -1.0, 2.0, 4.0]])
_partly_equal = on_device([[1.0, -2.0, 7.0, 3.0, 1.0]])  # equal to _point in two coordinates
_huge = on_device([[1e30, -1e30, 0.0, 1.0, 2.0]])

# numpy on host copies (of their dtypes, as jnp.concatenate gave): no XLA program.
_nan_row = on_device(np.concatenate([_point, np.full((1, D), np.nan)]))
_two_others = on_device(np.concatenate([_other, _other]))
# The second example is masked out: its NaN reaches neither the value nor the gradient.
_masked_nan = (
    lambda: Call(
        (_nan_row, _two_others),
        {"where": on_device([True, False]), "weights": on_device([2.0, 1.0]), "reduction": "mean"},
    ),
)

# Identical points, zero vectors, partially equal coordinates, a masked NaN example.
_metric_edges = (
    lambda: Call((_point, _point)),
    lambda: Call((_zero, _zero)),
    lambda: Call((_point, _partly_equal)),
    *_masked_nan,
)
_reduction_bads = (
    Bad(
        lambda: Call((ones((2, D)), ones((2, D))), {"where": ones((3,), bool)}),
        "`where`",
    ),
    Bad(lambda: Call((ones((2, D)), ones((2, D))), {"weights": full(2, -1.0)}), "`weights`"),
    Bad(lambda: Call((ones((2, D)), ones((2, D))), {"reduction": "avg"}), "`reduction`"),
)
_shape_bads = (
    *_reduction_bads,
    Bad(lambda: Call((ones((2, D)), ones((2, D + 1)))), "`y`"),
    Bad(lambda: Call((ones((2, D)), ones((D,)))), "`y`"),
    Bad(lambda: Call((ones((2, D)), ones((3, D)))), "`x`"),
    Bad(lambda: Call((ones((2, D), jnp.int32), ones((2, D)))), "`x`"),
    Bad(lambda: Call((ones((2, D)), ones((2, D))), {"axis": 2}), "`axis`"),
)

_metrics = [
    Case(name, _vectors(), edge_cases=_metric_edges, bad_calls=_shape_bads)
    for name in (
        "euclidean_distance",
        "squared_euclidean_distance",
        "manhattan_distance",
        "chebyshev_distance",
    )
]

CASES = [
    *_metrics,
    Case(
        "minkowski_distance",
        _vectors(p=3.0),
        edge_cases=(
            *_metric_edges,
            lambda: Call((_point, _partly_equal), {"p": 1.0}),
            lambda: Call((_point, _partly_equal), {"p": 1.5}),
            lambda: Call((_zero, _zero), {"p": 1.0}),
            lambda: Call((_point, _other), {"p": 200.0}),
            lambda: Call((_huge, _zero), {"p": 4.0}),
            lambda: Call((_point, _point), {"p": jnp.inf}),
        ),
        bad_calls=(
            *_shape_bads,
            Bad(lambda: Call((ones((2, D)), ones((2, D))), {"p": 0.5}), "`p`"),
            Bad(lambda: Call((ones((2, D)), ones((2, D))), {"p": jnp.nan}), "`p`"),
        ),
    ),
    Case(
        "mahalanobis_distance",
        _mahalanobis,
        edge_cases=(
            lambda: Call((_point, _point), {"precision": on_device(np.eye(D))}),
            lambda: Call((_zero, _zero), {"covariance": on_device(2 * np.eye(D))}),
            # A singular (PSD) precision: zero quadratic form for a non-zero difference.
            lambda: Call((_point, on_device(np.asarray(_point) + 1)), {"precision": zeros((D, D))}),
            lambda: Call(
                (_nan_row, _two_others),
                {
                    "precision": on_device(np.eye(D)),
                    "where": on_device([True, False]),
                    "reduction": "sum",
                },
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, D)), ones((2, D))), {}), "`precision`"),
            Bad(
                lambda: Call(
                    (ones((2, D)), ones((2, D))),
                    {"precision": on_device(np.eye(D)), "covariance": on_device(np.eye(D))},
                ),
                "`covariance`",
            ),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D))), {"precision": on_device(np.eye(D)[:3])}),
                "`precision`",
            ),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D))), {"precision": on_device(np.eye(D + 1))}),
                "`precision`",
            ),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D))), {"covariance": on_device(-np.eye(D))}),
                "`covariance`",
            ),
            Bad(
                lambda: Call(
                    (ones((2, D)), ones((2, D))),
                    {"precision": on_device(np.eye(D)), "axis": (0, 1)},
                ),
                "`axis`",
            ),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D + 1))), {"precision": on_device(np.eye(D))}),
                "`y`",
            ),
            Bad(
                lambda: Call(
                    (ones((2, D)), ones((2, D))),
                    {"precision": on_device(np.eye(D)), "where": ones((3,), bool)},
                ),
                "`where`",
            ),
        ),
    ),
    *[
        Case(
            name,
            _vectors(),
            edge_cases=(
                lambda: Call((_zero, _other)),
                lambda: Call((_zero, _zero)),
                lambda: Call((_point, _point)),
                lambda: Call((_point, on_device(-np.asarray(_point)))),
                lambda: Call((_zero, _other), {"where": zeros((1, D), bool)}),
                lambda: Call((_point, _other), {"epsilon": 1e-3}),
                *_masked_nan,
                # optax's element mask over a NaN element; the second example has no element.
                lambda: Call(
                    (_nan_row, _two_others),
                    {"where": on_device(np.isfinite(_nan_row)), "reduction": "mean"},
                ),
            ),
            bad_calls=(
                Bad(lambda: Call((ones((2, D)), ones((2, D + 1)))), "`targets`"),
                Bad(lambda: Call((ones((2, D), int), ones((2, D)))), "`predictions`"),
                Bad(
                    lambda: Call((ones((2, D)), ones((2, D))), {"epsilon": -1.0}),
                    "`epsilon`",
                ),
                Bad(
                    lambda: Call((ones((2, D)), ones((2, D))), {"where": ones((3,), bool)}),
                    "`where`",
                ),
                Bad(
                    lambda: Call((ones((2, D)), ones((2, D))), {"where": ones((2, D))}),
                    "`where`",
                ),
                Bad(
                    lambda: Call((ones((2, D)), ones((2, D))), {"where": ones((1, 2, D), bool)}),
                    "`where`",
                ),
                *_reduction_bads[1:],
            ),
        )
        for name in ("cosine_similarity", "cosine_distance")
    ],
    *[
        Case(
            name,
            _vectors(),
            edge_cases=(
                lambda: Call((full((1, D), 0.1), _other)),
                lambda: Call((full((1, D), 0.1), full((1, D), -3.0))),
                lambda: Call((_point, _point)),
                lambda: Call((_point, on_device(2 * np.asarray(_point) + 1))),
                *_masked_nan,
            ),
            bad_calls=_shape_bads,
        )
        for name in ("pearson_correlation", "correlation_distance")
    ],
    *[
        Case(
            name,
            _memberships,
            edge_cases=(
                lambda: Call((_zero, _zero)),
                lambda: Call((_zero, ones((1, D)))),
                lambda: Call((ones((1, D)), ones((1, D)))),
                lambda: Call((_zero, _zero), {"soft": False}),
                lambda: Call(
                    (
                        on_device(np.concatenate([np.full((1, D), 0.5), np.asarray(_nan_row)[1:]])),
                        ones((2, D)),
                    ),
                    {"where": on_device([True, False]), "reduction": "mean"},
                ),
            ),
            bad_calls=(
                *_reduction_bads,
                Bad(lambda: Call((ones((2, D)), ones((2, D + 1)))), "`y`"),
                Bad(lambda: Call((ones((2, D)), ones((2, D))), {"soft": "yes"}), "`soft`"),
                Bad(lambda: Call((ones((2, D)), ones((D,)))), "`y`"),
            ),
        )
        for name in ("jaccard_index", "jaccard_distance")
    ],
    Case(
        "hamming_distance",
        _vectors(),
        edge_cases=(
            lambda: Call((_point, _point)),
            lambda: Call((_zero, _point)),
            *_masked_nan,
        ),
        bad_calls=(
            *_reduction_bads,
            Bad(lambda: Call((ones((2, D)), ones((2, D + 1)))), "`y`"),
            Bad(lambda: Call((ones((2, D)), ones((2, D))), {"axis": -3}), "`axis`"),
        ),
    ),
]
