"""Fused linear cross-entropy vs the materialized loss and jax-cce: value_and_grad time, memory.

``loss(x, w, y) = mean_n cross_entropy(x @ w.T, y)``, differentiated with respect to the
embeddings ``x`` and the weight ``w``, float32. Implementations:
- materialized: ``softmax_cross_entropy_with_integer_labels(x @ w.T, y)`` (the baseline);
- jaxloss: ``fused_linear_cross_entropy`` with its default blocks, and with 256-token blocks;
- jax-cce: ``jax_cce.linear_cross_entropy`` (a JAX fused linear cross-entropy, PyPI
  ``jax-cce``), default ``chunk_size=4096``.
Every implementation is compiled ahead of time, checked against the materialized values and
gradients, and timed round-robin. Temporary memory is XLA's ``temp_size_in_bytes``.

As a group of ``python -m bench``; or alone for other shapes::

    python -m bench.fused_linear_cross_entropy --shapes 2048,512,32768 --repeats 5
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from bench._timing import Result, progress
from jaxloss import fused_linear_cross_entropy, softmax_cross_entropy_with_integer_labels

GROUP = "fused_linear_cross_entropy"
SHAPES = ((2048, 512, 32768), (8192, 1024, 131072))
QUICK_SHAPES = ((256, 64, 2048),)


def materialized(x, w, y):
    return softmax_cross_entropy_with_integer_labels(x @ w.T, y, reduction="mean")


def fused(x, w, y, token_chunk_size=None):
    return fused_linear_cross_entropy(x, w, y, reduction="mean", token_chunk_size=token_chunk_size)


def jax_cce(x, w, y):
    import jax_cce as cce

    return cce.linear_cross_entropy(x, w, y)


def implementations() -> dict:
    return {
        "materialized": materialized,  # first: the reference of the agreement check
        "jaxloss/fused": fused,
        "jaxloss/fused token_chunk_size=256": functools.partial(fused, token_chunk_size=256),
        "jax-cce": jax_cce,
    }


def inputs(n: int, d: int, v: int, dtype=jnp.float32):
    kx, kw, ky = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (n, d), dtype)
    w = (jax.random.normal(kw, (v, d), jnp.float32) / np.sqrt(d)).astype(dtype)
    return x, w, jax.random.randint(ky, (n,), 0, v)


def max_difference(a, b) -> float:
    diffs = jax.tree_util.tree_map(
        lambda p, q: float(jnp.max(jnp.abs(p.astype(jnp.float32) - q.astype(jnp.float32)))), a, b
    )
    return max(jax.tree_util.tree_leaves(diffs))


def bench_shape(n: int, d: int, v: int, rounds: int) -> list[Result]:
    shape = f"N={n} D={d} V={v} f32"
    args = inputs(n, d, v)
    compiled, temp = {}, {}
    for name, loss in implementations().items():
        progress(f"  {GROUP}: {shape} compiling {name}")
        c = jax.jit(jax.value_and_grad(loss, argnums=(0, 1))).lower(*args).compile()
        compiled[name] = c
        temp[name] = int(c.memory_analysis().temp_size_in_bytes)
    progress(f"  {GROUP}: {shape} timing ({rounds} rounds)")
    # Ahead-of-time compiled, so every call is warm. Round-robin rounds; the first round's
    # outputs are checked against the materialized loss's.
    times: dict[str, list[float]] = {name: [] for name in compiled}
    diffs: dict[str, float] = {}
    for i in range(rounds):
        reference = None
        for name, c in compiled.items():
            start = time.perf_counter()
            out = jax.block_until_ready(c(*args))
            times[name].append(time.perf_counter() - start)
            progress(f"    {name}: {times[name][-1]:.3f} s")
            if i == 0:
                reference = out if reference is None else reference
                diffs[name] = max_difference(out, reference)
            del out
    t = {name: statistics.median(ts) for name, ts in times.items()}
    base, base_temp = t["materialized"], temp["materialized"]
    results = [
        Result(GROUP, "materialized", shape, base, note="baseline", temp_bytes=base_temp),
    ]
    for name in compiled:
        if name == "materialized":
            continue
        note = (
            f"memory {temp[name] / base_temp:.4f} of materialized; "
            f"max abs diff vs materialized {diffs[name]:.1e}"
        )
        results.append(
            Result(GROUP, name, shape, t[name], "materialized", base / t[name], temp[name], note)
        )
    ours = t["jaxloss/fused"]
    results.append(
        Result(
            GROUP,
            "jaxloss/fused vs jax-cce",
            shape,
            ours,
            "jax-cce",
            t["jax-cce"] / ours,
            temp["jaxloss/fused"],
            f"memory {temp['jaxloss/fused'] / temp['jax-cce']:.3f} of jax-cce",
        )
    )
    return results


def run(quick: bool = False) -> list[Result]:
    if quick:
        return [r for s in QUICK_SHAPES for r in bench_shape(*s, rounds=3)]
    # A step at the large shape is 6.6 TFLOP (minutes on a CPU): one round there.
    return bench_shape(*SHAPES[0], rounds=7) + bench_shape(*SHAPES[1], rounds=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shapes", nargs="*", default=[",".join(map(str, SHAPES[0]))])
    args = parser.parse_args()
    from bench.__main__ import table

    results = []
    for shape in args.shapes:
        n, d, v = (int(s) for s in shape.split(","))
        results += bench_shape(n, d, v, args.repeats)
    print(table([r.as_dict() for r in results]))


if __name__ == "__main__":
    main()
