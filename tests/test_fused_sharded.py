"""fused_linear_cross_entropy with a vocabulary-sharded weight on 8 simulated CPU devices.

The check runs in a subprocess (this file run as a script) so that
``--xla_force_host_platform_device_count=8`` applies there only and the rest of the suite keeps
one device. The sharded loss (inside ``jax.shard_map``, ``axis_name="v"``) must equal the
unsharded one, and the materialized torch-semantics loss, in values and in gradients with
respect to the embeddings, the weight and the bias.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_sharded_equals_unsharded_on_8_devices():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, __file__],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked 12 configurations" in result.stdout, result.stdout


def _main() -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from jaxloss import fused_linear_cross_entropy, softmax_cross_entropy_with_integer_labels

    assert jax.device_count() == 8, jax.devices()
    mesh = jax.make_mesh((8,), ("v",))
    rng = np.random.default_rng(0)
    n, d, v = 11, 6, 40  # 5 classes per device
    x = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(v, d)) / np.sqrt(d), jnp.float32)
    b = jnp.asarray(rng.normal(size=(v,)), jnp.float32)
    # Labels on shard boundaries (0, 4, 5, 39) and one ignored token.
    y = jnp.asarray([0, 4, 5, 39, *rng.integers(0, v, n - 5), -100], jnp.int32)

    def put(a, *spec):
        return jax.device_put(a, NamedSharding(mesh, P(*spec)))

    xs, ws, bs, ys = put(x), put(w, "v"), put(b, "v"), put(y)
    option_sets = [
        {"ignore_index": -100},
        {"ignore_index": -100, "label_smoothing": 0.1, "z_loss": 1e-2, "logit_softcap": 3.0},
        {"ignore_index": -100, "chunk_size": 2, "token_chunk_size": 4, "label_smoothing": 0.3},
        {"ignore_index": -100, "where": jnp.arange(n) % 3 != 1, "z_loss": 0.1},
    ]
    checked = 0
    for options in option_sets:
        for reduction in ("none", "mean", "sum"):
            kw = {**options, "reduction": reduction}

            def unsharded(x, w, b, kw=kw):
                return fused_linear_cross_entropy(x, w, y, bias=b, **kw)

            def sharded(x, w, b, kw=kw):
                def local(x, w, b, y):
                    return fused_linear_cross_entropy(x, w, y, bias=b, axis_name="v", **kw)

                specs = (P(), P("v"), P("v"), P())
                return jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=P())(x, w, b, ys)

            def materialized(x, w, b, kw=kw):
                # The definition: torch-semantics cross-entropy on the logits, plus the z-loss.
                z = x @ w.T + b
                cap = kw.get("logit_softcap")
                z = z if cap is None else cap * jnp.tanh(z / cap)
                mask = kw.get("where")
                loss = softmax_cross_entropy_with_integer_labels(
                    z,
                    y,
                    where=mask,
                    ignore_index=-100,
                    label_smoothing=kw.get("label_smoothing", 0.0),
                )
                loss = loss + kw.get("z_loss", 0.0) * jax.nn.logsumexp(z, axis=-1) ** 2
                valid = (y != -100) if mask is None else (y != -100) & mask
                loss = jnp.where(valid, loss, 0.0)
                if kw["reduction"] == "none":
                    return loss
                total = jnp.sum(loss)
                return total if kw["reduction"] == "sum" else total / jnp.sum(valid)

            def objective(f):
                # A non-uniform cotangent for every token.
                return lambda *a: jnp.sum(jnp.sin(f(*a)))

            results = [
                jax.jit(jax.value_and_grad(objective(f), argnums=(0, 1, 2)))(*args)
                for f, args in (
                    (sharded, (xs, ws, bs)),
                    (unsharded, (x, w, b)),
                    (materialized, (x, w, b)),
                )
            ]
            for other in results[1:]:
                for got, want in zip(
                    jax.tree_util.tree_leaves(results[0]),
                    jax.tree_util.tree_leaves(other),
                    strict=True,
                ):
                    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=str(kw))
            checked += 1
    print(f"checked {checked} configurations")


if __name__ == "__main__":
    _main()
