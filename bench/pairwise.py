"""All-pairs distance matrices (`pairwise_distances`) beside scipy's `cdist` and torch.

Euclidean, cosine and Manhattan distances between two float32 sets of N and M rows of D
features. Peers: `scipy.spatial.distance.cdist` ('euclidean', 'cosine', 'cityblock'; float64
inside) and torch (`torch.cdist` with p=2 and p=1; for cosine torch's idiom, `F.normalize` of
the rows then `1 - a @ b.T`), timed at its default thread count and at one thread, and
the faster of the two kept (on a loaded 2-core machine torch's OpenMP barriers can cost a
time slice each, which would flatter us). Figures are peer_time / our_time (> 1: faster
than the peer);
a jitted `x @ y.T` is the matmul reference (reference_time / our_time: the fraction of one bare
matmul's speed). The jax implementations are timed round-robin in one loop so load on the
machine hits them alike.

Each jaxloss row's note records the max |ours - cdist(float64)| and whether the self-distances
`pairwise_distances(x, x)` have an exactly zero diagonal.
"""

from __future__ import annotations

import statistics

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import (
    Result,
    interleaved_medians,
    progress,
    temp_bytes,
    torch_best_seconds,
)

GROUP = "pairwise"
# jaxloss metric -> scipy cdist metric, torch p (None: normalize + matmul).
METRICS = {
    "euclidean": ("euclidean", 2.0),
    "cosine": ("cosine", None),
    "manhattan": ("cityblock", 1.0),
}
EXACT_ZERO_DIAGONAL = ("euclidean", "cosine", "manhattan")


def ours(metric: str):
    return jax.jit(lambda x, y: jaxloss.pairwise_distances(x, y, metric=metric))


def self_diagonal(metric: str, x) -> np.ndarray:
    """The diagonal of `pairwise_distances(x, x)` (one traced array passed twice), jitted."""
    return np.diagonal(jax.jit(lambda a: jaxloss.pairwise_distances(a, a, metric=metric))(x))


def inputs(n: int, m: int, d: int):
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((n, d)).astype(np.float32),
        rng.standard_normal((m, d)).astype(np.float32),
    )


def _torch(metric: str):
    import torch
    import torch.nn.functional as F

    p = METRICS[metric][1]
    if p is None:
        return lambda a, b: 1 - F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    return lambda a, b: torch.cdist(a, b, p=p)


def run(quick: bool = False) -> list[Result]:
    import scipy.spatial.distance
    import torch

    n, d = (256, 32) if quick else (2048, 128)
    repeats = 3 if quick else 15
    shape = f"[{n}, {d}] x [{n}, {d}] f32"
    xn, yn = inputs(n, n, d)
    x, y = jnp.asarray(xn), jnp.asarray(yn)
    tx, ty = torch.from_numpy(xn), torch.from_numpy(yn)
    x64, y64 = xn.astype(np.float64), yn.astype(np.float64)
    matmul = jax.jit(lambda a, b: a @ b.T)
    results, matmul_seconds = [], []
    for metric, (scipy_metric, _) in METRICS.items():
        progress(f"  {GROUP}: {metric}")
        fn, torch_fn = ours(metric), _torch(metric)
        fns = {
            "matmul": lambda: matmul(x, y),
            "ours": lambda fn=fn: fn(x, y),
        }
        t = interleaved_medians(fns, repeats=repeats)
        t["torch"], threads = torch_best_seconds(lambda f=torch_fn: f(tx, ty), repeats)
        # scipy is 20x slower: a few repeats of its own, outside the round-robin.
        t["scipy"] = interleaved_medians(
            {"scipy": lambda m=scipy_metric: scipy.spatial.distance.cdist(xn, yn, m)},
            repeats=max(1, repeats // 5),
            warmup=1,
        )["scipy"]
        reference = scipy.spatial.distance.cdist(x64, y64, scipy_metric)
        error = float(np.max(np.abs(np.asarray(fn(x, y), np.float64) - reference)))
        diagonal = self_diagonal(metric, x)
        note = (
            f"max abs err vs cdist f64 {error:.1e}; diag(x, x) == 0: {bool(np.all(diagonal == 0))}"
        )
        ours_temp = temp_bytes(
            lambda a, b, metric=metric: jaxloss.pairwise_distances(a, b, metric=metric), x, y
        )
        results += [
            Result(GROUP, f"scipy/{metric}", shape, t["scipy"], note="peer"),
            Result(GROUP, f"torch/{metric}", shape, t["torch"], note=f"peer ({threads} threads)"),
            Result(
                GROUP,
                f"jaxloss/{metric}",
                shape,
                t["ours"],
                "scipy",
                t["scipy"] / t["ours"],
                ours_temp,
                note,
            ),
            Result(
                GROUP,
                f"jaxloss/{metric} vs torch",
                shape,
                t["ours"],
                "torch",
                t["torch"] / t["ours"],
            ),
        ]
        matmul_seconds.append(t["matmul"])
        if metric != "manhattan":  # no matmul form
            results.append(
                Result(
                    GROUP,
                    f"jaxloss/{metric} vs matmul",
                    shape,
                    t["ours"],
                    "matmul x @ y.T",
                    t["matmul"] / t["ours"],
                )
            )
    matmul_median = statistics.median(matmul_seconds)  # over the three metrics' rounds
    results.insert(0, Result(GROUP, "reference/matmul", shape, matmul_median, note="baseline"))
    return results
