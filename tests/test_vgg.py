"""jaxloss.models: VGG16/VGG19 feature stacks and torchvision weight loading, against torch.

torchvision is not installed: the reference is torch.nn rebuilt with the layout of
torchvision's ``vgg.make_layers`` (configs D and E; ``features.{i}`` indices match its state
dict keys), with random He-initialized weights so activations stay O(1) through the stack.
"""

from __future__ import annotations

import functools
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jaxloss
from jaxloss.models import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG16,
    VGG19,
    convert_torchvision_vgg,
    load_torchvision_vgg,
    vgg_layer_names,
)

# torchvision.models.vgg.cfgs["D"] and ["E"]
CFGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", *(512, 512, 512, "M") * 2],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", *(512, 512, 512, 512, "M") * 2],
}


def torch_features(variant: str, seed: int = 0) -> torch.nn.Sequential:
    """torchvision.models.vgg.make_layers(cfg, batch_norm=False) with He-normal weights."""
    torch.manual_seed(seed)
    layers, c_in = [], 3
    for v in CFGS[variant]:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = torch.nn.Conv2d(c_in, v, kernel_size=3, padding=1)
            torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            torch.nn.init.normal_(conv.bias, std=0.1)
            layers += [conv, torch.nn.ReLU(inplace=False)]
            c_in = v
    return torch.nn.Sequential(*layers).eval()


def torch_state_dict(variant: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """The state dict of a torchvision VGG: `features.*` plus (small fake) classifier keys."""
    state = {f"features.{k}": v for k, v in torch_features(variant, seed).state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(7, 5)
    state["classifier.0.bias"] = torch.zeros(7)
    return state


def torch_activations(
    variant: str, images_nhwc: np.ndarray, seed: int = 0, stop: str | None = None
) -> dict:
    """Every named activation of the torch stack (up to `stop`), as NHWC numpy arrays."""
    names = vgg_layer_names(variant)  # conv, relu and pool, in module order
    model = torch_features(variant, seed)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (torch.from_numpy(np.array(images_nhwc)).permute(0, 3, 1, 2) - mean) / std
    out = {}
    with torch.no_grad():
        for name, module in zip(names, model, strict=True):
            x = module(x)
            out[name] = x.permute(0, 2, 3, 1).numpy()
            if name == stop:
                break
    return out


@functools.cache
def _saved_files(tmp_dir: str, variant: str) -> dict[str, str]:
    from safetensors.numpy import save_file

    state = torch_state_dict(variant)
    paths = {
        "pth": f"{tmp_dir}/{variant}.pth",
        "npz": f"{tmp_dir}/{variant}.npz",
        "safetensors": f"{tmp_dir}/{variant}.safetensors",
    }
    torch.save(state, paths["pth"])
    arrays = {k: v.numpy() for k, v in state.items()}
    np.savez(paths["npz"], **arrays)
    save_file(arrays, paths["safetensors"])
    return paths


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("vgg"))
    return {v: _saved_files(tmp, v) for v in ("vgg16", "vgg19")}


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, shape).astype(np.float32)


@pytest.mark.parametrize(("variant", "module"), [("vgg16", VGG16), ("vgg19", VGG19)])
def test_every_activation_matches_torch(files, variant, module):
    variables = load_torchvision_vgg(files[variant]["pth"], variant=variant)
    images = _images((1, 32, 32, 3))
    expected = torch_activations(variant, images)
    model = module(output_layers=vgg_layer_names(variant), precision="highest")
    actual = jax.jit(model.apply)(variables, jnp.asarray(images))
    assert sorted(actual) == sorted(expected)  # jit returns dicts with sorted keys
    for name, ref in expected.items():
        # He init keeps activations O(1): the absolute tolerance is meaningful everywhere.
        assert np.abs(ref).max() > 0.1, name
        np.testing.assert_allclose(actual[name], ref, rtol=1e-4, atol=1e-4, err_msg=name)
    default = jax.jit(module().apply)(variables, jnp.asarray(images))
    relus = [n for n in vgg_layer_names(variant) if n.startswith("relu")]
    assert sorted(default) == sorted(relus)
    assert relus[-1] == ("relu5_3" if variant == "vgg16" else "relu5_4")


@pytest.mark.parametrize("variant", ["vgg16", "vgg19"])
def test_the_three_formats_load_the_same_variables(files, variant):
    loaded = [load_torchvision_vgg(files[variant][f], variant=variant) for f in files[variant]]
    for other in loaded[1:]:
        jax.tree_util.tree_map(np.testing.assert_array_equal, loaded[0], other)
    params = loaded[0]["params"]
    n_convs = 13 if variant == "vgg16" else 16
    assert len(params) == n_convs and all(k.startswith("conv") for k in params)
    weight = torch_state_dict(variant)["features.0.weight"].numpy()  # OIHW
    np.testing.assert_array_equal(params["conv1_1"]["kernel"][:, :, 1, 5], weight[5, 1])


def test_state_dict_in_memory_with_torch_tensors():
    state = torch_state_dict("vgg16")
    variables = convert_torchvision_vgg(state, variant="vgg16")
    np.testing.assert_array_equal(
        variables["params"]["conv5_3"]["bias"], state["features.28.bias"].numpy()
    )


def test_truncated_model_stops_early_and_agrees(files):
    variables = load_torchvision_vgg(files["vgg16"]["npz"])
    images = jnp.asarray(_images((2, 16, 16, 3), seed=1))
    short = VGG16(output_layers=("relu2_2", "relu1_1"))
    init_params = jax.eval_shape(short.init, jax.random.key(0), images)["params"]
    assert sorted(init_params) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2"]
    assert list(short.apply(variables, images[:, :4, :4])) == ["relu2_2", "relu1_1"]
    out = jax.jit(short.apply)(variables, images)
    ref = torch_activations("vgg16", np.asarray(images), stop="relu2_2")
    np.testing.assert_allclose(out["relu2_2"], ref["relu2_2"], rtol=1e-4, atol=1e-4)


def test_normalize_input_false_takes_normalized_images(files):
    variables = load_torchvision_vgg(files["vgg16"]["npz"])
    images = _images((1, 8, 8, 3), seed=2)
    normalized = (images - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    a = jax.jit(VGG16(output_layers=("relu1_2",)).apply)(variables, jnp.asarray(images))
    b = jax.jit(VGG16(output_layers=("relu1_2",), normalize_input=False).apply)(
        variables, jnp.asarray(normalized)
    )
    np.testing.assert_allclose(a["relu1_2"], b["relu1_2"], rtol=1e-5, atol=1e-5)


def test_leading_batch_dims_and_single_image(files):
    variables = load_torchvision_vgg(files["vgg16"]["npz"])
    model = VGG16(output_layers=("pool1",))
    apply = jax.jit(model.apply)
    images = jnp.asarray(_images((2, 3, 8, 8, 3), seed=3))
    batched = apply(variables, images)["pool1"]
    assert batched.shape == (2, 3, 4, 4, 64)
    single = apply(variables, images[1, 2])["pool1"]
    np.testing.assert_allclose(batched[1, 2], single, rtol=1e-5, atol=1e-5)


def test_perceptual_loss_with_vgg_matches_torch(files):
    """perceptual_loss(feature_fn=VGG16) against torch's F.mse_loss / LPIPS normalize_tensor."""
    variables = load_torchvision_vgg(files["vgg16"]["safetensors"])
    layers = ("relu1_2", "relu2_2")
    x, y = _images((2, 16, 16, 3), seed=4), _images((2, 16, 16, 3), seed=5)
    fx = torch_activations("vgg16", x, stop="relu2_2")
    fy = torch_activations("vgg16", y, stop="relu2_2")

    def lpips_normalize(t, eps=1e-10):  # LPIPS lpips/__init__.py normalize_tensor (NCHW)
        return t / (torch.sqrt(torch.sum(t**2, dim=1, keepdim=True)) + eps)

    weights = {"relu1_2": 0.25, "relu2_2": 2.0}

    @jax.jit  # one program: both normalize options (the weights are an argument, not constants)
    def program(variables, x, y):
        feature_fn = functools.partial(VGG16(output_layers=layers).apply, variables)
        return [
            jaxloss.perceptual_loss(
                x,
                y,
                feature_fn=feature_fn,
                layer_weights=weights,
                normalize_features=normalize,
            )
            for normalize in (False, True)
        ]

    every_actual = program(variables, jnp.asarray(x), jnp.asarray(y))
    for normalize, actual in zip((False, True), every_actual, strict=True):
        expected = np.zeros(2)
        for name in layers:
            a = torch.from_numpy(fx[name]).permute(0, 3, 1, 2)
            b = torch.from_numpy(fy[name]).permute(0, 3, 1, 2)
            if normalize:
                a, b = lpips_normalize(a), lpips_normalize(b)
            per = torch.nn.functional.mse_loss(a, b, reduction="none").mean(dim=(1, 2, 3))
            expected += weights[name] * per.numpy()
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-6)


# Errors ------------------------------------------------------------------------------------


def test_wrong_variant_is_named(files):
    with pytest.raises(ValueError, match=r"vgg19.*variant='vgg19'"):
        load_torchvision_vgg(files["vgg19"]["npz"], variant="vgg16")
    with pytest.raises(ValueError, match=r"vgg16.*variant='vgg16'"):
        load_torchvision_vgg(files["vgg16"]["safetensors"], variant="vgg19")
    with pytest.raises(ValueError, match="`variant`"):
        load_torchvision_vgg(files["vgg16"]["npz"], variant="vgg11")


def test_missing_extra_and_misshaped_tensors_are_listed():
    state = {k: v.numpy() for k, v in torch_state_dict("vgg16").items()}
    del state["features.28.weight"]
    state["features.29.weight"] = np.zeros(3, np.float32)
    state["features.0.bias"] = np.zeros(65, np.float32)
    with pytest.raises(ValueError) as err:
        convert_torchvision_vgg(state)
    message = str(err.value)
    assert "missing ['features.28.weight']" in message
    assert "unexpected ['features.29.weight']" in message
    assert "features.0.bias: (65,)" in message and "expected (64,)" in message


def test_batch_norm_state_dict_is_named():
    state = {k: v.numpy() for k, v in torch_state_dict("vgg16").items()}
    state["features.1.running_mean"] = np.zeros(64, np.float32)
    with pytest.raises(ValueError, match="batch-norm"):
        convert_torchvision_vgg(state)


def test_loading_never_unpickles_objects(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"features.0.weight": Payload()}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        load_torchvision_vgg(path)
    npz = tmp_path / "evil.npz"
    np.savez(npz, **{"features.0.weight": np.array([Payload()], dtype=object)})
    with pytest.raises(ValueError, match="allow_pickle"):
        load_torchvision_vgg(npz)
    assert "pwned" not in capsys.readouterr().out


def test_missing_file_and_bad_module_options(tmp_path):
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_torchvision_vgg(tmp_path / "nope.npz")
    images = jnp.zeros((1, 8, 8, 3))
    with pytest.raises(ValueError, match="`output_layers`"):
        VGG16(output_layers=("relu5_4",)).init(jax.random.key(0), images)
    with pytest.raises(ValueError, match="`images`"):
        VGG16().init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
    with pytest.raises(TypeError, match="`images`"):
        VGG16().init(jax.random.key(0), jnp.zeros((1, 8, 8, 3), jnp.uint8))
    with pytest.raises(ValueError, match="`variant`"):
        vgg_layer_names("resnet")
