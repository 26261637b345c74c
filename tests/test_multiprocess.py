"""Two processes x 2 CPU devices, on 127.0.0.1 only, equal one device on the global batch.

The test starts this file twice as a script (process ids 0 and 1). Each process joins
``jax.distributed`` (the coordinator, hosted by process 0, bound to 127.0.0.1 on a free port;
CPU collectives over gloo, also on 127.0.0.1), builds the 4-device global mesh, places its
part of a global batch with ``jax.make_array_from_process_local_data``, and checks against
the one-device computation on the whole batch, run in the same process on one of its own
devices, values and gradients to 1e-5 (joining and placing with the README's recipes,
``jaxloss.scaling.start_process`` and ``place_process_data``):

- ``semihard_triplet_loss`` and ``ntxent`` inside ``jax.shard_map`` with ``axis_name``;
- ``clip_loss`` and ``sigmoid_contrastive_loss`` as a ring over the 4 devices of both
  processes (``method="ring"``: text blocks passed with ``ppermute``), values and gradients
  with respect to both embedding batches and the logit scale;
- ``fused_linear_cross_entropy`` data-parallel (tokens split, weight replicated,
  ``axis_name``) and vocabulary-sharded (weight split by rows across the two processes,
  ``vocab_axis_name``);
- one data-parallel training step of the demo's model (``jaxloss.demo.make_train_step``
  under plain ``jax.jit``, the batch split over the 4 devices).

Every wait is bounded; on a failure or a timeout each child is killed by its own PID.
"""

from __future__ import annotations

import functools
import os
import pathlib
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
NUM_PROCESSES = 2
DEVICES_PER_PROCESS = 2
TIMEOUT_S = 240  # the whole test; each process also bounds its own initialization
CHECKS = (
    "semihard_triplet",
    "ntxent",
    "fused_data",
    "fused_vocab",
    "clip_ring",
    "siglip_ring",
    "demo_step",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one_device(tmp_path):
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    # The suite's compile-time XLA flags (tests/conftest.py) are inherited from os.environ.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    started = time.monotonic()
    children, logs = [], []
    try:
        for pid in range(NUM_PROCESSES):
            log = open(tmp_path / f"process{pid}.log", "w+")
            logs.append(log)
            children.append(
                subprocess.Popen(
                    [sys.executable, __file__, str(pid), str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for child in children:
            child.wait(timeout=max(1.0, TIMEOUT_S - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()  # this child only, by its PID
                child.wait(timeout=30)
    wall = time.monotonic() - started
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    report = f"wall time {wall:.1f} s\n" + "\n".join(
        f"--- process {pid} (exit {c.returncode}) ---\n{out[-6000:]}"
        for pid, (c, out) in enumerate(zip(children, outputs, strict=True))
    )
    print(report)
    for pid, (child, out) in enumerate(zip(children, outputs, strict=True)):
        assert child.returncode == 0, report
        assert f"process {pid}: checked {', '.join(CHECKS)}" in out, report


def _child(pid: int, port: int) -> None:
    import jax

    jax.config.update("jax_num_cpu_devices", DEVICES_PER_PROCESS)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    from jaxloss.scaling import start_process

    start_process(
        f"127.0.0.1:{port}",
        NUM_PROCESSES,
        pid,
        coordinator_bind_address=f"127.0.0.1:{port}",
        initialization_timeout=60,
        heartbeat_timeout_seconds=30,
        shutdown_timeout_seconds=30,
    )
    _gloo_on_loopback()
    try:
        _checks(pid)
    finally:
        jax.distributed.shutdown()


def _gloo_on_loopback() -> None:
    """Makes gloo listen on 127.0.0.1 (by default it resolves the machine's hostname).

    jax exposes no option for gloo's address; this registers the CPU client it would build
    anyway, with the hostname given. It must run before the first use of a device.
    """
    from jax._src import distributed, xla_bridge
    from jax._src.lib import _jax

    def cpu_client():
        collectives = _jax.make_gloo_tcp_collectives(
            distributed_client=distributed.global_state.client, hostname="127.0.0.1"
        )
        return xla_bridge.make_cpu_client(collectives=collectives)

    xla_bridge.register_backend_factory("cpu", cpu_client, priority=0, fail_quietly=False)


def _checks(pid: int) -> None:
    import jax
    import numpy as np
    import optax
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    import jaxloss
    from jaxloss import demo
    from jaxloss.scaling import place_process_data
    from tests.process_tuning import tune

    tune()

    assert jax.process_count() == NUM_PROCESSES and jax.process_index() == pid
    assert jax.device_count() == NUM_PROCESSES * DEVICES_PER_PROCESS, jax.devices()
    assert jax.local_device_count() == DEVICES_PER_PROCESS, jax.local_devices()
    local = jax.local_devices()[0]
    # jax.devices() is ordered by process, so process p holds a contiguous block of each axis.
    data_mesh = Mesh(np.asarray(jax.devices()), ("data",))
    vocab_mesh = Mesh(np.asarray(jax.devices()), ("v",))

    def place(mesh, spec, value):
        """The global array `value`, from this process's part of it only."""
        value = np.asarray(value)
        part = value
        if spec and spec[0] is not None:
            size = value.shape[0] // NUM_PROCESSES
            part = value[pid * size : (pid + 1) * size]
        return place_process_data(mesh, spec, part, value.shape)

    def gather(tree):
        return multihost_utils.process_allgather(tree, tiled=True)

    def close(name, got, want):
        for a, e in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            a, e = np.asarray(a, np.float64), np.asarray(e, np.float64)
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5, err_msg=name)

    rng = np.random.default_rng(0)  # the same global batch in every process
    batch, dim, vocab = 16, 5, 24
    emb = rng.normal(size=(batch, dim)).astype(np.float32)
    groups = rng.integers(0, 4, batch).astype(np.int32)
    hidden = rng.normal(size=(batch, 6)).astype(np.float32)
    weight = (rng.normal(size=(vocab, 6)) * 0.4).astype(np.float32)
    bias = (rng.normal(size=(vocab,)) * 0.1).astype(np.float32)
    classes = rng.integers(0, vocab, batch).astype(np.int32)
    classes[:5] = -1  # process 0 has fewer counted tokens: the mean must be global
    texts = rng.normal(size=(batch, dim)).astype(np.float32)
    scale = np.float32(2.0)

    def triplet(e, y, axis_name=None):
        return jaxloss.semihard_triplet_loss(e, y, reduction="mean", axis_name=axis_name)

    def contrastive(e, y, axis_name=None):
        return jaxloss.ntxent(e, y, 0.5, axis_name=axis_name)

    def fused(x, w, b, t, **axes):
        return jaxloss.fused_linear_cross_entropy(
            x, w, t, bias=b, ignore_index=-1, reduction="mean", **axes
        )

    def ring(loss, **options):
        def fn(e, t, s, axis_name=None):
            method = "dense" if axis_name is None else "ring"
            return loss(
                e, t, logit_scale=s, reduction="mean", axis_name=axis_name, method=method,
                block_size=2, **options,
            )  # fmt: skip

        return fn

    clip = ring(jaxloss.clip_loss, logit_bias=-1.0)
    siglip = ring(jaxloss.sigmoid_contrastive_loss, logit_bias=-1.0)

    def mapped(fn, mesh, in_specs, **axes):
        return jax.shard_map(lambda *a: fn(*a, **axes), mesh=mesh, in_specs=in_specs, out_specs=P())

    @jax.jit
    def sharded(e, y, x, w, b, t, xv, wv, bv, tv, texts, scale):
        tokens = (P("data"), P("data"))
        pairs = (P("data"), P("data"), P())
        dp = (P("data"), P(), P(), P("data"))
        vp = (P(), P("v"), P("v"), P())
        grad = jax.value_and_grad
        return {
            "semihard_triplet": grad(mapped(triplet, data_mesh, tokens, axis_name="data"))(e, y),
            "ntxent": grad(mapped(contrastive, data_mesh, tokens, axis_name="data"))(e, y),
            "fused_data": grad(mapped(fused, data_mesh, dp, axis_name="data"), argnums=(0, 1, 2))(
                x, w, b, t
            ),
            "fused_vocab": grad(
                mapped(fused, vocab_mesh, vp, vocab_axis_name="v"), argnums=(0, 1, 2)
            )(xv, wv, bv, tv),
            "clip_ring": grad(mapped(clip, data_mesh, pairs, axis_name="data"), argnums=(0, 1, 2))(
                e, texts, scale
            ),
            "siglip_ring": grad(
                mapped(siglip, data_mesh, pairs, axis_name="data"), argnums=(0, 1, 2)
            )(e, texts, scale),
        }

    @jax.jit
    def one_device(e, y, x, w, b, t, texts, scale):
        grad = jax.value_and_grad
        fused_ref = grad(fused, argnums=(0, 1, 2))(x, w, b, t)
        return {
            "semihard_triplet": grad(triplet)(e, y),
            "ntxent": grad(contrastive)(e, y),
            "fused_data": fused_ref,
            "fused_vocab": fused_ref,
            "clip_ring": grad(clip, argnums=(0, 1, 2))(e, texts, scale),
            "siglip_ring": grad(siglip, argnums=(0, 1, 2))(e, texts, scale),
        }

    d = functools.partial(place, data_mesh)
    v = functools.partial(place, vocab_mesh)
    got = sharded(
        d(P("data"), emb),
        d(P("data"), groups),
        d(P("data"), hidden),
        d(P(), weight),
        d(P(), bias),
        d(P("data"), classes),
        v(P(), hidden),
        v(P("v"), weight),
        v(P("v"), bias),
        v(P(), classes),
        d(P("data"), texts),
        d(P(), scale),
    )
    args = jax.device_put((emb, groups, hidden, weight, bias, classes, texts, scale), local)
    want = jax.device_get(one_device(*args))
    got = gather(got)
    for name in want:
        close(name, got[name], want[name])
    # The comparisons are not vacuous.
    for name, (value, grads) in want.items():
        assert value != 0 and all(np.any(g != 0) for g in jax.tree.leaves(grads)), name

    # One data-parallel training step of the demo's model (GSPMD: plain jax.jit).
    cfg = demo.Config()
    x_train, y_train, _, _ = demo.load_digits_split(cfg.seed)
    x, y = x_train[:64], y_train[:64]
    graphdef, params = demo.init(cfg)
    tx = optax.adamw(cfg.learning_rate, weight_decay=0.0)
    opt_state = tx.init(params)
    step = demo.make_train_step(graphdef, cfg, tx)
    host = jax.device_get((params, opt_state))
    replicated = jax.tree.map(lambda a: place(data_mesh, P(), a), host)
    new_params, _, value, aux = step(
        *replicated, place(data_mesh, P("data"), x), place(data_mesh, P("data"), y)
    )
    local_args = jax.device_put((*host, x, y), local)
    ref_params, _, ref_value, ref_aux = step(*local_args)
    close("demo step value and aux", gather((value, aux)), jax.device_get((ref_value, ref_aux)))
    close("demo step parameters", gather(new_params), jax.device_get(ref_params))
    moved = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(ref_params), jax.tree.leaves(host[0]), strict=True)
    )
    assert moved > 1e-4, moved  # the step changed the parameters
    print(f"process {pid}: checked {', '.join(CHECKS)}", flush=True)


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
