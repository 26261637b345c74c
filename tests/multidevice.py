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

    The subprocess inherits the suite's compile-time XLA flags (tests/conftest.py): these
    checks are about semantics, not speed.
    """
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
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


def assert_reductions_global(fns, args, *, reductions=("mean", "sum", "sum_and_count")) -> None:
    """Inside a 4-device subprocess: each ``fn(a, b, where=m, weights=v, reduction=r,
    axis_name=...)`` of `fns`, run in ``shard_map`` over ``("data",)`` with ``args = (a, b, m,
    v)`` split along their leading axis, equals the one-device call, values and gradients
    (with respect to ``a`` and ``b``). Prints the number of configurations checked.
    """
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import PartitionSpec as P

    assert jax.device_count() == 4, jax.devices()
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))

    def all_losses(a, b, m, v, axis_name=None):
        return {
            (name, r): fn(a, b, where=m, weights=v, reduction=r, axis_name=axis_name)
            for name, fn in fns.items()
            for r in reductions
        }

    sharded = jax.shard_map(
        functools.partial(all_losses, axis_name="data"),
        mesh=mesh,
        in_specs=(P("data"),) * 4,
        out_specs=P(),
    )

    def values_and_gradient(f, a, b, m, v):
        # The values, and the gradient of their total with respect to (a, b): the pullback
        # of ones on every output. One trace of `f` gives both.
        out, pull = jax.vjp(lambda a, b: f(a, b, m, v), a, b)
        return out, pull(jax.tree.map(jnp.ones_like, out))

    @jax.jit  # one program: one device and sharded, values and gradients
    def program(*args):
        return values_and_gradient(all_losses, *args), values_and_gradient(sharded, *args)

    (expected, g_expected), (got, g_got) = program(*args)
    for key in expected:
        np.testing.assert_allclose(
            np.asarray(jax.tree.leaves(got[key])),
            np.asarray(jax.tree.leaves(expected[key])),
            rtol=1e-5,
            err_msg=str(key),
        )
    for a, b in zip(g_got, g_expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print(f"checked {len(expected)} configurations")
