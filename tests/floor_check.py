"""Every public name once, forward, under ``jax.jit`` and under ``jax.grad``, at small shapes.

A fast but complete check of an installed jaxloss against the versions of jax, jaxlib, optax,
numpy (and flax) it runs with: `make test-floors` runs it against the built wheel installed
with exactly the declared floors (``.ci/floors.txt``). It is not a pytest module (the name
does not start with ``test_``) and it imports nothing from the source tree but the registry
(``tests/registry``): the calls come from the registry at run time, so a function added,
renamed or re-registered is checked without editing this file, and a public name without a
registry entry is a failure.

    python -m tests.floor_check              # from a directory holding tests/registry
    python -m tests.floor_check --expect-installed   # fail if jaxloss is the source tree

With flax installed it also runs `jaxloss.models` (a VGG16 forward and gradient of a
perceptual loss through it, weights round-tripped through ``.npz``); without flax it checks
that ``import jaxloss.models`` fails naming the ``models`` extra.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import inspect
import os
import pathlib
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from typing import cast

# Two simulated CPU devices for the shard_map checks; set before jax is imported. LLVM's level 0
# compiles about twice as fast with the same results (as in the suite, tests/conftest.py; the
# fusion-emitter flag is left out: the floor's XLA may not know it).
os.environ.setdefault(
    "XLA_FLAGS", "--xla_force_host_platform_device_count=2 --xla_backend_optimization_level=0"
)

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

import jaxloss
from tests.registry import Call, Case, all_cases

# A reduction over another axis than the batch: optax's dice_loss reduces over classes.
NOT_BATCH_REDUCTIONS = {"dice_loss"}

# Public functions that import an optional package when called: (module, extra).
NEEDS_EXTRA = {"sinkhorn_divergence": ("ott", "transport")}


def check_names_extra(case: Case, extra: str) -> None:
    """Without its optional package, calling the function raises an ImportError naming it."""
    call: Call = case.make(np.random.default_rng(0), (3,), jnp.float32)
    try:
        case.function(*call.args, **call.kwargs)
    except ImportError as error:
        if f"jaxloss[{extra}]" not in str(error):
            raise AssertionError(
                f"the ImportError does not name jaxloss[{extra}]: {error}"
            ) from error
        return
    raise AssertionError(f"{case.name} ran without its optional package")


def _floating_leaves(tree) -> list[jax.Array]:
    return [
        x
        for x in jax.tree_util.tree_leaves(tree)
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)
    ]


def _total(tree) -> jax.Array:
    """The sum of every floating output (a tuple for ``sum_and_count``, a dict, ...)."""
    return sum(
        (jnp.sum(x.astype(jnp.float32)) for x in _floating_leaves(tree)),
        start=jnp.zeros((), jnp.float32),
    )


def _assert_finite(tree, what: str) -> None:
    for x in _floating_leaves(tree):
        if not bool(jnp.all(jnp.isfinite(x))):
            raise AssertionError(f"{what} is not finite: {x}")


def check_case(case: Case, rng: np.random.Generator) -> None:
    """Forward eagerly, forward under jit (equal), gradient under jit (finite)."""
    call: Call = case.make(rng, (3,), jnp.float32)
    fn = functools.partial(case.function, **call.kwargs)
    eager = fn(*call.args)
    jitted = jax.jit(fn)(*call.args)
    _assert_finite(eager, "the eager value")
    for a, b in zip(_floating_leaves(eager), _floating_leaves(jitted), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    if not case.grad_argnums:
        return

    def scalar(*diff):
        args = list(call.args)
        for i, a in zip(case.grad_argnums, diff, strict=True):
            args[i] = a
        return _total(fn(*args))

    grads = jax.jit(jax.grad(scalar, argnums=tuple(range(len(case.grad_argnums)))))(
        *(call.args[i] for i in case.grad_argnums)
    )
    _assert_finite(grads, "the gradient")


def takes_axis_name(case: Case) -> bool:
    try:
        parameters = inspect.signature(case.function).parameters
    except (TypeError, ValueError):
        return False
    return "axis_name" in parameters and case.name not in NOT_BATCH_REDUCTIONS


def check_axis_name(case: Case, rng: np.random.Generator) -> None:
    """Inside ``jax.shard_map`` on 2 devices, the global mean and its gradient = one device."""
    mesh = Mesh(np.array(jax.devices()[:2]), ("data",))
    call = case.make(rng, (4,), jnp.float32)
    fn = functools.partial(case.function, **{**call.kwargs, "reduction": "mean"})
    specs = tuple(P() if i in case.shared_args else P("data") for i in range(len(call.args)))
    sharded = jax.shard_map(
        functools.partial(fn, axis_name="data"), mesh=mesh, in_specs=specs, out_specs=P()
    )
    argnum = case.grad_argnums[0]

    def value_and_grad(f):
        def of(x):
            args = list(call.args)
            args[argnum] = x
            return f(*args)

        return jax.jit(jax.value_and_grad(of))(call.args[argnum])

    one, many = value_and_grad(fn), value_and_grad(sharded)
    for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(many), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


def check_scaling() -> None:
    """One step of each recipe of `jaxloss.scaling` (data, and data x vocabulary parallel)."""
    import jaxloss.scaling

    rng = np.random.default_rng(0)
    d_in, d, v, n = 3, 4, 6, 4
    params = {
        "proj": jnp.asarray(rng.standard_normal((d_in, d)), jnp.float32),
        "unembed": jnp.asarray(rng.standard_normal((v, d)), jnp.float32),
    }
    x = jnp.asarray(rng.standard_normal((n, d_in)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, v, n), jnp.int32)
    devices = np.array(jax.devices()[:2])
    tx = optax.sgd(0.1)
    for make, mesh in (
        (jaxloss.scaling.data_parallel_step, Mesh(devices, ("data",))),
        (jaxloss.scaling.data_tensor_parallel_step, Mesh(devices.reshape(1, 2), ("data", "vocab"))),
    ):
        _, _, loss = make(mesh, tx)(params, tx.init(params), x, labels)
        expected = jaxloss.fused_linear_cross_entropy(
            x @ params["proj"], params["unembed"], labels, ignore_index=-1, reduction="mean"
        )
        np.testing.assert_allclose(float(loss), float(expected), rtol=1e-4)


def check_models(has_flax: bool) -> None:
    """`jaxloss.models` with flax: VGG16 features in a perceptual loss; without: the extra."""
    if not has_flax:
        try:
            importlib.import_module("jaxloss.models")
        except ImportError as error:
            if "jaxloss[models]" not in str(error):
                raise AssertionError(f"the ImportError does not name the extra: {error}") from None
            return
        raise AssertionError("import jaxloss.models succeeded without flax")

    from jaxloss.models import VGG16, load_torchvision_vgg, vgg_layer_names

    vgg = VGG16(output_layers=("relu1_2", "relu2_1"))
    images = jax.random.uniform(jax.random.key(0), (2, 8, 8, 3))
    variables = vgg.init(jax.random.key(1), images)
    # Weights round-trip through a torchvision-style state dict in an .npz file.
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "vgg16.npz"
        full = VGG16(output_layers=("pool5",)).init(jax.random.key(2), jnp.zeros((1, 32, 32, 3)))
        arrays = {}
        convs = [n for n in vgg_layer_names("vgg16") if n.startswith("conv")]
        index = _torchvision_indices(vgg_layer_names("vgg16"))
        for name in convs:
            p = full["params"][name]
            arrays[f"features.{index[name]}.weight"] = np.transpose(
                np.asarray(p["kernel"]), (3, 2, 0, 1)
            )
            arrays[f"features.{index[name]}.bias"] = np.asarray(p["bias"])
        np.savez(path, **arrays)
        loaded = load_torchvision_vgg(path)
    np.testing.assert_allclose(
        np.asarray(loaded["params"]["conv1_1"]["kernel"]),
        np.asarray(full["params"]["conv1_1"]["kernel"]),
    )

    def step(variables, generated, target):
        def features(images: jax.Array) -> Mapping[str, jax.Array]:
            return cast(Mapping[str, jax.Array], vgg.apply(variables, images))

        return jaxloss.perceptual_loss(generated, target, feature_fn=features, reduction="mean")

    value, grad = jax.jit(jax.value_and_grad(step, argnums=1))(variables, images, images[::-1])
    _assert_finite((value, grad), "the perceptual loss through VGG16")


def _torchvision_indices(names: tuple[str, ...]) -> dict[str, int]:
    """Position of each layer in torchvision's ``features`` Sequential (one per layer)."""
    return {name: i for i, name in enumerate(names)}


def run(
    *,
    expect_installed: bool,
    models_only: bool = False,
    pins: str | None = None,
    shard: tuple[int, int] = (0, 1),
) -> int:
    where = pathlib.Path(jaxloss.__file__).resolve()
    versions = {
        m: getattr(importlib.import_module(m), "__version__", "?")
        for m in ("jax", "jaxlib", "optax", "numpy")
    }
    has_flax = importlib.util.find_spec("flax") is not None
    if has_flax:
        versions["flax"] = importlib.import_module("flax").__version__
    print(f"jaxloss {jaxloss.__version__} from {where}")
    print("with " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if expect_installed and "site-packages" not in where.parts:
        print("FAIL: jaxloss was imported from the source tree, not an installed wheel")
        return 1
    if pins is not None:
        wrong = _unpinned(pins)
        if wrong:
            print("FAIL: installed versions differ from " + pins + ": " + ", ".join(wrong))
            return 1

    cases = all_cases()
    public = sorted(set(jaxloss.__all__) - {"__version__"})
    registered = {c.name for c in cases}
    index, count = shard
    failures: list[str] = [
        f"{n}: no registry entry" for n in public if n not in registered and index == 0
    ]
    # Without the optional package a function needs (the floors install no extras), its
    # check is that the call fails naming the extra.
    absent = {n: e for n, (m, e) in NEEDS_EXTRA.items() if importlib.util.find_spec(m) is None}
    checks: list[tuple[str, Callable[[], None]]] = [
        (c.name, functools.partial(check_case, c, np.random.default_rng(0)))
        if c.name not in absent
        else (c.name, functools.partial(check_names_extra, c, absent[c.name]))
        for c in cases
    ]
    checks += [
        (f"{c.name} (axis_name)", functools.partial(check_axis_name, c, np.random.default_rng(1)))
        for c in cases
        if takes_axis_name(c) and c.name not in absent
    ]
    checks.append(("jaxloss.scaling", check_scaling))
    checks.append(("jaxloss.models", functools.partial(check_models, has_flax)))
    if models_only:
        checks = checks[-1:]
    checks = checks[index::count]
    start = time.perf_counter()
    for name, check in checks:
        try:
            check()
        except Exception as error:  # every failure is reported, not only the first
            failures.append(f"{name}: {type(error).__name__}: {error}")
            traceback.print_exc(limit=-3)
    elapsed = time.perf_counter() - start
    passed = len(checks) - len(failures)
    for failure in failures:
        print("FAILED", failure.splitlines()[0][:300])
    print(f"floor check: {passed} passed, {len(failures)} failed ({elapsed:.0f} s)")
    return 1 if failures else 0


def _unpinned(path: str) -> list[str]:
    """The ``name==version`` lines of `path` whose installed version differs."""
    from importlib import metadata

    wrong = []
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" not in line:
            continue
        name, version = (part.strip() for part in line.split("=="))
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an optional package (flax) checked in the run that installs it
        if installed != version:
            wrong.append(f"{name} {installed} (pinned {version})")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--expect-installed",
        action="store_true",
        help="fail unless jaxloss is imported from site-packages (an installed wheel)",
    )
    parser.add_argument(
        "--models-only", action="store_true", help="check jaxloss.models alone (flax installed)"
    )
    parser.add_argument(
        "--pins", help="a constraints file of name==version lines the installed versions equal"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="run the checks in this many processes (one a core)"
    )
    parser.add_argument("--shard", default="0/1", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs > 1:
        rest = ["--expect-installed"] if args.expect_installed else []
        rest += ["--models-only"] if args.models_only else []
        rest += ["--pins", args.pins] if args.pins else []
        return _in_processes(args.jobs, rest)
    index, count = (int(part) for part in args.shard.split("/"))
    return run(
        expect_installed=args.expect_installed,
        models_only=args.models_only,
        pins=args.pins,
        shard=(index, count),
    )


def _in_processes(jobs: int, rest: list[str]) -> int:
    """Runs ``jobs`` shards of the checks in parallel processes; fails if any shard fails."""
    import subprocess

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.floor_check", *rest, f"--shard={k}/{jobs}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in range(jobs)
    ]
    codes = []
    for k, proc in enumerate(procs):
        out, _ = proc.communicate()
        print(f"--- shard {k + 1}/{jobs} ---\n{out}", end="")
        codes.append(proc.returncode)
    print(f"floor check: {'failed' if any(codes) else 'passed'} in every shard: {codes}")
    return 1 if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())
