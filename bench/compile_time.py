"""Cold compile time of every public loss: a fresh `jax.jit`, and the first eager call.

Inputs come from the contract registry (`tests.registry`: one `Case` per public name, its
`make(rng, batch_shape, dtype)` and options), float32, batch shape (32,). For each name, with
`jax.clear_caches()` before every measurement so each is cold: the forward call and
`jax.value_and_grad` of the summed output with respect to the first differentiable argument
(`Case.grad_argnums[0]`), each under a fresh `jax.jit` (trace + compile + first run), and the
forward call made eagerly, un-jitted, as in a notebook (op-by-op dispatch plus whatever the
function compiles itself). Each is the best of two cold measurements (load on the machine only
adds). Two rows per name: `jaxloss/<name>`, seconds = the slower of the two jitted
measurements, figure = 0.5 s / that (> 1 means under the 0.5 s target), the note giving both;
and `jaxloss/<name>/eager`, the first eager call, figure = 1 s / seconds (target 1 s).
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from bench._timing import Result, compile_seconds, progress

GROUP = "compile_time"
TARGET_SECONDS = 0.5
EAGER_TARGET_SECONDS = 1.0
QUICK_NAMES = (
    "squared_error",
    "softmax_cross_entropy_with_integer_labels",
    "pairwise_distances",
    "gram_matrix",
)


def cases(names=None):
    from tests.registry import all_cases

    found = all_cases()
    return found if names is None else [c for c in found if c.name in names]


def functions(case, batch_shape=(32,)):
    """(forward, value_and_grad, args) of one registry case, options closed over."""
    call = case.make(np.random.default_rng(0), batch_shape, jnp.float32)
    forward = functools.partial(case.function, **call.kwargs)

    def total(*args):
        return jnp.sum(jnp.asarray(forward(*args), jnp.float32))

    return forward, jax.value_and_grad(total, argnums=case.grad_argnums[0]), call.args


def cold_seconds(fn, args, tries: int) -> float:
    best = None
    for _ in range(tries):
        jax.clear_caches()
        t = compile_seconds(fn, *args)
        best = t if best is None else min(best, t)
    return best


def eager_seconds(fn, args) -> float:
    """The first eager (un-jitted) call of `fn`, outputs blocked on."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def cold_eager_seconds(fn, args, tries: int) -> float:
    best = None
    for _ in range(tries):
        jax.clear_caches()
        t = eager_seconds(fn, args)
        best = t if best is None else min(best, t)
    return best


def run(quick: bool = False) -> list[Result]:
    selected = cases(QUICK_NAMES if quick else None)
    tries = 1 if quick else 2
    batch_shape = (4,) if quick else (32,)
    compile_seconds(lambda v: v + 1, jnp.zeros(3))  # backend start-up, not any loss's cost
    results = []
    for case in selected:
        progress(f"  {GROUP}: {case.name}")
        forward, value_and_grad, args = functions(case, batch_shape)
        fwd = cold_seconds(forward, args, tries)
        grad = cold_seconds(value_and_grad, args, tries)
        eager = cold_eager_seconds(forward, args, tries)
        worst = max(fwd, grad)
        results.append(
            Result(
                GROUP,
                f"jaxloss/{case.name}",
                f"batch {batch_shape} f32",
                worst,
                f"target {TARGET_SECONDS} s",
                TARGET_SECONDS / worst,
                note=f"forward {fwd:.3f} s; value_and_grad {grad:.3f} s",
            )
        )
        results.append(
            Result(
                GROUP,
                f"jaxloss/{case.name}/eager",
                f"batch {batch_shape} f32",
                eager,
                f"target {EAGER_TARGET_SECONDS} s",
                EAGER_TARGET_SECONDS / eager,
                note="first eager (un-jitted) forward call",
            )
        )
    jax.clear_caches()
    return results
