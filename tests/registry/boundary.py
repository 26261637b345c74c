"""Registry entries for jaxloss.boundary (boundary loss, signed distance maps)."""

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.registry import Bad, Call, Case, normal, on_device, ones
from tests.registry._overlap_inputs import ACTIVATION, MAPS, SPATIAL, C, H, W

SAMPLING = (0.7, 1.3)  # anisotropic: no two offsets tie


def loss_inputs(rng, batch, dtype, **kwargs):
    logits = normal(rng, (*batch, H, W, C), dtype)
    phi = on_device(3.0 * rng.standard_normal((*batch, H, W, C)), dtype)
    return Call((logits, phi), {"axis": SPATIAL, **kwargs})


def _loss(logits, phi, **kwargs):
    return lambda: Call((on_device(logits, jnp.float32), on_device(phi, jnp.float32)), kwargs)


_RNG = np.random.default_rng(6)
_X = _RNG.standard_normal((2, H, W, C))
_PHI = 2.0 * _RNG.standard_normal((2, H, W, C))
LOSS_EDGES = (
    _loss(_X, np.zeros((2, H, W, C))),  # absent classes: blank maps
    _loss(50.0 * np.sign(_X), _PHI),  # saturated logits
    _loss(_X[:, :1, :1], _PHI[:, :1, :1]),  # one pixel
    _loss(np.eye(C)[_RNG.integers(0, C, (2, H, W))], _PHI, activation=None),  # one-hot probs
    _loss(_X[..., :1], _PHI[..., :1]),  # one channel: sigmoid
    _loss(_X, _PHI, ignore_background=True, activation="sigmoid"),
    lambda: Call((on_device(_X, jnp.bfloat16), on_device(_PHI, jnp.bfloat16))),
)


def sdm_inputs(rng, batch, dtype):
    mask = on_device(rng.uniform(size=(*batch, H, W, C)) < 0.4)
    return Call((mask, on_device(SAMPLING, dtype)), {"axis": SPATIAL})


def _sdm(targets, sampling, *, axis=None):
    kwargs = {} if axis is None else {"axis": axis}
    return lambda: Call((on_device(targets), on_device(sampling, jnp.float32)), kwargs)


_SEED = np.zeros((1, 4, 5, 3, 1), bool)
_SEED[0, 1, 3, 1, 0] = True
SDM_EDGES = (
    _sdm(np.zeros((2, H, W, C), bool), SAMPLING),  # no foreground: blank
    _sdm(np.ones((2, H, W, C), int), SAMPLING),  # no background: blank
    _sdm(_SEED, (0.7, 1.3, 2.1)),  # one voxel of a volume
    _sdm(np.eye(C)[_RNG.integers(0, C, (2, H, W))].astype(np.float32), 2.5),  # one spacing
)


def _signed_distance_map(targets, sampling=None, **kwargs):
    """The map as a function of the spacing (the only differentiable input)."""
    return jaxloss.signed_distance_map(targets, sampling=sampling, **kwargs)


CASES = [
    Case(
        "boundary_loss",
        loss_inputs,
        edge_cases=LOSS_EDGES,
        smooth_at=tuple(range(len(LOSS_EDGES))),  # linear in p: smooth everywhere
        bad_calls=(
            Bad(lambda: Call((ones((2, H, W, 3)), ones((2, H, W, 4)))), "`predictions`"),
            Bad(lambda: Call((ones((3,)), ones((3,)))), "`predictions`"),
            Bad(lambda: Call((ones((2, H, W, 3), int), ones((2, H, W, 3)))), "`predictions`"),
            Bad(lambda: Call((ones((2, H, W, 3)), ones((2, H, W, 3), int))), "`targets`"),
            Bad(lambda: Call(MAPS, {"axis": -1}), "`axis`"),
            Bad(lambda: Call(MAPS, {"where": ones((3,), bool)}), "`where`"),
            Bad(lambda: Call(MAPS, {"ignore_background": 1}), "`ignore_background`"),
            *ACTIVATION,
        ),
    ),
    Case(
        "signed_distance_map",
        sdm_inputs,
        fn=_signed_distance_map,
        grad_argnums=(1,),
        shared_args=(1,),
        reduces=False,
        out_shape=lambda batch: (*batch, H, W, C),
        edge_cases=SDM_EDGES,
        smooth_at=(0, 1, 2, 3),
        bad_calls=(
            Bad(lambda: Call((MAPS[0], ones((3,)))), "`sampling`"),
            Bad(lambda: Call((MAPS[0],), {"sampling": -1.0}), "`sampling`"),
            Bad(lambda: Call((ones((3,)), 1.0)), "`targets`"),
            Bad(lambda: Call((MAPS[0], 1.0), {"axis": -1}), "`axis`"),
            Bad(lambda: Call((on_device(MAPS[0], jnp.complex64), 1.0)), "`targets`"),
        ),
    ),
]
