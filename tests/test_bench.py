"""The benchmark suite's quick mode runs, and the elementwise kernels stay intermediate-free."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from bench import __main__ as bench_main
from bench import compile_time, elementwise, pairwise


def test_quick_benchmarks_run(capsys):
    assert bench_main.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "jaxloss/mse" in out and "jaxloss/forward+backward" in out
    assert "jaxloss/euclidean vs torch" in out and "jaxloss/gram_matrix vs torch" in out
    for name in compile_time.QUICK_NAMES:
        assert f"jaxloss/{name} " in out


# log_cosh (a select between its small- and large-residual forms) and sigmoid_focal still
# materialize per-element arrays on XLA:CPU; the performance issue tracks them.
FUSED = ("mse", "mae", "huber", "smooth_l1", "sigmoid_bce")


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
