"""The registry of public functions that the contract suite (tests/test_contract.py) runs over.

Each family module in this package (``tests/registry/<family>.py``) defines ``CASES``, a list of
`Case`. Adding a public function to jaxloss means adding one `Case` here; the generic tests then
cover jit/eager agreement, vmap, gradients, reductions, dtypes, bad input and retracing.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss


@dataclasses.dataclass
class Call:
    """A call: `args` are traced (arrays or pytrees of arrays); `kwargs` are closed over."""

    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Bad:
    """A malformed call that must raise `exception` at trace time with `match` in the message."""

    call: Callable[[], Call]
    match: str
    exception: type[Exception] | tuple[type[Exception], ...] = (ValueError, TypeError)


LOW_PRECISION = (jnp.float16, jnp.bfloat16, jnp.float32)


@dataclasses.dataclass(frozen=True)
class Case:
    """One public function and how to call it.

    Attributes:
      name: the public name in ``jaxloss``.
      make: ``make(rng, batch_shape, dtype) -> Call``: inputs for a batch of the given leading
        shape, floating arrays in ``dtype``. The per-example output shape is
        ``out_shape(batch_shape)`` (default: ``batch_shape``).
      grad_argnums: positions in ``Call.args`` that gradients are checked against.
      reduces: the function accepts ``reduction=`` ("none" by default).
      batched: the function maps a leading batch axis elementwise, so the vmapped call equals
        the batched call (vmap is always compared with a loop over slices).
      dtypes: the floating dtypes whose output dtype is checked.
      edge_cases: thunks returning calls at singular points; values and gradients must be
        finite there.
      bad_calls: malformed calls that must raise a clear error.
      fn: the function (default ``getattr(jaxloss, name)``).
      shared_args: positions in ``Call.args`` that have no batch axis (parameters such as a
        weight matrix); the vmap test maps over the other arguments only.
      smooth_at: indices into ``edge_cases`` where the function is smooth (twice
        differentiable in a neighbourhood of the point, inside the domain): there the float64
        gradient must match central differences and the float32 Hessian-vector product the
        float64 one. Elsewhere (zero vectors, hinges at their margin, probabilities at the
        boundary of the simplex, ties) the derivative is a documented convention, checked only
        to be finite and equal in float32 and float64.
      check_hessian: Hessian-vector products are checked at the edge cases (finite, and
        equal in float32 and float64 where smooth). False only with a reason beside it.
      surrogate_gradient: the gradient is by definition not the derivative of the value
        (a factor the paper and the reference hold constant, ``stop_gradient``), so
        ``check_grads`` does not apply; the family's tests compare the gradient with the
        reference's. True only with a reason beside it.
    """

    name: str
    make: Callable[[np.random.Generator, tuple[int, ...], Any], Call]
    grad_argnums: tuple[int, ...] = (0,)
    reduces: bool = True
    batched: bool = True
    out_shape: Callable[[tuple[int, ...]], tuple[int, ...]] | None = None
    dtypes: tuple = LOW_PRECISION
    edge_cases: tuple[Callable[[], Call], ...] = ()
    bad_calls: tuple[Bad, ...] = ()
    fn: Callable | None = None
    shared_args: tuple[int, ...] = ()
    smooth_at: tuple[int, ...] = ()
    check_hessian: bool = True
    surrogate_gradient: bool = False

    @property
    def function(self) -> Callable:
        return self.fn if self.fn is not None else getattr(jaxloss, self.name)

    def expected_shape(self, batch_shape: tuple[int, ...]) -> tuple[int, ...]:
        return batch_shape if self.out_shape is None else self.out_shape(batch_shape)


def on_device(x, dtype=None) -> jax.Array:
    """``x`` as a device array of `dtype`, converted by numpy and transferred: no XLA program.

    ``jnp.asarray`` compiles a one-operation program per new shape and dtype (~15-20 ms on
    this machine), and the suite makes thousands of inputs (CONTRIBUTING.md, section 9).
    numpy's float conversions round to nearest-even as XLA's do, so the values are the same.
    """
    return jax.device_put(np.asarray(x, dtype=None if dtype is None else jnp.dtype(dtype)))


# The registry's constants, edge cases and malformed calls are built by numpy and transferred
# (`on_device`), not with jnp: each jnp operation runs an XLA program, and importing the
# registry compiled ~190 of them (4-5 s) in every process that imports it. The values and
# dtypes are jnp's: numpy's float64 and int64 become float32 and int32 on transfer unless
# float64 is enabled (as jnp's defaults), and what derives from a device constant is computed
# by numpy on its host copy (`np.asarray`), in its dtype. Rounding operations are kept by numpy
# only where the bits are jnp's (checked); a few stay jnp (see the comments beside them).
# Weak types: `jax.device_put` of a Python scalar is weakly typed, as `jnp.array(2.0)`; an
# array from numpy never is, unlike `jnp.full(shape, 0.5)` (a Python fill, no dtype).


def stacked(*edges: Callable[[], Call]) -> Callable[[], Call]:
    """Edge cases with the same shapes and no options as one call with a new leading axis.

    For functions that take leading batch dimensions and treat each index of them as an
    independent problem (the embedding losses' ``[..., B, D]``): each singular point keeps its
    own value and gradient, and the edge-case program traces the function once for all of
    them instead of once each (CONTRIBUTING.md, section 9, item 6).
    """

    def make() -> Call:
        calls = [edge() for edge in edges]
        if any(call.kwargs for call in calls):
            raise ValueError("stacked edge cases take positional arrays only")
        columns = zip(*(call.args for call in calls), strict=True)  # raises on unequal counts
        return Call(tuple(on_device(np.stack([np.asarray(a) for a in col])) for col in columns))

    return make


def ones(shape, dtype=None) -> jax.Array:
    """``jnp.ones(shape, dtype)``, built by numpy and transferred: no XLA program."""
    return on_device(np.ones(shape), dtype)


def zeros(shape, dtype=None) -> jax.Array:
    """``jnp.zeros(shape, dtype)``, built by numpy and transferred: no XLA program."""
    return on_device(np.zeros(shape), dtype)


def full(shape, fill_value, dtype=None) -> jax.Array:
    """``jnp.full(shape, fill_value, dtype)``, built by numpy and transferred: no XLA program
    (and, from a Python scalar, not weakly typed)."""
    return on_device(np.full(shape, fill_value), dtype)


def normal(rng: np.random.Generator, shape, dtype) -> jax.Array:
    """Standard-normal floating array of the given dtype."""
    return on_device(rng.standard_normal(shape), dtype)


def uniform(rng: np.random.Generator, shape, dtype, low=0.0, high=1.0) -> jax.Array:
    return on_device(rng.uniform(low, high, shape), dtype)


def probabilities(rng: np.random.Generator, shape, dtype) -> jnp.ndarray:
    """Random distributions along the last axis (strictly positive)."""
    p = rng.uniform(0.05, 1.0, shape)
    return on_device(p / p.sum(-1, keepdims=True), dtype)


def integers(rng: np.random.Generator, shape, high: int) -> jax.Array:
    return on_device(rng.integers(0, high, shape), jnp.int32)


def all_cases() -> list[Case]:
    """Every Case from every family module of this package, sorted by name."""
    cases: list[Case] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(getattr(module, "CASES", []))
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"registered twice: {duplicates}")
    return sorted(cases, key=lambda c: c.name)
