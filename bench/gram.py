"""`gram_matrix` of channel-last feature maps as a fraction of a bare batched matmul.

Features ``[B, H, W, C]`` float32 (Flax's layout, what `gram_matrix` takes). The reference is a
jitted `jnp.matmul` of the same contraction laid out for it in advance, ``[B, C, HW] @ [B, HW,
C]``; the figure is matmul_time / gram_time, the fraction of the matmul's FLOP rate that
`gram_matrix` reaches (target >= 0.9), and each row's note gives its GFLOP/s
(``2 B C^2 H W`` flops). Peer: torch's idiomatic Gram on its channel-first layout,
``F = x.view(B, C, H * W); torch.bmm(F, F.transpose(1, 2)) / (H * W)`` (faster of its default
thread count and one thread).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import Result, interleaved_medians, progress, temp_bytes, torch_best_seconds

GROUP = "gram"


def features(b: int, h: int, w: int, c: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((b, h, w, c)).astype(np.float32)


def run(quick: bool = False) -> list[Result]:
    import torch

    b, h, w, c = (2, 16, 16, 32) if quick else (8, 128, 128, 256)
    repeats = 3 if quick else 10
    shape = f"[{b}, {h}, {w}, {c}] f32"
    flops = 2 * b * c * c * h * w
    progress(f"  {GROUP}: {shape}")
    fn = features(b, h, w, c)
    x = jnp.asarray(fn)
    channels_first = np.ascontiguousarray(fn.reshape(b, h * w, c).transpose(0, 2, 1))
    lhs, rhs = jnp.asarray(channels_first), jnp.asarray(channels_first.transpose(0, 2, 1).copy())
    matmul, gram = jax.jit(jnp.matmul), jax.jit(jaxloss.gram_matrix)
    t = interleaved_medians(
        {"matmul": lambda: matmul(lhs, rhs), "gram": lambda: gram(x)}, repeats=repeats
    )

    tx = torch.from_numpy(np.ascontiguousarray(fn.transpose(0, 3, 1, 2)))  # NCHW

    def torch_gram():
        f = tx.view(b, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (h * w)

    t["torch"], threads = torch_best_seconds(torch_gram, repeats)
    expected = np.matmul(channels_first.astype(np.float64), channels_first.transpose(0, 2, 1))
    error = float(np.max(np.abs(np.asarray(gram(x), np.float64) - expected / (h * w))))

    def rate(k):
        return f"{flops / t[k] / 1e9:.1f} GFLOP/s"

    return [
        Result(
            GROUP,
            "reference/matmul [B, C, HW] @ [B, HW, C]",
            shape,
            t["matmul"],
            note=f"baseline; {rate('matmul')}",
        ),
        Result(
            GROUP,
            "torch/bmm gram",
            shape,
            t["torch"],
            note=f"peer ({threads} threads); {rate('torch')}",
        ),
        Result(
            GROUP,
            "jaxloss/gram_matrix",
            shape,
            t["gram"],
            "matmul",
            t["matmul"] / t["gram"],
            temp_bytes(jaxloss.gram_matrix, x),
            f"{rate('gram')}; max abs err vs float64 {error:.1e}",
        ),
        Result(
            GROUP, "jaxloss/gram_matrix vs torch", shape, t["gram"], "torch", t["torch"] / t["gram"]
        ),
    ]
