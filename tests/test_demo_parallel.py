"""The demo's training step is data-parallel: 8 simulated CPU devices give the same loss and
gradients as 1 device (to 1e-5), in a subprocess so that XLA_FLAGS can create the devices."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json

import jax
import numpy as np
import optax

from jaxloss import demo

assert jax.device_count() == 8, jax.devices()
cfg = demo.Config()
x_train, y_train, _, _ = demo.load_digits_split(cfg.seed)
x, y = x_train[:64], y_train[:64]
graphdef, params = demo.init(cfg)
value_and_grad = jax.jit(jax.value_and_grad(demo.build_objective(graphdef, cfg), has_aux=True))
tx = optax.adamw(cfg.learning_rate, weight_decay=0.0)
results = {}
for n in (1, 8):
    mesh = demo.make_mesh(jax.devices()[:n])
    xs, ys = demo.shard_batch(mesh, x, y)
    assert len(xs.sharding.device_set) == n
    replicated = demo.replicate(mesh, params)
    (value, aux), grads = value_and_grad(replicated, xs, ys)
    step = demo.make_train_step(graphdef, cfg, tx)
    new_params, _, step_value, _ = step(replicated, demo.replicate(mesh, tx.init(params)), xs, ys)
    leaves = lambda t: [np.asarray(l, np.float64) for l in jax.tree.leaves(t)]
    results[n] = (float(value), leaves(aux), leaves(grads), float(step_value), leaves(new_params))

one, eight = results[1], results[8]
def max_diff(a, b):
    return max(float(np.max(np.abs(u - v) / (1.0 + np.abs(v)))) for u, v in zip(a, b, strict=True))
print(json.dumps({
    "value": abs(one[0] - eight[0]),
    "aux": max_diff(eight[1], one[1]),
    "grads": max_diff(eight[2], one[2]),
    "step_value": abs(one[3] - eight[3]),
    "params_after_step": max_diff(eight[4], one[4]),
    "grad_norm": float(np.sqrt(sum(np.sum(g**2) for g in one[2]))),
}))
"""


def test_one_step_on_8_devices_equals_1_device():
    env = dict(os.environ)
    # The suite's compile-time XLA flags (tests/conftest.py) plus the 8 devices.
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    diffs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert diffs["grad_norm"] > 1e-3  # the gradients being compared are not trivially zero
    for key in ("value", "aux", "grads", "step_value", "params_after_step"):
        assert diffs[key] < 1e-5, diffs
