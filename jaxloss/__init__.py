"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

from jaxloss.objectives import (
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    objective,
)
from jaxloss.reductions import reduce
from jaxloss.regression import (
    absolute_error,
    huber_loss,
    l2_loss,
    log_cosh,
    mean_absolute_error,
    mean_squared_error,
    pseudo_huber_loss,
    root_mean_squared_error,
    smooth_l1_loss,
    squared_error,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # objectives
    "elastic_net_penalty",
    "l1_penalty",
    "l2_penalty",
    "objective",
    # regression
    "absolute_error",
    "huber_loss",
    "l2_loss",
    "log_cosh",
    "mean_absolute_error",
    "mean_squared_error",
    "pseudo_huber_loss",
    "root_mean_squared_error",
    "smooth_l1_loss",
    "squared_error",
    # reductions
    "reduce",
]
