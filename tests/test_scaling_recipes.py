"""The README's "Scaling out" recipes are the code in ``jaxloss/scaling.py``, and they work.

Every Python block of that README section must appear verbatim in the module; the steps then
run on 8 simulated CPU devices (a subprocess, so the rest of the suite keeps one device) and
must equal one device on the global batch: two optimizer steps of the data-parallel recipe
(mesh ``("data",)`` of 8) and of the data x tensor-parallel recipe (mesh ``4 x 2``,
``("data", "vocab")``), against the materialized cross-entropy written out here, and the
GSPMD losses against the same function on one device.
"""

from __future__ import annotations

import inspect
import itertools
import pathlib
import re
import textwrap

from tests.multidevice import run_on_devices

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Scaling out\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_quotes_the_module():
    import jaxloss.scaling

    source = inspect.getsource(jaxloss.scaling)
    blocks = _readme_blocks()
    assert len(blocks) >= 4, blocks
    for block in blocks:
        assert textwrap.dedent(block) in source, f"README block not in jaxloss/scaling.py:\n{block}"


def test_accumulate_equals_the_full_batch():
    """The accumulation recipe: four micro-batches of unequal ignored counts, one division."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxloss
    from jaxloss import scaling

    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(20, 4)), jnp.float32)
    labels = rng.integers(0, 3, 20)
    labels[[0, 1, 2, 9, 10]] = -100
    labels = jnp.asarray(labels, jnp.int32)
    params = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)

    def full(params):
        return jaxloss.softmax_cross_entropy_with_integer_labels(
            x @ params, labels, ignore_index=-100, reduction="mean"
        )

    value, grads = jax.value_and_grad(full)(params)
    cuts = [0, 3, 11, 14, 20]  # the first micro-batch holds only ignored tokens
    batches = [(x[a:b], labels[a:b]) for a, b in itertools.pairwise(cuts)]
    mean, accumulated = jax.jit(scaling.accumulate)(params, batches)
    np.testing.assert_allclose(mean, value, rtol=1e-6)
    np.testing.assert_allclose(accumulated, grads, rtol=1e-5, atol=1e-7)


def test_recipes_equal_one_device_on_8_devices():
    stdout = run_on_devices(__file__, timeout=300)
    assert "recipes checked: gspmd, data_parallel, data_tensor_parallel" in stdout


def _main() -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from jaxloss import scaling
    from tests.process_tuning import tune

    tune()
    assert jax.device_count() == 8, jax.devices()
    rng = np.random.default_rng(0)
    batch, d_in, dim, vocab = 32, 5, 6, 40
    params = {
        "proj": jnp.asarray(rng.normal(size=(d_in, dim)), jnp.float32),
        "unembed": jnp.asarray(rng.normal(size=(vocab, dim)) * 0.4, jnp.float32),
    }
    x = jnp.asarray(rng.normal(size=(batch, d_in)), jnp.float32)
    labels = rng.integers(0, vocab, batch)
    labels[4:8] = -1  # one data shard has no counted token: the mean must be global
    labels = jnp.asarray(labels, jnp.int32)
    groups = jnp.asarray(rng.integers(0, 4, batch), jnp.int32)
    tx = optax.adam(1e-2)

    def close(name, got, want):
        for a, e in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5, err_msg=name)

    @jax.jit
    def reference_step(params, opt_state, x, labels):
        # The definition: the materialized softmax cross-entropy, mean over counted tokens.
        def loss_fn(params):
            logits = (x @ params["proj"]) @ params["unembed"].T
            valid = labels >= 0
            picked = jnp.take_along_axis(logits, jnp.maximum(labels, 0)[:, None], axis=1)
            per_token = jax.nn.logsumexp(logits, axis=1) - picked[:, 0]
            return jnp.sum(jnp.where(valid, per_token, 0.0)) / jnp.sum(valid)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def two_steps(step, params, x, labels):
        opt_state = tx.init(params)
        losses = []
        for _ in range(2):
            params, opt_state, loss = step(params, opt_state, x, labels)
            losses.append(loss)
        return params, losses

    want = two_steps(reference_step, params, x, labels)
    assert float(jnp.max(jnp.abs(want[0]["unembed"] - params["unembed"]))) > 1e-3

    # GSPMD: the same function on sharded inputs and on one device.
    auto = (jax.sharding.AxisType.Auto,)
    mesh = jax.make_mesh((8,), ("data",), axis_types=auto)

    def put(a, *spec, mesh=mesh):
        return jax.device_put(a, NamedSharding(mesh, P(*spec)))

    emb = x @ params["proj"][:, :4]
    args = (emb, groups, x @ params["proj"], params["unembed"], labels)
    sharded = (put(emb, "data"), put(groups, "data"), put(args[2], "data"))
    sharded += (put(params["unembed"], "data"), put(labels, "data"))
    gspmd = jax.jit(jax.value_and_grad(lambda *a: sum(scaling.gspmd_losses(*a).values())))
    close("gspmd", gspmd(*sharded), gspmd(*args))

    step = scaling.data_parallel_step(mesh, tx)
    got = two_steps(step, put(params), put(x, "data"), put(labels, "data"))
    close("data_parallel", got, want)

    mesh2 = jax.make_mesh((4, 2), ("data", "vocab"), axis_types=auto * 2)
    placed = {"proj": put(params["proj"], mesh=mesh2)}
    placed["unembed"] = put(params["unembed"], "vocab", mesh=mesh2)
    step = scaling.data_tensor_parallel_step(mesh2, tx)
    got = two_steps(step, placed, put(x, "data", mesh=mesh2), put(labels, "data", mesh=mesh2))
    assert got[0]["unembed"].sharding.spec == P("vocab"), got[0]["unembed"].sharding
    close("data_tensor_parallel", got, want)
    print("recipes checked: gspmd, data_parallel, data_tensor_parallel")


if __name__ == "__main__":
    _main()
