"""jaxloss.lpips against the lpips package (PyPI ``lpips`` 0.1.4), VGG16 trunk.

The reference is ``lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True, pnet_tune=False)``:
the package's own scaling layer, VGG16 slices, ``normalize_tensor``, linear heads (read by the
package from its wheel's ``weights/v0.1/vgg.pth``) and spatial average. ``pnet_rand=True``
asks torchvision for an untrained ``vgg16()``. torchvision is not installed (see
pyproject.toml's test extra: it would move the torch pin), so the package is imported with a
stand-in ``torchvision.models.vgg16`` whose ``features`` are torchvision's layout for
configuration D (``tests/test_vgg.py``'s ``torch_features``, He-initialized so activations
stay O(1)). The random trunk weights are read back from the package's model and converted with
``jaxloss.models.convert_torchvision_vgg``; the heads are read from the same file by
``jaxloss.models.load_lpips_heads``: both sides use the same weights.

One jitted call computes every jaxloss configuration (values and gradients with respect to
both images and the heads, float64 and float32); the torch references run after it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jaxloss
from jaxloss.learned_perceptual import LPIPS_LAYERS
from jaxloss.models import convert_lpips_heads, convert_torchvision_vgg, load_lpips_heads
from tests.registry.learned_perceptual import thin_vgg
from tests.test_vgg import torch_features

LPIPS_DIR = importlib.util.find_spec("lpips").submodule_search_locations[0]  # not imported
HEADS_PATH = os.path.join(LPIPS_DIR, "weights", "v0.1", "vgg.pth")
H, W = 32, 24  # non-square; 24 -> 12 -> 6 -> 3 -> 1 floors at the fourth pool


def _import_lpips() -> types.ModuleType:
    """The lpips package, imported with a stand-in torchvision that sys.modules then forgets."""

    def vgg16(pretrained=False, **_):
        if pretrained:
            raise RuntimeError("the stand-in torchvision has no pretrained weights")
        return types.SimpleNamespace(features=torch_features("vgg16", seed=0).train())

    models = types.ModuleType("torchvision.models")
    models.vgg16 = vgg16  # type: ignore[attr-defined]
    stand_in = types.ModuleType("torchvision")
    stand_in.models = models  # type: ignore[attr-defined]
    added = {"torchvision": stand_in, "torchvision.models": models}
    assert not set(added) & set(sys.modules), "a real torchvision is imported: use it instead"
    sys.modules.update(added)
    try:
        import lpips
    finally:
        for name in [*added, *(m for m in sys.modules if m == "lpips" or m.startswith("lpips."))]:
            sys.modules.pop(name, None)
    return lpips


@pytest.fixture(scope="module")
def reference():
    package = _import_lpips()
    options = {"net": "vgg", "pnet_rand": True, "pnet_tune": False, "verbose": False}
    model = package.LPIPS(pretrained=True, **options)
    baseline = package.LPIPS(lpips=False, **options)
    baseline.net.load_state_dict(model.net.state_dict())
    # The slices keep torchvision's indices as module names: "slice2.5.weight" is features.5.
    state = {}
    for key, value in model.net.state_dict().items():
        _, index, kind = key.split(".")
        state[f"features.{index}.{kind}"] = value
    return {
        "model": model,
        "baseline": baseline,
        "vgg": convert_torchvision_vgg(state),
        "heads": load_lpips_heads(HEADS_PATH),
        "lpips": package,
    }


def _torch_run(model, x, y, *, normalize, dtype):
    """Values [N], and gradients of their sum w.r.t. x, y (NHWC) and the heads (lin0..lin4)."""
    model = model.to(dtype)
    if dtype == torch.float64:
        # .double() widens the float32-rounded scaling constants; use the package's decimals.
        model.scaling_layer.shift = torch.tensor([-0.030, -0.088, -0.188], dtype=dtype).view(
            1, 3, 1, 1
        )
        model.scaling_layer.scale = torch.tensor([0.458, 0.448, 0.450], dtype=dtype).view(
            1, 3, 1, 1
        )
    model.zero_grad()
    xt = torch.tensor(np.moveaxis(x, -1, 1), dtype=dtype, requires_grad=True)
    yt = torch.tensor(np.moveaxis(y, -1, 1), dtype=dtype, requires_grad=True)
    out = model(xt, yt, normalize=normalize)
    out.sum().backward()
    heads = {}
    if model.lpips:
        heads = {
            name: lin.model[-1].weight.grad.reshape(-1).numpy()
            for name, lin in zip(LPIPS_LAYERS, model.lins, strict=True)
        }
    return {
        "value": out.detach().reshape(-1).numpy(),
        "grads": (np.moveaxis(xt.grad.numpy(), 1, -1), np.moveaxis(yt.grad.numpy(), 1, -1)),
        "heads": heads,
    }


def _images(seed, n, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, (n, H, W, 3))


@pytest.fixture(scope="module")
def computed(reference):
    """Every jaxloss configuration in one jitted call; the inputs beside the outputs."""
    x, y = _images(0, 2), _images(1, 2)
    # Pairs 0, 1 random; pair 2 identical images; pair 3 two constant images (max-pool ties).
    x64 = np.concatenate([x, y[:1], np.full((1, H, W, 3), 0.25)])
    y64 = np.concatenate([y, y[:1], np.full((1, H, W, 3), -0.5)])
    x01, y01 = _images(2, 2, 0.0, 1.0), _images(3, 2, 0.0, 1.0)
    ones = {k: jnp.ones_like(v) for k, v in reference["heads"].items()}
    both_heads = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), reference["heads"], ones)

    def value_and_grads(x, y, vgg, heads, **options):
        def total(x, y, heads):
            values = jaxloss.lpips(x, y, vgg, heads, **options)
            return jnp.sum(values), values

        (_, values), grads = jax.value_and_grad(total, argnums=(0, 1, 2), has_aux=True)(x, y, heads)
        return {"value": values, "grads": grads[:2], "heads": grads[2]}

    def program(vgg64, heads64, vgg32, heads32):
        # The learned heads and the all-ones baseline (the package's lpips=False) share one
        # trunk: vmap over the heads alone does not batch the VGG16 that does not see them.
        per_heads = jax.vmap(lambda h: value_and_grads(x64, y64, vgg64, h))(heads64)
        return {
            "float64": jax.tree_util.tree_map(lambda a: a[0], per_heads),
            "baseline": jax.tree_util.tree_map(lambda a: a[1], per_heads),
            "float32": value_and_grads(
                x01.astype(np.float32), y01.astype(np.float32), vgg32, heads32, normalize=True
            ),
        }

    to64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), reference["vgg"])
    out = jax.jit(program)(
        to64,
        jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), both_heads),
        reference["vgg"],
        reference["heads"],
    )
    inputs = {"float64": (x64, y64), "baseline": (x64, y64), "float32": (x01, y01)}
    return jax.tree_util.tree_map(np.asarray, out), inputs


def _assert_close(actual, expected, *, rtol, name):
    """Relative agreement, measured against the largest magnitude of the reference."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    scale = np.max(np.abs(expected))
    assert scale > 0, name
    error = np.max(np.abs(actual - expected)) / scale
    assert error <= rtol, f"{name}: max abs error {error * scale:.3g}, relative {error:.3g}"


@pytest.mark.parametrize(
    ("config", "model", "normalize", "dtype", "rtol"),
    [
        ("float64", "model", False, torch.float64, 1e-12),
        ("baseline", "baseline", False, torch.float64, 1e-12),
        ("float32", "model", True, torch.float32, 1e-4),
    ],
)
def test_values_and_gradients_match_the_package(
    reference, computed, config, model, normalize, dtype, rtol
):
    out, inputs = computed
    ours = out[config]
    theirs = _torch_run(reference[model], *inputs[config], normalize=normalize, dtype=dtype)
    _assert_close(ours["value"], theirs["value"], rtol=rtol, name=f"{config} values")
    # The constant pair (index 3) has exact max-pool ties, where the gradient goes to one
    # maximum of each window: which one depends on last-bit differences between two
    # convolution implementations, so only its derivatives along a uniform shift of each
    # channel (the gradient summed over pixels, the same whichever maximum is taken) compare.
    smooth = slice(0, 3)
    for side, a, b in zip(("x", "y"), ours["grads"], theirs["grads"], strict=True):
        _assert_close(a[smooth], b[smooth], rtol=rtol, name=f"{config} gradient w.r.t. {side}")
        if config != "float32":
            shift_a, shift_b = a[3].sum((0, 1)), b[3].sum((0, 1))
            _assert_close(shift_a, shift_b, rtol=rtol, name=f"{config} shift derivative {side}")
            assert np.all(np.isfinite(a[3]))
    for name, grad in theirs["heads"].items():
        _assert_close(ours["heads"][name], grad, rtol=rtol, name=f"{config} heads {name}")
    values = ours["value"]
    assert np.all(values[:2] > 0.01), values  # distinct images are far from 0
    if config != "float32":
        # Identical images: 0 with a zero gradient (up to rounding); constant images: > 0.
        assert abs(values[2]) < 1e-20 and values[3] > 0.01, values
        assert np.max(np.abs(ours["grads"][0][2])) < 1e-15


def test_heads_load_from_the_wheel_and_other_formats(reference, tmp_path):
    """load_lpips_heads reads the package's .pth (as the package does) and the same tensors
    from .npz; a state dict without dropout (model.0) works; bad dicts are listed."""
    model = reference["model"]
    heads = reference["heads"]
    assert list(heads) == list(LPIPS_LAYERS)
    for name, lin in zip(LPIPS_LAYERS, model.lins, strict=True):
        np.testing.assert_array_equal(
            heads[name], lin.model[-1].weight.detach().float().reshape(-1).numpy()
        )
    state = torch.load(HEADS_PATH, map_location="cpu", weights_only=True)
    npz = tmp_path / "heads.npz"
    np.savez(npz, **{k: v.numpy() for k, v in state.items()})
    jax.tree_util.tree_map(np.testing.assert_array_equal, load_lpips_heads(npz), heads)
    no_dropout = {k.replace("model.1", "model.0"): v for k, v in state.items()}
    no_dropout["net.slice1.0.weight"] = torch.zeros(3)  # other keys of a full state dict
    jax.tree_util.tree_map(np.testing.assert_array_equal, convert_lpips_heads(no_dropout), heads)

    broken = dict(state)
    del broken["lin4.model.1.weight"]
    broken["lin2.model.1.weight"] = torch.zeros(1, 255, 1, 1)
    broken["lin0.model.0.weight"] = state["lin0.model.1.weight"]
    with pytest.raises(ValueError) as error:
        convert_lpips_heads(broken)
    message = str(error.value)
    assert "lin4: missing" in message and "(1, 255, 1, 1)" in message
    assert "lin0: ambiguous" in message
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_lpips_heads(tmp_path / "nope.pth")


def test_properties_on_a_thin_trunk():
    """Symmetry, the None baseline = unit heads, normalize = the [0, 1] -> [-1, 1] map,
    leading batch axes, and the derivative in `eps` (the package holds eps constant: a
    central difference of the value, which the package test checks, is the reference), on a
    thin random trunk (one jitted call)."""
    vgg, heads = thin_vgg(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x, y = (jnp.asarray(rng.uniform(0, 1, (2, 3, 16, 17, 3))) for _ in range(2))
    ones = {k: jnp.ones_like(v) for k, v in heads.items()}

    def program(x, y, vgg, heads, ones):
        def total(eps):
            return jnp.sum(jaxloss.lpips(x, y, vgg, heads, eps=eps))

        step = 1e-4
        return {
            "eps": jax.grad(total)(0.3),
            "eps_difference": (total(0.3 + step) - total(0.3 - step)) / (2 * step),
            "xy": jaxloss.lpips(x, y, vgg, heads, normalize=True),
            "yx": jaxloss.lpips(y, x, vgg, heads, normalize=True),
            "mapped": jaxloss.lpips(2 * x - 1, 2 * y - 1, vgg, heads),
            "flat": jaxloss.lpips(
                x.reshape(6, 16, 17, 3), y.reshape(6, 16, 17, 3), vgg, heads, normalize=True
            ),
            "none": jaxloss.lpips(x, y, vgg, None),
            "ones": jaxloss.lpips(x, y, vgg, ones),
        }

    out = jax.jit(program)(x, y, vgg, heads, ones)
    assert out["xy"].shape == (2, 3) and np.all(out["xy"] > 0)
    np.testing.assert_allclose(out["yx"], out["xy"], rtol=1e-12)
    np.testing.assert_allclose(out["mapped"], out["xy"], rtol=1e-12)
    np.testing.assert_allclose(out["flat"].reshape(2, 3), out["xy"], rtol=1e-12)
    np.testing.assert_allclose(out["none"], out["ones"], rtol=1e-12)
    assert float(out["eps"]) < 0  # a larger eps shrinks every unit vector
    np.testing.assert_allclose(out["eps"], out["eps_difference"], rtol=1e-7)
