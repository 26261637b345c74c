"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

from jaxloss.reductions import reduce

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "reduce",
]
