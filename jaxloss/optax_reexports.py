"""Losses of ``optax.losses`` that jaxloss re-exports unchanged rather than reimplements.

Each public name here is optax's own function behind a thin wrapper: the wrapper calls optax
with the same arguments, keeps optax's exact signature (``inspect.signature`` is optax's), and
carries a docstring in the jaxloss style. Values, gradients, dtypes and errors are optax's:
these functions take no ``reduction=`` keyword and do not check their inputs beyond what optax
does (a shape mismatch raises jax's broadcasting error, not a jaxloss message). Together with
the families of jaxloss, they make every name of ``optax.losses`` a name of ``jaxloss``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from optax import losses as _optax_losses

from jaxloss import _dispatch

__all__ = [
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "hinge_loss",
    "make_fenchel_young_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "ranking_softmax_loss",
    "sparsemax_loss",
]

_NOTE = """
    This is ``optax.losses.{name}``, re-exported unchanged (same signature, values, gradients
    and dtypes; no ``reduction`` keyword, no input checks beyond optax's own). Called eagerly
    with array arguments, it runs as one compiled program (CONTRIBUTING.md, section 11).
"""

# Factories return a function, not arrays: nothing to compile.
_FACTORIES = frozenset({"make_fenchel_young_loss"})


def _reexport(name: str, doc: str) -> Callable[..., Any]:
    """A wrapper around ``optax.losses.<name>`` with optax's signature and the given docstring."""
    target = getattr(_optax_losses, name)
    # An eager call runs optax's code as one cached jit: op by op, optax's CTC losses and
    # multiclass sparsemax compiled for 0.8-1.25 s on their first call.
    call = target if name in _FACTORIES else _dispatch.compiled_when_eager(target)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return call(*args, **kwargs)

    # What `@functools.wraps(target)` does; as a statement `wrapper` keeps its function type,
    # on which pyright accepts the `__signature__` below (not on `wraps`'s `_Wrapped`).
    functools.update_wrapper(wrapper, target)
    summary, _, rest = doc.strip("\n").partition("\n")
    wrapper.__doc__ = summary + "\n" + _NOTE.format(name=name) + rest
    wrapper.__signature__ = inspect.signature(target)
    wrapper.__module__ = __name__
    wrapper.__qualname__ = name
    return wrapper


ctc_loss = _reexport(
    "ctc_loss",
    """Connectionist temporal classification loss, ``-log p(labels | logits)``.

    The negative log-likelihood of the label sequence, summed over every alignment of it to
    the frames (blanks and repeats collapsed), computed by the forward algorithm in log space.

    Args:
      logits: ``[batch, time, num_classes]`` unnormalized log-probabilities per frame.
      logit_paddings: ``[batch, time]``, 1.0 on padded frames, 0.0 on valid ones.
      labels: ``[batch, max_label_length]`` integer label sequences.
      label_paddings: ``[batch, max_label_length]``, 1.0 on padded labels.
      blank_id: the class index of the blank symbol.
      log_epsilon: the log-probability that stands for ``log 0``.

    Returns:
      ``[batch]`` per-sequence losses in the default float dtype (float32; float64 with x64
      enabled) whatever the input dtype, as optax computes them.

    References:
      Graves et al., *Connectionist Temporal Classification*, ICML 2006; optax
      ``optax.losses.ctc_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ctc_loss
      >>> logits = jnp.zeros((1, 4, 3))
      >>> loss = ctc_loss(logits, jnp.zeros((1, 4)), jnp.array([[1, 2]]), jnp.zeros((1, 2)))
      >>> print(f"{float(loss[0]):.4f}")
      1.6864
    """,
)

ctc_loss_with_forward_probs = _reexport(
    "ctc_loss_with_forward_probs",
    """The CTC loss together with the forward (alpha) log-probabilities of the lattice.

    The same loss as `ctc_loss`, plus the forward variables that the forward algorithm
    computed, for decoding or inspection.

    Args:
      logits: ``[batch, time, num_classes]`` unnormalized log-probabilities per frame.
      logit_paddings: ``[batch, time]``, 1.0 on padded frames.
      labels: ``[batch, max_label_length]`` integer label sequences.
      label_paddings: ``[batch, max_label_length]``, 1.0 on padded labels.
      blank_id: the class index of the blank symbol.
      log_epsilon: the log-probability that stands for ``log 0``.

    Returns:
      ``(loss, logalpha_blank, logalpha_nonblank)``: ``[batch]`` losses and two
      ``[time, batch, max_label_length + 1]`` / ``[time, batch, max_label_length]`` arrays
      of forward log-probabilities (time-major, as optax returns them).

    References:
      Graves et al., *Connectionist Temporal Classification*, ICML 2006; optax
      ``optax.losses.ctc_loss_with_forward_probs``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ctc_loss_with_forward_probs
      >>> loss, blank, nonblank = ctc_loss_with_forward_probs(
      ...     jnp.zeros((1, 4, 3)), jnp.zeros((1, 4)), jnp.array([[1, 2]]), jnp.zeros((1, 2)))
      >>> print(f"{float(loss[0]):.4f}", blank.shape, nonblank.shape)
      1.6864 (4, 1, 3) (4, 1, 2)
    """,
)

hinge_loss = _reexport(
    "hinge_loss",
    """Binary hinge loss, ``max(0, 1 - y * s)`` for targets ``y`` in ``{-1, +1}``.

    Zero once the score has the target's sign with a margin of 1.

    Args:
      predictor_outputs: ``[...]`` real scores ``s``.
      targets: ``[...]`` targets ``y`` in ``{-1, +1}``, the shape of ``predictor_outputs``.

    Returns:
      ``[...]`` per-example losses.

    References:
      Cortes & Vapnik, *Support-vector networks*, 1995; optax ``optax.losses.hinge_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import hinge_loss
      >>> print(hinge_loss(jnp.array([2.0, 0.5, -1.0]), jnp.array([1.0, 1.0, 1.0])))
      [0.  0.5 2. ]
    """,
)

perceptron_loss = _reexport(
    "perceptron_loss",
    """Binary perceptron loss, ``max(0, -y * s)`` for targets ``y`` in ``{-1, +1}``.

    The hinge loss without a margin: zero as soon as the sign is right.

    Args:
      predictor_outputs: ``[...]`` real scores ``s``.
      targets: ``[...]`` targets ``y`` in ``{-1, +1}``, the shape of ``predictor_outputs``.

    Returns:
      ``[...]`` per-example losses.

    References:
      Rosenblatt, *The perceptron*, 1958; optax ``optax.losses.perceptron_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import perceptron_loss
      >>> print(perceptron_loss(jnp.array([2.0, -0.5]), jnp.array([1.0, 1.0])))
      [0.  0.5]
    """,
)

multiclass_hinge_loss = _reexport(
    "multiclass_hinge_loss",
    """Multiclass hinge loss, ``max_k (s_k + [k != y]) - s_y``.

    The Crammer-Singer margin loss: zero when the true class beats every other by 1.

    Args:
      scores: ``[..., num_classes]`` real scores.
      labels: ``[...]`` integer class labels.

    Returns:
      ``[...]`` per-example losses in the default float dtype (optax's one-hot is float32, or
      float64 with x64 enabled).

    References:
      Crammer & Singer, *On the algorithmic implementation of multiclass kernel-based vector
      machines*, JMLR 2001; optax ``optax.losses.multiclass_hinge_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multiclass_hinge_loss
      >>> print(multiclass_hinge_loss(jnp.array([[2.0, 0.0, 1.5]]), jnp.array([0])))
      [0.5]
    """,
)

multiclass_perceptron_loss = _reexport(
    "multiclass_perceptron_loss",
    """Multiclass perceptron loss, ``max_k s_k - s_y``.

    Zero when the true class has the highest score.

    Args:
      scores: ``[..., num_classes]`` real scores.
      labels: ``[...]`` integer class labels.

    Returns:
      ``[...]`` per-example losses in the default float dtype, as optax.

    References:
      Collins, *Discriminative training methods for hidden Markov models*, 2002; optax
      ``optax.losses.multiclass_perceptron_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multiclass_perceptron_loss
      >>> print(multiclass_perceptron_loss(jnp.array([[2.0, 0.0, 3.0]]), jnp.array([0])))
      [1.]
    """,
)

sparsemax_loss = _reexport(
    "sparsemax_loss",
    """Binary sparsemax loss, ``sparse_plus(-s)`` for label 1 and ``sparse_plus(s)`` for 0.

    The Fenchel-Young loss of the sparse sigmoid: zero iff
    ``jax.nn.sparse_sigmoid(logits) == labels``.

    Args:
      logits: ``[...]`` real scores.
      labels: ``[...]`` labels in ``{0, 1}``, the shape of ``logits``.

    Returns:
      ``[...]`` per-example losses.

    References:
      Blondel, Martins & Niculae, *Learning with Fenchel-Young Losses*, JMLR 2020, sec. 4.4;
      optax ``optax.losses.sparsemax_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sparsemax_loss
      >>> print(sparsemax_loss(jnp.array([2.0, 0.0]), jnp.array([1, 1])))
      [0.   0.25]
    """,
)

multiclass_sparsemax_loss = _reexport(
    "multiclass_sparsemax_loss",
    """Multiclass sparsemax loss, the Fenchel-Young loss of ``sparsemax``.

    ``<p, s> - ||p||^2 / 2 + 1/2 - s_y`` with ``p = sparsemax(s)``: zero iff ``p`` is the
    one-hot label.

    Args:
      scores: ``[batch, num_classes]`` real scores: exactly one leading axis (with more,
        optax returns a wrong-shaped result; `jax.vmap` over the extra axes instead).
      labels: ``[batch]`` integer class labels.

    Returns:
      ``[batch]`` per-example losses in the default float dtype, as optax.

    References:
      Martins & Astudillo, *From Softmax to Sparsemax*, ICML 2016; optax
      ``optax.losses.multiclass_sparsemax_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multiclass_sparsemax_loss
      >>> print(multiclass_sparsemax_loss(jnp.array([[3.0, 0.0, 0.0]]), jnp.array([0])))
      [0.]
    """,
)

poly_loss_cross_entropy = _reexport(
    "poly_loss_cross_entropy",
    """Poly-1 loss, ``CE(logits, labels) + epsilon * (1 - p_t)``.

    Cross-entropy plus a first-order polynomial term in the probability of the target,
    ``p_t = sum_k labels_k softmax(logits)_k``.

    Args:
      logits: ``[..., num_classes]`` unnormalized log-probabilities.
      labels: ``[..., num_classes]`` one-hot or soft labels.
      epsilon: the coefficient of ``1 - p_t`` (``-1`` removes it at first order).
      axis: the class axis (or axes).
      where: an optional mask of the classes to use, as optax.

    Returns:
      ``[...]`` per-example losses.

    References:
      Leng et al., *PolyLoss: A Polynomial Expansion Perspective of Classification Loss
      Functions*, ICLR 2022; optax ``optax.losses.poly_loss_cross_entropy``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import poly_loss_cross_entropy
      >>> loss = poly_loss_cross_entropy(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]]))
      >>> print(f"{float(loss[0]):.4f}")
      1.6931
    """,
)

ranking_softmax_loss = _reexport(
    "ranking_softmax_loss",
    """Listwise ranking softmax loss, ``-sum_i y_i log softmax(s)_i``.

    Cross-entropy between the item scores of each list and its relevance labels.

    Args:
      logits: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels.
      where: optional ``[..., list_size]`` mask of the valid items.
      weights: optional ``[..., list_size]`` item weights.
      reduce_fn: reduces the per-list losses (``jnp.mean`` by default, as optax);
        ``None`` returns them unreduced. Note the default differs from the jaxloss default of
        ``reduction="none"``: this is optax's signature.

    Returns:
      The reduced loss, or ``[...]`` per-list losses with ``reduce_fn=None``.

    References:
      Cao et al., *Learning to Rank: From Pairwise Approach to Listwise Approach*, ICML 2007;
      optax ``optax.losses.ranking_softmax_loss`` (from rax).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ranking_softmax_loss
      >>> loss = ranking_softmax_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      >>> print(f"{float(loss):.4f}")
      0.6931
    """,
)

make_fenchel_young_loss = _reexport(
    "make_fenchel_young_loss",
    """Builds the Fenchel-Young loss ``max_fun(s) - <y, s>`` of a max function.

    With ``max_fun = logsumexp`` this is the softmax cross-entropy up to the entropy of the
    targets; it acts on the last axis and accepts any leading axes.

    Args:
      max_fun: a convex "max" function of a score vector, e.g.
        ``jax.scipy.special.logsumexp``.

    Returns:
      ``loss(scores, targets, *args, **kwargs) -> [...]``, with ``scores`` and ``targets``
      of shape ``[..., num_classes]``.

    References:
      Blondel, Martins & Niculae, *Learning with Fenchel-Young Losses*, JMLR 2020; optax
      ``optax.losses.make_fenchel_young_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jax.scipy.special import logsumexp
      >>> from jaxloss import make_fenchel_young_loss
      >>> loss = make_fenchel_young_loss(logsumexp)
      >>> print(f"{float(loss(jnp.zeros(2), jnp.array([1.0, 0.0]))):.4f}")
      0.6931
    """,
)
