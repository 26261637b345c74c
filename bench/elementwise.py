"""Elementwise losses with reduction="mean" against optax, torch and two hardware references.

References, each over the same two arrays:
- bandwidth: a jitted `jnp.sum(x) + jnp.sum(y)` (one read of every byte);
- transcendental: `jnp.sum(jnp.log1p(jnp.exp(-jnp.abs(x)))) + jnp.sum(y)` (one exp and one
  log1p per element, the least a stable log-loss needs).
A loss's figure is reference_time / loss_time: 1.0 means it runs at the reference's speed.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from bench._timing import Result, median_seconds, progress, temp_bytes, torch_median_seconds

GROUP = "elementwise"


def _ours():
    mean = functools.partial
    return {
        "mse": (mean(jaxloss.squared_error, reduction="mean"), "bandwidth"),
        "mae": (mean(jaxloss.absolute_error, reduction="mean"), "bandwidth"),
        "huber": (mean(jaxloss.huber_loss, reduction="mean"), "bandwidth"),
        "smooth_l1": (mean(jaxloss.smooth_l1_loss, reduction="mean"), "bandwidth"),
        "log_cosh": (mean(jaxloss.log_cosh, reduction="mean"), "transcendental"),
        "sigmoid_bce": (
            mean(jaxloss.sigmoid_binary_cross_entropy, reduction="mean"),
            "transcendental",
        ),
        "sigmoid_focal": (mean(jaxloss.sigmoid_focal_loss, reduction="mean"), "transcendental"),
    }


def _optax():
    return {
        "mse": lambda x, y: jnp.mean(optax.losses.squared_error(x, y)),
        "huber": lambda x, y: jnp.mean(optax.losses.huber_loss(x, y)),
        "log_cosh": lambda x, y: jnp.mean(optax.losses.log_cosh(x, y)),
        "sigmoid_bce": lambda x, y: jnp.mean(optax.losses.sigmoid_binary_cross_entropy(x, y)),
        "sigmoid_focal": lambda x, y: jnp.mean(optax.losses.sigmoid_focal_loss(x, y)),
    }


def _torch():
    import torch
    import torch.nn.functional as F

    def focal(x, y, gamma=2.0):
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        return (ce * (1 - p_t) ** gamma).mean()

    return {
        "mse": lambda x, y: F.mse_loss(x, y),
        "mae": lambda x, y: F.l1_loss(x, y),
        "huber": lambda x, y: F.huber_loss(x, y),
        "smooth_l1": lambda x, y: F.smooth_l1_loss(x, y),
        "log_cosh": lambda x, y: torch.log(torch.cosh(x - y)).mean(),
        "sigmoid_bce": lambda x, y: F.binary_cross_entropy_with_logits(x, y),
        "sigmoid_focal": focal,
    }


def references():
    return {
        "bandwidth": lambda x, y: jnp.sum(x) + jnp.sum(y),
        "transcendental": lambda x, y: jnp.sum(jnp.log1p(jnp.exp(-jnp.abs(x)))) + jnp.sum(y),
    }


def inputs(num_elements: int):
    x = jax.random.normal(jax.random.key(0), (num_elements,), jnp.float32)
    y = jax.random.uniform(jax.random.key(1), (num_elements,), jnp.float32)
    return x, y


def run(quick: bool = False) -> list[Result]:
    n = (1 << 20) if quick else (1 << 24)  # 4 MiB or 64 MiB per array
    repeats = 5 if quick else 30
    shape = f"2 x [{n}] f32"
    x, y = inputs(n)
    refs = {k: median_seconds(jax.jit(f), x, y, repeats=repeats) for k, f in references().items()}
    results = [Result(GROUP, f"reference/{k}", shape, t, note="baseline") for k, t in refs.items()]
    optax_fns = _optax()
    torch_fns = {} if quick else _torch()
    if torch_fns:
        import torch

        tx, ty = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y))
    for name, (fn, ref) in _ours().items():
        progress(f"  {GROUP}: {name}")
        t = median_seconds(jax.jit(fn), x, y, repeats=repeats)
        results.append(
            Result(GROUP, f"jaxloss/{name}", shape, t, ref, refs[ref] / t, temp_bytes(fn, x, y))
        )
        if name in optax_fns:
            to = median_seconds(jax.jit(optax_fns[name]), x, y, repeats=repeats)
            results.append(
                Result(
                    GROUP,
                    f"optax/{name}",
                    shape,
                    to,
                    ref,
                    refs[ref] / to,
                    temp_bytes(optax_fns[name], x, y),
                )
            )
        if name in torch_fns:
            tt = torch_median_seconds(torch_fns[name], tx, ty, repeats=repeats)
            results.append(Result(GROUP, f"torch/{name}", shape, tt, ref, refs[ref] / tt))
    return results
