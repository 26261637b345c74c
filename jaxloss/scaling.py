"""Recipes of the README's "Scaling out" section, as code the tests run.

The README quotes these functions verbatim (``tests/test_scaling_recipes.py`` checks it and runs
the steps on 8 simulated devices against one device; ``tests/test_multiprocess.py`` joins
processes with `start_process` and places data with `place_process_data`). Not imported by
``jaxloss``: ``import jaxloss.scaling``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxloss


def gspmd_losses(embeddings, groups, hidden, unembed, labels):
    """Under plain ``jax.jit`` on sharded inputs, no loss needs an axis name."""
    return {
        "triplet": jaxloss.semihard_triplet_loss(embeddings, groups, reduction="mean"),
        "ntxent": jaxloss.ntxent(embeddings, groups),
        "fused": jaxloss.fused_linear_cross_entropy(
            hidden, unembed, labels, ignore_index=-1, reduction="mean"
        ),
    }


def accumulate(params, micro_batches):
    """Full-batch mean loss and gradient from micro-batches of unequal masked counts."""

    def summed(params, x, labels):
        total, count = jaxloss.softmax_cross_entropy_with_integer_labels(
            x @ params, labels, ignore_index=-100, reduction="sum_and_count"
        )
        return total, count

    total, count, grads = 0.0, 0.0, jax.tree.map(jnp.zeros_like, params)
    for x, labels in micro_batches:
        (t, c), g = jax.value_and_grad(summed, has_aux=True)(params, x, labels)
        total, count, grads = total + t, count + c, jax.tree.map(jnp.add, grads, g)
    mean = jaxloss.mean_from_sum_and_count((total, count))
    return mean, jax.tree.map(lambda g: jaxloss.mean_from_sum_and_count((g, count)), grads)


def data_parallel_step(mesh: Mesh, tx: optax.GradientTransformation) -> Callable:
    """``step(params, opt_state, x, labels)``: tokens split over ``"data"``, params replicated."""

    @functools.partial(
        jax.shard_map, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=(P(), P())
    )
    def loss_and_grads(params, x, labels):
        def loss_fn(params):
            return jaxloss.fused_linear_cross_entropy(
                x @ params["proj"],
                params["unembed"],
                labels,
                ignore_index=-1,
                reduction="mean",
                axis_name="data",  # the mean over the global batch
            )

        # The gradients of the replicated params come back summed over "data": no pmean.
        return jax.value_and_grad(loss_fn)(params)

    @jax.jit
    def step(params, opt_state, x, labels):
        loss, grads = loss_and_grads(params, x, labels)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def data_tensor_parallel_step(mesh: Mesh, tx: optax.GradientTransformation) -> Callable:
    """Tokens split over ``"data"``, the unembedding's rows (the vocabulary) over ``"vocab"``."""
    param_specs = {"proj": P(), "unembed": P("vocab")}

    @functools.partial(
        jax.shard_map,
        mesh=mesh,
        in_specs=(param_specs, P("data"), P("data")),
        out_specs=(P(), param_specs),
    )
    def loss_and_grads(params, x, labels):
        def loss_fn(params):
            return jaxloss.fused_linear_cross_entropy(
                x @ params["proj"],
                params["unembed"],  # this device's [V / n_vocab, D] rows
                labels,  # global class ids
                ignore_index=-1,
                reduction="mean",
                axis_name="data",
                vocab_axis_name="vocab",
            )

        return jax.value_and_grad(loss_fn)(params)

    @jax.jit
    def step(params, opt_state, x, labels):
        loss, grads = loss_and_grads(params, x, labels)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def start_process(coordinator: str, num_processes: int, process_id: int, **options) -> None:
    """Joins the job: call once per process, before any other use of jax."""
    jax.distributed.initialize(
        coordinator_address=coordinator,  # "host0:port", the same for every process
        num_processes=num_processes,
        process_id=process_id,
        **options,  # e.g. initialization_timeout=60
    )


def place_process_data(mesh: Mesh, spec: P, part: Any, global_shape: tuple) -> jax.Array:
    """The global array whose part on this process's devices is ``part`` (numpy)."""
    sharding = NamedSharding(mesh, spec)
    return jax.make_array_from_process_local_data(sharding, np.asarray(part), global_shape)
