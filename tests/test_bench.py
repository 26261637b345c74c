"""The benchmark suite's quick mode runs, and the elementwise kernels stay intermediate-free."""

import jax
import jax.numpy as jnp

from bench import __main__ as bench_main
from bench import cross_entropy, elementwise, fused_linear_cross_entropy


def test_quick_benchmarks_run(capsys):
    assert bench_main.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "jaxloss/mse" in out and "jaxloss/forward+backward" in out


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
        assert "max |diff| vs materialized" in rows[name].note
        diff = float(rows[name].note.rsplit(" ", 1)[1])
        assert diff < 1e-5, (name, diff)
