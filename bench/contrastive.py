"""CLIP and SigLIP losses at scale: dense vs blockwise vs ring, beside open_clip (torch CPU).

Forward+backward (``jax.value_and_grad`` of the ``"mean"`` with respect to both embedding
batches and the scale; SigLIP also the bias) of `jaxloss.clip_loss` and
`jaxloss.sigmoid_contrastive_loss` on L2-normalised float32 embeddings ``[B, D]``, D = 512,
at B = 4096 and 16384 (``--quick``: B = 256, D = 32):

- ``dense``: the whole ``[B, B]`` similarity matrix (skipped where its temporaries would not
  fit in about a third of this machine's memory);
- ``blockwise``: column tiles of 512 with the online log-sum-exp and the custom VJP; figure
  = dense time / blockwise time (> 1: faster), the note giving the memory ratio;
- at B = 65536: the temporary memory of blockwise (compiled only: one step would take many
  minutes on a CPU, and dense's B x B matrices, 16 GiB each, do not fit);
- ``ring``: temporary memory per device of the ring on 8 simulated CPU devices (compiled in
  a subprocess with ``--xla_force_host_platform_device_count=8``, not run: 8 simulated
  devices on a few cores measure nothing about time);
- open_clip's ``ClipLoss`` / ``SigLipLoss`` (``open_clip/loss.py`` loaded by path, forward
  + backward, faster of torch's default thread count and one thread), same shapes; figure
  = torch time / blockwise time.

Temporary memory is ``jax.jit(f).lower(...).compile().memory_analysis().temp_size_in_bytes``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import Result, interleaved_medians, progress, temp_bytes, torch_best_seconds

GROUP = "contrastive"
BLOCK = 512
DEVICES = 8
MEMORY_ONLY = 65536
# Dense runs only where its B x B float32 temporaries (about 6 of them) fit comfortably.
DENSE_MAX_BYTES = 8 * 2**30
HERE = pathlib.Path(__file__).resolve().parent


def embeddings(b: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((b, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def step(name: str, method: str, block: int = BLOCK, axis_name=None):
    """value_and_grad of the mean loss w.r.t. images, texts, scale (and SigLIP's bias)."""
    if name == "clip_loss":

        def loss(x, y, s, b):
            return jaxloss.clip_loss(
                x, y, logit_scale=s, reduction="mean", method=method, block_size=block,
                axis_name=axis_name,
            )  # fmt: skip
    else:

        def loss(x, y, s, b):
            return jaxloss.sigmoid_contrastive_loss(
                x, y, logit_scale=s, logit_bias=b, reduction="mean", method=method,
                block_size=block, axis_name=axis_name,
            )  # fmt: skip

    return jax.value_and_grad(loss, argnums=(0, 1, 2, 3))


def run(
    quick: bool = False,
    sizes: tuple[int, ...] | None = None,
    memory_only: tuple[int, ...] | None = None,
) -> list[Result]:
    default_sizes, d = ((256,), 32) if quick else ((4096, 16384), 512)
    sizes = default_sizes if sizes is None else sizes
    memory_only = (() if quick else (MEMORY_ONLY,)) if memory_only is None else memory_only
    block = 64 if quick else BLOCK
    repeats = 3 if quick else 5
    results: list[Result] = []
    ring = {} if quick else ring_memory((*sizes, *memory_only), d)
    for b in memory_only:  # compiled, not run: a CPU would take many minutes per step
        x = jax.ShapeDtypeStruct((b, d), jnp.float32)
        s = jax.ShapeDtypeStruct((), jnp.float32)
        shape = f"B={b} D={d} f32"
        for name in ("clip_loss", "sigmoid_contrastive_loss"):
            progress(f"  {GROUP}: {name} {shape} (memory only)")
            memory = temp_bytes(step(name, "blockwise", block), x, x, s, s)
            note = "temp memory only (compiled, not run); dense would need B^2 x 4 bytes x ~2"
            results.append(
                Result(GROUP, f"jaxloss/{name}/blockwise", shape, float("nan"),
                       temp_bytes=memory, note=f"block {block}; {note}")
            )  # fmt: skip
            if (name, b) in ring:
                results.append(_ring_row(name, shape, ring[(name, b)]))
    for b in sizes:
        x, y = jnp.asarray(embeddings(b, d, 0)), jnp.asarray(embeddings(b, d, 1))
        s, bias = jnp.float32(10.0), jnp.float32(-10.0)
        shape = f"B={b} D={d} f32"
        for name in ("clip_loss", "sigmoid_contrastive_loss"):
            progress(f"  {GROUP}: {name} {shape}")
            methods = ("dense", "blockwise") if 6 * b * b * 4 <= DENSE_MAX_BYTES else ("blockwise",)
            # One compile per method: its memory analysis, then the timed calls.
            fns = {m: jax.jit(step(name, m, block)).lower(x, y, s, bias).compile() for m in methods}
            memory = {m: _temp_bytes(f) for m, f in fns.items()}
            # At B = 16384 one call takes about a minute on a few CPU cores: fewer repeats.
            rounds = repeats if b < 16384 else 1
            t = interleaved_medians(
                {m: functools.partial(f, x, y, s, bias) for m, f in fns.items()},
                repeats=rounds,
                warmup=1 if b >= 16384 else 2,
            )
            t_torch, threads = _torch_seconds(name, b, d, rounds)
            dense = t.get("dense")
            if dense is not None:
                results.append(
                    Result(GROUP, f"jaxloss/{name}/dense", shape, dense, temp_bytes=memory["dense"])
                )
            note = "dense skipped (B^2 temporaries too large)"
            if dense is not None and memory["dense"] and memory["blockwise"]:
                note = f"memory dense/blockwise {memory['dense'] / memory['blockwise']:.0f}x"
            results.append(
                Result(
                    GROUP, f"jaxloss/{name}/blockwise", shape, t["blockwise"],
                    baseline=None if dense is None else "dense",
                    ratio=None if dense is None else dense / t["blockwise"],
                    temp_bytes=memory["blockwise"], note=f"block {block}; {note}",
                )
            )  # fmt: skip
            if (name, b) in ring:
                results.append(_ring_row(name, shape, ring[(name, b)]))
            if t_torch is not None:
                peer = "ClipLoss" if name == "clip_loss" else "SigLipLoss"
                results.append(
                    Result(
                        GROUP, f"open_clip/{peer}", shape, t_torch,
                        baseline=f"jaxloss/{name}/blockwise",
                        ratio=t_torch / t["blockwise"], note=f"torch CPU, {threads} thread(s)",
                    )
                )  # fmt: skip
    return results


def _temp_bytes(compiled) -> int | None:
    analysis = compiled.memory_analysis()
    return None if analysis is None else int(analysis.temp_size_in_bytes)


def _ring_row(name, shape, memory):
    return Result(
        GROUP, f"jaxloss/{name}/ring", f"{shape} on {DEVICES} devices", float("nan"),
        temp_bytes=memory, note="per-device temp memory only (compiled on simulated devices)",
    )  # fmt: skip


def _torch_seconds(name, b, d, repeats):
    """open_clip's loss, forward + backward, or (None, 0) when open-clip-torch is absent."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return None, 0
    import torch

    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "loss.py"
    module_spec = importlib.util.spec_from_file_location("open_clip_loss", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    loss = module.ClipLoss() if name == "clip_loss" else module.SigLipLoss()
    x = torch.from_numpy(embeddings(b, d, 0)).requires_grad_()
    y = torch.from_numpy(embeddings(b, d, 1)).requires_grad_()
    s = torch.tensor(10.0, requires_grad=True)
    bias = torch.tensor(-10.0, requires_grad=True)

    def forward_backward():
        for t in (x, y, s, bias):
            t.grad = None
        value = loss(x, y, s, bias) if name != "clip_loss" else loss(x, y, s)
        value.backward()

    return torch_best_seconds(forward_backward, repeats)


def ring_memory(sizes, d) -> dict[tuple[str, int], int]:
    """Per-device temporary bytes of the ring, from a subprocess with 8 CPU devices."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={DEVICES}"
    env = {**os.environ, "XLA_FLAGS": flags.strip(), "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bench.contrastive", "--ring", json.dumps([list(sizes), d])]
    out = subprocess.run(command, env=env, cwd=HERE.parent, capture_output=True, text=True)
    if out.returncode != 0:
        progress(f"  {GROUP}: ring memory failed: {out.stderr[-2000:]}")
        return {}
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    return {(name, b): value for name, b, value in rows}


def _ring_worker(sizes, d) -> None:
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((DEVICES,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rows = []
    for b in sizes:
        x = jax.ShapeDtypeStruct((b, d), jnp.float32)
        s = jax.ShapeDtypeStruct((), jnp.float32)
        for name in ("clip_loss", "sigmoid_contrastive_loss"):
            body = step(name, "ring", axis_name="data")
            mapped = jax.shard_map(
                body,
                mesh=mesh,
                in_specs=(P("data"), P("data"), P(), P()),
                out_specs=(P(), (P("data"), P("data"), P(), P())),
            )
            memory = _temp_bytes(jax.jit(mapped).lower(x, x, s, s).compile())
            if memory is not None:
                rows.append((name, b, memory))
    print(json.dumps(rows))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--ring":
        sizes, d = json.loads(sys.argv[2])
        _ring_worker(sizes, d)
    else:
        for r in run(quick="--quick" in sys.argv):
            print(r)
