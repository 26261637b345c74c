"""Registry entries for jaxloss.information."""

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.registry import Bad, Call, Case, full, integers, on_device, ones, uniform, zeros

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
_a = on_device([0, 1, 2, 0, 1])
_b = on_device([3, 1, 1, 0, 0])
_w = ones((5,))
_a_padded = np.array(_a)  # a host copy (of _a's dtype), transferred when called
_a_padded[3:] = -1
_label_edges = (
    lambda: Call((zeros((5,), jnp.int32), _b, _w), _CLASSES),  # one cluster in a
    lambda: Call((zeros((5,), jnp.int32), ones((5,), jnp.int32), _w), _CLASSES),
    lambda: Call((_a, _b, zeros((5,))), _CLASSES),  # empty table
    # Out-of-range labels: unchecked under jit they are dropped (checked mode raises).
    lambda: Call((full((5,), -1), _b, _w), _CLASSES),
    # Padding by weight 0: out-of-range labels there are never an error.
    lambda: Call((on_device(_a_padded), _b, on_device([1.0, 1.0, 1.0, 0.0, 0.0])), _CLASSES),
    lambda: Call((_a, _a, _w), _CLASSES),  # perfect match
    lambda: Call((_a, _b, on_device([1.0, 0.0, 0.0, 2.0, 0.0])), _CLASSES),
)
_label_bads = (
    Bad(lambda: Call((on_device(_a, jnp.float32), _b, _w), _CLASSES), "`labels_a`"),
    Bad(lambda: Call((_a, on_device(np.asarray(_b)[:4]), _w), _CLASSES), "`labels_b`"),
    Bad(lambda: Call((_a, _b, _w), {"num_classes_a": 0, "num_classes_b": KB}), "`num_classes_a`"),
    Bad(lambda: Call((_a, _b, _w), {"num_classes_a": KA, "num_classes_b": 2.0}), "`num_classes_b`"),
    Bad(lambda: Call((_a, _b, ones((2, 5))), _CLASSES), "`weights`"),
    Bad(lambda: Call((_a, _b, ones((5,), jnp.int32)), _CLASSES), "`weights`"),
)


def _joint(rng, batch, dtype):
    # Counts of order 1 (the table is normalised inside): finite differences of p log p stay
    # accurate, unlike for probabilities near 0.
    return Call((uniform(rng, (*batch, KA, KB), dtype, 0.5, 1.5),))


def _signals(rng, batch, dtype):
    x = uniform(rng, (*batch, N), dtype)
    noise = uniform(rng, (*batch, N), dtype)
    # numpy on the host copies, in their dtype (no XLA program): float16 and bfloat16
    # multiply and add in float32 and round after each operation, as XLA's do. The factors
    # are cast first, as jnp casts a Python scalar (numpy would compute bfloat16 in float32).
    host, host_noise = np.asarray(x), np.asarray(noise)
    cast = host.dtype.type
    return Call((x, on_device(cast(0.7) * host + cast(0.3) * host_noise, dtype)), {"num_bins": 8})


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
            lambda: Call((on_device(np.eye(3) / 3),)),
            lambda: Call((zeros((3, 4)),)),
            lambda: Call((on_device([[0.2, 0.0], [0.0, 0.0]]),)),
            lambda: Call((on_device([[5.0, 0.0, 1.0], [0.0, 0.0, 2.0]]),)),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((4,)),)), "`joint`"),
            Bad(lambda: Call((ones((2, 2), jnp.int32),)), "`joint`"),
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
        # jnp.linspace: numpy's rounds differently (one program for these four).
        edge_cases=(
            lambda: Call((full((N,), 0.3), jnp.linspace(0.0, 1.0, N))),
            lambda: Call((jnp.linspace(0.0, 1.0, N), jnp.linspace(0.0, 1.0, N))),
            lambda: Call((jnp.linspace(-1e3, 1e3, N), jnp.linspace(0.0, 1.0, N))),
            lambda: Call((jnp.linspace(0.0, 1.0, N), zeros((N,))), {"bandwidth": 1e-3}),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((N,)), ones((N,))), {"num_bins": 1}), "`num_bins`"),
            Bad(lambda: Call((ones((N,)), ones((N,))), {"num_bins": 8.0}), "`num_bins`"),
            Bad(lambda: Call((ones((N,)), ones((N,))), {"bandwidth": 0.0}), "`bandwidth`"),
            Bad(
                lambda: Call((ones((N,)), ones((N,))), {"value_range": (1.0, 0.0)}),
                "`value_range`",
            ),
            Bad(
                lambda: Call((ones((N,)), ones((N,))), {"value_range": 1.0}),
                "`value_range`",
            ),
            Bad(lambda: Call((ones((N,)), ones((N + 1,)))), "`y`"),
            Bad(lambda: Call((ones((N,), jnp.int32), ones((N,)))), "`x`"),
        ),
    ),
]
