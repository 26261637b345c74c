"""SSIM and MS-SSIM forward + backward beside pytorch-msssim (torch CPU) and dm-pix (jitted).

Images ``[B, H, W, C]`` float32 in ``[0, 1]`` (channel-last, what jaxloss takes; torch gets
the same images channel-first, laid out in advance). Each timed call is the value and the
gradient of the batch mean with respect to the first images: ``jax.jit(jax.value_and_grad)``
for jaxloss and dm-pix, ``ssim(...).backward()`` for pytorch-msssim (faster of its default
thread count and one thread). Figures are peer_time / jaxloss_time (> 1: jaxloss is faster).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import Result, interleaved_medians, progress, temp_bytes, torch_best_seconds

GROUP = "image_quality"


def images(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, shape)
    return np.clip(x + 0.1 * rng.standard_normal(shape), 0, 1).astype(np.float32)


def _value_and_grad(fn, y):
    return jax.jit(jax.value_and_grad(lambda x: jnp.mean(fn(x, y))))


def run(quick: bool = False) -> list[Result]:
    import dm_pix
    import pytorch_msssim
    import torch

    b, h, w, c = (1, 40, 40, 3) if quick else (16, 256, 256, 3)
    # quick: a 3-tap window and 2 scales (pytorch-msssim still asks for sides above 32)
    window = {"window_size": 3} if quick else {}
    scales = {"power_factors": (0.4, 0.6)} if quick else {}
    repeats = 3 if quick else 7
    shape = f"[{b}, {h}, {w}, {c}] f32"
    progress(f"  {GROUP}: {shape}")
    xn, yn = images((b, h, w, c), 0), images((b, h, w, c), 1)
    x, y = jnp.asarray(xn), jnp.asarray(yn)
    ssim = _value_and_grad(lambda a, t: jaxloss.ssim(a, t, **window), y)
    ms_ssim = _value_and_grad(lambda a, t: jaxloss.ms_ssim(a, t, **window, **scales), y)
    pix = _value_and_grad(lambda a, t: dm_pix.ssim(a, t, **_pix_window(window)), y)
    t = interleaved_medians(
        {"ssim": lambda: ssim(x), "ms_ssim": lambda: ms_ssim(x), "dm_pix": lambda: pix(x)},
        repeats=repeats,
    )

    tx = torch.from_numpy(np.ascontiguousarray(xn.transpose(0, 3, 1, 2))).requires_grad_(True)
    ty = torch.from_numpy(np.ascontiguousarray(yn.transpose(0, 3, 1, 2)))
    win_size = window.get("window_size", 11)

    def torch_step(fn, **options):
        def step():
            tx.grad = None
            fn(tx, ty, data_range=1.0, win_size=win_size, **options).backward()

        return step

    t["torch_ssim"], ssim_threads = torch_best_seconds(torch_step(pytorch_msssim.ssim), repeats)
    t["torch_ms_ssim"], ms_threads = torch_best_seconds(
        torch_step(pytorch_msssim.ms_ssim, weights=list(scales.get("power_factors", [])) or None),
        repeats,
    )
    gap = abs(float(ssim(x)[0]) - float(pix(x)[0]))

    return [
        Result(GROUP, "pytorch-msssim/ssim fwd+bwd", shape, t["torch_ssim"],
               note=f"peer ({ssim_threads} threads)"),
        Result(GROUP, "dm_pix/ssim fwd+bwd", shape, t["dm_pix"], note="peer (jitted)"),
        Result(GROUP, "jaxloss/ssim fwd+bwd", shape, t["ssim"], "pytorch-msssim",
               t["torch_ssim"] / t["ssim"], temp_bytes(ssim, x),
               f"|ssim - dm_pix| {gap:.1e}"),
        Result(GROUP, "jaxloss/ssim vs dm_pix", shape, t["ssim"], "dm_pix",
               t["dm_pix"] / t["ssim"]),
        Result(GROUP, "pytorch-msssim/ms_ssim fwd+bwd", shape, t["torch_ms_ssim"],
               note=f"peer ({ms_threads} threads)"),
        Result(GROUP, "jaxloss/ms_ssim fwd+bwd", shape, t["ms_ssim"], "pytorch-msssim",
               t["torch_ms_ssim"] / t["ms_ssim"], temp_bytes(ms_ssim, x)),
    ]  # fmt: skip


def _pix_window(window: dict) -> dict:
    return {"filter_size": window["window_size"]} if window else {}
