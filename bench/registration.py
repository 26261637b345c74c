"""`local_normalized_cross_correlation_loss` forward + backward beside MONAI's.

Volumes ``[2, 96, 96, 96, 1]`` float32 (channel-last; MONAI gets the channel-first copy
``[2, 1, 96, 96, 96]``), the value of ``reduction="mean"`` and its gradient with respect to
the predictions (the warped moving image), for MONAI's default window (rectangular, 3) and
VoxelMorph's (9), and a Gaussian window of 9. Peer: MONAI 1.6's
``LocalNormalizedCrossCorrelationLoss`` on torch CPU, ``loss(pred, target).backward()``,
at its best thread count (`torch_best_seconds`). The figure is torch_time / jax_time (> 1:
jaxloss is faster); the note gives the largest relative difference of the two values.
"""

from __future__ import annotations

import jax
import numpy as np

import jaxloss
from bench._timing import Result, interleaved_medians, progress, temp_bytes, torch_best_seconds

GROUP = "registration"
WINDOWS = (("rectangular", 3), ("rectangular", 9), ("gaussian", 9))


def volumes(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    fixed = rng.random(shape, dtype=np.float32)
    moving = (0.8 * fixed + 0.2 * rng.random(shape, dtype=np.float32)).astype(np.float32)
    return moving, fixed


def run(quick: bool = False) -> list[Result]:
    import torch
    from monai.losses import LocalNormalizedCrossCorrelationLoss

    shape = (1, 12, 12, 12, 1) if quick else (2, 96, 96, 96, 1)
    repeats = 2 if quick else 5
    windows = WINDOWS[:1] if quick else WINDOWS
    label = f"[{', '.join(map(str, shape))}] f32"
    moving, fixed = volumes(shape)
    p, t = jax.numpy.asarray(moving), jax.numpy.asarray(fixed)
    tp = torch.from_numpy(np.ascontiguousarray(np.moveaxis(moving, -1, 1)))
    tt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(fixed, -1, 1)))
    results = []
    for kernel, size in windows:
        name = f"{kernel} {size}"
        progress(f"  {GROUP}: LNCC {name} {label}")

        def loss(p, t, kernel=kernel, size=size):
            return jaxloss.local_normalized_cross_correlation_loss(
                p, t, kernel=kernel, kernel_size=size, spatial_dims=3, reduction="mean"
            )

        ours = jax.jit(jax.value_and_grad(loss))
        seconds = interleaved_medians({"jax": lambda ours=ours: ours(p, t)}, repeats=repeats)
        monai = LocalNormalizedCrossCorrelationLoss(
            spatial_dims=3, kernel_size=size, kernel_type=kernel
        )

        def torch_step(monai=monai):
            x = tp.clone().requires_grad_(True)
            value = monai(x, tt)
            value.backward()
            return value

        torch_seconds, threads = torch_best_seconds(torch_step, repeats)
        ours_value = float(ours(p, t)[0])
        reference = float(torch_step().detach())
        error = abs(ours_value - reference) / max(abs(reference), 1e-30)
        results += [
            Result(
                GROUP,
                f"monai/LNCC {name} forward+backward",
                label,
                torch_seconds,
                note=f"peer ({threads} threads)",
            ),
            Result(
                GROUP,
                f"jaxloss/LNCC {name} forward+backward vs monai",
                label,
                seconds["jax"],
                "monai",
                torch_seconds / seconds["jax"],
                temp_bytes(jax.value_and_grad(loss), p, t),
                f"value rel. diff {error:.1e}",
            ),
        ]
    return results
