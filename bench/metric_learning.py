"""Metric-learning losses (margin heads, proxies, pair weighting) beside pytorch-metric-learning.

Forward+backward (``jax.value_and_grad``) of each loss at its PML-default hyper-parameters on
random float32 embeddings ``[B, D]`` (not normalized: every loss normalizes them), B = 1024
and 4096, D = 128 (``--quick``: B = 64, D = 16, C = 32, one loss per family):

- heads (``arcface_loss``, ``cosface_loss``, ``normalized_softmax_loss``) and proxies
  (``proxy_anchor_loss``, ``proxy_nca_loss``): C = 1000 classes, the gradient with respect to
  the embeddings and the class matrix / proxies; ``reduction="mean"`` (PML's default
  ``MeanReducer``; ``proxy_anchor_loss`` has PML's own divisors and no ``reduction``);
- pair-weighting losses (``multi_similarity_loss``, ``circle_loss``,
  ``lifted_structure_loss``): the gradient with respect to the embeddings,
  ``reduction="mean"`` (PML's default reducer: ``MeanReducer`` for multi-similarity and
  lifted structure, ``AvgNonZeroReducer`` for circle).

Labels are P x K (K = 4 per class, shuffled) taken modulo C, so every anchor has positives
and the heads see about B / 4 of the C classes. The PML peer is the same objective (its class
matrix set to ours: ``W = weight.T``, ``proxies = proxies``), forward + ``backward()`` on
torch CPU at the faster of its default thread count and one thread; the figure is
pml_time / our_time (> 1: faster; the issue's target is 2). Each row's note gives the
relative difference of the two values, and the group fails if it exceeds 1e-4.

Temporary memory is XLA's ``memory_analysis()`` of the compiled forward+backward; the note
divides it by B x C x 4 bytes (heads, proxies) or B^2 x 4 bytes (pair losses): a constant
number of ``[B, C]`` or ``[B, B]`` float32 arrays, the same at both batch sizes when the
memory is O(B C) or O(B^2).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import Result, median_seconds, progress, torch_best_seconds

GROUP = "metric_learning"
DIM = 128
CLASSES = 1000
PER_CLASS = 4
# --quick runs one loss per family (a compile each): seconds, inside tests/test_bench.py.
QUICK_NAMES = ("arcface_loss", "proxy_anchor_loss", "multi_similarity_loss")
# Largest relative difference of our value from PML's before the group fails.
AGREEMENT = 1e-4


@dataclasses.dataclass(frozen=True)
class Loss:
    """One loss and its PML counterpart: ``matrix`` is None (pair losses), ``"W"`` (PML holds
    ``[D, C]``, ours ``[C, D]``) or ``"proxies"`` (both ``[C, D]``)."""

    name: str
    ours: Callable
    pml_class: str
    matrix: str | None


LOSSES = (
    Loss("arcface_loss", jaxloss.arcface_loss, "ArcFaceLoss", "W"),
    Loss("cosface_loss", jaxloss.cosface_loss, "CosFaceLoss", "W"),
    Loss("normalized_softmax_loss", jaxloss.normalized_softmax_loss, "NormalizedSoftmaxLoss", "W"),
    Loss("proxy_anchor_loss", jaxloss.proxy_anchor_loss, "ProxyAnchorLoss", "proxies"),
    Loss("proxy_nca_loss", jaxloss.proxy_nca_loss, "ProxyNCALoss", "proxies"),
    Loss("multi_similarity_loss", jaxloss.multi_similarity_loss, "MultiSimilarityLoss", None),
    Loss("circle_loss", jaxloss.circle_loss, "CircleLoss", None),
    Loss(
        "lifted_structure_loss",
        jaxloss.lifted_structure_loss,
        "GeneralizedLiftedStructureLoss",
        None,
    ),
)


def inputs(batch: int, dim: int = DIM, classes: int = CLASSES, seed: int = 0):
    """Float32 embeddings ``[batch, dim]``, P x K labels modulo ``classes`` ``[batch]`` and a
    class matrix ``[classes, dim]`` (numpy)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, dim)).astype(np.float32)
    labels = rng.permutation(np.repeat(np.arange(batch // PER_CLASS), PER_CLASS)) % classes
    w = rng.standard_normal((classes, dim)).astype(np.float32)
    return x, labels.astype(np.int32), w


def step(loss: Loss) -> Callable:
    """Our forward+backward: ``(x, y, w) -> (value, grads)``; ``w`` unused by pair losses."""
    if loss.matrix is None:

        def pair(x, y, w):
            return loss.ours(x, y, reduction="mean")

        return jax.value_and_grad(pair, argnums=0)
    if loss.name == "proxy_anchor_loss":
        return jax.value_and_grad(loss.ours, argnums=(0, 2))
    return jax.value_and_grad(functools.partial(loss.ours, reduction="mean"), argnums=(0, 2))


def pml_step(loss: Loss, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Callable:
    """PML's forward+backward closure (float32, torch CPU), returning the loss value."""
    import torch
    from pytorch_metric_learning import losses

    cls = getattr(losses, loss.pml_class)
    if loss.matrix is None:
        module = cls()
        params = []
    else:
        module = cls(num_classes=w.shape[0], embedding_size=w.shape[1])
        matrix = getattr(module, loss.matrix)
        matrix.data = torch.from_numpy(w.T.copy() if loss.matrix == "W" else w.copy())
        params = [matrix]
    embeddings = torch.from_numpy(x.copy()).requires_grad_(True)
    labels = torch.from_numpy(y.astype(np.int64))

    def forward_backward():
        for p in (embeddings, *params):
            p.grad = None
        value = module(embeddings, labels)
        value.backward()
        return value

    return forward_backward


def _temp_bytes(compiled) -> int | None:
    try:
        analysis = compiled.memory_analysis()
    except Exception:  # some backends do not implement memory_analysis
        return None
    return None if analysis is None else int(analysis.temp_size_in_bytes)


def _memory_note(loss: Loss, temp: int | None, batch: int, classes: int) -> str:
    if temp is None:
        return ""
    if loss.matrix is None:
        return f"temp = {temp / (4 * batch * batch):.2f} x B^2 f32"
    return f"temp = {temp / (4 * batch * classes):.2f} x B*C f32"


def run(quick: bool = False) -> list[Result]:
    sizes, dim, classes = ((64,), 16, 32) if quick else ((1024, 4096), DIM, CLASSES)
    results: list[Result] = []
    for batch in sizes:
        repeats = 3 if quick else (10 if batch <= 1024 else 5)
        shape = f"B={batch} D={dim} C={classes} f32"
        x, y, w = inputs(batch, dim, classes)
        xj, yj, wj = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)
        for loss in (l for l in LOSSES if not quick or l.name in QUICK_NAMES):
            progress(f"  {GROUP}: {loss.name} {shape}")
            compiled = jax.jit(step(loss)).lower(xj, yj, wj).compile()
            temp = _temp_bytes(compiled)
            seconds = median_seconds(compiled, xj, yj, wj, repeats=repeats)
            value = float(compiled(xj, yj, wj)[0])
            note = _memory_note(loss, temp, batch, classes)
            if not _has_pml():
                results.append(
                    Result(
                        GROUP, f"jaxloss/{loss.name}", shape, seconds, temp_bytes=temp, note=note
                    )
                )
                continue
            forward_backward = pml_step(loss, x, y, w)
            expected = float(forward_backward().detach())
            difference = abs(value - expected) / max(abs(expected), 1e-12)
            if difference > AGREEMENT:
                raise AssertionError(
                    f"{loss.name} {shape}: ours {value} vs PML {expected} (relative {difference})"
                )
            peer, threads = torch_best_seconds(forward_backward, repeats)
            note = f"{note}; value vs pml rel. diff {difference:.1e}"
            results.append(
                Result(
                    GROUP, f"jaxloss/{loss.name}", shape, seconds,
                    baseline=f"pml {loss.pml_class}", ratio=peer / seconds,
                    temp_bytes=temp, note=note,
                )
            )  # fmt: skip
            results.append(
                Result(
                    GROUP, f"pml/{loss.pml_class}", shape, peer,
                    note=f"peer; torch CPU, {threads} thread(s)",
                )
            )  # fmt: skip
    return results


def _has_pml() -> bool:
    try:
        import pytorch_metric_learning  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    for r in run(quick=True):
        print(r)
