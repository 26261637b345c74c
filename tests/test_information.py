"""Reference tests for jaxloss.information.

Oracles: scikit-learn's mutual_info_score / normalized_mutual_info_score (labels and
contingency tables), the closed form MI of a bivariate Gaussian, and a numpy transcription of
MONAI's GlobalMutualInformationLoss Parzen window (monai/losses/image_dissimilarity.py).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify
from sklearn.metrics import mutual_info_score, normalized_mutual_info_score

import jaxloss

AVERAGES = ["arithmetic", "geometric", "min", "max"]


@functools.cache
def _labels_fn(name, num_classes_a, num_classes_b, average=None):
    kwargs = {"num_classes_a": num_classes_a, "num_classes_b": num_classes_b}
    if average is not None:
        kwargs["average"] = average
    fn = getattr(jaxloss, name)
    return jax.jit(lambda a, b, w=None: fn(a, b, weights=w, **kwargs))


def _mi(a, b, ka, kb, weights=None):
    return _labels_fn("mutual_information", ka, kb)(a, b, weights)


def _nmi(a, b, ka, kb, average="arithmetic", weights=None):
    return _labels_fn("normalized_mutual_information", ka, kb, average)(a, b, weights)


@functools.cache
def _scores_fn(num_classes_a, num_classes_b):
    """One program: the mutual information and the NMI under every average."""
    kwargs = {"num_classes_a": num_classes_a, "num_classes_b": num_classes_b}

    @jax.jit
    def scores(a, b, w=None):
        mi = jaxloss.mutual_information(a, b, weights=w, **kwargs)
        nmi = {
            average: jaxloss.normalized_mutual_information(
                a, b, weights=w, average=average, **kwargs
            )
            for average in AVERAGES
        }
        return mi, nmi

    return scores


@pytest.mark.parametrize("n,ka,kb", [(10, 2, 2), (50, 4, 3), (200, 7, 5)])
def test_mutual_information_matches_sklearn(n, ka, kb):
    rng = np.random.default_rng(n)
    a = rng.integers(0, ka, (3, n))
    b = np.where(rng.random((3, n)) < 0.5, a % kb, rng.integers(0, kb, (3, n)))
    out, nmi = _scores_fn(ka, kb)(a, b)
    assert out.shape == (3,) and out.dtype == jnp.float32
    expected = [mutual_info_score(u, v) for u, v in zip(a, b, strict=True)]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    for average in AVERAGES:
        expected = [
            normalized_mutual_info_score(u, v, average_method=average)
            for u, v in zip(a, b, strict=True)
        ]
        np.testing.assert_allclose(nmi[average], expected, rtol=1e-5, atol=1e-6)


DEGENERATE = [
    ([0, 0, 0, 0], [0, 0, 0, 0]),  # one cluster each: a perfect match, NMI 1
    ([0, 0, 0, 0], [0, 1, 2, 3]),  # one cluster against four: NMI 0
    ([1, 1, 1, 1], [2, 0, 2, 0]),
    ([0, 0, 1, 1], [1, 1, 0, 0]),  # a relabelling: NMI 1
    ([0, 1, 0, 1], [0, 0, 1, 1]),  # independent: MI 0
    ([3, 3, 3, 3], [2, 2, 2, 2]),
]


@pytest.mark.parametrize("a,b", DEGENERATE)
def test_degenerate_labelings_follow_sklearn(a, b):
    a, b = np.asarray(a), np.asarray(b)
    mi, nmi = _scores_fn(4, 4)(a, b)
    np.testing.assert_allclose(mi, mutual_info_score(a, b), atol=1e-7)
    for average in AVERAGES:
        expected = normalized_mutual_info_score(a, b, average_method=average)
        np.testing.assert_allclose(nmi[average], expected, atol=1e-6)


def test_dropped_labels_equal_sklearn_on_the_kept_samples():
    """The unchecked default under jit: out-of-range labels leave the table."""
    rng = np.random.default_rng(1)
    a, b = rng.integers(-1, 4, 40), rng.integers(0, 5, 40)  # -1 and 3 fall outside [0, 3)
    keep = (a >= 0) & (a < 3)
    np.testing.assert_allclose(_mi(a, b, 3, 5), mutual_info_score(a[keep], b[keep]), rtol=1e-5)
    np.testing.assert_allclose(
        _nmi(a, b, 3, 5), normalized_mutual_info_score(a[keep], b[keep]), rtol=1e-5
    )
    # Nothing kept: both labelings are empty, which scikit-learn scores 1.0.
    empty = np.full(5, -1)
    assert float(_mi(empty, empty, 2, 2)) == 0.0
    assert float(_nmi(empty, empty, 2, 2)) == normalized_mutual_info_score([], []) == 1.0


LABELINGS = [
    ("mutual_information", {}),
    ("normalized_mutual_information", {"average": "geometric"}),
]


@pytest.mark.parametrize("name,kwargs", LABELINGS)
def test_out_of_range_labels_raise_eagerly_and_in_checked_mode(name, kwargs):
    """Issue #11: -1 labels gave 0.0 silently where scikit-learn's score is 0.732."""
    fn = functools.partial(getattr(jaxloss, name), num_classes_a=2, num_classes_b=2, **kwargs)
    a, b = jnp.array([0, 0, 1, 1, -1, -1]), jnp.array([0, 0, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="`labels_a`"):
        fn(a, b)
    with pytest.raises(ValueError, match="`labels_b`"):
        fn(b, jnp.array([0, 1, 2, 0, 1, 0]))
    checked = checkify.checkify(jax.jit(fn), errors=checkify.user_checks)
    err, _ = checked(a, b)
    assert "`labels_a`" in err.get()
    err, _ = checked(b, a)
    assert "`labels_b`" in err.get()
    good = jnp.array([0, 1, 1, 1, 0, 0])
    err, value = checked(good, b)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(fn)(good, b))
    # Weight 0 marks padding: its labels are not checked, and the rest is scikit-learn's.
    w = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    sk = {"mutual_information": mutual_info_score, "normalized_mutual_information": None}[name]
    value = fn(a, b, weights=w)
    if sk is not None:
        np.testing.assert_allclose(value, sk(a[:4], b[:4]), rtol=1e-6)
    err, _ = checked(a, b, weights=w)
    assert err.get() is None


def test_negative_weights_and_table_entries_raise():
    a = jnp.array([0, 1, 1, 0])
    kwargs = {"num_classes_a": 2, "num_classes_b": 2}
    bad = jnp.array([1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="`weights`"):
        jaxloss.mutual_information(a, a, weights=bad, **kwargs)
    checked = checkify.checkify(
        jax.jit(functools.partial(jaxloss.mutual_information, **kwargs)),
        errors=checkify.user_checks,
    )
    err, _ = checked(a, a, weights=bad)
    assert "`weights`" in err.get()
    table = jnp.array([[5.0, -1.0], [1.0, 5.0]])  # counts (scikit-learn casts to int)
    with pytest.raises(ValueError, match="`joint`"):
        jaxloss.mutual_information_from_joint(table)
    checked_joint = checkify.checkify(
        jax.jit(jaxloss.mutual_information_from_joint), errors=checkify.user_checks
    )
    err, _ = checked_joint(table)
    assert "`joint`" in err.get()
    err, value = checked_joint(jnp.abs(table))
    assert err.get() is None
    np.testing.assert_allclose(
        value, mutual_info_score(None, None, contingency=np.abs(np.asarray(table))), rtol=1e-5
    )


def test_information_functions_take_no_reduction():
    """One value per labeling, not per example (CONTRIBUTING.md, section 4)."""
    import inspect

    for name in (
        "mutual_information",
        "normalized_mutual_information",
        "mutual_information_from_joint",
        "soft_mutual_information",
    ):
        params = inspect.signature(getattr(jaxloss, name)).parameters
        assert "reduction" not in params and "axis_name" not in params, name
        assert "no ``reduction``" in getattr(jaxloss, name).__doc__, name


def test_integer_weights_equal_repeated_samples():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 3, 30), rng.integers(0, 4, 30)
    weights = rng.integers(0, 4, 30)
    ra, rb = np.repeat(a, weights), np.repeat(b, weights)
    w = weights.astype(np.float32)
    mi, nmi = _scores_fn(3, 4)(a, b, w)
    np.testing.assert_allclose(mi, mutual_info_score(ra, rb), rtol=1e-5)
    for average in AVERAGES:
        expected = normalized_mutual_info_score(ra, rb, average_method=average)
        np.testing.assert_allclose(nmi[average], expected, rtol=1e-5)


def test_mutual_information_from_joint_matches_sklearn_contingency():
    rng = np.random.default_rng(3)
    tables = rng.integers(0, 6, (4, 3, 5))
    tables[0, 1] = 0  # an empty row
    tables[1] = 0
    tables[1, 2, 3] = 7  # a single non-empty cell
    expected = [mutual_info_score(None, None, contingency=t) for t in tables]
    fn = jax.jit(jaxloss.mutual_information_from_joint)
    np.testing.assert_allclose(fn(tables.astype(np.float64)), expected, rtol=1e-12, atol=1e-15)
    probabilities = (tables / tables.sum(axis=(1, 2), keepdims=True)).astype(np.float32)
    np.testing.assert_allclose(fn(probabilities), expected, rtol=1e-5, atol=1e-6)
    assert float(fn(np.zeros((2, 2)))) == 0.0


def test_mutual_information_from_joint_gradient_is_finite_at_zero_cells():
    # For a table summing to 1 (normalised inside), dI/dp_ij = log(p_ij / (p_i p_j)) - I.
    grad_fn = jax.jit(jax.grad(jaxloss.mutual_information_from_joint))
    p = np.array([[0.3, 0.1], [0.2, 0.4]])
    log_ratio = np.log(p / (p.sum(1, keepdims=True) * p.sum(0, keepdims=True)))
    mi = np.sum(p * log_ratio)
    np.testing.assert_allclose(grad_fn(p), log_ratio - mi, rtol=1e-10)
    # At a zero cell the log term (-inf) is dropped; the rest of the derivative remains:
    # d/dp_01 of the other cells' terms through the marginals (-2) and normalisation (1 - I).
    p = np.array([[0.3, 0.0], [0.1, 0.6]])
    mi = float(jaxloss.mutual_information_from_joint(p))
    grad = grad_fn(p)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad[0, 1], -1 - mi, rtol=1e-10)


# Soft (Parzen) mutual information -------------------------------------------------------


def _monai_parzen_mi(x, y, num_bins, sigma_ratio=0.5, smooth=1e-15):
    """numpy transcription of MONAI GlobalMutualInformationLoss (kernel_type="gaussian")."""
    centers = np.linspace(0.0, 1.0, num_bins)
    sigma = np.mean(np.diff(centers)) * sigma_ratio
    preterm = 1 / (2 * sigma**2)

    def window(img):
        img = np.clip(img, 0, 1).reshape(-1, 1)
        weight = np.exp(-preterm * (img - centers) ** 2)
        weight = weight / weight.sum(-1, keepdims=True)
        return weight, weight.mean(0, keepdims=True)

    wa, pa = window(x)
    wb, pb = window(y)
    pab = wa.T @ wb / x.size
    papb = pa.T @ pb
    # MONAI's default smooth_nr = smooth_dr = 1e-7 shifts the value by ~3e-5; a negligible
    # smoothing (a constructor option there) keeps the zero cells finite.
    return np.sum(pab * np.log((pab + smooth) / (papb + smooth) + smooth))


@pytest.mark.parametrize("num_bins", [8, 23])
def test_soft_mutual_information_matches_monai_parzen_window(num_bins):
    rng = np.random.default_rng(4)
    x = rng.random((3, 500))
    y = np.clip(0.6 * x + 0.4 * rng.random((3, 500)), 0, 1)
    out = jax.jit(functools.partial(jaxloss.soft_mutual_information, num_bins=num_bins))(x, y)
    expected = [_monai_parzen_mi(u, v, num_bins) for u, v in zip(x, y, strict=True)]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_soft_mutual_information_of_correlated_gaussians():
    # I(X; Y) = -log(1 - rho^2) / 2 for a bivariate normal; the tolerance (0.04 nats at
    # N = 20000, 48 bins over (-4, 4)) is the bias stated in the docstring.
    rng = np.random.default_rng(5)
    rhos = np.array([0.0, 0.5, 0.8, 0.9])
    z = rng.standard_normal((2, len(rhos), 20_000))
    x = z[0]
    y = rhos[:, None] * z[0] + np.sqrt(1 - rhos[:, None] ** 2) * z[1]
    fn = jax.jit(
        functools.partial(jaxloss.soft_mutual_information, num_bins=48, value_range=(-4.0, 4.0))
    )
    out = np.asarray(fn(x.astype(np.float32), y.astype(np.float32)))
    np.testing.assert_allclose(out, -0.5 * np.log(1 - rhos**2), atol=0.04)
    assert np.all(np.diff(out) > 0)


def test_soft_mutual_information_axes_and_gradients():
    rng = np.random.default_rng(6)
    images = rng.random((2, 8, 8, 1))
    warped = np.clip(images + 0.1 * rng.standard_normal(images.shape), 0, 1)
    fn = jax.jit(functools.partial(jaxloss.soft_mutual_information, axis=(1, 2, 3)))
    out = fn(images, warped)
    flat = jax.jit(jaxloss.soft_mutual_information)(images.reshape(2, -1), warped.reshape(2, -1))
    np.testing.assert_allclose(out, flat, rtol=1e-12)
    # Gradient ascent on MI pulls a noisy copy towards the reference.
    grad = jax.jit(jax.grad(lambda w: jnp.sum(fn(images, w))))(warped)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    improved = np.clip(warped + 1e-3 * np.asarray(grad) / np.abs(grad).max(), 0, 1)
    assert np.all(fn(images, improved) > out)
