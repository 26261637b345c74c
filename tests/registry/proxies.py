"""Registry entries for jaxloss.proxies (proxy losses and SoftTriple's penalty)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, normal, on_device, ones, zeros
from tests.registry._class_inputs import (
    AXES,
    AXES_K,
    LABELS,
    D,
    K,
    both_angles,
    class_bad,
    class_call,
    edges,
    option_bad,
)

# Edge indices (see `edges`): 0 duplicated / collapsed / one class / absent classes / masked
# NaN padding, 1 angle 0, 2 angle pi, 3 zero vectors, 4 bfloat16. Cosines are smooth in the
# embeddings except at a zero vector.

# Centres for sparse_centers_penalty, built by numpy (no XLA program) and transferred when
# called: AXES_K's host copy (of its dtype) with class 0's second centre opposite its first;
# ones with class 1 zero, float64 until transferred (then float32 unless float64 is enabled,
# as jnp.ones gave when called).
_OPPOSITE = np.array(AXES_K)
_OPPOSITE[0, 1] = -_OPPOSITE[0, 0]
_SAME_AND_ZERO = np.ones((2, K, D))
_SAME_AND_ZERO[1] = 0.0

CASES = [
    Case(
        "proxy_anchor_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, alpha=4.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        reduces=False,
        out_shape=lambda b: b[:-1],
        edge_cases=(
            *edges(AXES, weights=False),
            # Everything masked out: 0 with zero gradients.
            lambda: Call(
                (ones((2, D)), on_device(np.asarray(LABELS)[:2]), AXES), {"where": zeros(2, bool)}
            ),
        ),
        smooth_at=(0, 1, 2, 5),
        bad_calls=(
            *class_bad("proxies", reducing=False),
            *option_bad(alpha=0.0, margin=-0.1),
        ),
    ),
    Case(
        "proxy_nca_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=3.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(*edges(AXES), both_angles(AXES, scale=50.0)),
        smooth_at=(0, 1, 2, 5),
        bad_calls=(*class_bad("proxies"), *option_bad(scale=0.0)),
    ),
    Case(
        "soft_triple_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, centers=True, scale=4.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=edges(AXES, AXES_K),
        smooth_at=(0, 1, 2),
        bad_calls=(
            *class_bad("proxies", centers=True),
            *option_bad(centers=True, scale=0.0, gamma=0.0, margin=-0.1),
        ),
    ),
    Case(
        "sparse_centers_penalty",
        lambda rng, batch, dtype: Call((normal(rng, (*batch, K, D), dtype),)),
        reduces=False,
        batched=False,
        out_shape=lambda b: (),
        edge_cases=(
            # Opposite centres (class 0), and distinct ones.
            lambda: Call((on_device(_OPPOSITE),)),
            # Identical centres (distance 0) in class 0, zero centres in class 1.
            lambda: Call((on_device(_SAME_AND_ZERO),)),
            lambda: Call((on_device(np.asarray(AXES)[:, None, :]),)),  # K = 1: 0
            lambda: Call((on_device(AXES_K, jnp.bfloat16),)),
        ),
        smooth_at=(0,),
        bad_calls=(
            Bad(lambda: Call((ones((K, D)),)), "`proxies`"),
            Bad(lambda: Call((ones((2, K, D), jnp.int32),)), "`proxies`"),
            Bad(lambda: Call((ones((2, K, D)),), {"eps": -1.0}), "`eps`"),
        ),
    ),
]
