"""Registry entries for jaxloss.transport and jaxloss.kernels (distances between sample sets)."""

import jax
import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, normal, on_device, ones

N, M, D, L = 5, 4, 3, 6
# Fixed projection directions (unnormalized, as POT accepts them).
PROJECTIONS = on_device(np.random.default_rng(11).standard_normal((D, L)), jnp.float32)

# 1-D samples: identical sets, ties within and across the sets, one sample each, weights that
# do not sum to 1 (one of them 0), and an example mask whose masked example is NaN.
LINE = on_device([[0.3, -1.0, 2.0, 0.5]])
TIES_X = on_device([[1.0, 1.0, 2.0, 2.0]])
TIES_Y = on_device([[1.0, 2.0, 2.0, 3.0]])
NAN_LINES = on_device([[0.3, -1.0, 2.0, 0.5], [jnp.nan] * 4])
SHIFTED_LINES = on_device([[1.0, 0.0, 2.5, -0.5], [0.0, 1.0, 2.0, 3.0]])
_LINE_HOST, _TIES_Y_HOST = np.asarray(LINE), np.asarray(TIES_Y)  # for numpy's slices below
MASKED = {"where": on_device([True, False]), "weights": on_device([2.0, 1.0]), "reduction": "mean"}

# D-dimensional samples.
CLOUD = on_device([[[0.0, 1.0, 2.0], [1.0, -1.0, 0.5], [2.0, 0.0, -1.0], [-0.5, 0.5, 1.5]]])
CLOUD_TIES = on_device([[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]])
# Derived by numpy from CLOUD's host copy, in its dtype as jnp computed: no XLA program.
_cloud = np.asarray(CLOUD)
FAR = on_device(_cloud + 20.0)
NAN_CLOUDS = on_device(np.concatenate([_cloud, np.full_like(_cloud, np.nan)]))
TWO_CLOUDS = on_device(np.concatenate([_cloud[:, ::-1] + 1.0, _cloud - 0.5]))
ONE_POINT = on_device([[[0.5, -1.0, 2.0]]])
OTHER_POINT = on_device([[[1.5, 0.0, 0.0]]])


def _shifted(rng, shape, dtype):
    """Normal samples plus 0.5, added by numpy on the host copy in its dtype (0.5 cast first,
    as jnp casts a Python scalar; float16 and bfloat16 add in float32 and round, as XLA's
    do): no XLA program."""
    x = np.asarray(normal(rng, shape, dtype))
    return on_device(x + x.dtype.type(0.5))


def _lines(**kwargs):
    def make(rng, batch, dtype):
        return Call((normal(rng, (*batch, N), dtype), _shifted(rng, (*batch, M), dtype)), kwargs)

    return make


def _clouds(**kwargs):
    def make(rng, batch, dtype):
        return Call(
            (normal(rng, (*batch, N, D), dtype), _shifted(rng, (*batch, M, D), dtype)), kwargs
        )

    return make


def _weighted_lines(rng, batch, dtype):
    call = _lines(p=2)(rng, batch, dtype)
    masses = {
        # Shared by every example (the vmap test maps over the arguments only).
        "x_weights": on_device(rng.uniform(0.1, 2.0, (N,)), dtype),
        "y_weights": on_device(rng.uniform(0.1, 2.0, (M,)), dtype),
    }
    return Call(call.args, {**call.kwargs, **masses})


def _common_bads(rank, **kwargs):
    """Malformed calls shared by the sample-set functions (`rank` 1: [..., N]; 2: [..., N, D])."""
    shape = (2, N) if rank == 1 else (2, N, D)
    x = ones(shape)
    other = ones((2, M) if rank == 1 else (2, M, D))
    # sliced and cast by numpy on the host copies (of their dtypes): no XLA program
    x_host, other_host = np.asarray(x), np.asarray(other)
    bads = [
        Bad(lambda: Call((on_device(x_host, jnp.int32), other), kwargs), "`x`"),
        Bad(lambda: Call((x, on_device(other_host, jnp.int32)), kwargs), "`y`"),
        Bad(lambda: Call((x, on_device(other_host[0])), kwargs), "`y`"),
        Bad(lambda: Call((x, ones((3, *other.shape[1:]))), kwargs), "`x`"),
        Bad(lambda: Call((x, other), {**kwargs, "where": ones((3,), bool)}), "`where`"),
        Bad(lambda: Call((x, other), {**kwargs, "weights": ones((3,))}), "`weights`"),
        Bad(lambda: Call((x, other), {**kwargs, "reduction": "avg"}), "`reduction`"),
    ]
    if rank == 2:
        bads.append(Bad(lambda: Call((x, ones((2, M, D + 1))), kwargs), "`y`"))
        bads.append(Bad(lambda: Call((on_device(x_host[0, 0]), other), kwargs), "`x`"))
    return tuple(bads)


def _mass_bads(rank, **kwargs):
    x = ones((2, N) if rank == 1 else (2, N, D))
    y = ones((2, M) if rank == 1 else (2, M, D))
    return (
        Bad(lambda: Call((x, y), {**kwargs, "x_weights": ones((2, N + 1))}), "`x_weights`"),
        Bad(lambda: Call((x, y), {**kwargs, "y_weights": full((2, M), -1.0)}), "`y_weights`"),
        Bad(
            lambda: Call((x, y), {**kwargs, "x_weights": ones((2, N), jnp.int32)}),
            "`x_weights`",
        ),
    )


def _p_bads(rank, **kwargs):
    x = ones((2, N) if rank == 1 else (2, N, D))
    y = ones((2, M) if rank == 1 else (2, M, D))
    return (
        Bad(lambda: Call((x, y), {**kwargs, "p": 0.5}), "`p`"),
        # a weakly typed scalar array, as jnp.array(2.0) (device_put of a Python scalar: no program)
        Bad(lambda: Call((x, y), {**kwargs, "p": jax.device_put(2.0)}), "`p`"),
    )


_SLICED = {"projections": PROJECTIONS}
# A bounded loop of 20 iterations (these problems need about 10-90 to reach the threshold): the
# contract's checks hold for any fixed number of iterations, and the pure-Python call
# (disable_jit) runs ott-jax's loop iteration by iteration (16 s CPU at 100 iterations).
_SINKHORN = {"regularization": 1.0, "threshold": 1e-5, "max_iterations": 20}
# Four singular points of the same shapes as one batched call (one solver loop in the edge-case
# program instead of four; the examples are independent, so each keeps its own gradient):
# identical sets, ties, a zero mass in `y`, and a masked example whose samples are NaN.
# (numpy concatenates the host copies, of their dtypes: no XLA program)
_SINKHORN_EDGES_X = on_device(
    np.concatenate([CLOUD, CLOUD_TIES, CLOUD, np.asarray(NAN_CLOUDS)[1:]])
)
_SINKHORN_EDGES_Y = on_device(np.concatenate([CLOUD, CLOUD, TWO_CLOUDS]))
_SINKHORN_EDGES = {
    **_SINKHORN,
    "y_weights": on_device([[1.0] * 4, [1.0] * 4, [0.0, 1.0, 2.0, 5.0], [1.0] * 4]),
    "where": on_device([True, True, True, False]),
    "weights": on_device([2.0, 1.0, 0.5, 1.0]),
    "reduction": "mean",
}
_BANDWIDTH = {"bandwidth": 1.5}

CASES = [
    Case(
        "wasserstein_distance",
        _weighted_lines,
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((LINE, LINE)),
            lambda: Call((TIES_X, TIES_Y)),
            lambda: Call((TIES_X, TIES_Y), {"p": 2}),
            lambda: Call(
                (on_device(_LINE_HOST[:, :1]), on_device(_TIES_Y_HOST[:, :1] + 0.5)), {"p": 2}
            ),
            lambda: Call(
                (LINE, TIES_Y),
                {"x_weights": on_device([[2.0, 0.0, 1.0, 1.0]]), "y_weights": full((1, 4), 3.0)},
            ),
            lambda: Call((NAN_LINES, SHIFTED_LINES), MASKED),
            lambda: Call((LINE, TIES_Y), {"p": 3}),
        ),
        smooth_at=(3,),
        bad_calls=(*_common_bads(1), *_mass_bads(1), *_p_bads(1)),
    ),
    Case(
        "sliced_wasserstein_distance",
        _clouds(**_SLICED),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((CLOUD, CLOUD), _SLICED),
            lambda: Call((CLOUD_TIES, CLOUD), _SLICED),
            lambda: Call(
                (CLOUD_TIES, on_device(np.asarray(CLOUD_TIES)[:, ::-1])), {**_SLICED, "p": 1}
            ),
            lambda: Call((ONE_POINT, OTHER_POINT), _SLICED),
            lambda: Call((CLOUD, FAR), {**_SLICED, "x_weights": on_device([[1.0, 0.0, 2.0, 3.0]])}),
            lambda: Call((NAN_CLOUDS, TWO_CLOUDS), {**_SLICED, **MASKED}),
        ),
        smooth_at=(3,),
        bad_calls=(
            *_common_bads(2, **_SLICED),
            *_mass_bads(2, **_SLICED),
            *_p_bads(2, **_SLICED),
            Bad(lambda: Call((ones((2, N, D)), ones((2, M, D)))), "`key`"),
            Bad(
                lambda: Call(
                    (ones((2, N, D)), ones((2, M, D))),
                    {"projections": ones((D + 1, L))},
                ),
                "`projections`",
            ),
            Bad(
                lambda: Call(
                    (ones((2, N, D)), ones((2, M, D))),
                    {"key": np.zeros(2, np.uint32), "num_projections": 0},
                ),
                "`num_projections`",
            ),
        ),
    ),
    Case(
        "sinkhorn_divergence",
        _clouds(**_SINKHORN),
        grad_argnums=(0, 1),
        # ott-jax's Sinkhorn loop is a while_loop: one reverse pass (backpropagation through
        # its iterations), not two.
        check_hessian=False,
        edge_cases=(
            lambda: Call((_SINKHORN_EDGES_X, _SINKHORN_EDGES_Y), _SINKHORN_EDGES),
            lambda: Call((ONE_POINT, OTHER_POINT), _SINKHORN),
        ),
        bad_calls=(
            *_common_bads(2, **_SINKHORN),
            *_mass_bads(2, **_SINKHORN),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"regularization": 0.0}),
                "`regularization`",
            ),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"max_iterations": 0}),
                "`max_iterations`",
            ),
        ),
    ),
    Case(
        "mmd",
        _clouds(**_BANDWIDTH),
        grad_argnums=(0, 1),
        edge_cases=(
            # identical sets, the median heuristic (its gradient stopped)
            lambda: Call((CLOUD, CLOUD)),
            lambda: Call((CLOUD, FAR), _BANDWIDTH),
            lambda: Call(
                (ONE_POINT, OTHER_POINT), {**_BANDWIDTH, "kernel": "inverse_multiquadric"}
            ),
            lambda: Call(
                (CLOUD_TIES, CLOUD),
                {
                    "kernel": "multiscale_gaussian",
                    "bandwidth": on_device([0.5, 1.0, 2.0]),
                    "estimator": "unbiased",
                    "chunk_size": 3,
                },
            ),
            lambda: Call((NAN_CLOUDS, TWO_CLOUDS), {**_BANDWIDTH, **MASKED}),
            lambda: Call((CLOUD_TIES, CLOUD), {**_BANDWIDTH, "kernel": "inverse_multiquadric"}),
        ),
        smooth_at=(2, 5),
        bad_calls=(
            *_common_bads(2, **_BANDWIDTH),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"kernel": "laplace"}),
                "`kernel`",
            ),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"estimator": "u"}),
                "`estimator`",
            ),
            Bad(
                lambda: Call((ones((2, 1, D)), ones((2, M, D))), {"estimator": "unbiased"}),
                "`estimator`",
            ),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"bandwidth": -1.0}),
                "`bandwidth`",
            ),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"bandwidth": ones(3)}),
                "`bandwidth`",
            ),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"chunk_size": 2}),
                "`bandwidth`",
            ),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {**_BANDWIDTH, "chunk_size": 0}),
                "`chunk_size`",
            ),
        ),
    ),
    Case(
        "energy_distance",
        _clouds(),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((CLOUD, CLOUD)),
            lambda: Call((CLOUD_TIES, CLOUD)),
            lambda: Call((ONE_POINT, OTHER_POINT)),
            lambda: Call(
                (CLOUD, FAR),
                {"x_weights": on_device([[1.0, 0.0, 2.0, 3.0]]), "chunk_size": 3},
            ),
            lambda: Call((NAN_CLOUDS, TWO_CLOUDS), MASKED),
        ),
        smooth_at=(2,),
        bad_calls=(
            *_common_bads(2),
            *_mass_bads(2),
            Bad(
                lambda: Call((ones((2, N, D)), ones((2, M, D))), {"chunk_size": 1.5}),
                "`chunk_size`",
            ),
        ),
    ),
]
