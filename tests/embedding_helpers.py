"""Helpers shared by the embedding families' tests (test_pairs, test_triplets, test_mining)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import torch

TOL = {"rtol": 1e-5, "atol": 1e-6}
CDIST = {
    "euclidean": "euclidean",
    "squared_euclidean": "sqeuclidean",
    "cosine": "cosine",
    "manhattan": "cityblock",
    "chebyshev": "chebyshev",
}

_COMPILED: dict = {}
_STATIC_NUMBERS = ("norm_degree", "axis")


def jit(fn):
    """``fn`` under ``jax.jit``: string, bool and callable options (and ``norm_degree``) are
    static, numbers are traced, so each test compiles once per shape instead of running
    op by op."""

    def call(*args, **kw):
        static = {
            k: v
            for k, v in kw.items()
            if isinstance(v, str | bool) or callable(v) or k in _STATIC_NUMBERS
        }
        dynamic = {k: v for k, v in kw.items() if k not in static}
        key = (fn, tuple(sorted(static.items(), key=lambda item: item[0])))
        if key not in _COMPILED:
            _COMPILED[key] = jax.jit(functools.partial(fn, **static))
        return _COMPILED[key](*args, **dynamic)

    return call


def as_torch(x):
    return torch.from_numpy(np.array(x, np.float64))


def grad_finite(fn, *args):
    grad = jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args))))
    grads = jax.jit(grad)(*args)
    return all(bool(jnp.all(jnp.isfinite(g))) for g in grads), grads


def checked_mode(fn, bad, good, name):
    """Data checks (CONTRIBUTING.md, section 7): eager concrete `bad` data raises a ValueError
    naming `name`; under ``checkify(jit(fn), errors=user_checks)`` bad data gives an error
    naming it and good data no error and the unchecked jit's value."""
    import pytest
    from jax.experimental import checkify

    with pytest.raises(ValueError, match=f"`{name}`"):
        fn(bad)
    checked = checkify.checkify(jax.jit(fn), errors=checkify.user_checks)
    err, _ = checked(bad)
    assert err.get() is not None and f"`{name}`" in err.get(), err.get()
    err, value = checked(good)
    assert err.get() is None, err.get()
    np.testing.assert_allclose(value, jax.jit(fn)(good), rtol=1e-12)
