"""Integer-label cross-entropy (N tokens, V classes) against optax, torch and two references.

References, over the same logits:
- read_logits: a jitted `jnp.sum(logits)` (one read of every byte);
- exp_floor: `sum_n log(sum_v exp(logits[n, v]))` accumulated in float32 without the max shift
  (one exp per logit: the least work any exact softmax cross-entropy does).
Forward figures are reference_time / time (1.0 = as fast as the reference); forward+backward
figures peer_time / time (> 1 = faster than the peer). Every implementation and reference of
one dtype is timed round-robin in the same rounds.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from bench._timing import Result, interleaved_medians, one_thread, progress, temp_bytes

GROUP = "cross_entropy"


def _ours(logits, labels):
    return jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, reduction="mean")


def _optax(logits, labels):
    return jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels))


def _read(logits, labels):
    del labels
    return jnp.sum(logits, dtype=jnp.float32)


def _exp_floor(logits, labels):
    del labels
    return jnp.sum(jnp.log(jnp.sum(jnp.exp(logits.astype(jnp.float32)), axis=-1)))


def _torch_calls(logits, labels):
    import torch
    import torch.nn.functional as F

    dtype = torch.bfloat16 if logits.dtype == jnp.bfloat16 else torch.float32
    tl = torch.from_numpy(np.array(logits.astype(jnp.float32))).to(dtype).requires_grad_(True)
    ty = torch.from_numpy(np.array(labels)).long()

    def forward():
        with torch.no_grad():
            return F.cross_entropy(tl, ty)

    def forward_backward():
        tl.grad = None
        loss = F.cross_entropy(tl, ty)
        loss.backward()
        return loss

    return forward, forward_backward


def run(quick: bool = False) -> list[Result]:
    n, v = (256, 4096) if quick else (2048, 32768)
    repeats = 5 if quick else 20
    results = []
    for dtype in (jnp.float32, jnp.bfloat16):
        shape = f"[{n}, {v}] {jnp.dtype(dtype).name}"
        logits = jax.random.normal(jax.random.key(0), (n, v), dtype)
        labels = jax.random.randint(jax.random.key(1), (n,), 0, v)
        progress(f"  {GROUP}: {shape}")
        fns = {
            "reference/read_logits": _read,
            "reference/exp_floor": _exp_floor,
            "jaxloss/forward": _ours,
            "optax/forward": _optax,
            "jaxloss/forward+backward": jax.value_and_grad(_ours),
            "optax/forward+backward": jax.value_and_grad(_optax),
        }
        calls = {k: functools.partial(jax.jit(f), logits, labels) for k, f in fns.items()}
        torch_fwd, torch_fb = _torch_calls(logits, labels)
        calls["torch/forward"] = torch_fwd
        calls["torch/forward+backward"] = torch_fb
        calls["torch/forward 1 thread"] = one_thread(torch_fwd)
        calls["torch/forward+backward 1 thread"] = one_thread(torch_fb)
        t = interleaved_medians(calls, repeats=repeats)
        # torch at its default thread count or at one thread, whichever is faster.
        torch_note = {}
        for k in ("torch/forward", "torch/forward+backward"):
            one = t.pop(f"{k} 1 thread")
            torch_note[k] = "default threads" if t[k] <= one else "1 thread"
            t[k] = min(t[k], one)
        mem = {k: temp_bytes(f, logits, labels) for k, f in fns.items()}

        def row(
            name, baseline=None, ratio=None, note="", _t=t, _mem=mem, _shape=shape, _tn=torch_note
        ):
            if name in _tn:
                note = "; ".join(filter(None, (note, f"torch at {_tn[name]}")))
            return Result(GROUP, name, _shape, _t[name], baseline, ratio, _mem.get(name), note)

        read, floor = t["reference/read_logits"], t["reference/exp_floor"]
        results += [
            row("reference/read_logits", note="baseline"),
            row("reference/exp_floor", "read_logits", read / floor, "one exp per logit"),
        ]
        for impl in ("jaxloss", "optax", "torch"):
            name = f"{impl}/forward"
            results.append(row(name, "read_logits", read / t[name]))
            results.append(
                Result(GROUP, f"{name} vs exp_floor", shape, t[name], "exp_floor", floor / t[name])
            )
        ours_fb = t["jaxloss/forward+backward"]
        for peer in ("optax", "torch"):
            results.append(row(f"{peer}/forward+backward", note="peer"))
            results.append(
                Result(
                    GROUP,
                    f"jaxloss/forward+backward vs {peer}",
                    shape,
                    ours_fb,
                    peer,
                    t[f"{peer}/forward+backward"] / ours_fb,
                    mem["jaxloss/forward+backward"],
                )
            )
    return results
