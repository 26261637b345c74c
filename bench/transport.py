"""Distances between sample sets (issue #16) beside scipy, POT and torch (CPU).

Forward values, float32 inputs, N = M samples at 4096 and 16384 (``--quick``: 256):

- ``wasserstein_distance`` (exact 1-D W1 by sorting) beside
  ``scipy.stats.wasserstein_distance`` and POT's ``ot.wasserstein_1d`` (numpy backend, p = 1);
- ``sliced_wasserstein_distance`` (p = 2, 64 given unit projections, D = 16) beside POT's
  ``ot.sliced_wasserstein_distance`` with the same projections, numpy backend (float64, its
  default) and torch backend (float32);
- ``mmd`` (biased, Gaussian kernel, fixed bandwidth 1, D = 16) beside the usual torch
  formula: ``exp(-cdist(a, b)^2 / 2)`` means of the three blocks (the faster of torch's
  default thread count and one thread). At 16384 the three torch 16384^2 blocks take 3 GiB;
  ours runs its blockwise path (``chunk_size=2048``) there.

Figures are peer_time / our_time (> 1: faster than the peer). The jax functions are timed
warm (compiled first, `block_until_ready`); each jaxloss row's note holds its relative
difference from the peer's value.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import Result, interleaved_medians, progress, torch_best_seconds

GROUP = "transport"
D = 16
PROJECTIONS = 64
BANDWIDTH = 1.0


def _inputs(n: int, d: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.standard_normal((n, d)) * 1.5 + 0.5).astype(np.float32)
    directions = rng.standard_normal((PROJECTIONS, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return x, y, directions.astype(np.float32)


def _row(name, shape, seconds, peer, peer_seconds, ours_value, peer_value):
    error = abs(float(ours_value) - float(peer_value)) / max(abs(float(peer_value)), 1e-30)
    return Result(
        GROUP,
        name,
        shape,
        seconds,
        peer,
        peer_seconds / seconds,
        note=f"rel diff vs {peer} {error:.1e}",
    )


def _wasserstein(n: int, repeats: int) -> list[Result]:
    import ot
    import scipy.stats

    x, y, _ = _inputs(n, 1)
    u, v = x[:, 0], y[:, 0]
    ju, jv = jnp.asarray(u), jnp.asarray(v)
    ours = jax.jit(lambda a, b: jaxloss.wasserstein_distance(a, b))
    t = interleaved_medians(
        {
            "ours": lambda: ours(ju, jv),
            "scipy": lambda: scipy.stats.wasserstein_distance(u, v),
            "pot": lambda: ot.wasserstein_1d(u, v, p=1),
        },
        repeats=repeats,
    )
    value = ours(ju, jv)
    shape = f"[{n}] vs [{n}] f32"
    return [
        Result(GROUP, "scipy/wasserstein_distance", shape, t["scipy"], note="peer"),
        Result(GROUP, "pot/wasserstein_1d", shape, t["pot"], note="peer (numpy)"),
        _row(
            "jaxloss/wasserstein_distance",
            shape,
            t["ours"],
            "scipy",
            t["scipy"],
            value,
            scipy.stats.wasserstein_distance(u, v),
        ),
        _row(
            "jaxloss/wasserstein_distance vs pot",
            shape,
            t["ours"],
            "pot",
            t["pot"],
            value,
            ot.wasserstein_1d(u, v, p=1),
        ),
    ]


def _sliced(n: int, repeats: int) -> list[Result]:
    import ot
    import torch

    x, y, directions = _inputs(n, D)
    jx, jy, jd = jnp.asarray(x), jnp.asarray(y), jnp.asarray(directions.T)
    # Both take the projections as a [D, L] matrix.
    proj64, proj32 = directions.T.astype(np.float64), torch.from_numpy(directions.T.copy())
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    ours = jax.jit(lambda a, b, d: jaxloss.sliced_wasserstein_distance(a, b, projections=d))

    def pot_numpy():
        return ot.sliced_wasserstein_distance(x64, y64, projections=proj64, p=2)

    def pot_torch():
        return ot.sliced_wasserstein_distance(tx, ty, projections=proj32, p=2)

    t = interleaved_medians({"ours": lambda: ours(jx, jy, jd), "pot": pot_numpy}, repeats=repeats)
    t["pot_torch"], threads = torch_best_seconds(pot_torch, repeats)
    value = ours(jx, jy, jd)
    shape = f"[{n}, {D}] vs [{n}, {D}] f32, {PROJECTIONS} projections"
    return [
        Result(GROUP, "pot/sliced_wasserstein (numpy)", shape, t["pot"], note="peer (float64)"),
        Result(
            GROUP,
            "pot/sliced_wasserstein (torch)",
            shape,
            t["pot_torch"],
            note=f"peer ({threads} threads)",
        ),
        _row(
            "jaxloss/sliced_wasserstein_distance",
            shape,
            t["ours"],
            "pot numpy",
            t["pot"],
            value,
            pot_numpy(),
        ),
        _row(
            "jaxloss/sliced_wasserstein_distance vs torch",
            shape,
            t["ours"],
            "pot torch",
            t["pot_torch"],
            value,
            float(np.asarray(pot_torch())),
        ),
    ]


def _torch_mmd(a, b):
    import torch

    def mean_kernel(u, v):
        return torch.exp(-torch.cdist(u, v).square() / (2 * BANDWIDTH**2)).mean()

    return mean_kernel(a, a) + mean_kernel(b, b) - 2 * mean_kernel(a, b)


def _mmd(n: int, repeats: int) -> list[Result]:
    import torch

    x, y, _ = _inputs(n, D)
    jx, jy = jnp.asarray(x), jnp.asarray(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    chunk = None if n <= 4096 else 2048
    ours = jax.jit(lambda a, b: jaxloss.mmd(a, b, bandwidth=BANDWIDTH, chunk_size=chunk))
    t = interleaved_medians({"ours": lambda: ours(jx, jy)}, repeats=repeats)
    t["torch"], threads = torch_best_seconds(lambda: _torch_mmd(tx, ty), repeats)
    shape = f"[{n}, {D}] vs [{n}, {D}] f32"
    name = "jaxloss/mmd" + ("" if chunk is None else f" (chunk_size={chunk})")
    return [
        Result(
            GROUP, "torch/mmd (cdist + exp)", shape, t["torch"], note=f"peer ({threads} threads)"
        ),
        _row(name, shape, t["ours"], "torch", t["torch"], ours(jx, jy), float(_torch_mmd(tx, ty))),
    ]


def run(quick: bool = False) -> list[Result]:
    sizes = (256,) if quick else (4096, 16384)
    repeats = 3 if quick else 7
    results = []
    for n in sizes:
        for part in (_wasserstein, _sliced, _mmd):
            progress(f"  {GROUP}: {part.__name__[1:]} n={n}")
            results += part(n, repeats)
    return results
