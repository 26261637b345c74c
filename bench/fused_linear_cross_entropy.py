"""Fused vs materialized linear cross-entropy: time and temporary memory of value_and_grad.

Run from the repository root::

    python -m bench.fused_linear_cross_entropy [--repeats 5] [--shapes N,D,V ...]

For each shape it compiles ``jax.value_and_grad`` (mean loss, gradients with respect to the
embeddings and the weight) of both versions, checks that they agree, reports the temporary
memory XLA assigns (``compiled.memory_analysis().temp_size_in_bytes``), and times them warm
(compiled and run once first, ``block_until_ready``, median of ``--repeats`` runs, the two
versions interleaved so that load on the machine hits both alike).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import fused_linear_cross_entropy, softmax_cross_entropy_with_integer_labels

DEFAULT_SHAPES = ((512, 128, 8192), (2048, 512, 32768))


def materialized(x, w, y):
    return softmax_cross_entropy_with_integer_labels(x @ w.T, y, reduction="mean")


TOKEN_CHUNK = None  # --token-chunk-size; None keeps the library default


def fused(x, w, y):
    return fused_linear_cross_entropy(x, w, y, reduction="mean", token_chunk_size=TOKEN_CHUNK)


def _inputs(n, d, v, dtype):
    kx, kw, ky = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (n, d), dtype)
    w = (jax.random.normal(kw, (v, d), jnp.float32) / np.sqrt(d)).astype(dtype)
    return x, w, jax.random.randint(ky, (n,), 0, v)


def _run_once(fn, args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def bench(n, d, v, dtype, repeats):
    args = _inputs(n, d, v, dtype)
    fns = {}
    for name, loss in (("materialized", materialized), ("fused", fused)):
        compiled = jax.jit(jax.value_and_grad(loss, argnums=(0, 1))).lower(*args).compile()
        fns[name] = (compiled, compiled.memory_analysis().temp_size_in_bytes)
    outs = {name: fn(*args) for name, (fn, _) in fns.items()}  # warm-up
    diffs = jax.tree_util.tree_map(
        lambda a, b: float(jnp.max(jnp.abs(a.astype(jnp.float32) - b.astype(jnp.float32)))),
        outs["fused"],
        outs["materialized"],
    )
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (fn, _) in fns.items():
            times[name].append(_run_once(fn, args))
    return {name: (statistics.median(times[name]), temp) for name, (_, temp) in fns.items()}, max(
        jax.tree_util.tree_leaves(diffs)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument(
        "--shapes", nargs="*", default=[",".join(map(str, s)) for s in DEFAULT_SHAPES]
    )
    parser.add_argument("--token-chunk-size", type=int, default=None)
    args = parser.parse_args()
    global TOKEN_CHUNK
    TOKEN_CHUNK = args.token_chunk_size
    dtype = jnp.dtype(args.dtype)
    machine = platform.processor() or platform.machine()
    print(
        f"jax {jax.__version__} on {jax.devices()[0].device_kind} ({machine}, "
        f"{os.cpu_count()} cores),"
        f" {args.dtype}, value_and_grad of the mean loss, median of {args.repeats} warm runs,"
        f" token_chunk_size={TOKEN_CHUNK or 'default'}"
    )
    header = f"{'N':>6} {'D':>5} {'V':>7}  {'version':<13}{'time (s)':>10}{'temp (MiB)':>12}"
    print(header + f"{'time ratio':>12}{'memory ratio':>14}")
    for shape in args.shapes:
        n, d, v = (int(s) for s in shape.split(","))
        results, diff = bench(n, d, v, dtype, args.repeats)
        base_time, base_temp = results["materialized"]
        for name, (seconds, temp) in results.items():
            line = f"{n:>6} {d:>5} {v:>7}  {name:<13}{seconds:>10.4f}{temp / 2**20:>12.2f}"
            if name == "fused":
                line += f"{seconds / base_time:>12.2f}{temp / base_temp:>14.4f}"
            print(line)
        print(f"{'':>21}max |fused - materialized| over value and gradients: {diff:.2e}")


if __name__ == "__main__":
    main()
