"""Registry entries for jaxloss.discrete_distances."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, on_device, ones, probabilities

K = 4
ONE_HOT = on_device([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
OTHER_HOT = on_device([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
ZEROS = on_device([[0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.0, 0.75]])
# Zero where ZEROS is zero, and more: P (ZEROS) stays absolutely continuous w.r.t. it.
ZEROS_WIDER = on_device([[0.3, 0.3, 0.4, 0.0], [0.2, 0.3, 0.1, 0.4]])
POSITIVE = on_device([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
ENTRY_MASK = on_device([[True, True, False, True], [False, False, False, False]])
EXAMPLE_MASK = on_device([True, False])
NAN_SECOND = on_device([[0.25, 0.25, 0.5, 0.0], [jnp.nan] * K])


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
        {**kwargs, "where": EXAMPLE_MASK, "weights": on_device([2.0, 1.0]), "reduction": "mean"},
    )


def _bads(**kwargs):
    x = full((2, K), 1 / K)
    return (
        Bad(lambda: Call((x, full((2, K + 1), 1 / 5)), kwargs), "`predictions`"),
        Bad(lambda: Call((x, ones((2, 1))), kwargs), "`targets`"),
        Bad(lambda: Call((on_device(x, jnp.int32), x), kwargs), "`predictions`"),
        Bad(lambda: Call((x, on_device(x, jnp.int32)), kwargs), "`targets`"),
        Bad(lambda: Call((x, x), {**kwargs, "where": ones((2, K))}), "`where`"),
        Bad(lambda: Call((x, x), {**kwargs, "where": ones((3,), bool)}), "`where`"),
        Bad(lambda: Call((x, x), {**kwargs, "where": ones((2, K, 1), bool)}), "`where`"),
        Bad(lambda: Call((x, x), {**kwargs, "weights": ones((3,))}), "`weights`"),
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
            lambda: Call((POSITIVE, on_device(np.asarray(ZEROS_WIDER)[::-1]))),
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
            lambda: Call((POSITIVE, on_device(np.asarray(POSITIVE)[::-1])), {"alpha": 1.0}),
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
            lambda: Call((POSITIVE, on_device(np.asarray(POSITIVE)[::-1])), {"alpha": 2.5}),
        ),
        smooth_at=(0, 10),
        bad_calls=(
            *_bads(alpha=2.0),
            Bad(lambda: Call((POSITIVE, POSITIVE), {"alpha": -1.0}), "`alpha`"),
            Bad(lambda: Call((POSITIVE, POSITIVE), {"alpha": ones(2)}), "`alpha`"),
        ),
    ),
]
