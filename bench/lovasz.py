"""`lovasz_softmax_loss` forward + backward beside kornia's.

Logits ``[B, H, W, C]`` float32 (channel-last, what jaxloss takes) and integer labels; the
loss is kornia's convention (each image over all classes, the mean over the batch:
``classes="all", reduction="mean"``), its value and its gradient with respect to the logits.
Peer: ``kornia.losses.lovasz_softmax_loss`` on the channel-first ``[B, C, H, W]`` copy, with
``backward()`` (faster of torch's default thread count and one thread). The figure is
torch_time / jaxloss_time (> 1: jaxloss is faster).
"""

from __future__ import annotations

import jax
import numpy as np

import jaxloss
from bench._timing import Result, interleaved_medians, progress, temp_bytes, torch_best_seconds

GROUP = "lovasz"


def run(quick: bool = False) -> list[Result]:
    import torch
    from kornia.losses import lovasz_softmax_loss as kornia_lovasz_softmax

    b, h, w, c = (2, 16, 16, 4) if quick else (8, 128, 128, 21)
    repeats = 3 if quick else 10
    shape = f"[{b}, {h}, {w}, {c}] f32"
    progress(f"  {GROUP}: {shape}")
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((b, h, w, c)).astype(np.float32)
    labels = rng.integers(0, c, (b, h, w)).astype(np.int32)

    def loss(x, y):
        return jaxloss.lovasz_softmax_loss(x, y, classes="all", reduction="mean")

    step = jax.jit(jax.value_and_grad(loss))
    x, y = jax.numpy.asarray(logits), jax.numpy.asarray(labels)
    t = interleaved_medians({"jaxloss": lambda: step(x, y)}, repeats=repeats)

    tx = torch.from_numpy(np.ascontiguousarray(logits.transpose(0, 3, 1, 2)))
    ty = torch.from_numpy(labels.astype(np.int64))

    def kornia_step():
        xt = tx.clone().requires_grad_(True)
        value = kornia_lovasz_softmax(xt, ty)
        value.backward()
        return value, xt.grad

    t["kornia"], threads = torch_best_seconds(kornia_step, repeats)
    value, _ = step(x, y)
    kornia_value = float(kornia_step()[0].detach())
    return [
        Result(
            GROUP,
            "kornia/lovasz_softmax_loss fwd+bwd",
            shape,
            t["kornia"],
            note=f"peer ({threads} threads)",
        ),
        Result(
            GROUP,
            "jaxloss/lovasz_softmax_loss fwd+bwd vs kornia",
            shape,
            t["jaxloss"],
            "kornia",
            t["kornia"] / t["jaxloss"],
            temp_bytes(jax.value_and_grad(loss), x, y),
            f"|value - kornia's| = {abs(float(value) - kornia_value):.1e}",
        ),
    ]
