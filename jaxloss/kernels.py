r"""Kernel distances between sets of samples: maximum mean discrepancy and energy distance.

Both compare two empirical distributions through the mean of a function of the pairwise
distances within and across the sets, so they stay informative when the supports do not
overlap (where KL is infinite and JS the constant ``log 2``).

Each example (leading axes ``[...]``) compares ``N`` samples ``x[..., i, :]`` with ``M``
samples ``y[..., j, :]`` (``D`` features); the per-example values are reduced by
``reduction`` with ``where``, ``weights`` and ``axis_name`` as `jaxloss.reduce` does
(CONTRIBUTING.md, section 4).

Memory and speed. `mmd` forms the pairwise squared distances as a matrix product,
``max(|x_i|^2 + |y_j|^2 - 2 x_i . y_j, 0)`` (the within-set diagonal set to exactly 0); the
energy distance, whose square root is singular at 0, as ``sum_d (x_id - y_jd)^2`` (exact, and
exactly 0 with a zero derivative for equal points; under ``jit`` XLA fuses the difference into
the sum). Both in ``[N, M]`` blocks: ``O(N M + N^2 + M^2)`` per example. With
``chunk_size=c`` the rows are processed ``c`` at a time in a ``lax.map`` whose body is
rematerialized in the backward pass, so values and gradients take ``O(c (N + M))`` memory
(the same sums, in another order).

The median heuristic (``bandwidth=None`` in `mmd`) sets the bandwidth to
:math:`\sigma = \operatorname{median}\{\|z_i - z_j\| : i < j\}` over the ``N + M`` pooled
samples ``z`` of the example (the off-diagonal Euclidean distances of ``[x; y]``, each pair
once; numpy's median: the mean of the two middle values for an even count), with its
gradient stopped (a bandwidth is a hyperparameter, not a path for the loss). A zero median
(all pooled samples equal) gives ``sigma = 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _samples
from jaxloss._numerics import safe_sqrt

__all__ = ["energy_distance", "mmd"]

KERNELS = ("gaussian", "multiscale_gaussian", "inverse_multiquadric")
ESTIMATORS = ("biased", "unbiased")
# The bandwidths of "multiscale_gaussian" around the median heuristic (Long et al. 2015).
MULTISCALE_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


@_dispatch.compiled_when_eager
def mmd(
    x: ArrayLike,
    y: ArrayLike,
    *,
    kernel: str = "gaussian",
    bandwidth: ArrayLike | None = None,
    estimator: str = "biased",
    chunk_size: int | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Squared maximum mean discrepancy :math:`\mathrm{MMD}^2_k` between two sample sets.

    .. math::
      \mathrm{MMD}^2 = \overline{k(x, x')} + \overline{k(y, y')} - 2\,\overline{k(x, y)},

    where the bars are means over pairs: all ``N^2``, ``M^2`` and ``N M`` pairs for the
    ``"biased"`` estimator (a V-statistic, ``>= 0``), and the off-diagonal pairs
    (``i != j``) within each set for the ``"unbiased"`` one (a U-statistic, which may be
    negative). The kernels, of :math:`r^2 = \|a - b\|^2` and bandwidth :math:`\sigma`:

    * ``"gaussian"``: :math:`\exp(-r^2 / (2\sigma^2))`;
    * ``"multiscale_gaussian"``: :math:`\sum_s \exp(-r^2 / (2\sigma_s^2))`, a sum over
      several bandwidths (Li et al. 2015);
    * ``"inverse_multiquadric"``: :math:`(1 + r^2/\sigma^2)^{-1/2}` (Gorham and Mackey 2017).

    Args:
      x: ``[..., N, D]`` samples of the first distribution.
      y: ``[..., M, D]`` samples of the second; leading axes broadcast with `x`'s.
      kernel: ``"gaussian"`` (default), ``"multiscale_gaussian"`` or
        ``"inverse_multiquadric"`` (static).
      bandwidth: ``sigma > 0``: a scalar, or for ``"multiscale_gaussian"`` a ``[S]`` array of
        bandwidths (a scalar there means ``[sigma]``); broadcastable leading axes ``[..., 1]``
        / ``[..., S]`` give per-example bandwidths. None (default): the median heuristic of
        the module docstring (per example, gradient stopped); for ``"multiscale_gaussian"``
        the median times ``(1/4, 1/2, 1, 2, 4)``. May be traced.
      estimator: ``"biased"`` (default) or ``"unbiased"`` (static; needs ``N, M >= 2``).
      chunk_size: static number of rows per block for the blockwise path (module docstring);
        None (default): one block. The blockwise path needs an explicit `bandwidth` (the
        median heuristic needs all pooled distances at once).{reduce}

    Returns:
      ``[...]`` values of :math:`\mathrm{MMD}^2` (the square: no square root, so the value is
      smooth in the samples), or a scalar when reduced (a pair for ``"sum_and_count"``).

    Edge cases: identical sets give exactly 0 (biased), with a gradient that is 0 up to
    rounding (a few ulps of the kernel's derivative: the distances are a matrix product); a
    single sample per set (biased) gives ``2 k(0) - 2 k(x, y)``; coincident points are smooth
    points of every kernel (no square root of a distance enters the value).

    References:
      Gretton, Borgwardt, Rasch, Schölkopf and Smola (2012), A kernel two-sample test, JMLR 13,
      eqs. (2) and (3) (the estimators) and section 8 (the median heuristic); Li, Swersky and
      Zemel (2015), Generative moment matching networks; Long et al. (2015), Learning
      transferable features with deep adaptation networks (multiple bandwidths).
      Tested against a numpy transcription of those formulas.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import mmd
      >>> x = jnp.array([[0.0], [1.0]])
      >>> print(f"{float(mmd(x, x + 1.0, bandwidth=1.0)):.4f}")
      0.4323
      >>> print(f"{float(mmd(x, x)):.4f}")
      0.0000
    """
    _checks.check_choice("kernel", kernel, KERNELS)
    _checks.check_choice("estimator", estimator, ESTIMATORS)
    x, y, _, _, dtype, mask = _samples.prepare(x, y, event_rank=2, reduction=reduction, where=where)
    n, m = x.shape[-2], y.shape[-2]
    if estimator == "unbiased" and min(n, m) < 2:
        raise ValueError(
            f'`estimator`="unbiased" needs at least 2 samples per set; got N={n}, M={m} '
            f"(`x` {x.shape}, `y` {y.shape})."
        )
    chunk = _chunk(chunk_size)
    if bandwidth is None and chunk is not None:
        raise ValueError(
            "`bandwidth` must be given with `chunk_size` (the median heuristic needs all "
            "pooled distances at once); got bandwidth=None."
        )
    sigma = _bandwidths(bandwidth, kernel, x, y)
    fn = _kernel_of_squared_distance(kernel, sigma)
    k_xx = _pair_mean(x, x, None, None, fn, chunk, form="gram_self")
    k_yy = _pair_mean(y, y, None, None, fn, chunk, form="gram_self")
    k_xy = _pair_mean(x, y, None, None, fn, chunk, form="gram")
    if estimator == "unbiased":
        # k(z, z) = k(0) = 1 (every kernel, every bandwidth) on the diagonal: remove it from
        # the within-set means.
        k_xx = (n * k_xx - 1) / (n - 1)
        k_yy = (m * k_yy - 1) / (m - 1)
    values = jnp.sum(k_xx + k_yy - 2 * k_xy, axis=-1)
    return _samples.finish(values, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def energy_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    x_weights: ArrayLike | None = None,
    y_weights: ArrayLike | None = None,
    chunk_size: int | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Energy distance between two sets of ``D``-dimensional samples (Székely and Rizzo).

    .. math::
      \mathcal{E}(\mu, \nu) = \big(2\,E\|X - Y\| - E\|X - X'\| - E\|Y - Y'\|\big)^{1/2},

    the expectations over the (weighted) empirical distributions, all pairs included (a
    V-statistic: the radicand is ``>= 0``). It is the square root of `mmd`'s biased estimator
    with the distance-induced kernel; in 1-D it equals ``sqrt(2)`` times the ``L2`` distance of
    the cumulative distribution functions.

    Args:
      x: ``[..., N, D]`` samples of the first distribution (1-D samples: ``D = 1``).
      y: ``[..., M, D]`` samples of the second; leading axes broadcast with `x`'s.{masses}
      chunk_size: static number of rows per block for the blockwise path (module docstring);
        None (default): one block.{reduce}

    Returns:
      ``[...]`` energy distances (the square root taken, as scipy), or a scalar when reduced
      (a pair for ``"sum_and_count"``).

    Edge cases: identical sets give exactly 0, and the gradient there is taken as 0 (the
    square root of a zero radicand; rounding can only make the radicand a few ulps negative,
    which is clamped to 0). Coincident points inside the expectations (``X = X'``) contribute
    0 with a zero gradient (the subgradient of ``|x - x'|`` at 0).

    References:
      Székely and Rizzo (2013), Energy statistics: a class of statistics based on distances,
      J. Stat. Plan. Inference 143(8). Matches ``scipy.stats.energy_distance(x, y,
      x_weights, y_weights)`` for ``D = 1``; tested against a numpy transcription of the
      formula for ``D > 1``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import energy_distance
      >>> x = jnp.array([[0.0], [1.0], [3.0]])
      >>> print(f"{float(energy_distance(x, jnp.array([[5.0], [6.0]]))):.4f}")
      2.5495
    """
    x, y, a, b, dtype, mask = _samples.prepare(
        x,
        y,
        event_rank=2,
        reduction=reduction,
        where=where,
        x_weights=x_weights,
        y_weights=y_weights,
    )
    chunk = _chunk(chunk_size)
    d_xy = _pair_mean(x, y, a, b, _distance, chunk)[..., 0]
    d_xx = _pair_mean(x, x, a, a, _distance, chunk)[..., 0]
    d_yy = _pair_mean(y, y, b, b, _distance, chunk)[..., 0]
    values = safe_sqrt(2 * d_xy - d_xx - d_yy)
    return _samples.finish(values, dtype, reduction, mask, weights, axis_name)


_samples.splice_docs(mmd, energy_distance)


def _chunk(chunk_size: Any) -> int | None:
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be a static int >= 1 or None; got {chunk_size!r}.")
    return chunk_size


def _distance(squared: jax.Array) -> jax.Array:
    """The Euclidean distance, ``[..., 1]``, with a zero gradient at 0."""
    return safe_sqrt(squared)[..., None]


def _kernel_of_squared_distance(kernel: str, sigma: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """``k(r^2)`` for squared distances ``[..., P, Q]``, one value per bandwidth: ``[..., P,
    Q, S]``; `sigma` is ``[..., S]``."""
    inverse = 1 / jnp.square(sigma)[..., None, None, :]

    def fn(squared: jax.Array) -> jax.Array:
        r2 = squared[..., None]
        if kernel == "inverse_multiquadric":
            return jax.lax.rsqrt(1 + r2 * inverse)
        return jnp.exp(-0.5 * r2 * inverse)

    return fn


def _pair_mean(
    u: jax.Array,
    v: jax.Array,
    a: jax.Array | None,
    b: jax.Array | None,
    fn: Callable[[jax.Array], jax.Array],
    chunk: int | None,
    *,
    form: str = "exact",
) -> jax.Array:
    """``sum_ij a_i b_j fn(|u_i - v_j|^2)`` (uniform masses when None), summed over the last
    axis of `fn`'s output kept: ``[..., S]``; blockwise over the rows of `u` when `chunk`.

    `form` is how the squared distances are formed (`_squared_distances`): ``"exact"``,
    ``"gram"``, or ``"gram_self"`` when `v` is `u` (its diagonal is then exactly 0).
    """
    n, m = u.shape[-2], v.shape[-2]
    a = jnp.full(u.shape[:-1], 1 / n, u.dtype) if a is None else a
    b = jnp.full(v.shape[:-1], 1 / m, v.dtype) if b is None else b

    def block(u_rows: jax.Array, a_rows: jax.Array, first_row: Any) -> jax.Array:
        values = fn(_squared_distances(u_rows, v, form, first_row))
        return jnp.einsum("...i,...j,...ijs->...s", a_rows, b, values)

    if chunk is None or chunk >= n:
        return block(u, a, 0)
    blocks = -(-n // chunk)
    pad = blocks * chunk - n
    # Padded rows have zero mass: they add nothing.
    u = jnp.concatenate([u, jnp.zeros((*u.shape[:-2], pad, u.shape[-1]), u.dtype)], axis=-2)
    a = jnp.concatenate([a, jnp.zeros((*a.shape[:-1], pad), a.dtype)], axis=-1)
    u_blocks = jnp.moveaxis(u.reshape((*u.shape[:-2], blocks, chunk, u.shape[-1])), -3, 0)
    a_blocks = jnp.moveaxis(a.reshape((*a.shape[:-1], blocks, chunk)), -2, 0)
    first_rows = jnp.arange(blocks) * chunk
    # Rematerialized in the backward pass: only the inputs of each block are saved.
    per_block = jax.lax.map(
        lambda args: jax.checkpoint(block)(*args), (u_blocks, a_blocks, first_rows)
    )
    return jnp.sum(per_block, axis=0)


def _squared_distances(u: jax.Array, v: jax.Array, form: str, first_row: Any = 0) -> jax.Array:
    """``[..., P, Q]`` squared Euclidean distances between the rows of `u` and `v`.

    ``"exact"``: ``sum_d (u_id - v_jd)^2``, exactly 0 for equal points, whose derivative
    ``2 (u_i - v_j)`` is exactly 0 there (energy distance's square root needs both).
    ``"gram"``: ``max(|u_i|^2 + |v_j|^2 - 2 u_i . v_j, 0)``, a matrix product (several times
    faster on CPU and accelerators for ``D > 1``); equal points may get a few ulps instead of
    0, harmless inside the smooth kernels of `mmd`. ``"gram_self"`` (`v` is the whole set of
    which `u` holds the rows from `first_row` on): the same with the pairs ``(i, i)`` set to
    exactly 0, as `mmd`'s unbiased estimator needs (``k(z, z) = 1``).
    """
    if form == "exact":
        return jnp.sum(jnp.square(u[..., :, None, :] - v[..., None, :, :]), axis=-1)
    cross = jnp.einsum("...id,...jd->...ij", u, v)
    u_norms = jnp.sum(jnp.square(u), axis=-1)[..., :, None]
    v_norms = jnp.sum(jnp.square(v), axis=-1)[..., None, :]
    squared = jnp.maximum(u_norms + v_norms - 2 * cross, 0)
    if form == "gram_self":
        rows = first_row + jnp.arange(u.shape[-2])[:, None]
        diagonal = jnp.broadcast_to(rows == jnp.arange(v.shape[-2])[None, :], squared.shape)
        squared = jnp.where(diagonal, 0, squared)
    return squared


def _bandwidths(bandwidth: ArrayLike | None, kernel: str, x: jax.Array, y: jax.Array) -> jax.Array:
    """The bandwidths ``[..., S]`` (given, or the median heuristic of the module docstring)."""
    batch = x.shape[:-2]
    if bandwidth is not None:
        _checks.check_positive("bandwidth", bandwidth)
        sigma = _checks.as_float("bandwidth", bandwidth).astype(x.dtype)
        if sigma.ndim == 0:
            sigma = sigma[None]
        if kernel != "multiscale_gaussian" and sigma.shape[-1] != 1:
            raise ValueError(
                f'`bandwidth` must be one value per example for kernel="{kernel}"; got shape '
                f"{sigma.shape}."
            )
        return _checks.broadcast_to("bandwidth", sigma, batch + sigma.shape[-1:])
    z = jax.lax.stop_gradient(jnp.concatenate([x, y], axis=-2))
    count = z.shape[-2]
    rows, cols = np.triu_indices(count, k=1)
    distances = jnp.sqrt(_squared_distances(z, z, "exact")[..., rows, cols])
    median = jnp.median(distances, axis=-1)
    median = jnp.where(median > 0, median, jnp.ones((), z.dtype))[..., None]
    if kernel == "multiscale_gaussian":
        return median * jnp.asarray(MULTISCALE_FACTORS, z.dtype)
    return median
