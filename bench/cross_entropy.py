"""Integer-label cross-entropy (N tokens, V classes) against optax, torch and one logits read.

Forward figures are reported as read_time / time (1.0 = as fast as one read of the logits);
forward+backward figures as peer_time / time (> 1 = faster than the peer).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from bench._timing import Result, median_seconds, progress, temp_bytes, torch_median_seconds

GROUP = "cross_entropy"


def _ours(logits, labels):
    return jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, reduction="mean")


def _optax(logits, labels):
    return jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels))


def run(quick: bool = False) -> list[Result]:
    n, v = (256, 4096) if quick else (2048, 32768)
    repeats = 5 if quick else 20
    results = []
    for dtype in (jnp.float32, jnp.bfloat16):
        shape = f"[{n}, {v}] {jnp.dtype(dtype).name}"
        logits = jax.random.normal(jax.random.key(0), (n, v), dtype)
        labels = jax.random.randint(jax.random.key(1), (n,), 0, v)
        progress(f"  {GROUP}: {shape}")
        read = median_seconds(jax.jit(jnp.sum), logits, repeats=repeats)
        results.append(Result(GROUP, "reference/read_logits", shape, read, note="baseline"))
        fwd = {}
        for name, fn in (("jaxloss", _ours), ("optax", _optax)):
            t = median_seconds(jax.jit(fn), logits, labels, repeats=repeats)
            fwd[name] = t
            results.append(
                Result(
                    GROUP,
                    f"{name}/forward",
                    shape,
                    t,
                    "read_logits",
                    read / t,
                    temp_bytes(fn, logits, labels),
                )
            )
        bwd = {}
        for name, fn in (("jaxloss", _ours), ("optax", _optax)):
            vg = jax.jit(jax.value_and_grad(fn))
            bwd[name] = median_seconds(vg, logits, labels, repeats=repeats)
        results.append(Result(GROUP, "optax/forward+backward", shape, bwd["optax"], note="peer"))
        results.append(
            Result(
                GROUP,
                "jaxloss/forward+backward",
                shape,
                bwd["jaxloss"],
                "optax",
                bwd["optax"] / bwd["jaxloss"],
                temp_bytes(jax.value_and_grad(_ours), logits, labels),
            )
        )
        if not quick and dtype == jnp.float32:
            results.extend(_torch(logits, labels, shape, bwd["jaxloss"], repeats))
    return results


def _torch(logits, labels, shape, ours_seconds, repeats):
    import torch
    import torch.nn.functional as F

    tl = torch.from_numpy(np.asarray(logits)).requires_grad_(True)
    ty = torch.from_numpy(np.asarray(labels)).long()

    def forward():
        with torch.no_grad():
            return F.cross_entropy(tl, ty)

    def forward_backward():
        tl.grad = None
        loss = F.cross_entropy(tl, ty)
        loss.backward()
        return loss

    f = torch_median_seconds(forward, repeats=repeats)
    fb = torch_median_seconds(forward_backward, repeats=repeats)
    return [
        Result(GROUP, "torch/forward", shape, f, note="peer"),
        Result(GROUP, "torch/forward+backward", shape, fb, note="peer; ratio on jaxloss row"),
        Result(
            GROUP,
            "jaxloss/forward+backward vs torch",
            shape,
            ours_seconds,
            "torch",
            fb / ours_seconds,
        ),
    ]
