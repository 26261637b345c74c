"""One compiled call for an eager (un-jitted) call of a loss with many small operations.

Called eagerly, as in a notebook, JAX dispatches a function op by op, compiling each
primitive on first use: a loss of a few hundred operations (a compound Dice loss, a
contingency table) takes seconds on its first call. `compiled_when_eager` runs such a call
through one cached ``jax.jit`` instead (CONTRIBUTING.md, section 11): array arguments are
traced, every other option is static (a new value compiles a new kernel, as it would
retrace under the user's own ``jit``).

Inside the kernel the data checks (`_checks.check_class_ids`, ...) see traced arrays, so
the kernel runs under ``checkify`` and a failed check raises the same ``ValueError`` an
eager call raises on concrete data. Inside any transformation (``jit``, ``grad``, ``vmap``,
even of closed-over constants) or under ``jax.disable_jit()`` the function runs as written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import numpy as np
from jax.experimental import checkify

F = TypeVar("F", bound=Callable[..., Any])


def _is_array(x: Any) -> bool:
    return isinstance(x, jax.Array | np.ndarray)


def compiled_when_eager(fn: F) -> F:
    """`fn`, run through one cached, checkified ``jax.jit`` when called eagerly."""

    @functools.lru_cache(maxsize=64)
    def kernel(static: tuple, dynamic_names: tuple):
        def call(args, dynamic):
            return fn(*args, **dict(zip(dynamic_names, dynamic, strict=True)), **dict(static))

        return jax.jit(checkify.checkify(call, errors=checkify.user_checks))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # `jax_disable_jit` is a dynamic attribute of `jax.config` that no stub declares, and
        # `jax.config.read` refuses flags that have a context manager: read it by name.
        if getattr(jax.config, "jax_disable_jit") or not _eager():  # noqa: B009
            return fn(*args, **kwargs)
        if not all(_is_array(a) for a in jax.tree.leaves(args)):
            return fn(*args, **kwargs)  # Python lists or scalars: the function's own errors
        dynamic = {k: v for k, v in kwargs.items() if v is not None and _tree_of_arrays(v)}
        static = tuple(sorted((k, v) for k, v in kwargs.items() if k not in dynamic))
        try:
            hash(static)
        except TypeError:
            return fn(*args, **kwargs)
        names = tuple(sorted(dynamic))
        err, out = kernel(static, names)(args, tuple(dynamic[k] for k in names))
        message = err.get()
        if message is not None:
            raise ValueError(message.removesuffix(" (`check` failed)"))
        return out

    return wrapper  # type: ignore[return-value]


def _eager() -> bool:
    """True outside every trace (jit, grad, vmap, ...), closed-over constants included."""
    try:
        from jax._src import core  # no public API tells whether a trace is running

        return bool(core.trace_state_clean())
    except (ImportError, AttributeError):
        return False  # unknown: run the function as written, always correct


def _tree_of_arrays(value: Any) -> bool:
    leaves = jax.tree.leaves(value)
    return bool(leaves) and all(_is_array(x) for x in leaves)
