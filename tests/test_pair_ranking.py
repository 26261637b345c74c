"""Reference tests of jaxloss.pair_ranking (margin_loss, fast_ap_loss) against
pytorch-metric-learning 2.9 (torch CPU, float64), values and gradients (also with respect to
the margin loss's learnable beta), on the batches of tests/pair_helpers.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from jax.experimental import checkify
from pytorch_metric_learning import losses as pml_losses

import jaxloss
from tests.pair_helpers import (
    BATCHES,
    EMB,
    LABELS,
    TOL,
    WHERE,
    assert_equal_pml,
    our_reduced,
    pml_reduced,
    scatter,
    torch_value_and_grad,
)

BETA = np.array([0.9, 1.1, 1.3, 1.0, 0.8, 1.2, 1.0, 1.05, 0.95, 1.15])  # per class, C = 10

# name -> (jaxloss function, keyword options, PML loss factory, PML miner factory or None)
CONFIGS = {
    "margin_scalar": (
        jaxloss.margin_loss,
        {"beta": 1.1, "margin": 0.3},
        lambda: pml_losses.MarginLoss(margin=0.3, beta=1.1),
        None,
    ),
    "fast_ap": (jaxloss.fast_ap_loss, {}, pml_losses.FastAPLoss, None),
    "fast_ap_bins": (
        jaxloss.fast_ap_loss,
        {"num_bins": 4},
        lambda: pml_losses.FastAPLoss(num_bins=4),
        None,
    ),
}


def _pml_margin_per_class():
    loss = pml_losses.MarginLoss(margin=0.2, learn_beta=True, num_classes=len(BETA))
    loss.beta.data = torch.tensor(BETA)
    return loss


@pytest.fixture(scope="module")
def pml():
    out = pml_reduced(CONFIGS)
    for i in BATCHES:
        keep = WHERE[i]
        value, grad, beta_grad = torch_value_and_grad(
            _pml_margin_per_class, None, EMB[i][keep], LABELS[i][keep], parameter="beta"
        )
        out["margin_per_class", i] = (value, scatter(grad, keep), beta_grad)
    return out


@pytest.fixture(scope="module")
def ours():
    """Every configuration's mean and gradient, one compile."""

    def one_batch(x, y, where):
        out = our_reduced(CONFIGS, x, y, where)

        def margin(x, beta):
            return jaxloss.margin_loss(x, y, beta=beta, where=where, reduction="mean")

        value, grads = jax.value_and_grad(margin, argnums=(0, 1))(x, jnp.asarray(BETA))
        out["margin_per_class"] = (value, *grads)
        return out

    return jax.jit(jax.vmap(one_batch))(jnp.asarray(EMB), jnp.asarray(LABELS), WHERE)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_value_and_gradient_equal_pml(pml, ours, name):
    assert_equal_pml(ours, pml, name)


def test_margin_loss_per_class_beta_equals_pml_with_its_gradient(pml, ours):
    value, grad, beta_grad = ours["margin_per_class"]
    for i in BATCHES:
        expected_value, expected_grad, expected_beta = pml["margin_per_class", i]
        np.testing.assert_allclose(value[i], expected_value, **TOL, err_msg=f"batch {i}")
        got = np.where(WHERE[i][:, None], np.asarray(grad[i]), 0.0)
        np.testing.assert_allclose(got, expected_grad, **TOL, err_msg=f"grad batch {i}")
        np.testing.assert_allclose(beta_grad[i], expected_beta, **TOL, err_msg=f"beta {i}")
    # Classes without a triplet in batch 2 (absent, or singletons 5 and 9) get no gradient.
    assert np.all(np.asarray(beta_grad[2])[[1, 2, 4, 5, 6, 8, 9]] == 0.0)


def test_margin_loss_labels_outside_per_class_beta_raise_when_checked():
    x, y, beta = jnp.asarray(EMB[0]), jnp.asarray(LABELS[0]).at[0].set(7), jnp.ones(3)
    with pytest.raises(ValueError, match="`labels`"):
        jaxloss.margin_loss(x, y, beta=beta)

    def f(x, y, beta):
        return jaxloss.margin_loss(x, y, beta=beta, reduction="mean")

    err, _ = jax.jit(checkify.checkify(f, errors=checkify.user_checks))(x, y, beta)
    with pytest.raises(Exception, match="`labels`"):
        err.throw()
    # Unchecked under jit: the anchor takes the last class's beta, as documented (its label
    # still decides its pairs).
    clipped = jax.jit(f)(x, y, beta)
    extended = jnp.concatenate([beta, jnp.full(5, beta[2])])
    np.testing.assert_allclose(clipped, f(x, y, extended), **TOL)


def test_margin_loss_memory_grows_as_b_squared():
    """No [B, B, B] triplet tensor: doubling the batch at most quadruples the memory."""

    def temp_bytes(b):
        x = jax.ShapeDtypeStruct((b, 8), jnp.float32)
        y = jax.ShapeDtypeStruct((b,), jnp.int32)
        step = jax.jit(jax.grad(lambda x, y: jaxloss.margin_loss(x, y, reduction="mean")))
        return step.lower(x, y).compile().memory_analysis().temp_size_in_bytes

    small, large = temp_bytes(256), temp_bytes(512)
    assert large <= 4.5 * small, (small, large)
