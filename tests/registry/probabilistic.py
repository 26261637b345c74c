"""Registry entries for jaxloss.probabilistic and jaxloss.robust.

`student_t_nll` and `general_robust_loss` take their learnable parameters (``df``; ``alpha``
and ``scale``) as keywords; they are registered through wrappers that make them positional, so
the contract suite differentiates with respect to them too.
"""

from collections.abc import Hashable

import jax.numpy as jnp

import jaxloss
from tests.registry import Bad, Call, Case, full, normal, on_device, ones, uniform, zeros

Q = on_device([0.1, 0.5, 0.9])
INF = jnp.inf


def _student(
    predictions,
    targets,
    scale,
    df,
    *,
    where=None,
    weights=None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
):
    return jaxloss.student_t_nll(
        predictions,
        targets,
        scale,
        df=df,
        where=where,
        weights=weights,
        reduction=reduction,
        axis_name=axis_name,
    )


def _robust(
    predictions,
    targets,
    alpha,
    scale,
    *,
    where=None,
    weights=None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
):
    return jaxloss.general_robust_loss(
        predictions,
        targets,
        alpha=alpha,
        scale=scale,
        where=where,
        weights=weights,
        reduction=reduction,
        axis_name=axis_name,
    )


def _positive_pair(rng, batch, dtype):
    return Call((uniform(rng, batch, dtype, 0.5, 2.0), uniform(rng, batch, dtype, 0.5, 3.0)))


def _deviance_case(name, kwargs, edges, smooth_at):
    def make(rng, batch, dtype):
        call = _positive_pair(rng, batch, dtype)
        return Call(call.args, dict(kwargs))

    return Case(
        name,
        make,
        edge_cases=edges,
        smooth_at=smooth_at,
        bad_calls=(
            Bad(lambda: Call((ones(2), ones(3)), dict(kwargs)), "`targets`"),
            Bad(lambda: Call((ones(2, jnp.int32), ones(2)), dict(kwargs)), "`predictions`"),
            Bad(lambda: Call((ones(2), ones(2, bool)), dict(kwargs)), "`targets`"),
        ),
    )


_robust_x = on_device([0.0, 0.5, -2.0, 10.0])


def _robust_at(alpha):
    return lambda: Call((_robust_x, zeros(4), full((4,), alpha), on_device([1.0, 0.5, 2.0, 1.0])))


CASES = [
    Case(
        "quantile_loss",
        lambda rng, batch, dtype: Call(
            (normal(rng, (*batch, 3), dtype), normal(rng, batch, dtype)), {"quantiles": Q}
        ),
        grad_argnums=(0, 1),
        out_shape=lambda batch: (*batch, 3),
        edge_cases=(
            # Ties (the kink), quantiles 0 and 1.
            lambda: Call(
                (on_device([[0.5, 0.5, -1.0]]), on_device([0.5])),
                {"quantiles": on_device([0.0, 1.0, 0.5])},
            ),
            lambda: Call(
                (on_device([1.0, 2.0]), on_device([3.0, 0.0])),
                {"quantiles": 1.0, "weights": on_device([2.0, 1.0]), "reduction": "mean"},
            ),
        ),
        smooth_at=(1,),
        bad_calls=(
            Bad(lambda: Call((zeros(3), zeros(3)), {"quantiles": 1.5}), "`quantiles`"),
            Bad(
                lambda: Call((zeros((2, 3)), zeros(2)), {"quantiles": full(2, 0.5)}),
                "`quantiles`",
            ),
            Bad(lambda: Call((zeros((2, 3)), zeros(3))), "`targets`"),
        ),
    ),
    _deviance_case(
        "tweedie_deviance",
        {"power": 1.5},
        (
            # A zero observation (compound Poisson-gamma), a tiny mean.
            lambda: Call((on_device([1.0, 1e-3, 2.0]), on_device([0.0, 5.0, 2.0])), {"power": 1.5}),
            # p < 0: negative observations allowed; p = 3 (inverse Gaussian).
            lambda: Call((on_device([1.0, 0.5]), on_device([-2.0, 0.0])), {"power": -1.0}),
            lambda: Call((on_device([1.0, 0.5]), on_device([2.0, 0.1])), {"power": 3}),
            lambda: Call((on_device([1.0, 0.5]), on_device([-2.0, 0.0])), {"power": 0}),
        ),
        (0, 1, 2, 3),
    ),
    _deviance_case(
        "poisson_deviance",
        {},
        (
            lambda: Call((on_device([1.0, 0.5, 3.0]), on_device([0.0, 0.0, 3.0]))),  # y = 0
            lambda: Call(
                (on_device([1e-4, 50.0]), on_device([7, 0])),
                {"where": on_device([True, True]), "reduction": "sum"},
            ),
        ),
        (0, 1),
    ),
    _deviance_case(
        "gamma_deviance",
        {},
        (lambda: Call((on_device([1e-3, 1e3, 2.0]), on_device([1e3, 1e-3, 2.0]))),),
        (0,),
    ),
    Case(
        "gaussian_crps",
        lambda rng, batch, dtype: Call(
            (
                normal(rng, batch, dtype),
                normal(rng, batch, dtype),
                uniform(rng, batch, dtype, 0.2, 2),
            )
        ),
        grad_argnums=(0, 2),
        edge_cases=(
            # A collapsed forecast (scale 0), exactly right and wrong.
            lambda: Call((on_device([0.0, 1.0, -2.0]), on_device([0.0, 0.0, 1.0]), zeros(3))),
            # Far in the tails: z = +-5000.
            lambda: Call((on_device([0.0, 0.0]), on_device([5.0, -5.0]), on_device([1e-3, 1e-3]))),
            lambda: Call(
                (on_device([0.0, jnp.nan]), on_device([1.0, 1.0]), on_device([1.0, -1.0])),
                {"where": on_device([True, False]), "reduction": "mean"},
            ),
        ),
        smooth_at=(1, 2),
        bad_calls=(
            Bad(lambda: Call((zeros(2), zeros(2), ones(3))), "`scale`"),
            Bad(lambda: Call((zeros(2), zeros(2), ones(2, jnp.int32))), "`scale`"),
            Bad(lambda: Call((zeros(2), zeros(3), ones(2))), "`targets`"),
        ),
    ),
    Case(
        "ensemble_crps",
        lambda rng, batch, dtype: Call(
            (normal(rng, (*batch, 6), dtype), normal(rng, batch, dtype)), {"estimator": "fair"}
        ),
        grad_argnums=(0, 1),
        edge_cases=(
            # Tied members, a member equal to the observation.
            lambda: Call(
                (on_device([[0.5, 0.5, -1.0, 2.0], [0.0, 1.0, 1.0, 3.0]]), on_device([0.3, 1.0]))
            ),
            # One member: the absolute error.
            lambda: Call((on_device([[0.5], [2.0]]), on_device([0.0, 1.0])), {"estimator": "fair"}),
        ),
        bad_calls=(
            Bad(lambda: Call((zeros((2, 3)), zeros(3))), "`targets`"),
            Bad(
                lambda: Call((zeros((2, 3)), zeros(2)), {"estimator": "unbiased"}),
                "`estimator`",
            ),
            Bad(lambda: Call((zeros((2, 3), jnp.int32), zeros(2))), "`predictions`"),
        ),
    ),
    Case(
        "student_t_nll",
        lambda rng, batch, dtype: Call(
            (
                normal(rng, batch, dtype),
                normal(rng, batch, dtype),
                uniform(rng, batch, dtype, 0.5, 2.0),
                uniform(rng, batch, dtype, 1.0, 10.0),
            )
        ),
        grad_argnums=(0, 1, 2, 3),
        fn=_student,
        edge_cases=(
            # Tiny and huge degrees of freedom, a residual of 1e4 scales.
            lambda: Call(
                (
                    on_device([0.0, 0.0, 1.0]),
                    on_device([1e4, 1.0, 1.0]),
                    ones(3),
                    on_device([0.1, 1e4, 1.0]),
                )
            ),
        ),
        smooth_at=(0,),
        bad_calls=(
            Bad(lambda: Call((zeros(2), zeros(2), ones(3), ones(2))), "`scale`"),
            Bad(lambda: Call((zeros(2), zeros(2), ones(2), ones(3))), "`df`"),
            Bad(
                lambda: Call((zeros(2), zeros(2), ones(2), ones(2, jnp.int32))),
                "`df`",
            ),
        ),
    ),
    Case(
        "general_robust_loss",
        lambda rng, batch, dtype: Call(
            (
                normal(rng, batch, dtype),
                normal(rng, batch, dtype),
                uniform(rng, batch, dtype, -3.0, 1.5),
                uniform(rng, batch, dtype, 0.5, 2.0),
            )
        ),
        grad_argnums=(0, 1, 2, 3),
        fn=_robust,
        edge_cases=(
            _robust_at(2.0),  # L2: d rho / d alpha unbounded, taken as 0
            _robust_at(1.0),  # Charbonnier
            _robust_at(0.0),  # Cauchy: 0/0 in the general formula
            _robust_at(-2.0),  # Geman-McClure
            _robust_at(-INF),  # Welsch
            _robust_at(INF),
            _robust_at(1e-6),
        ),
        smooth_at=(1, 2, 3, 4, 6),
        bad_calls=(
            Bad(
                lambda: Call((zeros(2), zeros(2), ones(2, jnp.int32), ones(2))),
                "`alpha`",
            ),
            Bad(lambda: Call((zeros(2), zeros(2), ones(2), ones(3))), "`scale`"),
            Bad(lambda: Call((zeros(2), zeros(3), ones(2), ones(2))), "`targets`"),
        ),
    ),
]
