"""Entropies and divergences between discrete distributions, and the Gaussian KL term.

Distributions lie along `axis` (default the last one); every function returns one value per
distribution (the *examples*), reduced by ``reduction`` with ``weights`` (per-example) and
``axis_name`` (the data-parallel batch axis) as `jaxloss.reduce` does (CONTRIBUTING.md,
section 4).

``where`` has one of two meanings, told apart by its rank:

* optax's names (`kl_divergence`, `kl_divergence_with_log_targets`,
  `generalized_kl_divergence`, `convex_kl_divergence`) keep optax's ``where``: a mask
  broadcastable to the inputs' shape that leaves *entries* out of the sum along `axis`. They
  take no separate example mask: spell one as an entry mask, ``where=mask[..., None]`` (for
  ``axis=-1``);
* the other functions take a mask of the per-example shape (the inputs' shape without `axis`)
  for *examples*, or a mask of the inputs' full rank for entries.

An example whose entries are all masked has value 0 and is not counted by
``reduction="mean"``. Masked entries contribute nothing to values or gradients.

At the boundary of the simplex a term ``x log(...)`` with ``x = 0`` is ``0`` (``0 log 0 = 0``,
and ``0 · log q = 0`` even for ``log q = -inf``); its derivative with respect to ``x`` there,
infinite mathematically, is given the finite value stated in each docstring. Values and
gradients are therefore finite at one-hot distributions, zero targets and disjoint supports.

Negative probabilities (or masses) are outside the domain: by default the formula is applied
as written (NaN where a log of a negative number enters); eager calls with concrete arrays
raise a ValueError naming the argument, and so does the checked mode under ``jit``
(``checkify.checkify(f, errors=checkify.user_checks)``).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks
from jaxloss._checks import Axis
from jaxloss.reductions import reduce_loss


def entropy(
    probabilities: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Shannon entropy :math:`H(P) = -\sum_i p_i \log p_i` in nats, with ``0 log 0 = 0``.

    Args:
      probabilities: ``[..., num_classes]`` probabilities along `axis` (not renormalized),
        ``>= 0`` (checked, see the module docstring).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` entropies (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    At ``p_i = 0`` the term is 0 and its derivative is taken as 0 (it is ``+inf``
    mathematically), so one-hot distributions have finite gradients.

    References:
      Shannon (1948), A Mathematical Theory of Communication. Matches
      ``scipy.stats.entropy(p)`` for normalized ``p`` (scipy renormalizes; this does not).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import entropy
      >>> print(f"{float(entropy(jnp.array([0.5, 0.5, 0.0]))):.4f}")
      0.6931
    """
    (p,), prep = _prepare({"probabilities": probabilities}, axis, where, nonnegative=(0,))
    return _finish(-_xlogx(p), prep, reduction, weights, axis_name)


def cross_entropy(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Cross-entropy :math:`H(P, Q) = -\sum_i p_i \log q_i` of distributions.

    ``P`` is given by probabilities (`targets`), ``Q`` by log-probabilities
    (`log_predictions`). ``H(P, Q) = entropy(P) + kl_divergence(log Q, P)`` holds term by term.

    Args:
      log_predictions: ``[..., num_classes]`` log-probabilities ``log q``.
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked), same shape (or
        broadcastable in the batch dimensions).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` cross-entropies (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Where ``p_i = 0`` the term is 0 even if ``log q_i = -inf``; its derivative with respect to
    ``p_i`` is ``-log q_i`` (0 when ``log q_i = -inf``) and with respect to ``log q_i`` is 0.

    References:
      Cover and Thomas, Elements of Information Theory (2006), section 2.3. Matches
      ``optax.losses.softmax_cross_entropy`` with ``logits = log_predictions``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import cross_entropy
      >>> log_q = jnp.log(jnp.array([0.25, 0.75]))
      >>> print(f"{float(cross_entropy(log_q, jnp.array([1.0, 0.0]))):.4f}")
      1.3863
    """
    arrays = {"log_predictions": log_predictions, "targets": targets}
    (log_q, p), prep = _prepare(arrays, axis, where, same_support=True, nonnegative=(1,))
    return _finish(-_x_times(p, log_q), prep, reduction, weights, axis_name)


def kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Kullback-Leibler divergence :math:`KL(P \| Q) = \sum_i p_i (\log p_i - \log q_i)`.

    Drop-in for ``optax.losses.kl_divergence`` (same signature, values, `axis` and `where`),
    with keyword-only `weights`, `reduction` and `axis_name`, and finite where optax is not:
    the gradient with respect to a zero target is finite (NaN in optax) and a zero target with
    ``log q_i = -inf`` gives a zero term (NaN in optax).

    Args:
      log_predictions: ``[..., num_classes]`` log-probabilities ``log q``.
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optax's mask: boolean, broadcastable to the inputs' shape; masked entries are
        left out of the sum. There is no separate example mask under this name: mask an
        example by masking all its entries, ``where=example_mask[..., None]``.
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Where ``p_i = 0`` the term is 0; its derivative with respect to ``p_i`` is ``-log q_i``
    (0 when ``log q_i = -inf``), the ``0 log 0`` part contributing 0. Where ``p_i > 0`` and
    ``log q_i = -inf`` the divergence is ``+inf`` (P is not absolutely continuous w.r.t. Q).

    References:
      Kullback and Leibler (1951), On Information and Sufficiency. Matches
      ``optax.losses.kl_divergence`` and ``scipy.special.rel_entr(p, q).sum(-1)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import kl_divergence
      >>> log_q = jnp.log(jnp.array([0.5, 0.5]))
      >>> print(f"{float(kl_divergence(log_q, jnp.array([1.0, 0.0]))):.4f}")
      0.6931
    """
    arrays = {"log_predictions": log_predictions, "targets": targets}
    (log_q, p), prep = _prepare(
        arrays, axis, where, same_support=True, nonnegative=(1,), optax=True
    )
    return _finish(_xlogx(p) - _x_times(p, log_q), prep, reduction, weights, axis_name)


def kl_divergence_with_log_targets(
    log_predictions: ArrayLike,
    log_targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""KL divergence with log-space targets: :math:`\sum_i e^{\log p_i}(\log p_i - \log q_i)`.

    Drop-in for ``optax.losses.kl_divergence_with_log_targets``, with keyword-only `weights`,
    `reduction` and `axis_name`. Where ``log p_i = -inf`` (a zero target) the term is 0 and
    its gradients with respect to both inputs are 0, their limits (optax gives NaN there).

    Args:
      log_predictions: ``[..., num_classes]`` log-probabilities ``log q``.
      log_targets: ``[..., num_classes]`` log-probabilities ``log p``.
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optax's entry mask, as in `kl_divergence` (no separate example mask).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    References:
      Kullback and Leibler (1951). Matches ``optax.losses.kl_divergence_with_log_targets`` and
      ``torch.nn.functional.kl_div(log_q, log_p, log_target=True)`` summed over `axis`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import kl_divergence_with_log_targets
      >>> log_q = jnp.log(jnp.array([0.5, 0.5]))
      >>> log_p = jnp.array([0.0, -jnp.inf])
      >>> print(f"{float(kl_divergence_with_log_targets(log_q, log_p)):.4f}")
      0.6931
    """
    arrays = {"log_predictions": log_predictions, "log_targets": log_targets}
    (log_q, log_p), prep = _prepare(arrays, axis, where, same_support=True, optax=True)
    zero = jnp.isneginf(log_p)
    safe_log_p = jnp.where(zero, 0.0, log_p)
    safe_log_q = jnp.where(zero, 0.0, log_q)
    terms = jnp.where(zero, 0.0, jnp.exp(safe_log_p) * (safe_log_p - safe_log_q))
    return _finish(terms, prep, reduction, weights, axis_name)


def generalized_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Generalized KL divergence :math:`\sum_i p_i \log(p_i/q_i) - p_i + q_i` (unnormalized).

    The Bregman divergence of ``x log x - x``; equal to `kl_divergence` for normalized inputs.
    Drop-in for ``optax.losses.generalized_kl_divergence`` (and its deprecated alias
    ``convex_kl_divergence``, which here is the same function without a warning), with
    keyword-only `weights`, `reduction` and `axis_name` and the zero-target conventions of
    `kl_divergence`.

    Args:
      log_predictions: ``[..., num_classes]`` log-masses ``log q``.
      targets: ``[..., num_classes]`` non-negative masses ``p`` (checked).
      axis: static axis or axes holding the measure (``None``: all of them).
      where: optax's entry mask, as in `kl_divergence` (no separate example mask).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    References:
      Boyd and Vandenberghe, Convex Optimization (2004), p. 90. Matches
      ``optax.losses.generalized_kl_divergence`` and ``scipy.special.kl_div(p, q).sum(-1)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import generalized_kl_divergence
      >>> log_q = jnp.log(jnp.array([1.0, 1.0]))
      >>> print(f"{float(generalized_kl_divergence(log_q, jnp.array([1.0, 0.0]))):.4f}")
      1.0000
    """
    arrays = {"log_predictions": log_predictions, "targets": targets}
    (log_q, p), prep = _prepare(
        arrays, axis, where, same_support=True, nonnegative=(1,), optax=True
    )
    terms = _xlogx(p) - _x_times(p, log_q) + jnp.exp(log_q) - p
    return _finish(terms, prep, reduction, weights, axis_name)


convex_kl_divergence = generalized_kl_divergence


def js_divergence(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Jensen-Shannon divergence :math:`\tfrac12 KL(P \| M) + \tfrac12 KL(Q \| M)`, M = (P+Q)/2.

    Symmetric, in nats, with ``0 <= JS <= log 2``; equal to
    ``generalized_js_divergence(predictions, targets, mixture_weights=(0.5, 0.5))``.

    Args:
      predictions: ``[..., num_classes]`` probabilities ``q >= 0`` (checked).
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Edge cases: identical distributions give exactly 0; disjoint supports give ``log 2``
    (exactly, for one-hot inputs). There the divergence is locally constant, so the gradient
    along directions that keep the supports disjoint vanishes (the saturation described by
    Arjovsky et al. 2017): this is the documented behaviour, and gradients stay finite. A term
    ``p_i log(p_i / m_i)`` with ``p_i = 0`` is 0 and contributes 0 to the derivative with
    respect to ``p_i`` (``-inf`` mathematically); ``p_i`` still enters through ``m_i``.

    References:
      Lin (1991), Divergence measures based on the Shannon entropy. Matches
      ``scipy.spatial.distance.jensenshannon(p, q) ** 2`` (natural log).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import js_divergence
      >>> print(f"{float(js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))):.4f}")
      0.6931
    """
    return generalized_js_divergence(
        predictions,
        targets,
        axis=axis,
        where=where,
        weights=weights,
        reduction=reduction,
        axis_name=axis_name,
    )


def generalized_js_divergence(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mixture_weights: Any = (0.5, 0.5),
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Jensen-Shannon divergence with mixture weights :math:`\pi_1, \pi_2` (Lin 1991).

    .. math::
      JS_\pi(Q, P) = H(\pi_1 Q + \pi_2 P) - \pi_1 H(Q) - \pi_2 H(P)
                   = \pi_1 KL(Q \| M) + \pi_2 KL(P \| M),\quad M = \pi_1 Q + \pi_2 P,

    computed in the KL form (no cancellation between entropies; exactly 0 for ``P = Q``).
    ``0 <= JS_pi <= H(pi1, pi2)``, reached for disjoint supports.

    Args:
      predictions: ``[..., num_classes]`` probabilities ``q >= 0`` (weighted by ``pi_1``).
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (weighted by ``pi_2``).
      mixture_weights: ``(pi_1, pi_2)``: two non-negative numbers summing to 1 (a sequence
        or an array of shape ``[2]``; may be traced).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Zero probabilities follow `js_divergence`; a zero mixture weight removes its term.

    References:
      Lin (1991), Divergence measures based on the Shannon entropy, IEEE Trans. Inf. Theory
      37(1), eq. (5.1).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import generalized_js_divergence
      >>> q, p = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
      >>> js = generalized_js_divergence(q, p, mixture_weights=(0.25, 0.75))
      >>> print(f"{float(js):.4f}")
      0.5623
    """
    arrays = {"predictions": predictions, "targets": targets}
    (q, p), prep = _prepare(arrays, axis, where, same_support=True, nonnegative=(0, 1))
    pi_1, pi_2 = _mixture_weights(mixture_weights, q.dtype)
    m = pi_1 * q + pi_2 * p
    terms = pi_1 * _xlog_ratio(q, m) + pi_2 * _xlog_ratio(p, m)
    return _finish(terms, prep, reduction, weights, axis_name)


def gaussian_kl_divergence(
    mean: ArrayLike,
    log_variance: ArrayLike,
    *,
    prior_mean: ArrayLike = 0.0,
    prior_log_variance: ArrayLike = 0.0,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""KL divergence between diagonal Gaussians, summed over `axis` (the VAE term).

    With :math:`d = \log\sigma^2 - \log\sigma_0^2`, per coordinate

    .. math::
      KL(N(\mu, \sigma^2) \| N(\mu_0, \sigma_0^2))
        = \tfrac12\,[\,(e^{d} - 1 - d) + (\mu - \mu_0)^2 e^{-\log\sigma_0^2}\,],

    with ``e^d - 1`` as ``expm1(d)``: only differences of log-variances are exponentiated, so
    large ``|log_variance|`` with a matching prior stays finite and accurate. Equal means give a
    zero mean term (and gradient) even where ``exp(-prior_log_variance)`` overflows.

    Args:
      mean: ``[..., latent_dim]`` posterior means.
      log_variance: ``[..., latent_dim]`` posterior log-variances (broadcastable with `mean`).
      prior_mean: prior means, broadcastable to the inputs' shape (default 0).
      prior_log_variance: prior log-variances, broadcastable likewise (default 0: ``N(0, 1)``).
      axis: static axis or axes summed over (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of latents (full rank, e.g.
        padded latents).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    References:
      Kingma and Welling (2014), Auto-Encoding Variational Bayes, appendix B. Matches
      ``torch.distributions.kl_divergence(Normal(mean, std), Normal(prior_mean, prior_std))
      .sum(-1)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import gaussian_kl_divergence
      >>> print(f"{float(gaussian_kl_divergence(jnp.array([1.0]), jnp.array([0.0]))):.4f}")
      0.5000
    """
    arrays = {"mean": mean, "log_variance": log_variance}
    (mu, log_var), prep = _prepare(arrays, axis, where)
    shape = mu.shape
    prior_mu = _checks.broadcast_to(
        "prior_mean", _checks.as_float("prior_mean", prior_mean), shape
    ).astype(mu.dtype)
    prior_log_var = _checks.broadcast_to(
        "prior_log_variance", _checks.as_float("prior_log_variance", prior_log_variance), shape
    ).astype(mu.dtype)
    d = log_var - prior_log_var
    diff = mu - prior_mu
    # Equal means contribute 0 even where exp(-prior_log_variance) overflows (no 0 * inf).
    same = diff == 0
    safe_prior_log_var = jnp.where(same, jnp.zeros((), diff.dtype), prior_log_var)
    mean_term = jnp.where(same, 0.0, jnp.square(diff) * jnp.exp(-safe_prior_log_var))
    terms = 0.5 * ((jnp.expm1(d) - d) + mean_term)
    return _finish(terms, prep, reduction, weights, axis_name)


__all__ = [
    "convex_kl_divergence",
    "cross_entropy",
    "entropy",
    "gaussian_kl_divergence",
    "generalized_js_divergence",
    "generalized_kl_divergence",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
]


def _prepare(
    arrays: dict[str, ArrayLike],
    axis: Axis,
    where: ArrayLike | None,
    *,
    same_support: bool = False,
    nonnegative: tuple[int, ...] = (),
    optax: bool = False,
) -> tuple[list[jax.Array], tuple[Any, ...]]:
    """Validates, broadcasts and upcasts the inputs; returns them and ``(axes, mask, dtype)``.

    With `same_support`, every input must have the full size along the reduced axes (a size-1
    distribution axis broadcast against a longer one is refused as a shape mismatch). `mask`
    is the entry mask (inputs' shape) that `where` gives, an example mask spread over `axes`.
    The inputs at the positions `nonnegative` are checked to be ``>= 0`` where unmasked.
    """
    named = {name: _checks.as_float(name, x) for name, x in arrays.items()}
    try:
        shape = np.broadcast_shapes(*(x.shape for x in named.values()))
    except ValueError:
        listing = ", ".join(f"`{n}` {x.shape}" for n, x in named.items())
        raise ValueError(f"Shapes must be broadcast-compatible; got {listing}.") from None
    axes = _checks.normalize_axes("axis", axis, len(shape))
    if same_support:
        for name, x in named.items():
            for a in axes:
                own = a - (len(shape) - x.ndim)
                if own < 0 or x.shape[own] != shape[a]:
                    listing = ", ".join(f"`{n}` {y.shape}" for n, y in named.items())
                    raise ValueError(
                        f"`{name}` must have size {shape[a]} along the distribution axis "
                        f"{a - len(shape)}; got {listing}."
                    )
    dtype = _checks.result_dtype(*named.values())
    compute = _checks.compute_dtype(dtype)
    out = [jnp.broadcast_to(x, shape).astype(compute) for x in named.values()]
    mask = None if where is None else _entry_mask(where, shape, axes, optax)
    for i in nonnegative:
        _checks.check_values_in(list(named)[i], out[i], low=0.0, where=mask)
    if mask is not None:
        # Masked entries become 0 before the formula: a NaN or Inf there reaches neither the
        # value nor the gradient.
        out = [jnp.where(mask, x, jnp.zeros((), x.dtype)) for x in out]
    return out, (axes, mask, dtype)


def _entry_mask(where: ArrayLike, shape: tuple[int, ...], axes: tuple[int, ...], optax: bool):
    """The entry mask ``[shape]`` that `where` gives (module docstring)."""
    where = _checks.as_bool("where", where)
    if optax or where.ndim == len(shape):
        return _checks.broadcast_to("where", where, shape)
    kept = tuple(n for i, n in enumerate(shape) if i not in axes)
    if where.ndim != len(kept):
        raise ValueError(
            f"`where` must have the per-example shape {kept} (examples) or the rank "
            f"{len(shape)} of the inputs (entries); got shape {where.shape}."
        )
    examples = _checks.broadcast_to("where", where, kept)
    return jnp.broadcast_to(jnp.expand_dims(examples, axes), shape)


def _finish(
    terms: jax.Array,
    prep: tuple[Any, ...],
    reduction: str,
    weights: ArrayLike | None,
    axis_name: Hashable | None,
) -> jax.Array:
    """Sums masked terms over the axes, then reduces the examples (those with any entry)."""
    _checks.check_reduction(reduction)
    axes, mask, dtype = prep
    if mask is not None:
        terms = jnp.where(mask, terms, jnp.zeros((), terms.dtype))
    values = jnp.sum(terms, axis=axes)
    counted = None if mask is None else jnp.any(mask, axis=axes)
    return reduce_loss(
        values, dtype, reduction=reduction, where=counted, weights=weights, axis_name=axis_name
    )


def _xlogx(x: jax.Array) -> jax.Array:
    """``x log x`` with ``0 log 0 = 0`` and derivative 0 at ``x = 0`` (double where)."""
    zero = x == 0
    safe = jnp.where(zero, jnp.ones((), x.dtype), x)
    return jnp.where(zero, jnp.zeros((), x.dtype), safe * jnp.log(safe))


def _x_times(x: jax.Array, log_y: jax.Array) -> jax.Array:
    """``x * log_y``, 0 where ``x = 0`` even for ``log_y = -inf``, with finite derivatives."""
    zero = (x == 0) & jnp.isneginf(log_y)
    return x * jnp.where(zero, jnp.zeros((), log_y.dtype), log_y)


def _xlog_ratio(x: jax.Array, m: jax.Array) -> jax.Array:
    """``x log(x / m)``, 0 where ``x = 0`` or ``m = 0`` (the term's weight is 0 there)."""
    zero = (x == 0) | (m == 0)
    one = jnp.ones((), x.dtype)
    safe_x = jnp.where(zero, one, x)
    safe_m = jnp.where(zero, one, m)
    # log x - log m rather than log(x / m): the quotient's derivative x / m^2 underflows m^2 to
    # 0 (inf gradient) once m is near the smallest normal number.
    return jnp.where(zero, jnp.zeros((), x.dtype), safe_x * (jnp.log(safe_x) - jnp.log(safe_m)))


def _mixture_weights(weights: Any, dtype: jnp.dtype) -> tuple[jax.Array, jax.Array]:
    """``(pi_1, pi_2)`` from a static or traced pair; concrete pairs must lie on the simplex."""
    given = _checks.concrete(weights)
    if given is not None and (
        given.shape != (2,)
        or given.dtype.kind not in "biuf"
        or not np.all(np.isfinite(given))
        or np.any(given < 0)
        or abs(float(np.sum(given)) - 1.0) > 1e-6
    ):
        raise ValueError(
            f"`mixture_weights` must be two non-negative numbers (pi_1, pi_2) summing to 1; "
            f"got {weights!r}."
        )
    pair = jnp.asarray(weights)
    if pair.shape != (2,):
        raise ValueError(f"`mixture_weights` must have shape (2,); got shape {pair.shape}.")
    pair = pair.astype(dtype)
    return pair[0], pair[1]
