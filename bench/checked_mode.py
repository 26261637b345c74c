"""The cost of the data checks (CONTRIBUTING.md, section 7), off and on.

Every loss with a data condition (class ids in range, weights >= 0, targets in [0, 1]) emits a
``checkify.debug_check`` when traced. Three jitted versions of the same training-style call
(forward and backward of the mean integer-label cross-entropy with ``ignore_index`` and
per-token weights) are timed round-robin:

- ``checks stripped``: traced with ``debug_check`` replaced by a no-op, the program a library
  without checks would compile (the baseline);
- ``checks off``: the default, what users run; its ratio to the baseline is the cost of
  having the checks in the code (1.00: XLA removes them);
- ``checked mode``: under ``checkify.checkify(..., errors=checkify.user_checks)``, the cost of
  turning the checks on.
"""

from __future__ import annotations

import contextlib
import functools
from unittest import mock

import jax
from jax.experimental import checkify

import jaxloss
from bench._timing import Result, interleaved_medians, progress

GROUP = "checked_mode"


def _loss(logits, labels, weights):
    return jaxloss.softmax_cross_entropy_with_integer_labels(
        logits, labels, ignore_index=-100, weights=weights, reduction="mean"
    )


@contextlib.contextmanager
def checks_stripped():
    """Traces with every data check replaced by nothing (the no-checks baseline).

    jaxloss's private kernels are jitted, and jax reuses their traces (with the checks) for
    the same shapes. Under another rank-promotion setting, which is part of jax's trace-cache
    keys and changes no program that does not promote ranks, they are traced again.
    """
    other = "warn" if jax.config.jax_numpy_rank_promotion != "warn" else "allow"
    with (
        mock.patch.object(checkify, "debug_check", lambda *args, **kwargs: None),
        jax.numpy_rank_promotion(other),
    ):
        yield


def compiled_programs(fn, *args):
    """(default, stripped) compiled HLO texts of ``jax.jit(fn)`` without metadata."""
    default = jax.jit(fn).lower(*args).compile()
    with checks_stripped():
        stripped = jax.jit(functools.partial(fn)).lower(*args).compile()
    return default, stripped


def run(quick: bool = False) -> list[Result]:
    n, v = (512, 1024) if quick else (4096, 8192)
    repeats = 5 if quick else 30
    shape = f"[{n}, {v}] float32"
    progress(f"  {GROUP}: {shape}")
    keys = jax.random.split(jax.random.key(0), 3)
    logits = jax.random.normal(keys[0], (n, v))
    labels = jax.random.randint(keys[1], (n,), 0, v).at[::7].set(-100)
    weights = jax.random.uniform(keys[2], (n,))
    step = jax.value_and_grad(_loss)
    default, stripped = compiled_programs(step, logits, labels, weights)
    checked = jax.jit(checkify.checkify(step, errors=checkify.user_checks))
    calls = {
        "checks stripped": functools.partial(stripped, logits, labels, weights),
        "checks off": functools.partial(default, logits, labels, weights),
        "checked mode": functools.partial(checked, logits, labels, weights),
    }
    t = interleaved_medians(calls, repeats=repeats)
    base = t["checks stripped"]
    return [
        Result(GROUP, "jaxloss/checks stripped", shape, base, note="baseline: fwd+bwd of CE"),
        Result(
            GROUP,
            "jaxloss/checks off (default)",
            shape,
            t["checks off"],
            "checks stripped",
            base / t["checks off"],
            note="the checks cost nothing when off",
        ),
        Result(
            GROUP,
            "jaxloss/checked mode (checkify)",
            shape,
            t["checked mode"],
            "checks stripped",
            base / t["checked mode"],
            note="labels and weights checked on every call",
        ),
    ]
