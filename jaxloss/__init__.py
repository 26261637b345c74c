"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

# classification
from jaxloss.classification import (
    binary_cross_entropy,
    log_sigmoid,
    log_softmax,
    safe_softmax_cross_entropy,
    sigmoid,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    smooth_labels,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    softmax_focal_loss,
)

# fused
from jaxloss.fused import fused_linear_cross_entropy

# reductions
from jaxloss.reductions import reduce

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # classification
    "binary_cross_entropy",
    "log_sigmoid",
    "log_softmax",
    "safe_softmax_cross_entropy",
    "sigmoid",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal_loss",
    # fused
    "fused_linear_cross_entropy",
    # reductions
    "reduce",
]
