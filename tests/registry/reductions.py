"""Registry entries for jaxloss.reductions."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, normal


def _reduce(rng, batch, dtype):
    return Call((normal(rng, batch, dtype),), {"reduction": "none"})


CASES = [
    Case(
        "reduce",
        _reduce,
        edge_cases=(
            lambda: Call((jnp.ones((3,)),), {"where": jnp.zeros((3,), bool), "reduction": "mean"}),
            lambda: Call((jnp.ones((3,)),), {"weights": jnp.zeros((3,)), "reduction": "mean"}),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((3,)),), {"where": jnp.ones((4,), bool)}), "`where`"),
            Bad(lambda: Call((jnp.ones((3,)),), {"weights": jnp.ones((2, 3))}), "`weights`"),
            Bad(lambda: Call((jnp.arange(3),), {}), "`values`"),
            Bad(lambda: Call((jnp.ones((3,)),), {"where": jnp.ones((3,))}), "`where`"),
        ),
    ),
]


def _pair(rng, batch, dtype):
    total = normal(rng, batch, dtype)
    count = jnp.asarray(rng.integers(1, 5, batch), dtype)
    return Call(((total, count),), {})


CASES.append(
    Case(
        "mean_from_sum_and_count",
        _pair,
        reduces=False,
        edge_cases=(
            lambda: Call(((jnp.zeros((3,)), jnp.zeros((3,))),), {}),
            lambda: Call(((jnp.ones((3,)), jnp.array([0.0, 1.0, 2.0])),), {}),
        ),
        smooth_at=(),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((3,)),), {}), "`sum_and_count`", TypeError),
            Bad(lambda: Call(((jnp.ones((3,)), jnp.ones((2,))),), {}), "sum_and_count\\[1\\]"),
        ),
    )
)
