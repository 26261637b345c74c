"""bench/memory_per_device.py runs (quick shapes), and sharding cuts the per-device memory.

Under ``shard_map`` a mining loss holds ``[B / 8, B]`` matrices per device, not ``[B, B]``:
its per-device temporary memory must be well under half the one-device figure (1/8 plus the
gathered ``[B, D]`` candidates); the vocabulary-sharded fused cross-entropy must need less
than the unsharded one, and both far less than the materialized logits.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = """
import json
from bench import memory_per_device
mining, fused = memory_per_device.measure(quick=True)
print(json.dumps({"mining": mining, "fused": fused}))
"""


def test_sharded_memory_per_device():
    # The suite's compile-time XLA flags (tests/conftest.py) plus the 8 devices.
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8"
    env = {**os.environ, "XLA_FLAGS": flags}
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["mining"]) == 5
    for row in result["mining"]:
        assert row["shard_map"] < 0.4 * row["one"], row
    fused = {row["layout"]: row["temp"] for row in result["fused"]}
    one = fused["one device"]
    assert fused["shard_map, vocabulary / 8 (vocab_axis_name)"] < 0.6 * one, fused
    assert one < fused["one device, materialized logits"] / 8, fused
