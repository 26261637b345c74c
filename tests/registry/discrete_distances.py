"""Registry entries for jaxloss.discrete_distances."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, probabilities

K = 4
ONE_HOT = jnp.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
OTHER_HOT = jnp.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
ZEROS = jnp.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.0, 0.75]])
# Zero where ZEROS is zero, and more: P (ZEROS) stays absolutely continuous w.r.t. it.
ZEROS_WIDER = jnp.array([[0.3, 0.3, 0.4, 0.0], [0.2, 0.3, 0.1, 0.4]])
POSITIVE = jnp.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
ENTRY_MASK = jnp.array([[True, True, False, True], [False, False, False, False]])
EXAMPLE_MASK = jnp.array([True, False])
NAN_SECOND = jnp.array([[0.25, 0.25, 0.5, 0.0], [jnp.nan] * K])


def _two(**kwargs):
    def make(rng, batch, dtype):
        return Call(
            (probabilities(rng, (*batch, K), dtype), probabilities(rng, (*batch, K), dtype)),
            kwargs,
        )

    return make


def _masked(q, p, **kwargs):
    return lambda: Call((q, p), {**kwargs, "where": ENTRY_MASK, "reduction": "mean"})


def _example_masked(q, p, **kwargs):
    return lambda: Call(
        (q, p),
        {**kwargs, "where": EXAMPLE_MASK, "weights": jnp.array([2.0, 1.0]), "reduction": "mean"},
    )


def _bads(**kwargs):
    x = jnp.full((2, K), 1 / K)
    return (
        Bad(lambda: Call((x, jnp.ones((2, K + 1)) / 5), kwargs), "`predictions`"),
        Bad(lambda: Call((x, jnp.ones((2, 1))), kwargs), "`targets`"),
        Bad(lambda: Call((x.astype(jnp.int32), x), kwargs), "`predictions`"),
        Bad(lambda: Call((x, x.astype(jnp.int32)), kwargs), "`targets`"),
        Bad(lambda: Call((x, x), {**kwargs, "where": jnp.ones((2, K))}), "`where`"),
        Bad(lambda: Call((x, x), {**kwargs, "where": jnp.ones((3,), bool)}), "`where`"),
        Bad(lambda: Call((x, x), {**kwargs, "where": jnp.ones((2, K, 1), bool)}), "`where`"),
        Bad(lambda: Call((x, x), {**kwargs, "weights": jnp.ones((3,))}), "`weights`"),
        Bad(lambda: Call((x, x), {**kwargs, "axis": 2}), "`axis`"),
    )


def _symmetric_case(name, *, disjoint=True):
    """The symmetric distances: disjoint supports (where finite), identical inputs, zeros."""
    return Case(
        name,
        _two(),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((ONE_HOT, ONE_HOT)),
            lambda: Call((ZEROS, ZEROS)),
            lambda: Call((ZEROS, ZEROS_WIDER)),
            lambda: Call((POSITIVE, ZEROS_WIDER[::-1])),
            _masked(ZEROS, ONE_HOT),
            _example_masked(NAN_SECOND, ONE_HOT),
            *((lambda: Call((ONE_HOT, OTHER_HOT)),) if disjoint else ()),
        ),
        bad_calls=_bads(),
    )


CASES = [
    _symmetric_case("hellinger_distance"),
    _symmetric_case("total_variation_distance"),
    # Disjoint supports give +inf (tested in tests/test_discrete_distances.py).
    _symmetric_case("bhattacharyya_distance", disjoint=False),
    Case(
        "renyi_divergence",
        _two(alpha=2.0),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((POSITIVE, POSITIVE[::-1]), {"alpha": 1.0}),
            lambda: Call((ZEROS_WIDER, ZEROS), {"alpha": 1.0}),
            lambda: Call((ZEROS_WIDER, ZEROS), {"alpha": 0.0}),
            lambda: Call((ZEROS_WIDER, ZEROS), {"alpha": 0.5}),
            lambda: Call((ZEROS_WIDER, ZEROS), {"alpha": 3.0}),
            lambda: Call((ZEROS_WIDER, ZEROS), {"alpha": jnp.inf}),
            lambda: Call((ONE_HOT, ONE_HOT), {"alpha": 2.0}),
            # P escapes Q's support, alpha < 1: finite (the escaping entries drop out).
            lambda: Call((ZEROS, ZEROS_WIDER), {"alpha": 0.5}),
            _masked(ZEROS_WIDER, ZEROS, alpha=2.0),
            _example_masked(NAN_SECOND, ONE_HOT, alpha=0.5),
            lambda: Call((POSITIVE, POSITIVE[::-1]), {"alpha": 2.5}),
        ),
        smooth_at=(0, 10),
        bad_calls=(
            *_bads(alpha=2.0),
            Bad(lambda: Call((POSITIVE, POSITIVE), {"alpha": -1.0}), "`alpha`"),
            Bad(lambda: Call((POSITIVE, POSITIVE), {"alpha": jnp.ones(2)}), "`alpha`"),
        ),
    ),
]
