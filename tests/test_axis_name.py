"""``axis_name`` on every reducing loss: a global reduction inside ``shard_map`` (section 5).

One subprocess with 4 simulated CPU devices runs every registered function that takes
``axis_name``: the registry's inputs for a batch of 8 are split over a ``("data",)`` mesh
(arguments without a batch axis, ``Case.shared_args``, replicated) and the loss is called
inside ``jax.shard_map`` with ``axis_name="data"``. ``"mean"``, ``"sum"`` and the
``"sum_and_count"`` pair, and the gradient of the mean with respect to the first
differentiated argument, must equal the one-device call on the whole batch. The losses with
their own cross-device tests (mining, NT-Xent, the fused cross-entropy in every layout) run
here too, in this one common form.

Then every registered function under explicit sharding (``jax.make_mesh``'s default axis
type): the summed value and its gradient, jitted on batch-split inputs, equal the unsharded
call, except the names in ``EXPLICIT_REFUSED`` (JAX refuses them at trace time; the list is
exact).

The families' own sharded checks (``sharded_checks`` of each module in ``FAMILY_CHECKS``: masks,
weights and options specific to the family) run in the same subprocess, so the suite starts
one 4-device interpreter and imports the reference libraries once, not once per family.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io

from tests.multidevice import run_on_devices

# A reduction over another axis than the batch: optax's dice_loss reduces over classes.
NOT_BATCH_REDUCTIONS = {"dice_loss"}
# shard_map's type check (`check_vma`) refuses ott-jax's Sinkhorn loop: one branch of its
# error `lax.cond` returns a constant that does not vary over the mesh axis
# (ott/solvers/linear/sinkhorn.py). With the check off the loss is exact; its docstring says so.
CHECK_VMA_OFF = frozenset({"sinkhorn_divergence"})

# Under explicit sharding (`jax.make_mesh`'s default axis type) these raise at trace time, as
# a ShardingTypeError naming the operation; every other name works and equals one device.
# The list is exact: a fix must remove its name.
EXPLICIT_REFUSED = frozenset({
    # the [B, B] pair matrices of a split batch: JAX asks for the result's sharding
    "angular_loss", "batch_all_triplet_loss", "batch_hard_quadruplet_loss",
    "batch_hard_triplet_loss", "circle_loss", "fast_ap_loss", "lifted_structure_loss",
    "margin_loss", "multi_similarity_loss", "npairs_loss", "ntxent",
    "semihard_triplet_loss", "clip_loss", "infonce_loss", "sigmoid_contrastive_loss",
    "supervised_contrastive_loss", "proxy_anchor_loss",
    # reshapes that merge a split axis (LPIPS's pair batch, MS-SSIM's scales)
    "lpips", "ms_ssim", "ms_ssim_l1_loss", "ms_ssim_loss",
    # sorts of split rows with an unsplit index operand; optax's CTC; ott-jax's loop
    "lovasz_hinge_loss", "lovasz_softmax_loss", "wasserstein_distance", "ctc_loss",
    "ctc_loss_with_forward_probs", "sinkhorn_divergence",
    # class-weighted and ignore_index paths, the fused cross-entropy's chunks
    "multi_margin_loss", "nll_loss", "softmax_focal_loss", "dice_cross_entropy_loss",
    "fused_linear_cross_entropy",
})  # fmt: skip

# Module -> the line its `sharded_checks` prints when every configuration passed. The
# families without float64 run first: `tests.test_lovasz`, `tests.test_contrastive` and the
# registry check enable it.
FAMILY_CHECKS = {
    "tests.test_divergences": "checked 24 configurations",
    "tests.test_images": "checked 12 configurations",
    "tests.test_mean_errors": "checked 9 configurations",
    "tests.test_regression": "checked 21 configurations",
    "tests.test_overlap": "checked 15 configurations",
    "tests.test_lovasz": "checked 12 configurations",
    "tests.test_contrastive": "checked 5 losses x 2 paths",
}


def test_every_axis_name_loss_is_global_on_4_devices():
    stdout = run_on_devices(__file__, devices=4, timeout=900)
    sections = dict(part.split("\n", 1) for part in stdout.split("== ")[1:])
    for module, expected in FAMILY_CHECKS.items():
        assert expected in sections.get(module, ""), (module, stdout)
    registry = sections.get("registry", "")
    assert "checked " in registry and "missing: []" in registry, stdout
    explicit = sections.get("explicit", "")
    assert "wrong: []" in explicit, explicit
    assert f"refused: {sorted(EXPLICIT_REFUSED)}" in explicit, explicit


def _family_checks() -> None:
    for module in FAMILY_CHECKS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            importlib.import_module(module).sharded_checks()
        print(f"== {module}\n{out.getvalue()}", flush=True)


def _main() -> None:
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import PartitionSpec as P

    from tests.process_tuning import tune
    from tests.registry import all_cases

    tune()
    _family_checks()
    print("== registry")
    jax.config.update("jax_enable_x64", True)
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    checked, missing = [], []
    for case in all_cases():
        params = inspect.signature(case.function).parameters
        if "axis_name" not in params or case.name in NOT_BATCH_REDUCTIONS:
            continue
        call = case.make(np.random.default_rng(0), (8,), jnp.float64)
        fn = functools.partial(case.function, **call.kwargs)
        specs = tuple(P() if i in case.shared_args else P("data") for i in range(len(call.args)))
        argnum = case.grad_argnums[0]

        def sharded(*args, reduction, _fn=fn, _specs=specs, _vma=case.name not in CHECK_VMA_OFF):
            body = functools.partial(_fn, reduction=reduction, axis_name="data")
            out_specs = (P(), P()) if reduction == "sum_and_count" else P()
            mapped = jax.shard_map(
                body, mesh=mesh, in_specs=_specs, out_specs=out_specs, check_vma=_vma
            )
            return mapped(*args)

        def both(args, _fn=fn, _sharded=sharded, _argnum=argnum):
            def mean_of(f):
                def g(x):
                    a = list(args)
                    a[_argnum] = x
                    return f(*a, reduction="mean")

                return jax.value_and_grad(g)(args[_argnum])

            one = {
                "mean": mean_of(_fn),
                "sum": _fn(*args, reduction="sum"),
                "pair": _fn(*args, reduction="sum_and_count"),
            }
            many = {
                "mean": mean_of(_sharded),
                "sum": _sharded(*args, reduction="sum"),
                "pair": _sharded(*args, reduction="sum_and_count"),
            }
            return one, many

        try:
            one, many = jax.jit(both)(call.args)
        except Exception as error:  # reported below with the function's name
            missing.append(f"{case.name}: {type(error).__name__}: {str(error)[:300]}")
            continue
        try:
            jax.tree.map(
                lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12), one, many
            )
        except AssertionError as error:
            missing.append(f"{case.name}: {str(error)[:300]}")
            continue
        checked.append(case.name)
    print(f"checked {len(checked)}: {checked}")
    print(f"missing: {missing}")
    _explicit_sharding(all_cases())


def _explicit_sharding(cases) -> None:
    """Every registered function under JAX's explicit sharding (the default axis type of
    ``jax.make_mesh``): ``jax.jit`` of the summed value and its gradient on inputs whose batch
    axis is split over the 4 devices equals the unsharded call, or the function is in
    `EXPLICIT_REFUSED` (it raises at trace time)."""
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    print("== explicit")
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Explicit,))
    split = NamedSharding(mesh, P("data"))

    def place(leaf):
        batched = getattr(leaf, "ndim", 0) > 0 and leaf.shape[0] == 8
        return jax.device_put(leaf, split) if batched else leaf

    works, wrong, refused = [], [], []
    for case in cases:
        call = case.make(np.random.default_rng(0), (8,), jnp.float64)
        fn = functools.partial(case.function, **call.kwargs)
        argnum = case.grad_argnums[0]

        def total(*args, _fn=fn):
            return jnp.sum(jnp.asarray(_fn(*args), jnp.float64))

        step = jax.value_and_grad(total, argnums=argnum)
        args = [
            a if i in case.shared_args else jax.tree.map(place, a) for i, a in enumerate(call.args)
        ]
        try:
            with jax.set_mesh(mesh):
                got = jax.jit(step)(*args)
        except Exception:  # the list of refusals is compared with EXPLICIT_REFUSED
            refused.append(case.name)
            continue
        want = jax.jit(step)(*call.args)
        try:
            jax.tree.map(
                lambda a, b: np.testing.assert_allclose(
                    np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12
                ),
                got,
                want,
            )
            works.append(case.name)
        except AssertionError as error:
            wrong.append(f"{case.name}: {str(error)[:300]}")
    print(f"works: {len(works)}")
    print(f"wrong: {wrong}")
    print(f"refused: {sorted(refused)}")


if __name__ == "__main__":
    _main()
