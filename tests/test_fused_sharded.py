"""fused_linear_cross_entropy across 8 simulated CPU devices, in every sharded layout.

The check runs in a subprocess (this file run as a script) so that
``--xla_force_host_platform_device_count=8`` applies there only and the rest of the suite keeps
one device. On a ``4 x 2`` mesh ``("data", "v")``, inside ``jax.shard_map``:

- ``vocab``: the weight and bias split by rows over both axes (``vocab_axis_name=("data",
  "v")``), the tokens replicated;
- ``data``: the tokens split over both axes (``axis_name=("data", "v")``), the weight and bias
  replicated (data parallelism: their gradients must come back summed over the token shards);
- ``2d``: the tokens split over ``"data"`` and the vocabulary over ``"v"``.

Each must equal the one-device loss on the global batch, and the materialized torch-semantics
loss, in values and in gradients with respect to the embeddings, the weight and the bias, for
every reduction, with the default blocks and with small looping ones. Token shard 1 of the
``data`` layout holds only ignored tokens, so a mean of local means would differ from the
global mean that ``axis_name`` gives; one option set adds a mask and per-token weights. Every
layout and reduction of one option set is one jitted call (few compilations).
"""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from jaxloss import fused_linear_cross_entropy
from tests.multidevice import run_on_devices

NUM_OPTION_SETS = 4
LAYOUTS = ("vocab", "data", "2d")
REDUCTIONS = ("none", "mean", "sum")


def test_sharded_equals_unsharded_on_8_devices():
    stdout = run_on_devices(__file__, timeout=300)
    expected = NUM_OPTION_SETS * len(LAYOUTS) * len(REDUCTIONS)
    assert f"checked {expected} configurations" in stdout, stdout


def test_token_and_vocabulary_axes_must_differ():
    x, w, y = jnp.ones((4, 3)), jnp.ones((5, 3)), jnp.zeros((4,), jnp.int32)
    with pytest.raises(ValueError, match=r"`axis_name`.*`vocab_axis_name`.*'v'"):
        fused_linear_cross_entropy(x, w, y, axis_name=("data", "v"), vocab_axis_name="v")


def _main() -> None:
    import jax
    import numpy as np
    from jax.sharding import PartitionSpec as P

    from jaxloss import softmax_cross_entropy_with_integer_labels
    from tests.process_tuning import tune

    tune()
    assert jax.device_count() == 8, jax.devices()
    mesh = jax.make_mesh((4, 2), ("data", "v"), axis_types=(jax.sharding.AxisType.Auto,) * 2)
    both = ("data", "v")
    rng = np.random.default_rng(0)
    n, d, v = 32, 6, 40  # 5 classes per device (vocab), 20 (2d); 4 tokens per device (data)
    x = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(v, d)) / np.sqrt(d), jnp.float32)
    b = jnp.asarray(rng.normal(size=(v,)), jnp.float32)
    # Labels on shard boundaries (0, 4, 5, 19, 20, 39); tokens 4..7 (token shard 1 of the
    # `data` layout) and the last one are ignored.
    y = rng.integers(0, v, n)
    y[:4] = [0, 4, 5, 39]
    y[8:10] = [19, 20]
    y[4:8] = y[-1] = -100
    y = jnp.asarray(y, jnp.int32)
    mask = jnp.arange(n) % 3 != 1
    token_weights = jnp.asarray(rng.uniform(0.5, 2.0, n), jnp.float32)
    # (tokens, vocabulary) partition specs and axis names of each layout.
    layouts = {
        "vocab": (P(), P(both), {"vocab_axis_name": both}),
        "data": (P(both), P(), {"axis_name": both}),
        "2d": (P("data"), P("v"), {"axis_name": "data", "vocab_axis_name": "v"}),
    }
    option_sets = [
        {"ignore_index": -100},
        {"ignore_index": -100, "label_smoothing": 0.1, "z_loss": 1e-2, "logit_softcap": 3.0},
        # Blocks that loop with a remainder in every layout.
        {"ignore_index": -100, "chunk_size": 2, "token_chunk_size": 3, "label_smoothing": 0.3},
        {"ignore_index": -100, "where": True, "weights": True, "z_loss": 0.1},
    ]
    assert len(option_sets) == NUM_OPTION_SETS

    def objective(f):
        # A non-uniform cotangent for every token; a reduced loss as it is (the sine of a sum
        # would amplify its rounding).
        def scalar(*a):
            out = f(*a)
            return jnp.sum(jnp.sin(out)) if out.ndim else out

        return scalar

    def sharded(layout, kw):
        tokens, vocab, axes = layouts[layout]
        out = tokens if kw["reduction"] == "none" else P()

        def local(x, w, b, y, m, v):
            return fused_linear_cross_entropy(x, w, y, bias=b, where=m, weights=v, **axes, **kw)

        specs = (tokens, vocab, vocab, tokens, tokens, tokens)
        return jax.shard_map(local, mesh=mesh, in_specs=specs, out_specs=out)

    def materialized(x, w, b, y, m, v, kw):
        # The definition: torch-semantics cross-entropy on the logits, plus the z-loss.
        z = x @ w.T + b
        cap = kw.get("logit_softcap")
        z = z if cap is None else cap * jnp.tanh(z / cap)
        loss = softmax_cross_entropy_with_integer_labels(
            z, y, where=m, ignore_index=-100, label_smoothing=kw.get("label_smoothing", 0.0)
        )
        loss = loss + kw.get("z_loss", 0.0) * jax.nn.logsumexp(z, axis=-1) ** 2
        valid = (y != -100) if m is None else (y != -100) & m
        weights = jnp.where(valid, 1.0 if v is None else v, 0.0)
        loss = jnp.where(valid, weights * loss, 0.0)
        if kw["reduction"] == "none":
            return loss
        total = jnp.sum(loss)
        return total if kw["reduction"] == "sum" else total / jnp.sum(weights)

    checked = 0
    for options in option_sets:
        m = mask if options.get("where") else None
        v = token_weights if options.get("weights") else None
        options = {k: val for k, val in options.items() if k not in ("where", "weights")}

        @jax.jit
        def every_layout(x, w, b, y, m, v, options=options):
            out = {}
            for layout in LAYOUTS:
                for reduction in REDUCTIONS:
                    f = sharded(layout, {**options, "reduction": reduction})
                    grad = jax.value_and_grad(objective(f), argnums=(0, 1, 2))
                    out[layout, reduction] = grad(x, w, b, y, m, v)
            return out

        @jax.jit
        def references(x, w, b, y, m, v, options=options):
            out = {}
            for reduction in REDUCTIONS:
                kw = {**options, "reduction": reduction}

                def one_device(x, w, b, kw=kw):
                    return fused_linear_cross_entropy(x, w, y, bias=b, where=m, weights=v, **kw)

                def definition(x, w, b, kw=kw):
                    return materialized(x, w, b, y, m, v, kw)

                for name, f in (("one_device", one_device), ("materialized", definition)):
                    out[name, reduction] = jax.value_and_grad(objective(f), argnums=(0, 1, 2))(
                        x, w, b
                    )
            return out

        got = every_layout(x, w, b, y, m, v)
        want = references(x, w, b, y, m, v)
        for (layout, reduction), result in got.items():
            for reference in ("one_device", "materialized"):
                for a, e in zip(
                    jax.tree_util.tree_leaves(result),
                    jax.tree_util.tree_leaves(want[reference, reduction]),
                    strict=True,
                ):
                    np.testing.assert_allclose(
                        a,
                        e,
                        rtol=1e-5,
                        atol=1e-5,
                        err_msg=f"{layout} {reduction} {options} vs {reference}",
                    )
            checked += 1
    print(f"checked {checked} configurations")


if __name__ == "__main__":
    _main()
