"""Reference tests for jaxloss.probabilistic and jaxloss.robust.

Oracles: scikit-learn (``mean_pinball_loss``, ``mean_tweedie_deviance``,
``mean_poisson_deviance``, ``mean_gamma_deviance``), properscoring (``crps_gaussian`` with its
analytic gradient, ``crps_ensemble``), ``scipy.stats.t.logpdf`` and float64 numpy formulas
written from the papers (the fair ensemble CRPS of Ferro 2014 as an O(M^2) pair sum; Barron's
general loss, eq. 1 of the CVPR 2019 paper, and its closed forms). Gradients are compared with
analytic derivatives or with central differences of the independent reference. Each function's
jaxloss values and gradients come from one jitted call (module-scoped fixtures).
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import properscoring
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics

import jaxloss

RNG = np.random.default_rng(2019)


def _close(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def _central(fn, x, step=1e-6):
    """Central differences of a scalar numpy function of an array, entry by entry."""
    g = np.zeros_like(x)
    steps = np.broadcast_to(step, x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = steps[i]
        g[i] = (fn(x + e) - fn(x - e)) / (2 * steps[i])
    return g


# quantile_loss -----------------------------------------------------------------------------

Q_LEVELS = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
Q_Y = RNG.standard_normal(9)
Q_PRED = RNG.standard_normal((9, Q_LEVELS.size))
Q_PRED[0, 2] = Q_Y[0]  # a tie: the centre of the subdifferential
Q_W = RNG.uniform(0.2, 2.0, 9)


@pytest.fixture(scope="module")
def quantile_ours():
    def run(p, y, w):
        q = jnp.asarray(Q_LEVELS)

        def total(p):
            return jnp.sum(jaxloss.quantile_loss(p, y, quantiles=q))

        per_column = [
            jaxloss.quantile_loss(p[:, k], y, quantiles=Q_LEVELS[k], weights=w, reduction="mean")
            for k in range(Q_LEVELS.size)
        ]
        return jaxloss.quantile_loss(p, y, quantiles=q), jnp.stack(per_column), jax.grad(total)(p)

    return jax.jit(run)(jnp.asarray(Q_PRED), jnp.asarray(Q_Y), jnp.asarray(Q_W))


def test_quantile_loss_equals_sklearn_mean_pinball_loss(quantile_ours):
    values, weighted_means, grad = quantile_ours
    for k, q in enumerate(Q_LEVELS):
        _close(np.mean(values[:, k]), metrics.mean_pinball_loss(Q_Y, Q_PRED[:, k], alpha=q))
        expected = metrics.mean_pinball_loss(Q_Y, Q_PRED[:, k], alpha=q, sample_weight=Q_W)
        _close(weighted_means[k], expected)
    # d/dp of max(q (y - p), (q - 1)(y - p)): -q below the target, 1 - q above, 1/2 - q at it.
    above = Q_PRED > Q_Y[:, None]
    expected = np.where(above, 1.0 - Q_LEVELS, -Q_LEVELS)
    expected[0, 2] = 0.5 - Q_LEVELS[2]
    _close(grad, expected)


def test_quantile_loss_shapes_and_bad_quantiles():
    with pytest.raises(ValueError, match="`quantiles`"):
        jaxloss.quantile_loss(jnp.zeros(3), jnp.zeros(3), quantiles=1.5)
    with pytest.raises(ValueError, match="`quantiles`"):
        jaxloss.quantile_loss(jnp.zeros((2, 3)), jnp.zeros(2), quantiles=jnp.array([0.1, 0.9]))


# Tweedie deviances -------------------------------------------------------------------------

POWERS = [-1.0, 0.0, 1.0, 1.5, 2.0, 3.0]
T_MU = RNG.uniform(0.2, 3.0, 12)
T_Y = RNG.poisson(1.5, 12).astype(np.float64) + np.where(np.arange(12) < 3, 0.0, 0.3)
T_Y[:3] = 0.0  # zero observations (Poisson, compound Poisson-gamma, normal, p < 0)
T_W = RNG.uniform(0.2, 2.0, 12)


def _targets_for(power):
    return T_Y if power < 2 else T_Y + 0.5  # gamma and inverse Gaussian need y > 0


@pytest.fixture(scope="module")
def tweedie_ours():
    def run(mu, w):
        out = {}
        for power in POWERS:
            y = jnp.asarray(_targets_for(power))

            def mean(m, power=power, y=y):
                return jaxloss.tweedie_deviance(m, y, power=power, weights=w, reduction="mean")

            out[str(power)] = (mean(mu), jax.grad(mean)(mu))
        y = jnp.asarray(T_Y)
        out["poisson"] = jax.value_and_grad(
            lambda m: jaxloss.poisson_deviance(m, y, weights=w, reduction="mean")
        )(mu)
        out["gamma"] = jax.value_and_grad(
            lambda m: jaxloss.gamma_deviance(m, y + 0.5, weights=w, reduction="mean")
        )(mu)
        return out

    return jax.jit(run)(jnp.asarray(T_MU), jnp.asarray(T_W))


@pytest.mark.parametrize("power", POWERS)
def test_tweedie_deviance_equals_sklearn(tweedie_ours, power):
    y = _targets_for(power)
    expected = metrics.mean_tweedie_deviance(y, T_MU, power=power, sample_weight=T_W)
    value, grad = tweedie_ours[str(power)]
    _close(value, expected)
    # d/dmu of the unit deviance is 2 mu^-p (mu - y) for every power; weighted mean.
    _close(grad, 2.0 * T_MU ** (-power) * (T_MU - y) * T_W / T_W.sum())


def test_poisson_and_gamma_deviance_equal_sklearn(tweedie_ours):
    value, grad = tweedie_ours["poisson"]
    _close(value, metrics.mean_poisson_deviance(T_Y, T_MU, sample_weight=T_W))
    _close(grad, 2.0 * (1.0 - T_Y / T_MU) * T_W / T_W.sum())
    value, grad = tweedie_ours["gamma"]
    _close(value, metrics.mean_gamma_deviance(T_Y + 0.5, T_MU, sample_weight=T_W))
    _close(grad, 2.0 * (T_MU - T_Y - 0.5) / T_MU**2 * T_W / T_W.sum())


def test_tweedie_power_and_domain():
    with pytest.raises(ValueError, match="`power`"):
        jaxloss.tweedie_deviance(jnp.ones(2), jnp.ones(2), power=0.5)
    with pytest.raises(ValueError, match="`predictions`"):
        jaxloss.poisson_deviance(jnp.array([1.0, -1.0]), jnp.ones(2))
    out = jax.jit(jaxloss.poisson_deviance)(jnp.array([1.0, -1.0]), jnp.ones(2))
    assert out[0] == 0.0 and np.isnan(out[1])


# CRPS --------------------------------------------------------------------------------------

C_MU = RNG.standard_normal(10)
C_Y = RNG.standard_normal(10)
C_SIG = RNG.uniform(0.1, 2.0, 10)
C_SIG[:3] = 0.0  # collapsed forecasts
C_Y[2] = C_MU[2]  # ... one of them exactly right
M = 7
E_X = RNG.standard_normal((5, M))
E_X[0, 1] = E_X[0, 4]  # tied members
E_Y = RNG.standard_normal(5)
E_Y[1] = E_X[1, 3]  # a member equal to the observation


@pytest.fixture(scope="module")
def crps_ours():
    def run(mu, y, sig, x, ey):
        def gauss_total(mu, sig):
            return jnp.sum(jaxloss.gaussian_crps(mu, y, sig))

        out = {
            "gaussian": (jaxloss.gaussian_crps(mu, y, sig), jax.grad(gauss_total, (0, 1))(mu, sig))
        }
        for estimator in ("standard", "fair"):

            def total(x, estimator=estimator):
                return jnp.sum(jaxloss.ensemble_crps(x, ey, estimator=estimator))

            out[estimator] = (jaxloss.ensemble_crps(x, ey, estimator=estimator), jax.grad(total)(x))
        return out

    args = (C_MU, C_Y, C_SIG, E_X, E_Y)
    return jax.jit(run)(*(jnp.asarray(a) for a in args))


def test_gaussian_crps_equals_properscoring(crps_ours):
    value, (g_mu, g_sig) = crps_ours["gaussian"]
    positive = C_SIG > 0
    expected, (d_mu, d_sig) = properscoring.crps_gaussian(
        C_Y[positive], C_MU[positive], C_SIG[positive], grad=True
    )
    _close(value[positive], expected)
    _close(g_mu[positive], d_mu)
    _close(g_sig[positive], d_sig)
    # sigma = 0: the absolute error, and the limits of properscoring's gradient formulas.
    a = C_Y[~positive] - C_MU[~positive]
    _close(value[~positive], np.abs(a))
    _close(g_mu[~positive], -np.sign(a))
    pdf_limit = np.where(a == 0, 2.0 / np.sqrt(2.0 * np.pi), 0.0)
    _close(g_sig[~positive], pdf_limit - 1.0 / np.sqrt(np.pi))
    # ... which are the one-sided limits of the properscoring values.
    tiny = 1e-7
    slope = (properscoring.crps_gaussian(C_Y[:3], C_MU[:3], tiny) - np.abs(a)) / tiny
    _close(g_sig[:3], slope, rtol=1e-5, atol=1e-6)


def _fair_crps(x, y):
    """Ferro (2014): mean |x_i - y| - sum_{i,j} |x_i - x_j| / (2 M (M - 1)), an O(M^2) sum."""
    m = x.shape[-1]
    pairs = np.abs(x[..., :, None] - x[..., None, :]).sum((-2, -1))
    return np.abs(x - y[..., None]).mean(-1) - pairs / (2 * m * (m - 1))


@pytest.mark.parametrize("estimator", ["standard", "fair"])
def test_ensemble_crps_equals_properscoring_and_the_fair_formula(crps_ours, estimator):
    value, grad = crps_ours[estimator]
    if estimator == "standard":
        expected = properscoring.crps_ensemble(E_Y, E_X)

        def reference(x):
            return properscoring.crps_ensemble(E_Y, x).sum()
    else:
        expected = _fair_crps(E_X, E_Y)

        def reference(x):
            return _fair_crps(x, E_Y).sum()

    _close(value, expected)
    # Away from ties the pair sum is smooth: central differences of the reference.
    smooth = np.ones(E_X.shape, bool)
    smooth[0, [1, 4]] = False
    smooth[1, 3] = False
    _close(grad[smooth], _central(reference, E_X)[smooth], rtol=1e-6, atol=1e-8)


def test_ensemble_crps_of_one_member_is_the_absolute_error():
    x, y = jnp.array([[0.5], [-1.0]]), jnp.array([0.0, 1.0])
    for estimator in ("standard", "fair"):
        _close(jaxloss.ensemble_crps(x, y, estimator=estimator), [0.5, 2.0])


# Student-t ---------------------------------------------------------------------------------

S_MU = RNG.standard_normal(6)
S_Y = RNG.standard_normal(6) * 3.0
S_SCALE = RNG.uniform(0.3, 2.0, 6)
S_DF = np.array([0.5, 1.0, 2.5, 4.0, 30.0, 1e4])


@pytest.fixture(scope="module")
def student_ours():
    def total(mu, scale, df):
        return jnp.sum(jaxloss.student_t_nll(mu, jnp.asarray(S_Y), scale, df=df))

    def run(mu, scale, df):
        value = jaxloss.student_t_nll(mu, jnp.asarray(S_Y), scale, df=df)
        return value, jax.grad(total, (0, 1, 2))(mu, scale, df)

    return jax.jit(run)(jnp.asarray(S_MU), jnp.asarray(S_SCALE), jnp.asarray(S_DF))


def test_student_t_nll_equals_scipy(student_ours):
    value, (g_mu, g_scale, g_df) = student_ours
    _close(value, -stats.t.logpdf(S_Y, S_DF, loc=S_MU, scale=S_SCALE), rtol=1e-12)

    def nll(mu=S_MU, scale=S_SCALE, df=S_DF):
        return -stats.t.logpdf(S_Y, df, loc=mu, scale=scale).sum()

    _close(g_mu, _central(lambda m: nll(mu=m), S_MU), rtol=1e-6, atol=1e-8)
    _close(g_scale, _central(lambda s: nll(scale=s), S_SCALE), rtol=1e-6, atol=1e-8)
    _close(g_df, _central(lambda d: nll(df=d), S_DF, step=1e-6 * S_DF), rtol=1e-5, atol=1e-8)


# Barron's general robust loss --------------------------------------------------------------


def _barron(x, alpha, c):
    """Eq. 1 of Barron (CVPR 2019), for alpha not in {0, 2, +-inf}; the power minus one is
    written as expm1(log1p) so that the reference keeps its digits near alpha = 0."""
    b = np.abs(alpha - 2.0)
    return b / alpha * np.expm1(alpha / 2.0 * np.log1p((x / c) ** 2 / b))


def _closed_form(x, alpha, c):
    z2 = (x / c) ** 2
    return {
        2.0: 0.5 * z2,
        1.0: np.sqrt(z2 + 1.0) - 1.0,
        0.0: np.log(0.5 * z2 + 1.0),
        -2.0: 2.0 * z2 / (z2 + 4.0),
        -np.inf: 1.0 - np.exp(-0.5 * z2),
        np.inf: np.exp(0.5 * z2) - 1.0,
    }[alpha]


B_X = RNG.standard_normal(8) * 2.0
B_X[0] = 0.0
B_C = RNG.uniform(0.5, 2.0, 8)
SPECIAL = [2.0, 1.0, 0.0, -2.0, -np.inf, np.inf]
GENERAL = RNG.uniform(-4.0, 4.0, 8)
NEAR = np.array([1e-9, -1e-9, 1e-4, -1e-4, 2.0 - 1e-7, 2.0 + 1e-7, 0.3, -0.3])


@pytest.fixture(scope="module")
def robust_ours():
    def run(x, c, alphas):
        def total(x, alpha, c):
            return jnp.sum(jaxloss.general_robust_loss(x, alpha=alpha, scale=c))

        grads = jax.grad(total, (0, 1, 2))
        out = {}
        for name, alpha in alphas.items():
            alpha = jnp.broadcast_to(alpha, x.shape)
            out[name] = (jaxloss.general_robust_loss(x, alpha=alpha, scale=c), grads(x, alpha, c))
        return out

    alphas = {str(a): jnp.asarray(a) for a in SPECIAL}
    alphas["general"] = jnp.asarray(GENERAL)
    alphas["near"] = jnp.asarray(NEAR)
    return jax.jit(run)(jnp.asarray(B_X), jnp.asarray(B_C), alphas)


@pytest.mark.parametrize("alpha", SPECIAL)
def test_general_robust_loss_closed_forms(robust_ours, alpha):
    value, (g_x, g_alpha, g_c) = robust_ours[str(alpha)]
    _close(value, _closed_form(B_X, alpha, B_C))

    def of_x(x):
        return _closed_form(x, alpha, B_C).sum()

    _close(g_x, _central(of_x, B_X), rtol=1e-6, atol=1e-8)
    _close(g_c, _central(lambda c: _closed_form(B_X, alpha, c).sum(), B_C), rtol=1e-6, atol=1e-8)
    assert np.all(np.isfinite(g_alpha))
    if alpha in (1.0, -2.0):  # the general formula is regular there: its central differences
        g = _central(lambda a: _barron(B_X, a, B_C).sum(), np.full(8, alpha))
        _close(g_alpha, g, rtol=1e-6, atol=1e-8)
    elif alpha == 0.0:  # the limit of d rho / d alpha: L^2/4 - L/2 + z^2 / (2 (z^2 + 2))
        z2 = (B_X / B_C) ** 2
        log_term = np.log1p(0.5 * z2)
        _close(g_alpha, log_term**2 / 4 - log_term / 2 + z2 / (2 * (z2 + 2)))
        h = 1e-5
        slope = (_barron(B_X, h, B_C) - _barron(B_X, -h, B_C)) / (2 * h)
        _close(g_alpha, slope, rtol=1e-6, atol=1e-9)
    else:  # alpha = 2 (unbounded derivative: taken as 0) and +-inf (limit 0)
        _close(g_alpha, 0.0)


def test_general_robust_loss_general_formula(robust_ours):
    for name, alphas in (("general", GENERAL), ("near", NEAR)):
        value, (g_x, g_alpha, g_c) = robust_ours[name]
        _close(value, _barron(B_X, alphas, B_C), rtol=1e-9)
        _close(g_x, _central(lambda x, a=alphas: _barron(x, a, B_C).sum(), B_X), rtol=1e-6)
        _close(g_c, _central(lambda c, a=alphas: _barron(B_X, a, c).sum(), B_C), rtol=1e-6)
        if name == "general":
            g = _central(lambda a: _barron(B_X, a, B_C).sum(), alphas)
            _close(g_alpha, g, rtol=1e-6, atol=1e-8)
    # Continuity through alpha = 0 (values and the alpha-derivative).
    near_zero = robust_ours["near"]
    at_zero = robust_ours["0.0"]
    _close(near_zero[0][:2], at_zero[0][:2], rtol=1e-8, atol=1e-9)
    _close(near_zero[1][1][:2], at_zero[1][1][:2], rtol=1e-6, atol=1e-8)


def test_general_robust_loss_scale_must_be_positive():
    with pytest.raises(ValueError, match="`scale`"):
        jaxloss.general_robust_loss(jnp.ones(2), alpha=1.0, scale=jnp.array([1.0, -1.0]))
    out = jax.jit(lambda s: jaxloss.general_robust_loss(jnp.ones(2), alpha=1.0, scale=s))(
        jnp.array([1.0, 0.0])
    )
    assert np.isfinite(out[0]) and np.isnan(out[1])


# Properties: proper scores and deviances are non-negative and vanish at a perfect forecast.

_finite = st.floats(-20.0, 20.0, allow_nan=False, width=64)


@jax.jit
def _properties(x, y, s):
    mu = jnp.exp(0.2 * x)  # positive means for the deviances
    return {
        "pinball": jaxloss.quantile_loss(jnp.stack([x, x], -1), y, quantiles=jnp.array([0.0, 0.7])),
        "pinball_at_target": jaxloss.quantile_loss(y, y, quantiles=0.3),
        "deviances": jnp.stack(
            [jaxloss.tweedie_deviance(mu, jnp.exp(0.2 * y), power=p) for p in (-1, 0, 1, 1.5, 2, 3)]
        ),
        "deviances_at_mean": jnp.stack(
            [jaxloss.tweedie_deviance(mu, mu, power=p) for p in (-1, 0, 1, 1.5, 2, 3)]
        ),
        "gaussian_crps": jaxloss.gaussian_crps(x, y, s),
        "ensemble_crps": jaxloss.ensemble_crps(jnp.stack([x, y, s], -1), y),
        "robust": jnp.stack(
            [
                jaxloss.general_robust_loss(x, y, alpha=a, scale=s + 0.1)
                for a in (-jnp.inf, -2.0, 0.0, 1.0, 2.0)
            ]
        ),
        "robust_at_zero": jaxloss.general_robust_loss(y, y, alpha=x, scale=s + 0.1),
    }


@given(
    x=hnp.arrays(np.float64, 8, elements=_finite),
    y=hnp.arrays(np.float64, 8, elements=_finite),
    s=hnp.arrays(np.float64, 8, elements=st.floats(0.0, 5.0, width=64)),
)
def test_scores_are_nonnegative_and_zero_at_a_perfect_forecast(x, y, s):
    out = _properties(x, y, s)
    tol = 1e-9
    for name in ("pinball", "deviances", "gaussian_crps", "ensemble_crps", "robust"):
        assert np.all(np.asarray(out[name]) >= -tol * (1 + np.abs(np.asarray(out[name])))), name
    for name in ("pinball_at_target", "deviances_at_mean", "robust_at_zero"):
        np.testing.assert_allclose(out[name], 0.0, atol=1e-9, err_msg=name)
