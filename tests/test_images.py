"""jaxloss.images against numpy formulas written from the papers and libraries they cite."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jaxloss import (
    anisotropic_total_variation,
    gram_matrix,
    perceptual_loss,
    style_loss,
    total_variation,
)
from tests.multidevice import assert_reductions_global

SHAPES = [(4, 5, 3), (2, 3, 3, 2), (2, 1, 6, 7, 4)]

# References ---------------------------------------------------------------------------------


def gram_ref(x, normalize="hw"):
    """Gatys et al. 2016 eq. 3: G = F^T F with F the [H*W, C] matrix of a feature map."""
    x = np.asarray(x, np.float64)
    h, w, c = x.shape[-3:]
    f = x.reshape((*x.shape[:-3], h * w, c))
    g = np.swapaxes(f, -1, -2) @ f
    return g / {"hw": h * w, "chw": c * h * w, None: 1}[normalize]


def gatys_style_term(x, y):
    """Gatys et al. 2016 eq. 4: E_l = sum (G - A)^2 / (4 N_l^2 M_l^2), unnormalized Grams."""
    n, m = x.shape[-1], x.shape[-3] * x.shape[-2]
    diff = gram_ref(x, None) - gram_ref(y, None)
    return np.sum(diff**2, axis=(-2, -1)) / (4.0 * n**2 * m**2)


def tv_ref(image, beta):
    """Mahendran & Vedaldi 2015, R_{V^beta}, per channel, with a replicate (Neumann) border:
    the difference beyond the last row/column is 0. image: [H, W, C]."""
    h, w, c = image.shape
    total = 0.0
    for i in range(h):
        for j in range(w):
            for k in range(c):
                dy = image[i + 1, j, k] - image[i, j, k] if i + 1 < h else 0.0
                dx = image[i, j + 1, k] - image[i, j, k] if j + 1 < w else 0.0
                total += (dy**2 + dx**2) ** (beta / 2)
    return total


def piq_l2_squared(x_nchw):
    """piq.total_variation(x, norm_type="l2_squared", reduction="none")."""
    w_var = np.sum((x_nchw[:, :, :, 1:] - x_nchw[:, :, :, :-1]) ** 2, axis=(1, 2, 3))
    h_var = np.sum((x_nchw[:, :, 1:, :] - x_nchw[:, :, :-1, :]) ** 2, axis=(1, 2, 3))
    return h_var + w_var


def kornia_tv(img_chw):
    """kornia.losses.total_variation(img, reduction="sum") for img [*, C, H, W] (kornia docs:
    sum of |img[..., 1:, :] - img[..., :-1, :]| plus |img[..., :, 1:] - img[..., :, :-1]|
    over the last three axes)."""
    d1 = np.abs(img_chw[..., 1:, :] - img_chw[..., :-1, :])
    d2 = np.abs(img_chw[..., :, 1:] - img_chw[..., :, :-1])
    return d1.sum(axis=(-3, -2, -1)) + d2.sum(axis=(-3, -2, -1))


def _over_images(fn, x):
    x = np.asarray(x, np.float64)
    flat = x.reshape((-1, *x.shape[-3:]))
    return np.array([fn(img) for img in flat]).reshape(x.shape[:-3])


# Gram matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("normalize", [True, "hw", "chw", False])
def test_gram_matrix_against_numpy(rng, shape, normalize):
    x = rng.standard_normal(shape).astype(np.float32)
    mode = {True: "hw", False: None}.get(normalize, normalize)
    actual = gram_matrix(jnp.asarray(x), normalize=normalize, precision="highest")
    assert actual.dtype == jnp.float32 and actual.shape == (*shape[:-3], shape[-1], shape[-1])
    np.testing.assert_allclose(actual, gram_ref(x, mode), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("dtype", "accumulator"),
    [(jnp.bfloat16, jnp.float32), (jnp.float32, jnp.float32), (jnp.float64, jnp.float64)],
)
def test_gram_matrix_is_one_contraction(dtype, accumulator):
    jaxpr = jax.make_jaxpr(gram_matrix)(jnp.ones((2, 8, 8, 16), dtype))
    primitives = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert primitives.count("dot_general") == 1
    assert not {"while", "scan"} & set(primitives)
    dot = next(e for e in jaxpr.jaxpr.eqns if e.primitive.name == "dot_general")
    assert dot.params["preferred_element_type"] == accumulator


def test_gram_matrix_accumulates_low_precision_in_float32(rng):
    # 4096 bfloat16 products: a bfloat16 accumulator would stall near 256 per entry.
    x = jnp.asarray(rng.uniform(0.5, 1.5, (64, 64, 2)), jnp.bfloat16)
    actual = gram_matrix(x, normalize=False)
    assert actual.dtype == jnp.bfloat16
    expected = gram_ref(np.asarray(x.astype(jnp.float32)), None)
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=2**-7)


@given(
    hnp.arrays(np.float64, (3, 4, 3), elements=st.floats(-10, 10)),
    st.floats(0.1, 10.0),
)
def test_gram_matrix_symmetric_psd_and_quadratic(x, scale):
    g = np.asarray(gram_matrix(jnp.asarray(x)))
    np.testing.assert_allclose(g, g.T, atol=1e-12)
    assert np.linalg.eigvalsh(g).min() >= -1e-9 * max(1.0, np.abs(g).max())
    np.testing.assert_allclose(
        gram_matrix(jnp.asarray(scale * x)), scale**2 * g, rtol=1e-9, atol=1e-9
    )


# Style loss ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_style_loss_is_four_times_gatys_layer_loss(rng, shape):
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    actual = style_loss(jnp.asarray(x), jnp.asarray(y))
    assert actual.shape == shape[:-3]
    np.testing.assert_allclose(actual, 4.0 * gatys_style_term(x, y), rtol=1e-10)


def test_style_loss_over_layers_with_weights(rng):
    shapes = {"relu1_1": (2, 6, 6, 3), "relu2_1": (2, 3, 3, 5), "relu3_1": (2, 2, 1, 4)}
    preds = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    targs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    weights = {"relu1_1": 0.5, "relu2_1": 2.0, "relu3_1": 0.0}

    @jax.jit  # one program: both normalizations, as a dict and as a list, and the sum
    def program(preds, targs):
        got = {}
        for normalize in ("hw", "chw"):
            got[normalize + " dict"] = style_loss(
                preds, targs, layer_weights=weights, normalize=normalize, precision="highest"
            )
            got[normalize + " list"] = style_loss(
                [preds[k] for k in shapes],
                [targs[k] for k in shapes],
                layer_weights=[weights[k] for k in shapes],
                normalize=normalize,
                precision="highest",
            )
        got["sum"] = style_loss(preds, targs, layer_weights=2.0, reduction="sum")
        got["none"] = style_loss(preds, targs)
        return got

    got = program(preds, targs)
    for normalize in ("hw", "chw"):
        expected = sum(
            w
            * np.mean(
                (gram_ref(preds[k], normalize) - gram_ref(targs[k], normalize)) ** 2, (-2, -1)
            )
            for k, w in weights.items()
        )
        np.testing.assert_allclose(got[normalize + " dict"], expected, rtol=1e-5)
        np.testing.assert_allclose(got[normalize + " list"], expected, rtol=1e-5)
    np.testing.assert_allclose(got["sum"], 2.0 * np.sum(got["none"]), rtol=1e-6)


def test_style_loss_with_one_style_image_of_another_size(rng):
    generated = rng.standard_normal((3, 6, 6, 4))
    style = rng.standard_normal((1, 9, 5, 4))
    actual = style_loss(jnp.asarray(generated), jnp.asarray(style))
    expected = np.mean((gram_ref(generated) - gram_ref(style)) ** 2, axis=(-2, -1))
    np.testing.assert_allclose(actual, expected, rtol=1e-10)


def test_style_loss_errors():
    a = jnp.ones((2, 4, 4, 3))
    with pytest.raises(ValueError, match="channels"):
        style_loss(a, jnp.ones((2, 4, 4, 2)))
    with pytest.raises(ValueError, match="`predictions`"):
        style_loss(jnp.ones((4, 3)), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="`targets`"):
        style_loss({"a": a}, {"b": a})
    with pytest.raises(ValueError, match="`targets`"):
        style_loss([a, a], a)
    with pytest.raises(ValueError, match="`predictions`"):
        style_loss([a, jnp.ones((3, 4, 4, 3))], [a, a])
    with pytest.raises(ValueError, match="`layer_weights`"):
        style_loss([a, a], [a, a], layer_weights=[1.0])
    with pytest.raises(ValueError, match="`layer_weights`"):
        style_loss({"a": a}, {"a": a}, layer_weights={"a": 1.0, "b": 1.0})
    with pytest.raises(ValueError, match="`normalize`"):
        style_loss(a, a, normalize="c")


# Perceptual loss ----------------------------------------------------------------------------

MIX = np.random.default_rng(7).standard_normal((3, 5))


def jax_features(x):
    """A 1x1 convolution with tanh, then a 2x2 average pool of it."""
    a = jnp.tanh(jnp.einsum("nhwc,cd->nhwd", x, jnp.asarray(MIX, x.dtype)))
    n, h, w, c = a.shape
    b = a[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
    return {"conv": a, "pool": b}


def numpy_features(x):
    a = np.tanh(x @ MIX)
    n, h, w, c = a.shape
    b = a[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
    return {"conv": a, "pool": b}


def perceptual_ref(x, y, layers, weights, penalty, normalize, eps=1e-10):
    """Johnson et al. 2016 feature reconstruction loss (mean over C*H*W); LPIPS normalize."""
    batch = x.shape[:-3]
    fx = numpy_features(x.reshape((-1, *x.shape[-3:])))
    fy = numpy_features(y.reshape((-1, *y.shape[-3:])))
    total = 0.0
    for name, w in zip(layers, weights, strict=True):
        a, b = fx[name], fy[name]
        if normalize:
            a = a / (np.sqrt(np.sum(a**2, axis=-1, keepdims=True)) + eps)
            b = b / (np.sqrt(np.sum(b**2, axis=-1, keepdims=True)) + eps)
        d = (a - b) ** 2 if penalty == "squared_error" else np.abs(a - b)
        total = total + w * d.mean(axis=(1, 2, 3))
    return np.asarray(total).reshape(batch)


@pytest.mark.parametrize("shape", [(2, 6, 6, 3), (2, 2, 5, 4, 3), (4, 5, 3)])
@pytest.mark.parametrize("penalty", ["squared_error", "absolute_error"])
@pytest.mark.parametrize("normalize", [False, True])
def test_perceptual_loss_against_numpy(rng, shape, penalty, normalize):
    x, y = rng.uniform(-1, 1, shape), rng.uniform(-1, 1, shape)

    @jax.jit  # one program: both layers weighted, then "pool" only
    def program(x, y):
        actual = perceptual_loss(
            x,
            y,
            feature_fn=jax_features,
            layer_weights={"pool": 0.5, "conv": 2.0},
            penalty=penalty,
            normalize_features=normalize,
        )
        only = perceptual_loss(x, y, feature_fn=jax_features, layers="pool", penalty=penalty)
        return actual, only

    actual, only = program(x, y)
    expected = perceptual_ref(x, y, ["conv", "pool"], [2.0, 0.5], penalty, normalize)
    assert actual.shape == shape[:-3] and actual.dtype == jnp.float64
    np.testing.assert_allclose(actual, expected, rtol=1e-10)
    np.testing.assert_allclose(
        only, perceptual_ref(x, y, ["pool"], [1.0], penalty, False), rtol=1e-10
    )


def test_perceptual_loss_identical_and_zero_features():
    x = jnp.zeros((2, 4, 4, 3))
    for normalize in (False, True):
        for penalty in ("squared_error", "absolute_error"):
            value, grad = jax.jit(
                jax.value_and_grad(
                    lambda p, n=normalize, d=penalty: perceptual_loss(
                        p, x, feature_fn=jax_features, normalize_features=n, penalty=d
                    ).sum()
                )
            )(x)
            assert float(value) == 0.0 and bool(jnp.all(grad == 0))


def test_perceptual_loss_errors():
    x = jnp.ones((1, 4, 4, 3))
    with pytest.raises(ValueError, match="`layers`"):
        perceptual_loss(x, x, feature_fn=jax_features, layers=["nope"])
    with pytest.raises(ValueError, match="`layers`"):
        perceptual_loss(x, x, feature_fn=jax_features, layers=[])
    with pytest.raises(ValueError, match="`layer_weights`"):
        perceptual_loss(x, x, feature_fn=jax_features, layer_weights=[1.0])
    with pytest.raises(ValueError, match="`layer_weights`"):
        perceptual_loss(x, x, feature_fn=jax_features, layer_weights=-1.0)
    with pytest.raises(TypeError, match="`feature_fn`"):
        perceptual_loss(x, x, feature_fn=None)
    with pytest.raises(TypeError, match="`feature_fn`"):
        perceptual_loss(x, x, feature_fn=lambda v: [v])
    with pytest.raises(ValueError, match="`feature_fn`"):
        perceptual_loss(x, x, feature_fn=lambda v: {"flat": v.reshape(-1)})
    with pytest.raises(ValueError, match="`predictions`"):
        perceptual_loss(x, x.reshape(1, 4, 12, 1), feature_fn=jax_features)
    with pytest.raises(ValueError, match="`penalty`"):
        perceptual_loss(x, x, feature_fn=jax_features, penalty="l1")
    # The old spelling is gone: `distance=` names vector distances only (CONTRIBUTING.md, 3).
    for old in ("mse", "mae"):
        with pytest.raises(ValueError, match="`penalty`"):
            perceptual_loss(x, x, feature_fn=jax_features, penalty=old)
        with pytest.raises(TypeError, match="distance"):
            perceptual_loss(x, x, feature_fn=jax_features, distance=old)


# Total variation ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 3, 4, 2), (2, 1, 1, 6, 1), (2, 1, 1, 1)])
@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_total_variation_against_mahendran_vedaldi(rng, shape, beta):
    x = rng.standard_normal(shape)
    expected = _over_images(lambda i: tv_ref(i, beta), x)
    fn = jax.jit(lambda img: total_variation(img, beta=beta))
    actual = fn(jnp.asarray(x))
    assert actual.shape == shape[:-3]
    np.testing.assert_allclose(actual, expected, rtol=1e-10)
    np.testing.assert_allclose(fn(jnp.asarray(x, jnp.float32)), expected, rtol=1e-5)


def test_total_variation_beta_two_is_piq_l2_squared(rng):
    x = rng.standard_normal((3, 6, 5, 2))
    nchw = np.transpose(x, (0, 3, 1, 2))
    np.testing.assert_allclose(total_variation(jnp.asarray(x), beta=2.0), piq_l2_squared(nchw))
    np.testing.assert_allclose(
        total_variation(jnp.asarray(x), beta=2.0 + 1e-12), piq_l2_squared(nchw), rtol=1e-9
    )


def test_total_variation_with_traced_beta(rng):
    x = rng.standard_normal((2, 4, 4, 3))
    fn = jax.jit(lambda img, b: total_variation(img, beta=b))
    for beta in (0.7, 2.0):
        expected = _over_images(lambda i, b=beta: tv_ref(i, b), x)
        np.testing.assert_allclose(fn(jnp.asarray(x), beta), expected, rtol=1e-10)


@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 3, 7, 2), (1, 1, 3)])
def test_anisotropic_total_variation_is_kornia(rng, shape):
    x = rng.standard_normal(shape)
    actual = anisotropic_total_variation(jnp.asarray(x))
    np.testing.assert_allclose(actual, kornia_tv(np.moveaxis(x, -1, -3)), rtol=1e-10)


@given(
    hnp.arrays(np.float64, (3, 4, 2), elements=st.floats(-5, 5)),
    st.floats(0.2, 3.0),
    st.floats(-3.0, 3.0),
    st.floats(-2.0, 2.0).filter(lambda a: abs(a) > 1e-3),
)
def test_total_variation_properties(x, beta, shift, scale):
    tv = float(total_variation(jnp.asarray(x), beta=beta))
    assert tv >= 0.0
    # Invariant to a constant shift, homogeneous of degree beta.
    np.testing.assert_allclose(
        total_variation(jnp.asarray(x + shift), beta=beta), tv, rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        total_variation(jnp.asarray(scale * x), beta=beta),
        abs(scale) ** beta * tv,
        rtol=1e-6,
        atol=1e-9,
    )
    # |dx| + |dy| >= sqrt(dx^2 + dy^2) >= (|dx| + |dy|) / sqrt(2), per pixel and channel.
    l1 = float(anisotropic_total_variation(jnp.asarray(x)))
    iso = float(total_variation(jnp.asarray(x), beta=1.0))
    assert l1 + 1e-9 >= iso >= l1 / np.sqrt(2) - 1e-9


def test_single_row_isotropic_equals_anisotropic(rng):
    x = jnp.asarray(rng.standard_normal((2, 1, 9, 3)))
    np.testing.assert_allclose(total_variation(x), anisotropic_total_variation(x), rtol=1e-12)


# Edge cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0, 1.5, 2.0])
def test_total_variation_flat_and_partly_flat_gradients(beta):
    flat = np.full((2, 4, 4, 3), 0.3)
    step = np.zeros((4, 4, 1))
    step[:, 2:] = 1.0  # one vertical edge

    @jax.jit  # one program: both images, both total variations
    def program(flat, step):
        return {
            "flat": jax.value_and_grad(lambda x: total_variation(x, beta=beta, reduction="sum"))(
                flat
            ),
            "step": jax.value_and_grad(lambda x: total_variation(x, beta=beta))(step),
            "aniso flat": jax.grad(lambda x: anisotropic_total_variation(x, reduction="sum"))(flat),
            "aniso step": jax.grad(anisotropic_total_variation)(step),
        }

    got = program(flat, step)
    value, grad = got["flat"]
    assert float(value) == 0.0 and np.all(np.asarray(grad) == 0)
    value, grad = got["step"]
    assert float(value) == pytest.approx(4.0)  # 4 rows with one unit jump each
    assert np.all(np.isfinite(grad))
    # Pixels on either side of the edge: d/dI (|I_r - I_l|^beta) = -/+ beta, else 0.
    grad = np.asarray(grad)
    np.testing.assert_allclose(grad[:, 1, 0], -beta)
    np.testing.assert_allclose(grad[:, 2, 0], beta)
    np.testing.assert_allclose(grad[:, 0, 0], 0.0)
    assert np.all(np.asarray(got["aniso flat"]) == 0)  # the subgradient sign(0) = 0, as torch's abs
    grad = np.asarray(got["aniso step"])
    np.testing.assert_allclose(grad[:, 1:3, 0], np.tile([[-1.0, 1.0]], (4, 1)))
    np.testing.assert_allclose(grad[:, 0, 0], 0.0)


def test_single_pixel_images():
    x = jnp.full((3, 1, 1, 2), 0.7)
    for fn in (total_variation, anisotropic_total_variation):
        value, grad = jax.jit(jax.value_and_grad(lambda v, f=fn: jnp.sum(f(v))))(x)
        assert value == 0.0 and bool(jnp.all(grad == 0))
    np.testing.assert_allclose(gram_matrix(x), np.full((3, 2, 2), 0.49), rtol=1e-12)
    np.testing.assert_allclose(style_loss(x, x), np.zeros(3))


def _all_image_losses(x, y):
    return (
        total_variation(x, beta=0.5),
        anisotropic_total_variation(x),
        gram_matrix(x),
        style_loss(x, y),
        perceptual_loss(x, y, feature_fn=jax_features),
    )


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_inputs(rng, dtype):
    x = rng.uniform(0, 1, (2, 6, 6, 3))
    y = rng.uniform(0, 1, (2, 6, 6, 3))
    fn = jax.jit(_all_image_losses)
    low = fn(jnp.asarray(x, dtype), jnp.asarray(y, dtype))
    high = fn(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    for lo, hi in zip(low, high, strict=True):
        assert lo.dtype == dtype
        np.testing.assert_allclose(np.asarray(lo, np.float32), hi, rtol=3e-2, atol=1e-3)
    flat = jnp.full((2, 4, 4, 3), 0.5, dtype)
    grads = jax.jit(
        jax.grad(lambda v: sum(jnp.sum(t.astype(jnp.float32)) for t in _all_image_losses(v, v)))
    )(flat)
    assert grads.dtype == dtype and bool(jnp.all(jnp.isfinite(grads)))


def test_total_variation_errors():
    x = jnp.ones((4, 4, 3))
    for beta in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="`beta`"):
            total_variation(x, beta=beta)
    for fn in (total_variation, anisotropic_total_variation):
        with pytest.raises(ValueError, match="`images`"):
            fn(jnp.ones((4, 4)))
        with pytest.raises(TypeError, match="`images`"):
            fn(jnp.ones((4, 4, 3), jnp.int32))
        with pytest.raises(ValueError, match="`reduction`"):
            fn(x, reduction="avg")


# Per-image mask and weights, data parallelism ------------------------------------------------


def _reductions_of(got, values, mask, w):
    """The contract's reductions (CONTRIBUTING.md, section 4) against a numpy formula.

    got: the results of reduction "none", "sum", "mean" and "sum_and_count", by name."""
    none = np.where(mask, w * values, 0.0)
    count = np.sum(mask * w)
    np.testing.assert_allclose(got["none"], none, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got["sum"], none.sum(), rtol=1e-10)
    np.testing.assert_allclose(got["mean"], none.sum() / count, rtol=1e-10)
    total, n = got["sum_and_count"]
    np.testing.assert_allclose([total, n], [none.sum(), count], rtol=1e-10)


def test_per_image_where_and_weights_against_numpy(rng):
    shape = (5, 4, 3, 3)  # three channels: the input of `jax_features`
    x, y = rng.uniform(-1, 1, shape), rng.uniform(-1, 1, shape)
    mask = np.array([True, False, True, True, False])
    w = rng.uniform(0.5, 2.0, 5)
    fns = [
        lambda x, y, **kw: total_variation(x, beta=1.5, **kw),
        lambda x, y, **kw: anisotropic_total_variation(x, **kw),
        style_loss,
        functools.partial(perceptual_loss, feature_fn=jax_features),
    ]
    references = [
        _over_images(lambda i: tv_ref(i, 1.5), x),
        kornia_tv(np.moveaxis(x, -1, -3)),
        np.mean((gram_ref(x) - gram_ref(y)) ** 2, axis=(-2, -1)),
        perceptual_ref(x, y, ["conv", "pool"], [1.0, 1.0], "squared_error", False),
    ]
    x_nan = np.where(mask[:, None, None, None], x, np.nan)

    @jax.jit  # one program: every loss and reduction, and the gradients at masked NaN images
    def program(x, y, x_nan, mask, w):
        got = [
            {
                "none": fn(x, y, where=mask, weights=w),  # the default reduction
                **{
                    r: fn(x, y, where=mask, weights=w, reduction=r)
                    for r in ("sum", "mean", "sum_and_count")
                },
            }
            for fn in fns
        ]
        grads = [
            jax.grad(lambda v, fn=fn: fn(v, where=mask, weights=w, reduction="mean"))(x_nan)
            for fn in (total_variation, anisotropic_total_variation)
        ]
        grads.append(
            jax.grad(
                lambda v: perceptual_loss(
                    v,
                    y,
                    feature_fn=jax_features,
                    where=mask,
                    reduction="sum",
                    normalize_features=True,
                )
            )(x_nan)
        )
        return got, grads

    got, grads = program(x, y, x_nan, mask, w)
    for values, reference in zip(got, references, strict=True):
        _reductions_of(values, reference, mask, w)
    # A masked image leaks nothing, even NaN (values and gradients).
    for grad in grads:
        assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~mask] == 0)


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family).
def sharded_checks() -> None:
    """Each image loss inside ``shard_map`` with ``axis_name`` equals one device (4 devices)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 4, 4, 3)).astype(np.float32)
    y = rng.uniform(-1, 1, (8, 4, 4, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 8).astype(np.float32)
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)  # device 1 holds no counted image
    fns = {
        "total_variation": lambda a, b, **kw: total_variation(a, beta=1.5, **kw),
        "anisotropic_total_variation": lambda a, b, **kw: anisotropic_total_variation(a, **kw),
        "style_loss": style_loss,
        "perceptual_loss": functools.partial(perceptual_loss, feature_fn=jax_features),
    }
    assert_reductions_global(fns, (x, y, mask, w))
