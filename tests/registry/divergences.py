"""Registry entries for jaxloss.divergences."""

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.registry import (
    Bad,
    Call,
    Case,
    full,
    normal,
    on_device,
    ones,
    probabilities,
    uniform,
    zeros,
)

K = 4
INF = jnp.inf
ONE_HOT = on_device([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
OTHER_HOT = on_device([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
ZERO_TARGETS = on_device([[0.5, 0.5, 0.0, 0.0], [0.0, 0.25, 0.0, 0.75]])


def _log(x):
    """The log of a constant by numpy, in its dtype (no XLA program): for these constants the
    same bits as jnp.log's (checked; for random inputs XLA's float32 log differs in the last
    bit now and then, so the factories keep jnp.log). log 0 = -inf is meant."""
    with np.errstate(divide="ignore"):
        return on_device(np.log(x))


# -inf log-predictions exactly where the target is 0 (the defined 0 * -inf = 0 case).
# (transferred first: the log of the values rounded to the device's dtype, as jnp's)
LOG_Q_HOLES = _log(on_device([[0.5, 0.5, 0.0, 0.0], [0.1, 0.4, 0.0, 0.5]]))
UNIFORM_LOG = _log(full((2, K), 0.25))
MASK = on_device([[True, True, False, True], [False, False, False, False]])
# An example mask, and inputs that are NaN in the masked example (they must not leak).
EXAMPLE_MASK = on_device([True, False])
NAN_SECOND = on_device([[0.25, 0.25, 0.5, 0.0], [jnp.nan] * K])


def _optax_where(fn):
    """optax's names take optax's entry mask only (no example mask under that name).

    The contract suite passes a mask of the per-example shape; the same mask spelled as an
    entry mask is ``where[..., None]`` (every entry of a masked example masked: CONTRIBUTING.md
    section 4, "optax names whose `where` is an element mask"), which is what this wrapper
    passes on. Masks of the inputs' rank are passed unchanged. `weights` and `axis_name` are
    named so that the suites that look for them in the signature find them.
    """

    def call(log_predictions, targets, *, where=None, weights=None, axis_name=None, **kwargs):
        if where is not None and jnp.ndim(where) == jnp.ndim(log_predictions) - 1:
            where = jnp.asarray(where)[..., None]
        return fn(
            log_predictions, targets, where=where, weights=weights, axis_name=axis_name, **kwargs
        )

    return call


def _dist(rng, batch, dtype):
    return probabilities(rng, (*batch, K), dtype)


def _entropy(rng, batch, dtype):
    return Call((_dist(rng, batch, dtype),))


def _log_and_targets(rng, batch, dtype):
    return Call((jnp.log(_dist(rng, batch, dtype)), _dist(rng, batch, dtype)))


def _log_and_log_targets(rng, batch, dtype):
    return Call((jnp.log(_dist(rng, batch, dtype)), jnp.log(_dist(rng, batch, dtype))))


def _unnormalized(rng, batch, dtype):
    return Call(
        (normal(rng, (*batch, K), dtype), uniform(rng, (*batch, K), dtype, low=0.1, high=2.0))
    )


def _two_dists(rng, batch, dtype):
    return Call((_dist(rng, batch, dtype), _dist(rng, batch, dtype)))


def _two_dists_weighted(rng, batch, dtype):
    return Call(
        (_dist(rng, batch, dtype), _dist(rng, batch, dtype)), {"mixture_weights": (0.3, 0.7)}
    )


def _gaussian(rng, batch, dtype):
    return Call(
        (normal(rng, (*batch, K), dtype), normal(rng, (*batch, K), dtype)),
        {"prior_mean": 0.25, "prior_log_variance": -0.5},
    )


def _mismatched(n_first=K, n_second=K + 1, first_int=False):
    first = np.arange(2 * n_first).reshape(2, n_first)
    first = on_device(first if first_int else first.astype(np.float32) / 10)  # float32 / 10
    return lambda: Call((first, on_device(np.ones((2, n_second)) / n_second)))


def _pair_bad_calls(first, second):
    return (
        Bad(lambda: Call((zeros((2, K)), full((2, K + 1), 1 / 5))), f"`{first}`"),
        Bad(lambda: Call((zeros((2, K)), ones((2, 1)))), f"`{second}`"),
        Bad(lambda: Call((zeros((2, K), jnp.int32), ones((2, K)))), f"`{first}`"),
        Bad(lambda: Call((zeros((2, K)), ones((2, K), jnp.int32))), f"`{second}`"),
        Bad(
            lambda: Call((zeros((2, K)), ones((2, K))), {"where": ones((2, K))}),
            "`where`",
        ),
        Bad(lambda: Call((zeros((2, K)), ones((2, K))), {"axis": 2}), "`axis`"),
    )


def _masked(*args):
    return lambda: Call(args, {"where": MASK, "reduction": "mean"})


def _example_masked(*args):
    """An example mask and weights; the masked example is NaN."""
    return lambda: Call(
        args, {"where": EXAMPLE_MASK, "weights": on_device([2.0, 1.0]), "reduction": "mean"}
    )


def _example_bad_calls():
    x = full((2, K), 1 / K)
    return (
        Bad(lambda: Call((x, x), {"where": ones((3,), bool)}), "`where`"),
        Bad(lambda: Call((x, x), {"where": ones((2, K, 1), bool)}), "`where`"),
        Bad(lambda: Call((x, x), {"weights": ones((3,))}), "`weights`"),
    )


CASES = [
    Case(
        "entropy",
        _entropy,
        edge_cases=(
            lambda: Call((ONE_HOT,)),
            lambda: Call((zeros((2, K)),)),
            _masked(ZERO_TARGETS),
            _example_masked(NAN_SECOND),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, K), jnp.int32),)), "`probabilities`"),
            Bad(lambda: Call((ones((2, K)),), {"where": ones((3,), bool)}), "`where`"),
            Bad(lambda: Call((ones((2, K)),), {"weights": ones((2, K))}), "`weights`"),
            Bad(lambda: Call((ones((2, K)),), {"where": ones((3, K), bool)}), "`where`"),
            Bad(lambda: Call((ones((2, K)),), {"axis": (1, 1)}), "`axis`"),
        ),
    ),
    Case(
        "cross_entropy",
        _log_and_targets,
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((LOG_Q_HOLES, ZERO_TARGETS)),
            lambda: Call((_log(ONE_HOT), ONE_HOT)),
            _masked(LOG_Q_HOLES, ZERO_TARGETS),
            _example_masked(_log(NAN_SECOND), NAN_SECOND),
        ),
        bad_calls=(*_pair_bad_calls("log_predictions", "targets"), *_example_bad_calls()),
    ),
    *[
        Case(
            name,
            _log_and_targets,
            fn=_optax_where(getattr(jaxloss, name)),
            grad_argnums=(0, 1),
            edge_cases=(
                lambda: Call((LOG_Q_HOLES, ZERO_TARGETS)),
                lambda: Call((_log(ONE_HOT), ONE_HOT)),
                lambda: Call((UNIFORM_LOG, ONE_HOT)),
                lambda: Call((UNIFORM_LOG, zeros((2, K)))),
                _masked(LOG_Q_HOLES, ZERO_TARGETS),
                # optax's entry mask over a whole example, with weights; NaN stays out.
                lambda: Call(
                    (_log(NAN_SECOND), NAN_SECOND),
                    {
                        "where": on_device(np.asarray(EXAMPLE_MASK)[:, None]),
                        "weights": on_device([2.0, 1.0]),
                    },
                ),
            ),
            bad_calls=_pair_bad_calls("log_predictions", "targets"),
        )
        for name in ("kl_divergence", "generalized_kl_divergence", "convex_kl_divergence")
    ],
    Case(
        "kl_divergence_with_log_targets",
        _log_and_log_targets,
        fn=_optax_where(jaxloss.kl_divergence_with_log_targets),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((LOG_Q_HOLES, _log(ZERO_TARGETS))),
            lambda: Call((_log(ONE_HOT), _log(ONE_HOT))),
            lambda: Call((UNIFORM_LOG, _log(ONE_HOT))),
            _masked(LOG_Q_HOLES, _log(ZERO_TARGETS)),
        ),
        bad_calls=_pair_bad_calls("log_predictions", "log_targets"),
    ),
    Case(
        "js_divergence",
        _two_dists,
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((ONE_HOT, OTHER_HOT)),
            lambda: Call((ONE_HOT, ONE_HOT)),
            lambda: Call((ZERO_TARGETS, ZERO_TARGETS)),
            lambda: Call((ZERO_TARGETS, OTHER_HOT)),
            _masked(ZERO_TARGETS, ONE_HOT),
            _example_masked(NAN_SECOND, ONE_HOT),
        ),
        bad_calls=(*_pair_bad_calls("predictions", "targets"), *_example_bad_calls()),
    ),
    Case(
        "generalized_js_divergence",
        _two_dists_weighted,
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((ONE_HOT, OTHER_HOT), {"mixture_weights": (0.2, 0.8)}),
            lambda: Call((ONE_HOT, OTHER_HOT), {"mixture_weights": (1.0, 0.0)}),
            lambda: Call((ZERO_TARGETS, ZERO_TARGETS), {"mixture_weights": (0.9, 0.1)}),
        ),
        bad_calls=(
            *_pair_bad_calls("predictions", "targets"),
            *_example_bad_calls(),
            *[
                Bad(
                    lambda pair=pair: Call((ONE_HOT, ONE_HOT), {"mixture_weights": pair}),
                    "`mixture_weights`",
                )
                for pair in ((0.5, 0.6), (1.5, -0.5), (0.2, 0.3, 0.5))
            ],
        ),
    ),
    Case(
        "gaussian_kl_divergence",
        _gaussian,
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((zeros((2, K)), zeros((2, K)))),
            lambda: Call((ones((2, K)), full((2, K), 300.0)), {"prior_log_variance": 300.0}),
            lambda: Call(
                # e^80: the largest ratio of variances float32 holds (e^300 overflows it).
                (ones((2, K)), full((2, K), -81.0)),
                {"prior_log_variance": -80.0},
            ),
            _masked(ones((2, K)), zeros((2, K))),
            _example_masked(NAN_SECOND, NAN_SECOND),
        ),
        bad_calls=(
            *_example_bad_calls(),
            Bad(lambda: Call((zeros((2, K)), zeros((2, K + 1)))), "`mean`"),
            Bad(lambda: Call((zeros((2, K), jnp.int32), zeros((2, K)))), "`mean`"),
            Bad(
                lambda: Call((zeros((2, K)), zeros((2, K))), {"prior_mean": ones(3)}),
                "`prior_mean`",
            ),
            Bad(
                lambda: Call((zeros((2, K)), zeros((2, K))), {"prior_log_variance": ones((3, K))}),
                "`prior_log_variance`",
            ),
        ),
    ),
]
