"""Registry entries for jaxloss.information."""

import jax.numpy as jnp

import jaxloss
from tests.registry import Bad, Call, Case, integers, uniform

N, KA, KB = 12, 3, 4


def _labels(rng, batch, dtype, **kwargs):
    a = integers(rng, (*batch, N), KA)
    b = integers(rng, (*batch, N), KB)
    return Call((a, b, uniform(rng, (*batch, N), dtype, 0.5, 1.5)), kwargs)


def _with_weights(fn):
    # The weights are the differentiable input, so the registry passes them positionally.
    def call(labels_a, labels_b, weights, **kwargs):
        return fn(labels_a, labels_b, weights=weights, **kwargs)

    return call


_CLASSES = {"num_classes_a": KA, "num_classes_b": KB}
_a = jnp.array([0, 1, 2, 0, 1])
_b = jnp.array([3, 1, 1, 0, 0])
_w = jnp.ones((5,))
_label_edges = (
    lambda: Call((jnp.zeros((5,), jnp.int32), _b, _w), _CLASSES),  # one cluster in a
    lambda: Call((jnp.zeros((5,), jnp.int32), jnp.ones((5,), jnp.int32), _w), _CLASSES),
    lambda: Call((_a, _b, jnp.zeros((5,))), _CLASSES),  # empty table
    # Out-of-range labels: unchecked under jit they are dropped (checked mode raises).
    lambda: Call((jnp.full((5,), -1), _b, _w), _CLASSES),
    # Padding by weight 0: out-of-range labels there are never an error.
    lambda: Call((_a.at[3:].set(-1), _b, jnp.array([1.0, 1.0, 1.0, 0.0, 0.0])), _CLASSES),
    lambda: Call((_a, _a, _w), _CLASSES),  # perfect match
    lambda: Call((_a, _b, jnp.array([1.0, 0.0, 0.0, 2.0, 0.0])), _CLASSES),
)
_label_bads = (
    Bad(lambda: Call((_a.astype(jnp.float32), _b, _w), _CLASSES), "`labels_a`"),
    Bad(lambda: Call((_a, _b[:4], _w), _CLASSES), "`labels_b`"),
    Bad(lambda: Call((_a, _b, _w), {"num_classes_a": 0, "num_classes_b": KB}), "`num_classes_a`"),
    Bad(lambda: Call((_a, _b, _w), {"num_classes_a": KA, "num_classes_b": 2.0}), "`num_classes_b`"),
    Bad(lambda: Call((_a, _b, jnp.ones((2, 5))), _CLASSES), "`weights`"),
    Bad(lambda: Call((_a, _b, jnp.ones((5,), jnp.int32)), _CLASSES), "`weights`"),
)


def _joint(rng, batch, dtype):
    # Counts of order 1 (the table is normalised inside): finite differences of p log p stay
    # accurate, unlike for probabilities near 0.
    return Call((uniform(rng, (*batch, KA, KB), dtype, 0.5, 1.5),))


def _signals(rng, batch, dtype):
    x = uniform(rng, (*batch, N), dtype)
    noise = uniform(rng, (*batch, N), dtype)
    return Call((x, (0.7 * x + 0.3 * noise).astype(dtype)), {"num_bins": 8})


CASES = [
    Case(
        "mutual_information",
        lambda rng, batch, dtype: _labels(rng, batch, dtype, **_CLASSES),
        fn=_with_weights(jaxloss.mutual_information),
        grad_argnums=(2,),
        reduces=False,
        edge_cases=_label_edges,
        bad_calls=_label_bads,
    ),
    Case(
        "normalized_mutual_information",
        lambda rng, batch, dtype: _labels(rng, batch, dtype, average="geometric", **_CLASSES),
        fn=_with_weights(jaxloss.normalized_mutual_information),
        grad_argnums=(2,),
        reduces=False,
        edge_cases=(
            *_label_edges,
            *[
                (lambda average=average: Call((_a, _b, _w), {"average": average, **_CLASSES}))
                for average in ("arithmetic", "geometric", "min", "max")
            ],
        ),
        bad_calls=(
            *_label_bads,
            Bad(lambda: Call((_a, _b, _w), {"average": "harmonic", **_CLASSES}), "`average`"),
        ),
    ),
    Case(
        "mutual_information_from_joint",
        _joint,
        reduces=False,
        edge_cases=(
            lambda: Call((jnp.eye(3) / 3,)),
            lambda: Call((jnp.zeros((3, 4)),)),
            lambda: Call((jnp.array([[0.2, 0.0], [0.0, 0.0]]),)),
            lambda: Call((jnp.array([[5.0, 0.0, 1.0], [0.0, 0.0, 2.0]]),)),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((4,)),)), "`joint`"),
            Bad(lambda: Call((jnp.ones((2, 2), jnp.int32),)), "`joint`"),
        ),
    ),
    Case(
        "soft_mutual_information",
        _signals,
        grad_argnums=(0, 1),
        reduces=False,
        # Known gap: soft assignments underflow to ~1e-300, and second-order autodiff of the
        # entropies forms 1 / p**2 there (NaN Hessian-vector products even in float64,
        # although the true Hessian is finite). Gradients are exact; Hessians need the
        # entropies rewritten in log space.
        check_hessian=False,
        edge_cases=(
            lambda: Call((jnp.full((N,), 0.3), jnp.linspace(0.0, 1.0, N))),
            lambda: Call((jnp.linspace(0.0, 1.0, N), jnp.linspace(0.0, 1.0, N))),
            lambda: Call((jnp.linspace(-1e3, 1e3, N), jnp.linspace(0.0, 1.0, N))),
            lambda: Call((jnp.linspace(0.0, 1.0, N), jnp.zeros((N,))), {"bandwidth": 1e-3}),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((N,)), jnp.ones((N,))), {"num_bins": 1}), "`num_bins`"),
            Bad(lambda: Call((jnp.ones((N,)), jnp.ones((N,))), {"num_bins": 8.0}), "`num_bins`"),
            Bad(lambda: Call((jnp.ones((N,)), jnp.ones((N,))), {"bandwidth": 0.0}), "`bandwidth`"),
            Bad(
                lambda: Call((jnp.ones((N,)), jnp.ones((N,))), {"value_range": (1.0, 0.0)}),
                "`value_range`",
            ),
            Bad(
                lambda: Call((jnp.ones((N,)), jnp.ones((N,))), {"value_range": 1.0}),
                "`value_range`",
            ),
            Bad(lambda: Call((jnp.ones((N,)), jnp.ones((N + 1,)))), "`y`"),
            Bad(lambda: Call((jnp.ones((N,), jnp.int32), jnp.ones((N,)))), "`x`"),
        ),
    ),
]
