"""The benchmark suite's quick mode runs, the elementwise kernels stay intermediate-free, and
the mining peers compute our objective."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from bench import __main__ as bench_main
from bench import (
    compile_time,
    cross_entropy,
    elementwise,
    fused_linear_cross_entropy,
    metric_learning,
    mining,
    pairwise,
)


def test_quick_benchmarks_run(capsys):
    assert bench_main.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "jaxloss/mse" in out and "jaxloss/forward+backward" in out
    assert "jaxloss/euclidean vs torch" in out and "jaxloss/gram_matrix vs torch" in out
    for name in compile_time.QUICK_NAMES:
        assert f"jaxloss/{name} " in out
        assert f"jaxloss/{name}/eager " in out
    # Each metric-learning row has been checked against PML's value (the group raises if not).
    for name in metric_learning.QUICK_NAMES:
        assert f"jaxloss/{name} " in out and "value vs pml rel. diff" in out


# On XLA:CPU a select (jnp.where) or comparison in the elementwise part forces the per-element
# values into memory before the reduction; every kernel below is written without one.
FUSED = ("mse", "mae", "huber", "smooth_l1", "log_cosh", "sigmoid_bce", "sigmoid_focal")


def test_elementwise_losses_have_no_full_size_intermediate():
    n = 1 << 18
    x = jnp.zeros((n,), jnp.float32)
    y = jnp.zeros((n,), jnp.float32)
    for name in FUSED:
        fn, _ = elementwise._ours()[name]
        compiled = jax.jit(fn).lower(x, y).compile()
        temp = compiled.memory_analysis().temp_size_in_bytes
        # A materialized per-element loss would need n * 4 bytes; a fused reduction a few KiB.
        assert temp < n * 4 // 16, f"{name}: {temp} temporary bytes"


def test_low_precision_cross_entropy_keeps_no_float32_copy_of_the_logits():
    # bfloat16 logits are upcast element by element inside the fused loops: no stored float32
    # copy in the forward pass or in the backward pass (which writes the bfloat16 gradient).
    logits = jnp.zeros((256, 4096), jnp.bfloat16)
    labels = jnp.zeros((256,), jnp.int32)
    for fn in (cross_entropy._ours, jax.value_and_grad(cross_entropy._ours)):
        temp = jax.jit(fn).lower(logits, labels).compile().memory_analysis().temp_size_in_bytes
        assert temp < logits.size * 4 // 16, f"{fn}: {temp} temporary bytes"


def test_fused_linear_cross_entropy_meets_its_memory_target_and_agrees():
    results = fused_linear_cross_entropy.bench_shape(256, 64, 2048, rounds=1)
    rows = {r.name: r for r in results}
    base = rows["materialized"].temp_bytes
    # Default blocks: at most 1/16 of the materialized loss's temporary memory.
    assert rows["jaxloss/fused"].temp_bytes <= base / 16
    for name in ("jaxloss/fused", "jax-cce"):
        assert "max abs diff vs materialized" in rows[name].note
        diff = float(rows[name].note.rsplit(" ", 1)[1])
        assert diff < 1e-5, (name, diff)


def test_pairwise_self_distances_have_exactly_zero_diagonal():
    x, _ = pairwise.inputs(64, 64, 16)
    for metric in pairwise.EXACT_ZERO_DIAGONAL:
        diagonal = pairwise.self_diagonal(metric, jnp.asarray(x))
        assert np.all(diagonal == 0.0), (metric, np.max(np.abs(diagonal)))
        # Eagerly too: the same array object passed as `x` and `y`.
        eager = jaxloss.pairwise_distances(x, x, metric=metric)
        assert np.all(np.diagonal(eager) == 0.0), metric


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU fusion structure")
def test_pairwise_euclidean_writes_the_distance_matrix_once():
    # The clamp and square root are fused into the matmul's epilogue: one [N, M] kernel.
    x, y = (jnp.asarray(a) for a in pairwise.inputs(256, 192, 32))
    text = pairwise.ours("euclidean").lower(x, y).compile().as_text()
    entry = text[text.index("\nENTRY") :]
    kernels = [line for line in entry.splitlines() if " = f32[256,192]" in line]
    assert len(kernels) == 1, kernels


def test_gram_matrix_contracts_the_channel_last_map_in_place():
    # No transposed [B, C, H * W] copy of the features before the matmul.
    x = jnp.zeros((2, 32, 32, 64), jnp.float32)
    temp = jax.jit(jaxloss.gram_matrix).lower(x).compile().memory_analysis().temp_size_in_bytes
    assert temp < x.size * 4 // 8, temp


def test_tiled_semihard_form_agrees_with_ours():
    # The TF-Addons tiled form timed beside ours must compute the same loss (Euclidean, not
    # squared; mean over positive pairs), values and gradients, before its figure means
    # anything.
    for seed in (0, 1, 2):
        assert mining.tiled_agreement(batch=32, seed=seed) < 1e-5


def test_pml_batch_all_and_batch_hard_agree_with_ours():
    # pml's batch-all equals ours (mean over the triplets with a positive loss); its
    # batch-hard equals ours when every anchor's hardest triplet has a positive loss.
    x, y = mining.inputs(32, seed=3)
    steps, _ = mining.pml_steps(x, y)
    for name in ("batch_all", "batch_hard"):
        expected = float(steps[name]().detach())
        actual = float(mining.ours(name)(x, y))
        assert abs(actual - expected) < 1e-5 * max(1.0, abs(expected)), name


def test_mining_memory_grows_as_b_squared():
    # Doubling B multiplies an O(B^2) kernel's temporaries by about 4, an O(B^3) one by 8.
    for name in mining.OURS:
        temps = []
        for b in (256, 512):
            x = jax.ShapeDtypeStruct((b, mining.DIM), jnp.float32)
            y = jax.ShapeDtypeStruct((b,), jnp.int32)
            step = jax.jit(jax.value_and_grad(mining.ours(name)))
            temps.append(step.lower(x, y).compile().memory_analysis().temp_size_in_bytes)
        assert temps[1] < 5 * temps[0], (name, temps)
        assert temps[1] < 32 * 512 * 512 * 4, (name, temps)
