"""Every loss that takes an axis name, in every layout, equals one device on the global batch.

One subprocess with 8 simulated CPU devices (``--xla_force_host_platform_device_count=8``;
the rest of the suite keeps one device). The global batch (32 examples) is split over a
one-axis mesh ``("data",)``; a small linear model with replicated parameters produces the
embeddings (or, for the fused cross-entropy, the hidden states) from sharded inputs. Each loss
(the mined triplet and quadruplet losses, ``ntxent``, ``contrastive_loss`` and
``fused_linear_cross_entropy``), with every reduction, runs in three layouts:

- ``gspmd``: plain ``jax.jit`` on inputs placed with ``NamedSharding`` (batch split, parameters
  replicated; the fused cross-entropy's weight split by rows), the loss called *without*
  ``axis_name``: XLA's partitioner keeps the global semantics;
- ``shard_map``: the loss inside ``jax.shard_map`` with ``axis_name="data"``;
- ``pmap``: the loss inside ``jax.pmap(..., axis_name="data")`` on ``[8, 4, ...]`` inputs.

Values and gradients (with respect to the replicated parameters and the sharded inputs) must
equal the one-device computation on the whole batch to 1e-5. Gradients are taken outside the
mapped function, of the value on device 0 (a well-defined function of the global inputs in
every layout). Each layout is one jitted call over all losses and reductions.
"""

from __future__ import annotations

from tests.multidevice import run_on_devices

LOSSES = (
    "batch_all_triplet",
    "batch_hard_triplet",
    "semihard_triplet",
    "batch_hard_quadruplet",
    "ntxent",
    "contrastive",
    "fused_linear_cross_entropy",
)
REDUCTIONS = ("none", "mean", "sum")
LAYOUTS = ("gspmd", "shard_map", "pmap")


def test_every_layout_equals_one_device_on_8_devices():
    stdout = run_on_devices(__file__, timeout=400)
    expected = len(LOSSES) * len(REDUCTIONS) * len(LAYOUTS)
    assert f"checked {expected} configurations" in stdout, stdout


def _main() -> None:
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import jaxloss
    from tests.process_tuning import tune

    tune()

    started = time.perf_counter()
    assert jax.device_count() == 8, jax.devices()
    n_dev, batch, d_in, d_emb, vocab = 8, 32, 5, 4, 24
    mesh = jax.make_mesh((n_dev,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(0)

    def normal(*shape, scale=1.0):
        return jnp.asarray(rng.normal(size=shape) * scale, jnp.float32)

    params = {
        "w": normal(d_in, d_emb, scale=0.3),  # distances of order 1
        "b": normal(d_emb, scale=0.1),
        "h": normal(d_in, 6),  # hidden states of the fused cross-entropy
        "W": normal(vocab, 6, scale=0.4),  # its unembedding, rows are classes
        "c": normal(vocab, scale=0.1),
    }
    inputs = normal(batch, d_in)
    # Rows 3 and 20 (different devices) are duplicates with the same label.
    inputs = inputs.at[20].set(inputs[3])
    groups = jnp.asarray(rng.integers(0, 5, batch), jnp.int32).at[20].set(1).at[3].set(1)
    others = normal(batch, d_emb)
    same = jnp.asarray(rng.integers(0, 2, batch), jnp.int32)
    # Classes on every device; device 1's tokens (4..7) are all ignored.
    classes = jnp.asarray(rng.integers(0, vocab, batch), jnp.int32).at[4:8].set(-1)
    data = {"x": inputs, "y": groups, "x2": others, "same": same, "t": classes}

    def loss(name, params, data, reduction, axis_name=None):
        emb = data["x"] @ params["w"] + params["b"]
        kw = {"reduction": reduction, "axis_name": axis_name}
        if name == "batch_all_triplet":
            return jaxloss.batch_all_triplet_loss(emb, data["y"], **kw)
        if name == "batch_hard_triplet":
            return jaxloss.batch_hard_triplet_loss(emb, data["y"], soft=True, **kw)
        if name == "semihard_triplet":
            return jaxloss.semihard_triplet_loss(emb, data["y"], margin=0.5, **kw)
        if name == "batch_hard_quadruplet":
            return jaxloss.batch_hard_quadruplet_loss(emb, data["y"], **kw)
        if name == "ntxent":
            return jaxloss.ntxent(emb, data["y"], 0.5, **kw)
        if name == "contrastive":
            return jaxloss.contrastive_loss(emb, data["x2"], data["same"], **kw)
        hidden = data["x"] @ params["h"]
        return jaxloss.fused_linear_cross_entropy(
            hidden, params["W"], data["t"], bias=params["c"], ignore_index=-1, **kw
        )

    def objective(out):
        # A non-uniform cotangent per example; a reduced loss as it is.
        return jnp.sum(jnp.sin(out)) if out.ndim else out

    def all_losses(layout_fn):
        """{(loss, reduction): (value, (d params, d inputs))} for one layout, one jit."""

        @jax.jit
        def run(params, data):
            out = {}
            for name in LOSSES:
                for reduction in REDUCTIONS:
                    f = layout_fn(name, reduction)

                    def scalar(params, x, f=f):
                        return objective(f(params, {**data, "x": x}))

                    out[name, reduction] = jax.value_and_grad(scalar, argnums=(0, 1))(
                        params, data["x"]
                    )
            return out

        return run

    def one_device(name, reduction):
        return lambda params, data: loss(name, params, data, reduction)

    def shard_mapped(name, reduction):
        out = P("data") if reduction == "none" else P()

        def local(params, data):
            return loss(name, params, data, reduction, axis_name="data")

        return jax.shard_map(local, mesh=mesh, in_specs=(P(), P("data")), out_specs=out)

    def pmapped(name, reduction):
        def local(params, data):
            return loss(name, params, data, reduction, axis_name="data")

        mapped = jax.pmap(local, axis_name="data", in_axes=(None, 0))

        def f(params, data):
            split = jax.tree.map(lambda a: a.reshape(n_dev, batch // n_dev, *a.shape[1:]), data)
            values = mapped(params, split)
            # Reduced values are the same on every device: device 0's is the loss.
            return values.reshape(batch) if reduction == "none" else values[0]

        return f

    want = jax.device_get(all_losses(one_device)(params, data))

    def replicated(tree):
        return jax.device_put(tree, NamedSharding(mesh, P()))

    def split(tree):
        return jax.device_put(tree, NamedSharding(mesh, P("data")))

    # GSPMD: the batch split, the parameters replicated except the fused cross-entropy's
    # unembedding and bias, split by rows (the vocabulary), and no axis name anywhere.
    gspmd_params = {**replicated(params), "W": split(params["W"]), "c": split(params["c"])}
    gspmd_data = split(data)
    assert len(gspmd_data["x"].sharding.device_set) == n_dev
    layouts = {
        "gspmd": (all_losses(one_device), (gspmd_params, gspmd_data)),
        "shard_map": (all_losses(shard_mapped), (replicated(params), split(data))),
        "pmap": (all_losses(pmapped), (params, data)),
    }
    checked = 0
    for layout, (run, args) in layouts.items():
        got = jax.device_get(run(*args))
        for key, result in got.items():
            # 1e-5 relative to the scale of this loss's value and gradients: a parameter
            # gradient sums 32 anchors' contributions and its small entries are differences of
            # large ones (the bias gradient of a translation-invariant loss is 0 up to
            # rounding), so float32 rounding in another summation order is ~1e-6 of that scale.
            scale = max(1.0, *(float(np.max(np.abs(e))) for e in jax.tree.leaves(want[key])))
            for a, e in zip(jax.tree.leaves(result), jax.tree.leaves(want[key]), strict=True):
                np.testing.assert_allclose(
                    a, e, rtol=1e-5, atol=1e-5 * scale, err_msg=f"{layout} {key}"
                )
                assert np.all(np.isfinite(a)), (layout, key)
            checked += 1
    # The comparison is not vacuous: every loss has a nonzero value and input gradient.
    for key, (value, (_, d_inputs)) in want.items():
        assert np.any(value != 0) and np.any(d_inputs != 0), key
    print(f"checked {checked} configurations in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    _main()
