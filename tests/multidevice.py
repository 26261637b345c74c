"""Running a test script in a subprocess with several simulated CPU devices.

``--xla_force_host_platform_device_count`` only takes effect before jax initialises its
backend, so a multi-device check runs as a script of its own while the rest of the suite
keeps one device.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_on_devices(script: str, *, devices: int = 8, timeout: float = 300) -> str:
    """Runs `script` (a path) with `devices` CPU devices; its stdout, after asserting success.

    Backend optimization level 0 compiles about twice as fast with the same results: these
    checks are about semantics, not speed.
    """
    flags = f"--xla_force_host_platform_device_count={devices} --xla_backend_optimization_level=0"
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-8000:]
    return result.stdout
