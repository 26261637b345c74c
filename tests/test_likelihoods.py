"""Reference tests for jaxloss.likelihoods against torch.nn.functional (torch==2.13.0, CPU).

Oracles: ``torch.nn.functional.nll_loss``, ``gaussian_nll_loss`` and ``poisson_nll_loss`` and
their autograd, in float64. Every configuration is evaluated in one jitted call per function
(values and gradients together) and compared with torch afterwards.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import jaxloss

RNG = np.random.default_rng(16)


def _torch_value_and_grad(fn, *arrays, wrt=(0,)):
    tensors = [torch.tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    out.sum().backward()
    return out.detach().numpy(), [tensors[i].grad.numpy() for i in wrt]


def _close(actual, expected, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


# nll_loss ----------------------------------------------------------------------------------

N, C = 7, 4
NLL_X = np.asarray(jax.nn.log_softmax(jnp.asarray(RNG.standard_normal((N, C)))))
NLL_Y = np.array([0, 3, -100, 1, 2, -100, 3])
NLL_W = np.array([0.5, 2.0, 1.0, 3.0])
NLL_X3 = np.asarray(jax.nn.log_softmax(jnp.asarray(RNG.standard_normal((2, C, 3))), axis=1))
NLL_Y3 = np.array([[0, 1, -100], [3, 3, 2]])
NLL_CONFIGS = {
    "mean_weighted": {"class_weights": NLL_W, "reduction": "mean"},
    "sum_weighted": {"class_weights": NLL_W, "reduction": "sum"},
    "none_weighted": {"class_weights": NLL_W, "reduction": "none"},
    "mean": {"reduction": "mean"},
}


@pytest.fixture(scope="module")
def nll_ours():
    def run(x, x3):
        out = {}
        for name, kw in NLL_CONFIGS.items():
            kw = {k: jnp.asarray(v) if k == "class_weights" else v for k, v in kw.items()}

            def f(z, kw=kw):
                return jaxloss.nll_loss(z, jnp.asarray(NLL_Y), ignore_index=-100, **kw)

            out[name] = (f(x), jax.grad(lambda z, f=f: jnp.sum(f(z)))(x))

        def f3(z):
            return jaxloss.nll_loss(
                z, jnp.asarray(NLL_Y3), axis=1, ignore_index=-100, reduction="mean"
            )

        out["axis1"] = (f3(x3), jax.grad(f3)(x3))
        ignored = jnp.full((N,), -100)
        out["all_ignored"] = jax.value_and_grad(
            lambda z: jaxloss.nll_loss(z, ignored, ignore_index=-100, reduction="mean")
        )(x)
        return out

    return jax.jit(run)(jnp.asarray(NLL_X), jnp.asarray(NLL_X3))


@pytest.mark.parametrize("name", sorted(NLL_CONFIGS))
def test_nll_loss_equals_torch(nll_ours, name):
    kw = dict(NLL_CONFIGS[name])
    weight = torch.tensor(kw.pop("class_weights")) if "class_weights" in kw else None
    value, (grad,) = _torch_value_and_grad(
        lambda x: F.nll_loss(x, torch.tensor(NLL_Y), weight=weight, reduction=kw["reduction"]),
        NLL_X,
    )
    ours, our_grad = nll_ours[name]
    _close(ours, value)
    _close(our_grad, grad)


def test_nll_loss_class_axis_1_and_all_ignored(nll_ours):
    value, (grad,) = _torch_value_and_grad(
        lambda x: F.nll_loss(x, torch.tensor(NLL_Y3), reduction="mean"), NLL_X3
    )
    _close(nll_ours["axis1"][0], value)
    _close(nll_ours["axis1"][1], grad)
    # torch gives NaN for a mean over nothing; jaxloss gives 0 with a zero gradient.
    torch_all = F.nll_loss(torch.tensor(NLL_X), torch.full((N,), -100), reduction="mean")
    assert torch.isnan(torch_all)
    assert float(nll_ours["all_ignored"][0]) == 0.0
    assert not np.any(np.asarray(nll_ours["all_ignored"][1]))


def test_nll_loss_bad_labels():
    with pytest.raises(ValueError, match="`labels`"):
        jaxloss.nll_loss(jnp.zeros((2, 3)), jnp.array([0, 3]))
    out = jax.jit(jaxloss.nll_loss)(jnp.zeros((2, 3)), jnp.array([0, 3]))
    assert np.isnan(out[1]) and out[0] == 0.0


# gaussian_nll_loss -------------------------------------------------------------------------

G_MU = RNG.standard_normal((5, 3))
G_Y = RNG.standard_normal((5, 3))
G_VAR = RNG.uniform(0.1, 2.0, (5, 3))
G_VAR[0, :] = [0.0, 1e-8, 1e-6]  # zero, below eps, at eps
G_VAR_ROW = RNG.uniform(0.1, 2.0, (5,))
G_VAR_ROW[1] = 0.0
G_CONFIGS = [
    ("elementwise", False, 1e-6, "per_entry"),
    ("full", True, 1e-6, "per_entry"),
    ("eps", False, 0.5, "per_entry"),
    ("homoscedastic", False, 1e-6, "per_row"),
    ("last_axis_1", True, 1e-3, "last1"),
]


def _variance(kind):
    return {"per_entry": G_VAR, "per_row": G_VAR_ROW, "last1": G_VAR_ROW[:, None]}[kind]


@pytest.fixture(scope="module")
def gaussian_ours():
    def run(mu, var, var_row):
        out = {}
        for name, full, eps, kind in G_CONFIGS:
            v = {"per_entry": var, "per_row": var_row, "last1": var_row[:, None]}[kind]

            def f(m, s, full=full, eps=eps):
                return jaxloss.gaussian_nll_loss(m, jnp.asarray(G_Y), s, full=full, eps=eps)

            out[name] = (f(mu, v), jax.grad(lambda m, s, f=f: jnp.sum(f(m, s)), (0, 1))(mu, v))
        return out

    return jax.jit(run)(jnp.asarray(G_MU), jnp.asarray(G_VAR), jnp.asarray(G_VAR_ROW))


@pytest.mark.parametrize("config", G_CONFIGS, ids=[c[0] for c in G_CONFIGS])
def test_gaussian_nll_loss_equals_torch(gaussian_ours, config):
    name, full, eps, kind = config
    value, grads = _torch_value_and_grad(
        lambda m, y, v: F.gaussian_nll_loss(m, y, v, full=full, eps=eps, reduction="none"),
        G_MU,
        G_Y,
        _variance(kind),
        wrt=(0, 2),
    )
    ours, (g_mu, g_var) = gaussian_ours[name]
    _close(ours, value)
    _close(g_mu, grads[0], rtol=1e-9)
    _close(g_var, grads[1], rtol=1e-9)  # straight-through clamp: huge but equal at var=0


def test_gaussian_nll_loss_negative_variance():
    with pytest.raises(ValueError, match="`variance`"):
        jaxloss.gaussian_nll_loss(jnp.zeros(2), jnp.zeros(2), jnp.array([1.0, -1.0]))
    out = jax.jit(jaxloss.gaussian_nll_loss)(jnp.zeros(2), jnp.zeros(2), jnp.array([1.0, -1.0]))
    assert np.isfinite(out[0]) and np.isnan(out[1])


# poisson_nll_loss --------------------------------------------------------------------------

P_LOG = RNG.standard_normal((4, 5))
P_RATE = RNG.uniform(0.0, 3.0, (4, 5))
P_RATE[0, :3] = 0.0  # zero rates
P_Y = RNG.poisson(2.0, (4, 5)).astype(np.float64)
P_Y[0, 0], P_Y[0, 1], P_Y[1, 0] = 0.0, 1.0, 0.0  # zero counts, a count of 1 (no Stirling term)
P_CONFIGS = [(log_input, full) for log_input in (True, False) for full in (False, True)]


@pytest.fixture(scope="module")
def poisson_ours():
    def run(log_rate, rate, y):
        out = {}
        for log_input, full in P_CONFIGS:
            x = log_rate if log_input else rate

            def f(z, t, log_input=log_input, full=full):
                return jaxloss.poisson_nll_loss(z, t, log_input=log_input, full=full)

            grads = jax.grad(lambda z, t, f=f: jnp.sum(f(z, t)), (0, 1))(x, y)
            out[(log_input, full)] = (f(x, y), grads)
        return out

    return jax.jit(run)(jnp.asarray(P_LOG), jnp.asarray(P_RATE), jnp.asarray(P_Y))


@pytest.mark.parametrize("config", P_CONFIGS, ids=[f"log_input={a}-full={b}" for a, b in P_CONFIGS])
def test_poisson_nll_loss_equals_torch(poisson_ours, config):
    log_input, full = config
    x = P_LOG if log_input else P_RATE
    value, (gx, gy) = _torch_value_and_grad(
        lambda z, t: F.poisson_nll_loss(z, t, log_input=log_input, full=full, reduction="none"),
        x,
        P_Y,
        wrt=(0, 1),
    )
    ours, (our_gx, our_gy) = poisson_ours[config]
    _close(ours, value)
    _close(our_gx, gx)
    # torch's target gradient of the Stirling term is NaN where it is masked out (y <= 1):
    # the masked term's gradient is 0 here, finite everywhere.
    finite = np.isfinite(gy)
    assert finite.all() or full
    _close(np.asarray(our_gy)[finite], gy[finite], rtol=1e-9)
    for x in (ours, our_gx, our_gy):
        assert np.all(np.isfinite(x))


def test_poisson_nll_loss_zero_rate_without_eps_is_finite():
    """torch gives NaN for 0 * log(0 + 0); 0 log 0 = 0 here, with a zero gradient."""
    x, y = jnp.array([0.0, 1.0]), jnp.array([0.0, 2.0])
    value, grad = jax.jit(
        jax.value_and_grad(
            lambda z: jaxloss.poisson_nll_loss(z, y, log_input=False, eps=0.0, reduction="sum")
        )
    )(x)
    torch_value = F.poisson_nll_loss(
        torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y)), log_input=False, eps=0.0
    )
    assert torch.isnan(torch_value)
    _close(value, 1.0)
    _close(grad, [1.0, -1.0])
