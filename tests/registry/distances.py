"""Registry entries for jaxloss.distances and jaxloss.similarity (per-pair distances)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, normal, uniform

D = 5


def _vectors(**kwargs):
    def make(rng, batch, dtype):
        return Call((normal(rng, (*batch, D), dtype), normal(rng, (*batch, D), dtype)), kwargs)

    return make


def _memberships(rng, batch, dtype):
    return Call((uniform(rng, (*batch, D), dtype), uniform(rng, (*batch, D), dtype)))


def _precision(dtype):
    a = np.random.default_rng(11).standard_normal((D, D))
    return jnp.asarray(np.eye(D) + 0.1 * a @ a.T, dtype)


def _mahalanobis(rng, batch, dtype):
    return _vectors(precision=_precision(dtype))(rng, batch, dtype)


_point = jnp.array([[1.0, -2.0, 0.5, 3.0, 0.0]])
_zero = jnp.zeros((1, D))
_other = jnp.array([[0.5, 1.0, -1.0, 2.0, 4.0]])
_partly_equal = jnp.array([[1.0, -2.0, 7.0, 3.0, 1.0]])  # equal to _point in two coordinates
_huge = jnp.array([[1e30, -1e30, 0.0, 1.0, 2.0]])

_nan_row = jnp.concatenate([_point, jnp.full((1, D), jnp.nan)])
_two_others = jnp.concatenate([_other, _other])
# The second example is masked out: its NaN reaches neither the value nor the gradient.
_masked_nan = (
    lambda: Call(
        (_nan_row, _two_others),
        {"where": jnp.array([True, False]), "weights": jnp.array([2.0, 1.0]), "reduction": "mean"},
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
        lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"where": jnp.ones((3,), bool)}),
        "`where`",
    ),
    Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"weights": -jnp.ones(2)}), "`weights`"),
    Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"reduction": "avg"}), "`reduction`"),
)
_shape_bads = (
    *_reduction_bads,
    Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)))), "`y`"),
    Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((D,)))), "`y`"),
    Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((3, D)))), "`x`"),
    Bad(lambda: Call((jnp.ones((2, D), jnp.int32), jnp.ones((2, D)))), "`x`"),
    Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"axis": 2}), "`axis`"),
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
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"p": 0.5}), "`p`"),
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"p": jnp.nan}), "`p`"),
        ),
    ),
    Case(
        "mahalanobis_distance",
        _mahalanobis,
        edge_cases=(
            lambda: Call((_point, _point), {"precision": jnp.eye(D)}),
            lambda: Call((_zero, _zero), {"covariance": 2 * jnp.eye(D)}),
            # A singular (PSD) precision: zero quadratic form for a non-zero difference.
            lambda: Call((_point, _point + 1), {"precision": jnp.zeros((D, D))}),
            lambda: Call(
                (_nan_row, _two_others),
                {"precision": jnp.eye(D), "where": jnp.array([True, False]), "reduction": "sum"},
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {}), "`precision`"),
            Bad(
                lambda: Call(
                    (jnp.ones((2, D)), jnp.ones((2, D))),
                    {"precision": jnp.eye(D), "covariance": jnp.eye(D)},
                ),
                "`covariance`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"precision": jnp.eye(D)[:3]}),
                "`precision`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"precision": jnp.eye(D + 1)}),
                "`precision`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"covariance": -jnp.eye(D)}),
                "`covariance`",
            ),
            Bad(
                lambda: Call(
                    (jnp.ones((2, D)), jnp.ones((2, D))), {"precision": jnp.eye(D), "axis": (0, 1)}
                ),
                "`axis`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1))), {"precision": jnp.eye(D)}),
                "`y`",
            ),
            Bad(
                lambda: Call(
                    (jnp.ones((2, D)), jnp.ones((2, D))),
                    {"precision": jnp.eye(D), "where": jnp.ones((3,), bool)},
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
                lambda: Call((_point, -_point)),
                lambda: Call((_zero, _other), {"where": jnp.zeros((1, D), bool)}),
                lambda: Call((_point, _other), {"epsilon": 1e-3}),
                *_masked_nan,
                # optax's element mask over a NaN element; the second example has no element.
                lambda: Call(
                    (_nan_row, _two_others),
                    {"where": jnp.isfinite(_nan_row), "reduction": "mean"},
                ),
            ),
            bad_calls=(
                Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)))), "`targets`"),
                Bad(lambda: Call((jnp.ones((2, D), int), jnp.ones((2, D)))), "`predictions`"),
                Bad(
                    lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"epsilon": -1.0}),
                    "`epsilon`",
                ),
                Bad(
                    lambda: Call(
                        (jnp.ones((2, D)), jnp.ones((2, D))), {"where": jnp.ones((3,), bool)}
                    ),
                    "`where`",
                ),
                Bad(
                    lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"where": jnp.ones((2, D))}),
                    "`where`",
                ),
                Bad(
                    lambda: Call(
                        (jnp.ones((2, D)), jnp.ones((2, D))), {"where": jnp.ones((1, 2, D), bool)}
                    ),
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
                lambda: Call((jnp.full((1, D), 0.1), _other)),
                lambda: Call((jnp.full((1, D), 0.1), jnp.full((1, D), -3.0))),
                lambda: Call((_point, _point)),
                lambda: Call((_point, 2 * _point + 1)),
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
                lambda: Call((_zero, jnp.ones((1, D)))),
                lambda: Call((jnp.ones((1, D)), jnp.ones((1, D)))),
                lambda: Call((_zero, _zero), {"soft": False}),
                lambda: Call(
                    (jnp.concatenate([0.5 * jnp.ones((1, D)), _nan_row[1:]]), jnp.ones((2, D))),
                    {"where": jnp.array([True, False]), "reduction": "mean"},
                ),
            ),
            bad_calls=(
                *_reduction_bads,
                Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)))), "`y`"),
                Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"soft": "yes"}), "`soft`"),
                Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((D,)))), "`y`"),
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
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)))), "`y`"),
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"axis": -3}), "`axis`"),
        ),
    ),
]
