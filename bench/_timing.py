"""Timing and memory helpers shared by every benchmark group.

Every figure is measured warm: the function is compiled and run once before timing, each run
ends with `block_until_ready`, and the reported figure is the median of many repeats. Ratios
against a baseline measured in the same process are the figures that count.
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax


@dataclasses.dataclass
class Result:
    group: str
    name: str
    shape: str
    seconds: float
    baseline: str | None = None
    ratio: float | None = None  # baseline_seconds / seconds: > 1 means faster than the baseline
    temp_bytes: int | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def median_seconds(fn: Callable, *args, repeats: int, warmup: int = 2) -> float:
    """Median wall time of `fn(*args)` (outputs blocked on), after `warmup` untimed calls."""
    for _ in range(warmup):
        jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(
    calls: dict[str, Callable[[], Any]], *, repeats: int, warmup: int = 2
) -> dict[str, float]:
    """Median wall time of each zero-argument call, timed round-robin.

    Each round runs every call once (JAX outputs blocked on), so load from other processes
    hits all of them alike and the ratios between them stay meaningful on a shared machine.
    """
    for _ in range(warmup):
        for call in calls.values():
            jax.block_until_ready(call())
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(call())
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def torch_median_seconds(fn: Callable, *args, repeats: int, warmup: int = 2) -> float:
    """Median wall time of a torch CPU callable (synchronous on CPU)."""
    for _ in range(warmup):
        fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_best_seconds(fn: Callable, repeats: int) -> tuple[float, int]:
    """Median seconds of a torch callable at its default thread count and at one thread: the
    faster of the two, with its thread count (on a loaded machine torch's OpenMP barriers can
    cost a time slice each, which would flatter the JAX side)."""
    import torch

    default = torch.get_num_threads()
    best = None
    for threads in dict.fromkeys((default, 1)):
        torch.set_num_threads(threads)
        try:
            t = torch_median_seconds(fn, repeats=repeats)
        finally:
            torch.set_num_threads(default)
        if best is None or t < best[0]:
            best = (t, threads)
    return best


def one_thread(fn: Callable) -> Callable:
    """`fn` run with torch limited to one thread (restored afterwards)."""

    def call(*args):
        import torch

        default = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args)
        finally:
            torch.set_num_threads(default)

    return call


def temp_bytes(fn: Callable, *args) -> int | None:
    """Temporary device bytes XLA allocates for `jit(fn)(*args)`, when the backend reports it."""
    try:
        analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
    except Exception:  # some backends do not implement memory_analysis
        return None
    return None if analysis is None else int(analysis.temp_size_in_bytes)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def compile_seconds(fn: Callable, *args) -> float:
    """Trace + compile + first run of a fresh jit of `fn`."""
    start = time.perf_counter()
    jax.block_until_ready(jax.jit(fn)(*args))
    return time.perf_counter() - start


def progress(message: str) -> None:
    print(message, flush=True)
