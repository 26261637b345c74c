"""Online triplet mining (semi-hard, batch-hard, batch-all) against pml and the tiled form.

Inputs: B L2-normalised random embeddings of dimension 128 (float32), labels drawn P x K
(K = 4 samples per class, shuffled), margin 0.2, Euclidean distance, reduction "mean".
Every figure is forward+backward (`jax.value_and_grad` with respect to the embeddings).

Figures (peer_or_baseline_time / our_time, > 1 is better):
- semi-hard vs batch-hard: batch_hard_time / semihard_time (target >= 1/3);
- semi-hard vs the TF-Addons tiled form: tiled_time / semihard_time (target >= 10 at B=1024);
- each loss vs pytorch-metric-learning (torch CPU): pml_time / our_time.
Temporary memory comes from XLA's memory analysis; it grows as B^2 (x16 from B to 4B).

The tiled form is TF-Addons' `triplet_semihard_loss` algorithm, written here in JAX from its
description: the [B, B] distance matrix is tiled B times into [B*B, B] so that row (p, a)
holds anchor a's distances, masked to the negatives farther than d_ap, and the semi-hard
negative is a masked minimum over that row (the anchor's largest negative distance where
the mask is empty). Its memory is O(B^3): it only runs where XLA says it fits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from bench._timing import Result, median_seconds, progress, torch_median_seconds

GROUP = "mining"
DIM = 128
PER_CLASS = 4
MARGIN = 0.2
# The tiled form runs only where its forward+backward temporaries fit in this many bytes.
TILED_BUDGET = 8 * 2**30

OURS = {
    "semihard": jaxloss.semihard_triplet_loss,
    "batch_hard": jaxloss.batch_hard_triplet_loss,
    "batch_all": jaxloss.batch_all_triplet_loss,
}


def inputs(batch: int, seed: int = 0, dim: int = DIM, per_class: int = PER_CLASS):
    """Unit-norm float32 embeddings ``[batch, dim]`` and P x K labels in shuffled order."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    labels = rng.permutation(np.repeat(np.arange(batch // per_class), per_class))
    return jnp.asarray(x), jnp.asarray(labels.astype(np.int32))


def ours(name: str, margin: float = MARGIN):
    fn = OURS[name]

    def loss(embeddings, labels):
        return fn(embeddings, labels, margin=margin, reduction="mean")

    return loss


def tiled_semihard(embeddings, labels, margin: float = MARGIN):
    """TF-Addons' tiled O(B^3) semi-hard triplet loss (Euclidean, not squared), mean over
    positive pairs."""
    b = embeddings.shape[0]
    sq = jnp.sum(jnp.square(embeddings), axis=-1)
    gram = jnp.matmul(embeddings, embeddings.T, precision=jax.lax.Precision.HIGHEST)
    squared = jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0)
    off_diagonal = ~jnp.eye(b, dtype=bool)
    # sqrt with a zero (not NaN) gradient at zero distance, diagonal exactly 0.
    nonzero = (squared > 0) & off_diagonal
    dist = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, squared, 1.0)), 0.0)
    same = labels[:, None] == labels[None, :]
    negative = ~same
    # Row r = p * B + a of the tile holds anchor a's row; its threshold is d[a, p].
    tile = jnp.tile(dist, (b, 1))
    threshold = dist.T.reshape(-1, 1)
    farther = jnp.tile(negative, (b, 1)) & (tile > threshold)
    has_farther = jnp.any(farther, axis=-1).reshape(b, b).T
    outside = _masked_minimum(tile, farther).reshape(b, b).T
    inside = jnp.broadcast_to(_masked_maximum(dist, negative)[:, None], (b, b))
    semihard = jnp.where(has_farther, outside, inside)
    positive = same & off_diagonal
    hinge = jnp.maximum(jnp.where(positive, dist - semihard + margin, 0.0), 0.0)
    return jnp.sum(hinge) / jnp.sum(positive)


def _masked_minimum(data, mask):
    """Row minimum over ``mask`` via TF-Addons' shift-and-multiply (no infinities)."""
    top = jnp.max(data, axis=-1, keepdims=True)
    return jnp.min((data - top) * mask, axis=-1) + top[:, 0]


def _masked_maximum(data, mask):
    bottom = jnp.min(data, axis=-1, keepdims=True)
    return jnp.max((data - bottom) * mask, axis=-1) + bottom[:, 0]


_COMPILED: dict = {}


def compiled(name: str, x, y):
    """The compiled forward+backward of ``name`` (``"tiled"`` or a key of OURS) at these
    shapes, compiled once for both its timing and its memory analysis."""
    key = (name, x.shape, y.shape)
    if key not in _COMPILED:
        loss = tiled_semihard if name == "tiled" else ours(name)
        _COMPILED[key] = jax.jit(jax.value_and_grad(loss)).lower(x, y).compile()
    return _COMPILED[key]


def tiled_agreement(batch: int = 32, seed: int = 0) -> float:
    """Largest |tiled - ours| over the value and the gradient on a small P x K batch."""
    x, y = inputs(batch, seed)
    grad_ours = compiled("semihard", x, y)(x, y)
    grad_tiled = compiled("tiled", x, y)(x, y)
    return max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(grad_ours, grad_tiled, strict=True))


def run(quick: bool = False) -> list[Result]:
    batches = (32,) if quick else (256, 512, 1024, 4096)
    results = []
    error = tiled_agreement()
    if error > 1e-5:
        raise AssertionError(f"the tiled semi-hard form disagrees with ours by {error}")
    for batch in batches:
        repeats = 3 if quick else max(3, 40960 // batch // 4)
        shape = f"B={batch} D={DIM} K={PER_CLASS} f32"
        progress(f"  {GROUP}: {shape}")
        x, y = inputs(batch)
        times, temps = {}, {}
        for name in OURS:
            step = compiled(name, x, y)
            times[name] = median_seconds(step, x, y, repeats=repeats)
            temps[name] = _temp(step)
        pml = _pml(x, y, max(2, repeats // 2)) if _has_pml() else {}
        for name in ("batch_hard", "batch_all"):
            results.append(_ours_row(name, shape, times, temps, pml))
            if name in pml:
                results.append(Result(GROUP, f"pml/{name}", shape, pml[name], note="peer"))
        results.append(
            Result(
                GROUP,
                "jaxloss/semihard",
                shape,
                times["semihard"],
                "jaxloss batch_hard",
                times["batch_hard"] / times["semihard"],
                temps["semihard"],
            )
        )
        if "semihard" in pml:
            results.append(Result(GROUP, "pml/semihard", shape, pml["semihard"], note="peer"))
            results.append(
                Result(
                    GROUP,
                    "jaxloss/semihard vs pml",
                    shape,
                    times["semihard"],
                    "pml semihard",
                    pml["semihard"] / times["semihard"],
                )
            )
        results.extend(_tiled(x, y, shape, times["semihard"], repeats))
    return results


def _ours_row(name, shape, times, temps, pml):
    return Result(
        GROUP,
        f"jaxloss/{name}",
        shape,
        times[name],
        f"pml {name}" if name in pml else None,
        pml[name] / times[name] if name in pml else None,
        temps[name],
    )


def _temp(step) -> int | None:
    try:
        memory = step.memory_analysis()
    except Exception:  # some backends do not implement memory_analysis
        return None
    return None if memory is None else int(memory.temp_size_in_bytes)


def _tiled(x, y, shape, ours_seconds, repeats):
    name = "tiled_semihard (TF-Addons form)"
    try:
        step = compiled("tiled", x, y)
    except Exception as error:  # the compiler may refuse a [B^2, B] program outright
        return [Result(GROUP, name, shape, float("nan"), note=f"not compiled: {error}"[:120])]
    need = _temp(step)
    if need is not None and need > TILED_BUDGET:
        note = (
            f"not run: needs {need / 2**30:.1f} GiB of temporaries (> the "
            f"{TILED_BUDGET / 2**30:.0f} GiB budget; 17 GiB was killed on a 24 GiB machine)"
        )
        return [Result(GROUP, name, shape, float("nan"), temp_bytes=need, note=note)]
    seconds = median_seconds(step, x, y, repeats=max(2, repeats // 4), warmup=1)
    return [
        Result(GROUP, name, shape, seconds, temp_bytes=need, note="peer"),
        Result(
            GROUP,
            "jaxloss/semihard vs tiled",
            shape,
            ours_seconds,
            "tiled_semihard",
            seconds / ours_seconds,
        ),
    ]


def _has_pml() -> bool:
    try:
        import pytorch_metric_learning  # noqa: F401
    except ImportError:
        return False
    return True


def pml_steps(x, y, margin: float = MARGIN):
    """pytorch-metric-learning forward+backward closures, ``name -> (step, tensor)``.

    Distances are unnormalised Euclidean (``LpDistance(normalize_embeddings=False)``) so the
    objective is ours on unit-norm inputs. The losses average over their non-zero triplets
    (pml's ``AvgNonZeroReducer``); the miners are:
    - semihard: ``TripletMarginMiner("semihard")``, every triplet with
      d_ap < d_an <= d_ap + margin (FaceNet's semi-hard set), not TF-Addons' one negative
      per positive pair (the nearest beyond d_ap, else the farthest) that ours computes;
    - batch_hard: ``BatchHardMiner``, the same triplets as ours; pml averages over anchors
      with a non-zero loss, ours over all anchors with a triplet;
    - batch_all: ``TripletMarginMiner("all")``, equal to ours (``mean_over="positive"``).
    """
    import torch
    from pytorch_metric_learning import distances, losses, miners

    distance = distances.LpDistance(normalize_embeddings=False)
    loss = losses.TripletMarginLoss(margin=margin, distance=distance)
    mining = {
        "semihard": miners.TripletMarginMiner(
            margin=margin, type_of_triplets="semihard", distance=distance
        ),
        "batch_hard": miners.BatchHardMiner(distance=distance),
        "batch_all": miners.TripletMarginMiner(
            margin=margin, type_of_triplets="all", distance=distance
        ),
    }
    embeddings = torch.from_numpy(np.array(x)).requires_grad_(True)
    labels = torch.from_numpy(np.array(y)).long()

    def make(miner):
        def step():
            embeddings.grad = None
            value = loss(embeddings, labels, miner(embeddings, labels))
            value.backward()
            return value

        return step

    return {name: make(miner) for name, miner in mining.items()}, embeddings


def _pml(x, y, repeats):
    steps, _ = pml_steps(x, y)
    return {
        name: torch_median_seconds(step, repeats=repeats, warmup=1) for name, step in steps.items()
    }
