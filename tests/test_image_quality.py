"""jaxloss.image_quality against pytorch-msssim, scikit-image and dm-pix.

pytorch-msssim 1.0.0 (``ssim``/``ms_ssim`` with ``size_average=False``, torch float64 on CPU,
channel-first) gives values and gradients; scikit-image's ``structural_similarity`` (with
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``) and
``peak_signal_noise_ratio``, and dm-pix's ``ssim``, give values. pytorch-msssim builds its
window in float32; the tests pass it the float64 window (``win=``) so that float64 results
agree to rounding.
"""

from __future__ import annotations

import importlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

torch = pytest.importorskip("torch")
pytorch_msssim = pytest.importorskip("pytorch_msssim")
skimage_metrics = pytest.importorskip("skimage.metrics")
dm_pix = pytest.importorskip("dm_pix")
# the module (the package rebinds `pytorch_msssim.ssim` to the function)
msssim_module = importlib.import_module("pytorch_msssim.ssim")

MS_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]


def torch_window(size, sigma, channels, spatial_dims):
    """pytorch-msssim's ``_fspecial_gauss_1d`` window, in float64, repeated per channel."""
    offsets = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(offsets**2) / (2 * sigma**2))
    g = torch.from_numpy(g / g.sum()).reshape(1, 1, size)
    return g.repeat([channels, 1] + [1] * spatial_dims)


def channels_first(a, requires_grad=False):
    a = np.asarray(a, np.float64)
    t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 1)))
    return t.requires_grad_(requires_grad)


def torch_value_and_grad(fn, x, y):
    """Per-image values of ``fn(X, Y)`` (channel-first torch) and d(sum)/dx, channel-last."""
    tx, ty = channels_first(x, True), channels_first(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = fn(tx, ty)
    values.sum().backward()
    assert tx.grad is not None
    return values.detach().numpy(), np.moveaxis(tx.grad.numpy(), 1, -1)


def pair(rng, shape, noise=0.15):
    x = rng.uniform(0, 1, shape)
    return x, np.clip(x + noise * rng.standard_normal(shape), 0, 1)


def ours_value_and_grad(name, x, y, **kwargs):
    fn = getattr(jaxloss, name)

    @jax.jit
    def run(a, b):
        values, vjp = jax.vjp(lambda a: fn(a, b, **kwargs), a)
        return values, vjp(jnp.ones_like(values))[0]

    values, grad = run(jnp.asarray(x), jnp.asarray(y))
    return np.asarray(values), np.asarray(grad)


def close(actual, expected, rtol=1e-9, atol=1e-11):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
    return float(np.max(np.abs(np.asarray(actual) - expected)))


# SSIM ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ssim_2d():
    """Ours (values and gradients of ssim, ssim_loss, psnr) on two shapes, in one program."""
    rng = np.random.default_rng(0)
    inputs = {"small": pair(rng, (3, 13, 16, 2)), "rgb": pair(rng, (2, 24, 20, 3))}

    @jax.jit
    def ours(inputs):
        out = {}
        for key, (x, y) in inputs.items():
            for name in ("ssim", "ssim_loss", "psnr"):
                fn = getattr(jaxloss, name)
                out[key, name] = jax.value_and_grad(lambda a, fn=fn, y=y: jnp.sum(fn(a, y)))(x)
                out[key, name, "values"] = fn(x, y)
        return out

    return inputs, ours(jax.tree.map(jnp.asarray, inputs))


@pytest.mark.parametrize("key", ["small", "rgb"])
def test_ssim_matches_pytorch_msssim_values_and_gradients(ssim_2d, key):
    inputs, ours = ssim_2d
    x, y = inputs[key]
    win = torch_window(11, 1.5, x.shape[-1], 2)
    values, grad = torch_value_and_grad(
        lambda a, b: pytorch_msssim.ssim(a, b, data_range=1.0, size_average=False, win=win), x, y
    )
    close(ours[key, "ssim", "values"], values)
    close(ours[key, "ssim"][1], grad)
    close(ours[key, "ssim_loss", "values"], 1 - values)
    close(ours[key, "ssim_loss"][1], -grad)


@pytest.mark.parametrize("key", ["small", "rgb"])
def test_ssim_matches_scikit_image_and_dm_pix(ssim_2d, key):
    inputs, ours = ssim_2d
    x, y = inputs[key]
    sk = [
        skimage_metrics.structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
            channel_axis=-1,
        )
        for a, b in zip(x, y, strict=True)
    ]
    close(ours[key, "ssim", "values"], np.array(sk))
    pix = jax.jit(dm_pix.ssim)(x, y)  # the clips are inactive here
    close(ours[key, "ssim", "values"], np.asarray(pix))


@pytest.mark.parametrize("key", ["small", "rgb"])
def test_psnr_matches_scikit_image(ssim_2d, key):
    inputs, ours = ssim_2d
    x, y = inputs[key]
    sk = [
        skimage_metrics.peak_signal_noise_ratio(a, b, data_range=1.0)
        for a, b in zip(x, y, strict=True)
    ]
    # eps = 1e-10 moves the value by 10 log10(1 + eps / MSE) < 1e-8 dB here
    close(ours[key, "psnr", "values"], np.array(sk), rtol=1e-9, atol=1e-7)
    mse = np.mean((x - y) ** 2, axis=(1, 2, 3), keepdims=True)
    expected = -10 / np.log(10) * 2 * (x - y) / (x[0].size * mse)  # d/dx of 10 log10(1 / MSE)
    close(ours[key, "psnr"][1], expected, rtol=1e-7)


def test_psnr_data_range_and_identical_images():
    rng = np.random.default_rng(1)
    x, y = pair(rng, (2, 6, 7, 1))
    sk = [
        skimage_metrics.peak_signal_noise_ratio(255 * a, 255 * b, data_range=255)
        for a, b in zip(x, y, strict=True)
    ]

    @jax.jit  # one program: data range 255, identical images, eps = 0 with its gradient
    def program(x255, y255, same):
        return {
            "255": jaxloss.psnr(x255, y255, data_range=255.0),
            "same": jaxloss.psnr(same, same),
            "eps0": jax.value_and_grad(lambda a: jaxloss.psnr(a, same, eps=0.0)[0])(same),
        }

    got = program(255 * x, 255 * y, x)
    close(got["255"], sk, atol=1e-7)
    np.testing.assert_allclose(got["same"], [100.0, 100.0])
    # eps = 0: +inf as scikit-image, with a zero (not NaN) gradient
    value, grad = (np.asarray(v) for v in got["eps0"])
    assert value == np.inf and np.all(grad == 0)


def test_ssim_3d_matches_pytorch_msssim():
    rng = np.random.default_rng(2)
    x, y = pair(rng, (2, 11, 12, 13, 2))
    win = torch_window(11, 1.5, 2, 3)
    values, grad = torch_value_and_grad(
        lambda a, b: pytorch_msssim.ssim(a, b, data_range=1.0, size_average=False, win=win), x, y
    )
    ours, our_grad = ours_value_and_grad("ssim", x, y, spatial_dims=3)
    close(ours, values)
    close(our_grad, grad)


def test_ssim_options_match_pytorch_msssim():
    """A smaller window, another sigma, data_range 255 and other constants."""
    rng = np.random.default_rng(3)
    x, y = pair(rng, (2, 9, 10, 3))
    x, y = 255 * x, 255 * y
    win = torch_window(7, 2.0, 3, 2)
    values, grad = torch_value_and_grad(
        lambda a, b: pytorch_msssim.ssim(
            a, b, data_range=255, size_average=False, win=win, K=(0.02, 0.05)
        ),
        x,
        y,
    )
    kwargs = {"data_range": 255.0, "window_size": 7, "sigma": 2.0, "k1": 0.02, "k2": 0.05}
    ours, our_grad = ours_value_and_grad("ssim", x, y, **kwargs)
    close(ours, values)
    close(our_grad, grad, atol=1e-13)


# MS-SSIM ------------------------------------------------------------------------------------


def torch_ms_ssim(win, weights=None):
    def fn(a, b):
        return pytorch_msssim.ms_ssim(
            a, b, data_range=1.0, size_average=False, win=win, weights=weights
        )

    return fn


def test_ms_ssim_defaults_match_pytorch_msssim():
    # 161 and 170: the smallest size the defaults allow, odd and even sides (the zero row)
    rng = np.random.default_rng(4)
    x, y = pair(rng, (2, 161, 170, 1))
    values, grad = torch_value_and_grad(torch_ms_ssim(torch_window(11, 1.5, 1, 2)), x, y)
    ours, our_grad = ours_value_and_grad("ms_ssim", x, y)
    close(ours, values)
    close(our_grad, grad, atol=1e-13)


def test_ms_ssim_family_small_window_2d_and_3d():
    """ms_ssim, ms_ssim_loss and ms_ssim_l1_loss with a 3-tap window: images with odd sides,
    and volumes (pytorch-msssim's 5-D path), values and gradients in one program each."""
    rng = np.random.default_rng(5)
    cases = {
        "2d": (pair(rng, (2, 37, 40, 2), noise=0.3), 2),
        "3d": (pair(rng, (1, 33, 34, 35, 1), noise=0.3), 3),
    }
    kwargs = {"window_size": 3, "sigma": 1.0}

    def ours(x, y, spatial_dims):
        out = {}
        for name in ("ms_ssim", "ms_ssim_loss", "ms_ssim_l1_loss"):
            fn = getattr(jaxloss, name)

            def total(a, fn=fn):
                return jnp.sum(fn(a, y, spatial_dims=spatial_dims, **kwargs))

            out[name] = (fn(x, y, spatial_dims=spatial_dims, **kwargs), jax.grad(total)(x))
        return out

    for (x, y), spatial_dims in cases.values():
        channels = x.shape[-1]
        win = torch_window(3, 1.0, channels, spatial_dims)
        got = jax.jit(ours, static_argnums=2)(jnp.asarray(x), jnp.asarray(y), spatial_dims)
        values, grad = torch_value_and_grad(torch_ms_ssim(win), x, y)
        close(got["ms_ssim"][0], values)
        close(got["ms_ssim"][1], grad, atol=1e-12)
        close(got["ms_ssim_loss"][0], 1 - values)

        def l1_mix(a, b, win=win):
            """Zhao et al.'s L^Mix: 0.84 (1 - MS-SSIM) + 0.16 mean(G * |x - y|)."""
            l1 = msssim_module.gaussian_filter((a - b).abs(), win)
            l1 = torch.flatten(l1, 1).mean(-1)
            return 0.84 * (1 - torch_ms_ssim(win)(a, b)) + 0.16 * l1

        mix, mix_grad = torch_value_and_grad(l1_mix, x, y)
        close(got["ms_ssim_l1_loss"][0], mix)
        close(got["ms_ssim_l1_loss"][1], mix_grad, atol=1e-12)


def test_ms_ssim_power_factors_and_clipped_scales():
    """Custom exponents; inverted images: every cs is negative, clipped to 0 (value 0,
    gradient 0, not NaN), as pytorch-msssim's relu."""
    rng = np.random.default_rng(6)
    x, _ = pair(rng, (2, 33, 34, 1))  # pytorch-msssim asserts sides > 2 * 2**4
    y = 1 - x
    weights = [0.2, 0.3, 0.5]
    win = torch_window(3, 1.0, 1, 2)
    values, grad = torch_value_and_grad(torch_ms_ssim(win, weights), x, y)
    ours, our_grad = ours_value_and_grad(
        "ms_ssim", x, y, window_size=3, sigma=1.0, power_factors=tuple(weights)
    )
    close(ours, values)
    close(our_grad, grad)
    assert np.all(ours == 0) and np.all(our_grad == 0)


def test_ms_ssim_too_small_names_the_minimum_size():
    x = jnp.ones((1, 160, 400, 3))
    with pytest.raises(ValueError, match=r"at least 161 .* got spatial shape \(160, 400\)"):
        jaxloss.ms_ssim(x, x)
    with pytest.raises(ValueError, match="at least 11"):
        jaxloss.ssim(x[:, :10], x[:, :10])
    with pytest.raises(ValueError, match="at least 33"):  # a short depth counts too
        jaxloss.ms_ssim(
            jnp.ones((1, 20, 40, 40, 1)),
            jnp.ones((1, 20, 40, 40, 1)),
            window_size=3,
            spatial_dims=3,
        )
    with pytest.raises(TypeError, match="`sigma`"):
        jax.jit(lambda s: jaxloss.ssim(x, x, sigma=s))(1.5)


# Numerics -----------------------------------------------------------------------------------


def test_identical_and_flat_images_float32_finite():
    """Identical images: exactly 1 (SSIM, MS-SSIM), gradient 0; flat images: finite."""
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.uniform(0, 1, (2, 176, 161, 3)), jnp.float32)
    flat = jnp.full_like(x, 0.5)

    @jax.jit
    def run(x, flat):
        out = {}
        for name in ("ssim", "ms_ssim", "ms_ssim_l1_loss"):
            fn = getattr(jaxloss, name)
            for key, (a, b) in {"same": (x, x), "flat": (flat, flat), "mixed": (flat, x)}.items():
                out[name, key] = jax.value_and_grad(lambda a, b=b, fn=fn: jnp.sum(fn(a, b)))(a)
        return out

    out = run(x, flat)
    for (name, key), (value, grad) in out.items():
        assert np.isfinite(value) and np.all(np.isfinite(grad)), (name, key)
        if key != "mixed":
            expected = 0.0 if name.endswith("loss") else 2.0
            np.testing.assert_allclose(value, expected, atol=1e-5)
            np.testing.assert_allclose(grad, 0.0, atol=1e-6)


def test_low_precision_inputs_compute_in_float32():
    rng = np.random.default_rng(8)
    x, y = pair(rng, (2, 16, 16, 3))
    xb, yb = jnp.asarray(x, jnp.bfloat16), jnp.asarray(y, jnp.bfloat16)
    for name in ("ssim", "psnr"):
        fn = getattr(jaxloss, name)
        got = fn(xb, yb)
        assert got.dtype == jnp.bfloat16
        expected = fn(xb.astype(jnp.float32), yb.astype(jnp.float32))
        np.testing.assert_allclose(np.asarray(got, np.float32), expected, rtol=2**-8)
