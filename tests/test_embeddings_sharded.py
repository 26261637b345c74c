"""Mining, NT-Xent, the pair-weighting and contrastive losses across 8 simulated devices
equal the single-device loss on the whole batch (jaxloss.mining, jaxloss.pairs,
jaxloss.pair_weighting, jaxloss.pair_ranking), also with an example mask (NaN padding) and
weights; and every per-example loss of the embedding and two-vector families
(pairs, triplets, distances, similarity) reduces globally with ``axis_name``, masked and
weighted ("sum_and_count", and "mean" for the pair and tuple losses).

The check runs in a subprocess with 8 CPU devices (`tests.multidevice.run_on_devices`) so
that the rest of the suite keeps one CPU device.
"""

from __future__ import annotations

import textwrap

from tests.multidevice import run_on_devices

SCRIPT = textwrap.dedent(
    """
    import functools

    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import PartitionSpec as P

    import jaxloss
    from tests.process_tuning import tune

    tune()

    assert jax.device_count() == 8, jax.devices()
    AXIS = "batch"
    mesh = jax.make_mesh((8,), (AXIS,), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(0)
    B, D = 32, 5
    emb = jnp.asarray(rng.standard_normal((B, D)), jnp.float32)
    # Duplicates on different devices (rows 3 and 20) and a collapsed pair (rows 7 and 30).
    emb = emb.at[20].set(emb[3]).at[30].set(emb[7])
    labels = jnp.asarray(rng.integers(0, 5, B), jnp.int32).at[20].set(1).at[3].set(1)
    TOL = {"rtol": 1e-5, "atol": 1e-5}


    def close(name, single, sharded):
        np.testing.assert_allclose(np.asarray(sharded), np.asarray(single), err_msg=name, **TOL)
        assert np.all(np.isfinite(np.asarray(sharded))), name


    # Each check is a pair of scalar functions of the embeddings (one device on the whole
    # batch, the sharded loss inside shard_map); a group of checks is one jitted program that
    # returns both values and gradients, compared after (one compile per group, no eager
    # op-by-op dispatch).
    def run_group(checks, inputs):
        def program(inputs):
            out = {}
            for name, single, sharded, key in checks:
                out[name] = (
                    jax.value_and_grad(single)(inputs[key]),
                    jax.value_and_grad(sharded)(inputs[key]),
                )
            return out

        results = jax.jit(program)(inputs)
        for name, ((v1, g1), (v2, g2)) in results.items():
            close(name + " value", v1, v2)
            close(name + " grad", g1, g2)
        return results


    def pair_check(fn, labels, reduction, tag="", **kw):
        name = f"{fn.__name__} {reduction} {kw}{tag}"

        def single(e):
            return jnp.sum(fn(e, labels, reduction=reduction, **kw))

        body = functools.partial(fn, reduction=reduction, axis_name=AXIS, **kw)
        out = P(AXIS) if reduction == "none" else P()
        sharded_fn = jax.shard_map(body, mesh=mesh, in_specs=(P(AXIS), P(AXIS)), out_specs=out)

        def sharded(e):
            return jnp.sum(sharded_fn(e, labels))

        return name, single, sharded, "emb"


    # Masks and weights: `where` removes an example entirely (NaN padding on any device),
    # `weights` weight the anchors; "sum_and_count" is the global numerator and count.
    where = jnp.asarray(rng.random(B) < 0.8).at[3].set(True).at[20].set(True)
    weights = jnp.asarray(rng.uniform(0.5, 2.0, B), jnp.float32)
    padded = jnp.where(where[:, None], emb, jnp.nan)
    INPUTS = {"emb": emb, "padded": padded}


    def total_of(out):
        return sum(jnp.sum(v) for v in jax.tree_util.tree_leaves(out))


    def masked_check(fn, reduction, args, **kw):
        name = f"{fn.__name__} {reduction} masked {kw}"
        options = dict(reduction=reduction, **kw)

        def single(e):
            return total_of(fn(e, *args, where=where, weights=weights, **options))

        def body(e, *rest):
            *inputs, m, w = rest
            return fn(e, *inputs, where=m, weights=w, axis_name=AXIS, **options)

        out = P(AXIS) if reduction == "none" else P()
        sharded_fn = jax.shard_map(
            body, mesh=mesh, in_specs=(P(AXIS),) * (len(args) + 3), out_specs=out
        )

        def sharded(e):
            return total_of(sharded_fn(e, *args, where, weights))

        return name, single, sharded, "padded"


    def assert_masked_rows_have_zero_gradient(results):
        for name, (_, (_, g2)) in results.items():
            if " masked " in name:
                assert np.all(np.asarray(g2)[~np.asarray(where)] == 0.0), name


    MINING = [
        (jaxloss.batch_all_triplet_loss, {}),
        (jaxloss.batch_all_triplet_loss, {"mean_over": "valid", "distance": "cosine"}),
        (jaxloss.batch_hard_triplet_loss, {}),
        (jaxloss.batch_hard_triplet_loss, {"soft": True, "distance": "squared_euclidean"}),
        (jaxloss.semihard_triplet_loss, {}),
        (jaxloss.semihard_triplet_loss, {"distance": "cosine", "margin": 0.2}),
        (jaxloss.batch_hard_quadruplet_loss, {}),
        (jaxloss.batch_hard_quadruplet_loss, {"distance": "euclidean"}),
        (jaxloss.ntxent, {}),
    ]
    # One program per mining configuration: every reduction, the batch without any positive
    # pair (0 with zero gradients, no NaN), and "sum_and_count" masked and weighted (the global
    # numerator and count that "mean" divides).
    for fn, kw in MINING:
        checks = [pair_check(fn, labels, r, **kw) for r in ("mean", "sum", "none")]
        checks.append(pair_check(fn, jnp.arange(B), "mean", tag=" no positive pair", **kw))
        checks.append(masked_check(fn, "sum_and_count", (labels,), **kw))
        results = run_group(checks, INPUTS)
        (v_none, _), _ = results[checks[3][0]]
        assert float(v_none) == 0.0, checks[3][0]
        assert_masked_rows_have_zero_gradient(results)

    # The pair-weighting losses (jaxloss.pair_weighting, jaxloss.pair_ranking): every
    # anchor's pairs span the global batch. One program: "mean" and "sum", and the masked,
    # weighted "sum_and_count" of each, with the mining option of multi-similarity.
    PAIR_WEIGHTING = [
        (jaxloss.multi_similarity_loss, {}),
        (jaxloss.multi_similarity_loss, {"mine": True}),
        (jaxloss.circle_loss, {"gamma": 8.0}),
        (jaxloss.lifted_structure_loss, {}),
        (jaxloss.npairs_loss, {}),
        (jaxloss.margin_loss, {}),
        (jaxloss.fast_ap_loss, {}),
        (jaxloss.angular_loss, {}),
    ]
    checks = []
    for fn, kw in PAIR_WEIGHTING:
        checks += [pair_check(fn, labels, r, **kw) for r in ("mean", "sum")]
        checks.append(masked_check(fn, "sum_and_count", (labels,), **kw))
    assert_masked_rows_have_zero_gradient(run_group(checks, INPUTS))

    # Per-example losses and distances: the reductions are global.
    x2 = jnp.asarray(rng.standard_normal((B, D)), jnp.float32)
    x3 = jnp.asarray(rng.standard_normal((B, D)), jnp.float32)
    signs = jnp.asarray(rng.choice([-1, 1], B), jnp.int32)
    PER_EXAMPLE = [
        (jaxloss.contrastive_loss, (x2, signs > 0), {}),
        (jaxloss.cosine_embedding_loss, (x2, signs), {"margin": 0.1}),
        (jaxloss.cosine_similarity_loss, (x2,), {}),
        (jaxloss.triplet_margin_loss, (x2, x3), {}),
        (jaxloss.quadruplet_loss, (x2, x3, x2[::-1]), {}),
        *[
            (getattr(jaxloss, name), (x2,), {})
            for name in (
                "euclidean_distance",
                "squared_euclidean_distance",
                "minkowski_distance",
                "manhattan_distance",
                "chebyshev_distance",
                "cosine_similarity",
                "cosine_distance",
                "pearson_correlation",
                "correlation_distance",
                "jaccard_index",
                "jaccard_distance",
                "hamming_distance",
            )
        ],
        (jaxloss.mahalanobis_distance, (x2,), {"precision": jnp.eye(D)}),
    ]
    checks = [masked_check(fn, "sum_and_count", args, **kw) for fn, args, kw in PER_EXAMPLE]
    checks += [masked_check(fn, "mean", args, **kw) for fn, args, kw in PER_EXAMPLE[:5]]

    # Pair losses: only the reductions are global.
    same = jnp.asarray(rng.integers(0, 2, B), jnp.int32)
    x4 = jnp.asarray(rng.standard_normal((B, D)), jnp.float32)
    for reduction in ("mean", "sum"):
        body = functools.partial(jaxloss.contrastive_loss, reduction=reduction, axis_name=AXIS)
        pair_fn = jax.shard_map(
            body, mesh=mesh, in_specs=(P(AXIS), P(AXIS), P(AXIS)), out_specs=P()
        )
        checks.append(
            (
                f"contrastive {reduction}",
                functools.partial(
                    lambda a, r: jaxloss.contrastive_loss(a, x4, same, reduction=r), r=reduction
                ),
                functools.partial(lambda a, f: f(a, x4, same), f=pair_fn),
                "emb",
            )
        )
    assert_masked_rows_have_zero_gradient(run_group(checks, INPUTS))

    # The data-parallel Flax step of jaxloss.mining's docstring: gradients w.r.t. replicated
    # parameters, taken inside shard_map, are the full-batch gradients as they are.
    model = nn.Dense(4)
    params = model.init(jax.random.key(0), emb)


    def global_loss(params):
        return jaxloss.semihard_triplet_loss(model.apply(params, emb), labels, reduction="mean")


    @jax.jit
    @functools.partial(
        jax.shard_map, mesh=mesh, in_specs=(P(), P(AXIS), P(AXIS)), out_specs=(P(), P())
    )
    def train_step(params, images, labels):
        def loss_fn(params):
            embeddings = model.apply(params, images)
            return jaxloss.semihard_triplet_loss(
                embeddings, labels, reduction="mean", axis_name=AXIS
            )

        return jax.value_and_grad(loss_fn)(params)


    v1, g1 = jax.jit(jax.value_and_grad(global_loss))(params)
    v2, g2 = train_step(params, emb, labels)
    close("flax step value", v1, v2)
    jax.tree_util.tree_map(lambda a, b: close("flax step grad", a, b), g1, g2)

    # pmap: the usual pmean of the per-device gradients.
    def pmap_step(params, images, labels):
        def loss_fn(params):
            embeddings = model.apply(params, images)
            return jaxloss.batch_hard_quadruplet_loss(
                embeddings, labels, reduction="mean", axis_name=AXIS
            )

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return loss, jax.lax.pmean(grads, AXIS)


    def global_quadruplet(params):
        return jaxloss.batch_hard_quadruplet_loss(
            model.apply(params, emb), labels, reduction="mean"
        )


    v1, g1 = jax.jit(jax.value_and_grad(global_quadruplet))(params)
    v3, g3 = jax.pmap(pmap_step, axis_name=AXIS, in_axes=(None, 0, 0))(
        params, emb.reshape(8, 4, D), labels.reshape(8, 4)
    )
    close("pmap value", np.full(8, v1), v3)
    jax.tree_util.tree_map(lambda a, b: close("pmap grad", np.broadcast_to(a, b.shape), b), g1, g3)
    # The contrastive losses' ring and gather paths and GSPMD on 8 devices (the same check
    # runs on 4 in tests/test_axis_name.py).
    from tests import test_contrastive

    test_contrastive.sharded_checks()
    print("SHARDED-OK")
    """
)


def test_eight_devices_equal_one_device(tmp_path):
    script = tmp_path / "sharded_embeddings.py"
    script.write_text(SCRIPT)
    stdout = run_on_devices(str(script), timeout=600)
    assert "SHARDED-OK" in stdout and "checked 5 losses x 2 paths on 8 devices" in stdout, stdout
