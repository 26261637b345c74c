"""``axis_name`` on every reducing loss: a global reduction inside ``shard_map`` (section 5).

One subprocess with 4 simulated CPU devices runs every registered function that takes
``axis_name``: the registry's inputs for a batch of 8 are split over a ``("data",)`` mesh
(arguments without a batch axis, ``Case.shared_args``, replicated) and the loss is called
inside ``jax.shard_map`` with ``axis_name="data"``. ``"mean"``, ``"sum"`` and the
``"sum_and_count"`` pair, and the gradient of the mean with respect to the first
differentiated argument, must equal the one-device call on the whole batch. The losses with
their own cross-device tests (mining, NT-Xent, the fused cross-entropy in every layout) run
here too, in this one common form.

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


if __name__ == "__main__":
    _main()
