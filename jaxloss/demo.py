"""`make demo`: every public function of jaxloss evaluated on a small example batch.

Run with ``python -m jaxloss.demo``. Each row shows the function, the example it was given,
the per-example output shape and the mean value, computed under ``jax.jit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

import jaxloss

B, K, D = 8, 5, 16


def _examples() -> dict[str, tuple[str, Callable[[], jax.Array]]]:
    keys = jax.random.split(jax.random.key(0), 8)
    logits = 2.0 * jax.random.normal(keys[0], (B, K))
    labels = jax.random.randint(keys[1], (B,), 0, K)
    one_hot = jax.nn.one_hot(labels, K)
    binary = jax.random.bernoulli(keys[2], 0.4, (B, K)).astype(jnp.float32)
    probs = jax.nn.softmax(jax.random.normal(keys[3], (B, K)))
    embeddings = jax.random.normal(keys[4], (B, D))
    unembedding = jax.random.normal(keys[5], (K, D)) / D**0.5
    cls = f"logits [{B},{K}], labels [{B}]"
    soft = f"logits [{B},{K}], one-hot [{B},{K}]"
    binary_desc = f"logits [{B},{K}], 0/1 targets"
    return {
        "reduce": (f"losses [{B},{K}]", lambda: jaxloss.reduce(jnp.abs(logits))),
        "softmax": (f"logits [{B},{K}]", lambda: jaxloss.softmax(logits)),
        "log_softmax": (f"logits [{B},{K}]", lambda: jaxloss.log_softmax(logits)),
        "sigmoid": (f"logits [{B},{K}]", lambda: jaxloss.sigmoid(logits)),
        "log_sigmoid": (f"logits [{B},{K}]", lambda: jaxloss.log_sigmoid(logits)),
        "softmax_cross_entropy": (
            soft + ", smoothing 0.1",
            lambda: jaxloss.softmax_cross_entropy(logits, one_hot, label_smoothing=0.1),
        ),
        "safe_softmax_cross_entropy": (
            soft,
            lambda: jaxloss.safe_softmax_cross_entropy(logits, one_hot),
        ),
        "softmax_cross_entropy_with_integer_labels": (
            cls,
            lambda: jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels),
        ),
        "smooth_labels": (
            f"one-hot [{B},{K}], alpha 0.1",
            lambda: jaxloss.smooth_labels(one_hot, 0.1),
        ),
        "sigmoid_binary_cross_entropy": (
            binary_desc,
            lambda: jaxloss.sigmoid_binary_cross_entropy(logits, binary),
        ),
        "binary_cross_entropy": (
            f"probabilities [{B},{K}], 0/1 targets",
            lambda: jaxloss.binary_cross_entropy(probs, binary),
        ),
        "sigmoid_focal_loss": (
            binary_desc + ", gamma 2",
            lambda: jaxloss.sigmoid_focal_loss(logits, binary, alpha=0.25),
        ),
        "fused_linear_cross_entropy": (
            f"embeddings [{B},{D}], weight [{K},{D}], labels [{B}]",
            lambda: jaxloss.fused_linear_cross_entropy(
                embeddings, unembedding, labels, reduction="none"
            ),
        ),
        "softmax_focal_loss": (
            cls + ", gamma 2",
            lambda: jaxloss.softmax_focal_loss(logits, labels),
        ),
    }


def rows() -> list[tuple[str, str, str, float, float]]:
    """(name, example, output shape, mean value, first-call seconds) for every public name."""
    examples = _examples()
    out = []
    for name in sorted(examples):
        description, thunk = examples[name]
        start = time.perf_counter()
        value = jax.jit(thunk)()
        leaves = jax.tree_util.tree_leaves(value)
        jax.block_until_ready(leaves)
        seconds = time.perf_counter() - start
        first = leaves[0]
        mean = float(jnp.mean(jnp.asarray(first, jnp.float32)))
        out.append((name, description, str(tuple(first.shape)), mean, seconds))
    return out


def covered_names() -> set[str]:
    return set(_examples())


def main() -> None:
    print(f"jaxloss {jaxloss.__version__} on {jax.devices()[0].platform}: every public function")
    print(f"on a small example batch (B={B}, K={K}, D={D}), jitted.\n")
    table = rows()
    header = ("function", "example input", "output shape", "mean", "first call")
    widths = [max(len(header[i]), *(len(str(r[i])) for r in table)) for i in range(3)]
    line = f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:<{widths[2]}}"
    print(f"{line}  {header[3]:>10}  {header[4]:>10}")
    print("-" * (sum(widths) + 28))
    for name, description, shape, mean, seconds in table:
        print(
            f"{name:<{widths[0]}}  {description:<{widths[1]}}  {shape:<{widths[2]}}"
            f"  {mean:>10.4f}  {seconds * 1e3:>8.1f}ms"
        )
    missing = set(jaxloss.__all__) - {"__version__"} - covered_names()
    if missing:
        raise SystemExit(f"demo is missing examples for: {sorted(missing)}")
    print(f"\n{len(table)} functions evaluated.")


if __name__ == "__main__":
    main()
