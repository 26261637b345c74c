"""`make demo`: train a small Flax NNX network on scikit-learn's digits with jaxloss.

The network has a shared trunk and two heads: a classifier trained with
`softmax_cross_entropy_with_integer_labels` (label smoothing) and an embedding head trained
with `semihard_triplet_loss`. The two terms are combined with `composite_loss`, and `objective`
adds an L2 penalty on the weight matrices, so every term is logged. Training is data-parallel
over all local devices with `jax.sharding` (the batch is split over a one-axis mesh, the
parameters replicated); on one device it is the same code on a mesh of one.

At the end it prints the test accuracy, the kNN recall@1 of the test embeddings, the time per
step and the path of a figure with the loss curves of every term and a 2-D PCA projection of
the embeddings. The digits ship with scikit-learn (nothing is downloaded)::

    python -m jaxloss.demo [--epochs 30] [--seed 0] [--out demo_output]
    python -m jaxloss.demo --table   # the catalog of every public function
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

try:
    from flax import nnx
    from tqdm.auto import tqdm
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"jaxloss.demo needs the `demo` extra ({error.name} is missing): "
        "pip install 'jaxloss[demo]'"
    ) from error
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxloss

NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Config:
    """Hyperparameters of the demo (the defaults reach >= 0.95 test accuracy)."""

    epochs: int = 30
    seed: int = 0
    out: pathlib.Path = pathlib.Path("demo_output")
    batch_size: int = 128
    learning_rate: float = 3e-3
    label_smoothing: float = 0.1
    margin: float = 0.5
    triplet_weight: float = 1.0
    weight_decay: float = 1e-4
    hidden: int = 128
    embedding_dim: int = 32


class Net(nnx.Module):
    """An MLP trunk with a classifier head and an L2-normalized embedding head."""

    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.trunk1 = nnx.Linear(64, cfg.hidden, rngs=rngs)
        self.trunk2 = nnx.Linear(cfg.hidden, cfg.hidden, rngs=rngs)
        self.classifier = nnx.Linear(cfg.hidden, NUM_CLASSES, rngs=rngs)
        self.embedder = nnx.Linear(cfg.hidden, cfg.embedding_dim, rngs=rngs)

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = nnx.relu(self.trunk2(nnx.relu(self.trunk1(x))))
        e = self.embedder(h)
        norm = jnp.sqrt(jnp.sum(e * e, axis=-1, keepdims=True) + 1e-12)
        return self.classifier(h), e / norm


def load_digits_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits scaled to [0, 1]: a stratified 75/25 train/test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    # train_test_split returns each split in the type of its input (numpy arrays here); its
    # annotation is the union of every input type it accepts.
    x_train, x_test, y_train, y_test = cast(
        list[np.ndarray],
        train_test_split(x, y.astype(np.int32), test_size=0.25, stratify=y, random_state=seed),
    )
    return x_train, y_train, x_test, y_test


def build_objective(graphdef: Any, cfg: Config) -> Callable[..., tuple[jax.Array, dict]]:
    """``fn(params, x, y) -> (value, aux)``: CE + triplet through composite, L2 through objective.

    ``aux["cost"]`` is the weighted sum of the terms, ``aux["penalty"]`` the unscaled L2
    penalty, and ``aux["loss_aux"]["terms"]`` each unweighted term.
    """
    terms = jaxloss.composite_loss(
        {
            "cross_entropy": lambda out, y: jaxloss.softmax_cross_entropy_with_integer_labels(
                out[0], y, label_smoothing=cfg.label_smoothing
            ),
            "triplet": (
                lambda out, y: jaxloss.semihard_triplet_loss(out[1], y, margin=cfg.margin),
                cfg.triplet_weight,
            ),
        }
    )

    def loss_fn(params, x, y):
        return terms(nnx.merge(graphdef, params)(x), y)

    weights_only = functools.partial(jaxloss.l2_penalty, where=lambda path, leaf: leaf.ndim > 1)
    return jaxloss.objective(
        loss_fn, regularizer=weights_only, strength=cfg.weight_decay, has_aux=True
    )


def make_mesh(
    # jax.Device re-exports a class of the compiled jaxlib, which has no type stub: pyright
    # sees a variable, not a class.
    devices: Iterable[jax.Device] | None = None,  # pyright: ignore[reportInvalidTypeForm]
) -> Mesh:
    """A one-axis ``("data",)`` mesh over the given (default: all local) devices."""
    devices = list(jax.local_devices() if devices is None else devices)
    return Mesh(np.asarray(devices), ("data",))


def shard_batch(mesh: Mesh, *arrays: Any) -> tuple[jax.Array, ...]:
    """Splits each array's leading (batch) axis over the mesh."""
    sharding = NamedSharding(mesh, P("data"))
    return tuple(jax.device_put(a, sharding) for a in arrays)


def replicate(mesh: Mesh, tree: Any) -> Any:
    """Places a copy of every leaf on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, P()))


def init(cfg: Config) -> tuple[Any, Any]:
    """The model's graph definition and its parameters (an ``nnx.State``)."""
    model = Net(cfg, rngs=nnx.Rngs(cfg.seed))
    return nnx.split(model, nnx.Param)


def make_train_step(graphdef: Any, cfg: Config, tx: optax.GradientTransformation) -> Callable:
    """A jitted ``step(params, opt_state, x, y) -> (params, opt_state, value, aux)``.

    Written for the global batch; with a sharded batch and replicated parameters, XLA's SPMD
    partitioner runs it data-parallel and all-reduces the gradients.
    """
    fn = build_objective(graphdef, cfg)

    @jax.jit
    def step(params, opt_state, x, y):
        (value, aux), grads = jax.value_and_grad(fn, has_aux=True)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value, aux

    return step


def train(cfg: Config, *, mesh: Mesh | None = None, verbose: bool = True) -> dict[str, Any]:
    """Trains the network; returns metrics, the per-step history and the test embeddings."""
    mesh = make_mesh() if mesh is None else mesh
    n_devices = mesh.devices.size
    if cfg.batch_size % n_devices:
        raise ValueError(
            f"`batch_size`={cfg.batch_size} must be divisible by the {n_devices} devices."
        )
    x_train, y_train, x_test, y_test = load_digits_split(cfg.seed)
    graphdef, params = init(cfg)
    tx = optax.adamw(cfg.learning_rate, weight_decay=0.0)
    params = replicate(mesh, params)
    opt_state = replicate(mesh, tx.init(params))
    step = make_train_step(graphdef, cfg, tx)

    steps_per_epoch = len(x_train) // cfg.batch_size
    total_steps = cfg.epochs * steps_per_epoch
    rng = np.random.default_rng(cfg.seed)
    history: dict[str, list[float]] = {"total": [], "cross_entropy": [], "triplet": []}
    history["l2_penalty"] = []
    step_times = []
    # The first step compiles: it runs before the progress bar starts, so the bar's steps/s
    # count training steps only, and its time is reported apart as the compile time.
    bar = None
    for _ in range(cfg.epochs):
        order = rng.permutation(len(x_train))
        for i in range(steps_per_epoch):
            idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            x, y = shard_batch(mesh, x_train[idx], y_train[idx])
            start = time.perf_counter()
            params, opt_state, value, aux = step(params, opt_state, x, y)
            value = float(value)  # waits for the step
            step_times.append(time.perf_counter() - start)
            terms = aux["loss_aux"]["terms"]
            history["total"].append(value)
            history["cross_entropy"].append(float(terms["cross_entropy"]))
            history["triplet"].append(float(terms["triplet"]))
            history["l2_penalty"].append(float(aux["penalty"]))
            if bar is None:
                bar = tqdm(
                    total=total_steps,
                    initial=1,
                    unit="step",
                    disable=not verbose,
                    desc=f"train (compiled in {step_times[0]:.1f} s)",
                    mininterval=0.5,
                )
            else:
                bar.update()
            bar.set_postfix_str(f"loss {value:.3f}", refresh=False)
    if bar is not None:
        bar.close()

    logits, embeddings = jax.jit(lambda p, x: nnx.merge(graphdef, p)(x))(params, x_test)
    accuracy = float(jnp.mean(jnp.argmax(logits, -1) == y_test))
    return {
        "accuracy": accuracy,
        "recall_at_1": knn_recall_at_1(embeddings, y_test),
        # The first step compiles: the time per step is the median of the others.
        "seconds_per_step": float(np.median(step_times[1:] or step_times)),
        "compile_seconds": step_times[0],
        "devices": n_devices,
        "history": history,
        "embeddings": np.asarray(embeddings),
        "labels": y_test,
    }


def knn_recall_at_1(embeddings: Any, labels: Any) -> float:
    """Fraction of points whose nearest other point (Euclidean) has the same label."""
    d = jaxloss.pairwise_distances(jnp.asarray(embeddings), metric="euclidean")
    d = jnp.where(jnp.eye(d.shape[0], dtype=bool), jnp.inf, d)
    return float(jnp.mean(jnp.asarray(labels)[jnp.argmin(d, axis=1)] == jnp.asarray(labels)))


def pca_2d(x: np.ndarray) -> np.ndarray:
    """Projection on the two leading principal components (numpy SVD of the centered data)."""
    centered = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    return centered @ vt[:2].T


def save_figure(result: dict[str, Any], path: pathlib.Path) -> pathlib.Path:
    """Loss curves of every term and the 2-D PCA of the test embeddings, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, values in result["history"].items():
        label = "l2_penalty R (unscaled)" if name == "l2_penalty" else name
        left.plot(values, label=label, lw=1)
    left.set(xlabel="step", ylabel="value", yscale="log", title="objective and its terms")
    left.legend()
    points = pca_2d(result["embeddings"])
    scatter = right.scatter(*points.T, c=result["labels"], cmap="tab10", s=6)
    right.legend(*scatter.legend_elements(), fontsize=7, title="digit", loc="best")
    right.set_title(f"test embeddings, PCA (recall@1 {result['recall_at_1']:.3f})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jaxloss.demo",
        description="Train a Flax NNX classifier + metric-learning network on digits.",
    )
    defaults = Config()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=pathlib.Path, default=defaults.out, help="output dir")
    parser.add_argument(
        "--table", action="store_true", help="print the catalog of every public function"
    )
    args = parser.parse_args(argv)
    if args.table:
        from jaxloss import _catalog

        _catalog.main()
        return
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    cfg = Config(epochs=args.epochs, seed=args.seed, out=args.out)
    devices = jax.local_devices()
    print(
        f"jaxloss {jaxloss.__version__}: digits (scikit-learn), {cfg.epochs} epochs, "
        f"batch {cfg.batch_size} over {len(devices)} {devices[0].platform} device(s)"
    )
    result = train(cfg)
    figure = save_figure(result, cfg.out / "demo.png")
    print(f"test accuracy      {result['accuracy']:.4f}")
    print(f"kNN recall@1       {result['recall_at_1']:.4f}  (test embeddings, leave-one-out)")
    print(
        f"time per step      {result['seconds_per_step'] * 1e3:.2f} ms"
        f"  ({1 / result['seconds_per_step']:.0f} steps/s, the first step excluded)"
    )
    print(f"compile time       {result['compile_seconds']:.1f} s  (the first step, compiling)")
    print(f"figure             {figure}")


if __name__ == "__main__":
    main()
