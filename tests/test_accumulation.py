"""Exact means under gradient accumulation: ``reduction="sum_and_count"`` (CONTRIBUTING.md, 4).

A batch of 32 examples is split into four micro-batches holding unequal numbers of ignored
(``ignore_index``) and masked (``where``) examples, with per-example weights. Each micro-batch
returns its (sum, count); the sums of the pairs and of the gradients of the sums, divided once
by the total count, must equal the full-batch ``"mean"`` and its gradient. The average of the
four micro-batch means, which is what a naive accumulation loop computes, differs: the test
checks that too, so it could not pass with a reduction that ignored the counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

N, D, K = 32, 6, 5
SPLITS = (3, 9, 4, 16)  # unequal micro-batch sizes


def _data():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(N, D)), jnp.float32)
    labels = rng.integers(0, K, N)
    labels[[0, 1, 2, 5, 20, 21]] = -100  # micro-batch 0 has only ignored tokens
    where = np.ones(N, bool)
    where[[7, 8, 9, 10, 30]] = False
    weights = jnp.asarray(rng.uniform(0.2, 2.0, N), jnp.float32)
    targets = jnp.asarray(rng.normal(size=(N, K)), jnp.float32)
    return x, jnp.asarray(labels, jnp.int32), jnp.asarray(where), weights, targets


def _integer_ce(params, x, labels, where, weights, targets, reduction):
    del targets
    return jaxloss.softmax_cross_entropy_with_integer_labels(
        x @ params, labels, ignore_index=-100, where=where, weights=weights, reduction=reduction
    )


def _fused_ce(params, x, labels, where, weights, targets, reduction):
    del targets
    return jaxloss.fused_linear_cross_entropy(
        x, params.T, labels, ignore_index=-100, where=where, weights=weights, reduction=reduction
    )


def _huber(params, x, labels, where, weights, targets, reduction):
    del labels
    per_example = jnp.mean(jaxloss.huber_loss(x @ params, targets, delta=0.5), axis=-1)
    return jaxloss.reduce(per_example, where=where, weights=weights, reduction=reduction)


def _huber_elementwise(params, x, labels, where, weights, targets, reduction):
    del labels
    return jaxloss.huber_loss(
        x @ params,
        targets,
        delta=0.5,
        where=where[:, None],
        weights=weights[:, None],
        reduction=reduction,
    )


LOSSES = {
    "softmax_cross_entropy_with_integer_labels": _integer_ce,
    "fused_linear_cross_entropy": _fused_ce,
    "reduce": _huber,
    "huber_loss": _huber_elementwise,
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_four_micro_batches_equal_the_full_batch(name):
    loss = LOSSES[name]
    params = jnp.asarray(np.random.default_rng(1).normal(size=(D, K)), jnp.float32)
    data = _data()

    def full(params):
        return loss(params, *data, "mean")

    def micro(params, *batch):
        total, count = loss(params, *batch, "sum_and_count")
        return total, count

    @jax.jit
    def run(params):
        value, grad = jax.value_and_grad(full)(params)
        totals, counts, grads, means = 0.0, 0.0, jnp.zeros_like(params), 0.0
        start = 0
        for size in SPLITS:
            batch = [a[start : start + size] for a in data]
            start += size
            (total, count), g = jax.value_and_grad(micro, has_aux=True)(params, *batch)
            totals, counts, grads = totals + total, counts + count, grads + g
            means += loss(params, *batch, "mean") / len(SPLITS)
        accumulated = jaxloss.mean_from_sum_and_count((totals, counts))
        return value, grad, accumulated, grads / counts, means, counts

    value, grad, accumulated, accumulated_grad, naive, count = run(params)
    np.testing.assert_allclose(accumulated, value, rtol=1e-6)
    np.testing.assert_allclose(accumulated_grad, grad, rtol=1e-5, atol=1e-7)
    assert abs(float(naive) - float(value)) > 1e-3  # the naive average of means is wrong
    weights = np.asarray(data[3])
    counted = np.asarray(data[2]).copy()
    if name.endswith("cross_entropy") or "integer" in name:
        counted &= np.asarray(data[1]) != -100
    expected_count = weights[counted].sum() * (K if name == "huber_loss" else 1)
    np.testing.assert_allclose(count, expected_count, rtol=1e-6)
