"""Elementwise losses with reduction="mean" against optax, torch and two hardware references.

References, each over the same two arrays:
- bandwidth: a jitted `jnp.sum(x) + jnp.sum(y)` (one read of every byte);
- transcendental: `jnp.sum(jnp.log1p(jnp.exp(-jnp.abs(x)))) + jnp.sum(y)` (one exp and one
  log1p per element, the least a stable log-loss needs).
A loss's figure is reference_time / loss_time: 1.0 means it runs at the reference's speed.
"""

from __future__ import annotations

import functools
import statistics

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from bench._timing import Result, interleaved_medians, one_thread, progress, temp_bytes

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
    n = (1 << 16) if quick else (1 << 24)  # 256 KiB or 64 MiB per array
    repeats = 5 if quick else 30
    shape = f"2 x [{n}] f32"
    x, y = inputs(n)
    refs = {k: jax.jit(f) for k, f in references().items()}
    optax_fns = _optax()
    torch_fns = _torch()
    import torch

    tx, ty = torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y))
    results = []
    ref_times: dict[str, list[float]] = {k: [] for k in refs}
    for name, (fn, ref) in _ours().items():
        progress(f"  {GROUP}: {name}")
        # One round-robin per loss: its reference, ours and the peers, so that load from other
        # processes hits them alike.
        calls = {"ref": functools.partial(refs[ref], x, y)}
        calls["jaxloss"] = functools.partial(jax.jit(fn), x, y)
        if name in optax_fns:
            calls["optax"] = functools.partial(jax.jit(optax_fns[name]), x, y)
        if name in torch_fns:
            # torch at its default thread count and at one thread; the faster is reported (on
            # a loaded machine its OpenMP barriers can cost a time slice each).
            calls["torch"] = functools.partial(torch_fns[name], tx, ty)
            calls["torch 1 thread"] = functools.partial(one_thread(torch_fns[name]), tx, ty)
        times = interleaved_medians(calls, repeats=repeats)
        if "torch" in times:
            one = times.pop("torch 1 thread")
            torch_threads = "default threads" if times["torch"] <= one else "1 thread"
            times["torch"] = min(times["torch"], one)
        ref_times[ref].append(times["ref"])
        peers = {"jaxloss": fn, "optax": optax_fns.get(name), "torch": None}
        for impl, t in times.items():
            if impl == "ref":
                continue
            mem = temp_bytes(peers[impl], x, y) if peers[impl] is not None else None
            note = f"{ref} reference {times['ref'] * 1e3:.3f} ms in the same rounds"
            if impl == "torch":
                note += f"; torch at {torch_threads}"
            results.append(
                Result(GROUP, f"{impl}/{name}", shape, t, ref, times["ref"] / t, mem, note)
            )
        if "optax" in times:
            t = times["jaxloss"]
            results.append(
                Result(GROUP, f"jaxloss/{name} vs optax", shape, t, "optax", times["optax"] / t)
            )
    head = [
        Result(GROUP, f"reference/{k}", shape, statistics.median(v), note="baseline")
        for k, v in ref_times.items()
    ]
    return head + results
