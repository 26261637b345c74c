"""Registry entries for jaxloss.reductions."""

import numpy as np

from tests.registry import Bad, Call, Case, normal, on_device, ones, zeros


def _reduce(rng, batch, dtype):
    return Call((normal(rng, batch, dtype),), {"reduction": "none"})


CASES = [
    Case(
        "reduce",
        _reduce,
        edge_cases=(
            lambda: Call((ones((3,)),), {"where": zeros((3,), bool), "reduction": "mean"}),
            lambda: Call((ones((3,)),), {"weights": zeros((3,)), "reduction": "mean"}),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((3,)),), {"where": ones((4,), bool)}), "`where`"),
            Bad(lambda: Call((ones((3,)),), {"weights": ones((2, 3))}), "`weights`"),
            Bad(lambda: Call((on_device(np.arange(3)),), {}), "`values`"),
            Bad(lambda: Call((ones((3,)),), {"where": ones((3,))}), "`where`"),
        ),
    ),
]


def _pair(rng, batch, dtype):
    total = normal(rng, batch, dtype)
    count = on_device(rng.integers(1, 5, batch), dtype)
    return Call(((total, count),), {})


CASES.append(
    Case(
        "mean_from_sum_and_count",
        _pair,
        reduces=False,
        edge_cases=(
            lambda: Call(((zeros((3,)), zeros((3,))),), {}),
            lambda: Call(((ones((3,)), on_device([0.0, 1.0, 2.0])),), {}),
        ),
        smooth_at=(),
        bad_calls=(
            Bad(lambda: Call((ones((3,)),), {}), "`sum_and_count`", TypeError),
            Bad(lambda: Call(((ones((3,)), ones((2,))),), {}), "sum_and_count\\[1\\]"),
        ),
    )
)
