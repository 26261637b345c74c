"""Registry entries for jaxloss.likelihoods (torch's nll, Gaussian and Poisson NLL)."""

import jax
import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, integers, normal, on_device, ones, uniform, zeros

K = 4
_CLASS_W = on_device(np.linspace(0.5, 2.0, K))  # exact: steps of 1/2
NEG_INF = -jnp.inf


def _nll(rng, batch, dtype):
    log_p = jax.nn.log_softmax(normal(rng, (*batch, K), jnp.float32)).astype(dtype)
    return Call((log_p, integers(rng, batch, K)), {"class_weights": _CLASS_W})


def _gaussian(rng, batch, dtype):
    return Call(
        (normal(rng, batch, dtype), normal(rng, batch, dtype), uniform(rng, batch, dtype, 0.2, 2))
    )


def _poisson(rng, batch, dtype):
    # Rounded by numpy (half to even, as jnp.round) in float32: no XLA program.
    counts = on_device(np.round(np.asarray(uniform(rng, batch, jnp.float32, 0.0, 5.0))), dtype)
    return Call((normal(rng, batch, dtype), counts), {"full": True})


_log_p = on_device([[0.0, NEG_INF, -1e4, -3.0], [-2.0, -0.5, NEG_INF, -1.5]])

CASES = [
    Case(
        "nll_loss",
        _nll,
        edge_cases=(
            # -inf and huge log-probabilities on the classes that are not the label.
            lambda: Call((_log_p, on_device([0, 1]))),
            # Every example ignored: a mean over nothing is 0 (torch: NaN).
            lambda: Call(
                (zeros((3, K)), full((3,), -100)),
                {"ignore_index": -100, "reduction": "mean", "class_weights": _CLASS_W},
            ),
            # An out-of-range label on a masked example, class and example weights, a mean.
            lambda: Call(
                (full((3, K), -1.5), on_device([3, 9, -100])),
                {
                    "where": on_device([True, False, True]),
                    "ignore_index": -100,
                    "weights": on_device([2.0, 1.0, 0.5]),
                    "class_weights": _CLASS_W,
                    "reduction": "mean",
                },
            ),
            # Class axis 1 (torch's layout).
            lambda: Call((full((2, K, 3), -1.2), on_device([[0, 1, 2], [3, 3, 0]])), {"axis": 1}),
        ),
        smooth_at=(1, 2, 3),
        bad_calls=(
            Bad(lambda: Call((zeros((2, K)), zeros(2))), "`labels`", TypeError),
            Bad(
                lambda: Call((zeros((2, K), jnp.int32), zeros(2, jnp.int32))),
                "`log_predictions`",
            ),
            Bad(lambda: Call((zeros((2, K)), zeros(3, jnp.int32))), "`labels`"),
            Bad(
                lambda: Call((zeros((2, K)), zeros(2, jnp.int32)), {"class_weights": ones(3)}),
                "`class_weights`",
            ),
            Bad(lambda: Call((zeros((2, K)), zeros(2, jnp.int32)), {"axis": 2}), "`axis`"),
        ),
    ),
    Case(
        "gaussian_nll_loss",
        _gaussian,
        grad_argnums=(0, 1, 2),
        edge_cases=(
            # Zero variance, below eps, at eps: the clamp (straight-through gradient, as torch).
            lambda: Call(
                (on_device([0.5, 1.0, -1.0, 0.0]), zeros(4), on_device([0.0, 1e-8, 1e-6, 0.0])),
                {"full": True},
            ),
            # One variance per example (torch's homoscedastic shape), a larger eps.
            lambda: Call(
                (on_device([[0.5, 1.0], [2.0, -1.0]]), zeros((2, 2)), on_device([0.7, 1.3])),
                {"eps": 0.1},
            ),
            # Non-finite padding under a False `where`, a mean.
            lambda: Call(
                (on_device([0.5, jnp.nan]), on_device([0.0, jnp.inf]), on_device([2.0, -1.0])),
                {"where": on_device([True, False]), "reduction": "mean"},
            ),
        ),
        smooth_at=(1, 2),
        bad_calls=(
            Bad(lambda: Call((zeros(2), zeros(2), ones(2, jnp.int32))), "`variance`"),
            Bad(lambda: Call((zeros(2), zeros(2), ones(3))), "`variance`"),
            Bad(lambda: Call((zeros(2), zeros(3), ones(2))), "`targets`"),
            Bad(lambda: Call((zeros(2), zeros(2), ones(2)), {"eps": 0.0}), "`eps`"),
            Bad(lambda: Call((zeros(2), zeros(2), ones(2)), {"full": 1}), "`full`"),
        ),
    ),
    Case(
        "poisson_nll_loss",
        _poisson,
        edge_cases=(
            # Zero rates (log_input=False): finite through eps; zero counts; Stirling at 0, 1, 5.
            lambda: Call(
                (on_device([0.0, 0.0, 2.0, 1.0]), on_device([0.0, 3.0, 0.0, 1.0])),
                {"log_input": False, "full": True},
            ),
            # Large log-rates and zero counts (log_input=True).
            lambda: Call(
                (on_device([30.0, -30.0, 0.0]), on_device([0.0, 5.0, 1.0])), {"full": True}
            ),
            # eps = 0 with a zero rate and a zero count: 0 log 0 = 0.
            lambda: Call(
                (on_device([0.0, 1.5]), on_device([0.0, 2.0])), {"log_input": False, "eps": 0.0}
            ),
        ),
        smooth_at=(1,),
        bad_calls=(
            Bad(lambda: Call((zeros(2), ones(2, bool))), "`targets`"),
            Bad(lambda: Call((zeros(2, jnp.int32), ones(2))), "`predictions`"),
            Bad(lambda: Call((zeros(2), ones(2)), {"log_input": "yes"}), "`log_input`"),
            Bad(lambda: Call((zeros(2), ones(2)), {"eps": -1.0}), "`eps`"),
            Bad(lambda: Call((zeros(2), ones(3))), "`targets`"),
        ),
    ),
]
