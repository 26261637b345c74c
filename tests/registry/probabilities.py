"""Registry entries for jaxloss.probabilities."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, normal, on_device, ones, probabilities

K = 5
_big = on_device([[1e4, -1e4, 0.0, 3.0, -2.0]], jnp.float32)
# float16 logits at +-3e4 keep every log-probability representable (|log p| <= 6e4 < 65504).
_half = on_device([[3e4, -3e4, 0.0, 3.0, -2.0]], jnp.float16)
_one_hot = on_device(np.eye(K)[:1])


def _full(batch):
    return (*batch, K)


def _map(rng, batch, dtype):
    return Call((normal(rng, _full(batch), dtype),))


def _sigmoid_map(rng, batch, dtype):
    return Call((normal(rng, batch, dtype),))


_maps = [
    Case(
        name,
        _sigmoid_map if "sigmoid" in name else _map,
        reduces=False,
        out_shape=(lambda b: b) if "sigmoid" in name else _full,
        edge_cases=(lambda: Call((_big,)), lambda: Call((_half,))),
        bad_calls=(
            Bad(lambda: Call((ones((2, K)),), {"temperature": 0.0}), "`temperature`"),
            Bad(lambda: Call((ones((2, K), jnp.int32),)), "`x`"),
        ),
    )
    for name in ("softmax", "log_softmax", "sigmoid", "log_sigmoid")
]

CASES = [
    *_maps,
    Case(
        "smooth_labels",
        lambda rng, batch, dtype: Call((probabilities(rng, _full(batch), dtype),), {"alpha": 0.1}),
        reduces=False,
        out_shape=_full,
        edge_cases=(lambda: Call((_one_hot,), {"alpha": 1.0}),),
        bad_calls=(
            Bad(lambda: Call((ones((2, K)),), {"alpha": 2.0}), "`alpha`"),
            Bad(lambda: Call((ones((2, K), jnp.int32),), {"alpha": 0.1}), "`labels`"),
        ),
    ),
]
