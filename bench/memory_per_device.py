"""Per-device temporary memory of the cross-device losses on 8 simulated CPU devices.

``python -m bench.memory_per_device [--quick] [--no-write]`` (re-runs itself with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` when needed; only compiles, runs
nothing). Every figure is ``jax.jit(f).lower(...).compile().memory_analysis()
.temp_size_in_bytes`` of forward+backward (``jax.value_and_grad``), which for an SPMD program
is the memory of one device. Layouts, on the global batch:

- ``one device``: the loss on the whole batch, unsharded;
- ``shard_map``: the batch split over 8 devices, the loss told ``axis_name``
  (the fused cross-entropy also: the vocabulary split over 8 devices, ``vocab_axis_name``,
  and a ``4 x 2`` data x vocabulary mesh);
- ``GSPMD``: plain ``jax.jit`` on inputs sharded with ``NamedSharding``, no axis name.

Writes the table into the "Per-device memory" section of bench/README.md (between its
markers) unless --no-write. A separate script, not a group of ``python -m bench``: the groups
run in one process with one device.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys

DEVICES = 8
HERE = pathlib.Path(__file__).resolve().parent
BEGIN, END = "<!-- memory:begin -->", "<!-- memory:end -->"
FLAG = f"--xla_force_host_platform_device_count={DEVICES}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if FLAG not in os.environ.get("XLA_FLAGS", ""):
        env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {FLAG}".strip()}
        env["JAX_PLATFORMS"] = "cpu"
        cmd = [sys.executable, "-m", "bench.memory_per_device", *argv]
        return subprocess.run(cmd, env=env, cwd=HERE.parent, check=False).returncode
    parser = argparse.ArgumentParser(prog="python -m bench.memory_per_device")
    parser.add_argument("--quick", action="store_true", help="small shapes only")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit README")
    args = parser.parse_args(argv)
    mining, fused = measure(quick=args.quick)
    text = tables(mining, fused)
    print(text)
    if not args.no_write:
        command = "python -m bench.memory_per_device" + (" --quick" if args.quick else "")
        write(text, command)
    return 0


def measure(quick: bool):
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxloss

    assert jax.device_count() == DEVICES, jax.devices()
    auto = jax.sharding.AxisType.Auto
    mesh = jax.make_mesh((DEVICES,), ("data",), axis_types=(auto,))
    mesh2 = jax.make_mesh((4, 2), ("data", "vocab"), axis_types=(auto, auto))

    def spec(shape, dtype, *names, mesh=mesh):
        sharding = None if names == (None,) else NamedSharding(mesh, P(*names))
        return jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)

    def temp(f, *args):
        compiled = jax.jit(f).lower(*args).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    mining_losses = {
        "semihard_triplet_loss": jaxloss.semihard_triplet_loss,
        "batch_hard_triplet_loss": jaxloss.batch_hard_triplet_loss,
        "batch_all_triplet_loss": jaxloss.batch_all_triplet_loss,
        "batch_hard_quadruplet_loss": jaxloss.batch_hard_quadruplet_loss,
        "ntxent": jaxloss.ntxent,
    }
    dim = 128
    mining = []
    for batch in (256,) if quick else (1024, 4096):
        for name, fn in mining_losses.items():

            def loss(e, y, fn=fn, **axes):
                return fn(e, y, reduction="mean", **axes)

            def mapped(e, y, loss=loss):
                body = jax.shard_map(
                    lambda e, y: loss(e, y, axis_name="data"),
                    mesh=mesh,
                    in_specs=(P("data"), P("data")),
                    out_specs=P(),
                )
                return body(e, y)

            def grad(f):
                return jax.value_and_grad(f)

            single = (spec((batch, dim), jnp.float32, None), spec((batch,), jnp.int32, None))
            split = (spec((batch, dim), jnp.float32, "data"), spec((batch,), jnp.int32, "data"))
            mining.append(
                {
                    "loss": name,
                    "batch": batch,
                    "one": temp(grad(loss), *single),
                    "shard_map": temp(grad(mapped), *split),
                    "gspmd": temp(grad(loss), *split),
                }
            )
            print(mining[-1], flush=True)

    fused = []
    tokens, hidden = (1024, 64) if quick else (8192, 512)
    f32 = jnp.float32
    for vocab in (4096,) if quick else (32768, 131072):

        def ce(x, w, y, **axes):
            return jaxloss.fused_linear_cross_entropy(x, w, y, reduction="mean", **axes)

        def materialized(x, w, y):
            return jaxloss.softmax_cross_entropy_with_integer_labels(x @ w.T, y, reduction="mean")

        def mapped(in_specs, mesh=mesh, **axes):
            body = jax.shard_map(
                lambda x, w, y: ce(x, w, y, **axes), mesh=mesh, in_specs=in_specs, out_specs=P()
            )
            return lambda x, w, y: body(x, w, y)

        def grad(f):
            return jax.value_and_grad(f, argnums=(0, 1))

        def shapes(x_names, w_names, mesh=mesh, vocab=vocab):
            return (
                spec((tokens, hidden), f32, *x_names, mesh=mesh),
                spec((vocab, hidden), f32, *w_names, mesh=mesh),
                spec((tokens,), jnp.int32, *x_names, mesh=mesh),
            )

        data_specs = (P("data"), P(), P("data"))
        vocab_specs = (P(), P("data"), P())
        grid_specs = (P("data"), P("vocab"), P("data"))
        rows = {
            "one device, materialized logits": temp(grad(materialized), *shapes((None,), (None,))),
            "one device": temp(grad(ce), *shapes((None,), (None,))),
            "shard_map, tokens / 8 (axis_name)": temp(
                grad(mapped(data_specs, axis_name="data")), *shapes(("data",), ())
            ),
            "shard_map, vocabulary / 8 (vocab_axis_name)": temp(
                grad(mapped(vocab_specs, vocab_axis_name="data")), *shapes((), ("data",))
            ),
            "shard_map, tokens / 4 x vocabulary / 2": temp(
                grad(mapped(grid_specs, mesh=mesh2, axis_name="data", vocab_axis_name="vocab")),
                *shapes(("data",), ("vocab",), mesh=mesh2),
            ),
            "GSPMD, tokens / 8": temp(grad(ce), *shapes(("data",), ())),
            "GSPMD, tokens / 4 x vocabulary / 2": temp(
                grad(ce), *shapes(("data",), ("vocab",), mesh=mesh2)
            ),
        }
        for layout, value in rows.items():
            fused.append(
                {"layout": layout, "tokens": tokens, "dim": hidden, "vocab": vocab, "temp": value}
            )
            print(fused[-1], flush=True)
    return mining, fused


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def tables(mining: list[dict], fused: list[dict]) -> str:
    lines = [
        'Mining losses, D = 128, float32, `reduction="mean"`, forward+backward:',
        "",
        "| loss | B | one device | shard_map / 8 (per device) | ratio | GSPMD / 8 (per device) |",
        "|---|---|---|---|---|---|",
    ]
    for r in mining:
        lines.append(
            f"| `{r['loss']}` | {r['batch']} | {_mib(r['one'])} | {_mib(r['shard_map'])} "
            f"| {r['shard_map'] / r['one']:.3f} | {_mib(r['gspmd'])} |"
        )
    lines += [
        "",
        "`fused_linear_cross_entropy`, float32, forward+backward (gradients of x and the weight):",
        "",
        "| layout | N x D, V | temp memory per device |",
        "|---|---|---|",
    ]
    for r in fused:
        lines.append(
            f"| {r['layout']} | {r['tokens']} x {r['dim']}, {r['vocab']} | {_mib(r['temp'])} |"
        )
    return "\n".join(lines)


def write(text: str, command: str) -> None:
    import jax

    readme = HERE / "README.md"
    content = readme.read_text()
    device = jax.devices()[0]
    block = (
        f"{BEGIN}\nCommand: `{command}` ({DEVICES} simulated CPU devices, jax {jax.__version__},"
        f" {device.platform})\n\n{text}\n{END}"
    )
    start, end = content.index(BEGIN), content.index(END) + len(END)
    readme.write_text(content[:start] + block + content[end:])


if __name__ == "__main__":
    sys.exit(main())
