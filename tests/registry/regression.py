"""Registry entries for jaxloss.regression (the elementwise losses)."""

import numpy as np

from tests.registry import Bad, Call, Case, normal, on_device, ones, zeros

_ELEMENTWISE = {
    "squared_error": {},
    "l2_loss": {},
    "absolute_error": {},
    "huber_loss": {"delta": 0.7},
    "smooth_l1_loss": {"beta": 0.7},
    "pseudo_huber_loss": {"delta": 0.7},
    "log_cosh": {},
}


def _elementwise(kwargs):
    def make(rng, batch, dtype):
        return Call((normal(rng, batch, dtype), normal(rng, batch, dtype)), dict(kwargs))

    return make


def _kinks(kwargs):
    """Residuals exactly 0, +-threshold, and large (1e4), both argument orders traced."""
    threshold = kwargs.get("delta", kwargs.get("beta", 1.0))
    predictions = on_device([0.0, threshold, -threshold, 1e4, -1e4, 2.0])
    return lambda: Call((predictions, on_device([0.0, 0.0, 0.0, 0.0, 0.0, 2.0])), dict(kwargs))


def _elementwise_bad(name, kwargs):
    bad = [
        Bad(
            lambda: Call((on_device(np.arange(3)), zeros(3)), dict(kwargs)),
            "`predictions`",
            TypeError,
        ),
        Bad(lambda: Call((zeros(3), zeros(4)), dict(kwargs)), "`targets`"),
        Bad(
            lambda: Call((zeros(3), zeros(3)), {**kwargs, "where": ones(4, bool)}),
            "`where`",
        ),
    ]
    if "delta" in kwargs:
        bad.append(Bad(lambda: Call((zeros(3), zeros(3)), {"delta": 0.0}), "`delta`"))
    if "beta" in kwargs:
        bad.append(Bad(lambda: Call((zeros(3), zeros(3)), {"beta": -0.5}), "`beta`"))
    return tuple(bad)


CASES = [
    Case(
        name,
        _elementwise(kwargs),
        grad_argnums=(0, 1),
        edge_cases=(
            _kinks(kwargs),
            lambda kwargs=kwargs: Call(
                (zeros(3), zeros(3)),
                {**kwargs, "reduction": "mean", "where": zeros(3, bool)},
            ),
        ),
        bad_calls=_elementwise_bad(name, kwargs),
    )
    for name, kwargs in _ELEMENTWISE.items()
]
