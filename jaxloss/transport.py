r"""Optimal-transport distances between sets of samples.

The exact 1-D Wasserstein distance, the sliced Wasserstein distance, and the Sinkhorn
divergence (through ott-jax).

Unlike KL or Jensen-Shannon, these compare distributions through the geometry of the space
the samples live in, so they stay informative when the supports do not overlap: two point
masses ``delta_a`` and ``delta_b`` are ``|a - b|`` apart in ``W_1`` (JS is the constant
``log 2`` there, with a zero gradient; Arjovsky et al. 2017, section 2).

Each example (leading axes ``[...]``) compares the empirical distribution of ``N`` samples
``x[..., i]`` (masses ``x_weights``, default uniform) with that of ``M`` samples ``y``; the
per-example values are reduced by ``reduction`` with ``where``, ``weights`` and
``axis_name`` as `jaxloss.reduce` does (CONTRIBUTING.md, section 4). Sample masses are
normalized per example (as scipy does); negative masses are a data error (checked eagerly and
in checked mode).

Singular points. Sorting has ties: the value is continuous there and the gradient is the one
of the order `jnp.sort` returns (a subgradient). The distance ``W_p`` is ``(W_p^p)^{1/p}``:
at a zero distance (identical sample sets) its value is 0 and its gradient is taken as 0,
where mathematically it is the subdifferential of a norm.

Memory: the 1-D distances sort ``N + M`` values per example (``O(N + M)``); the sliced
distance ``O((N + M) L)`` for ``L`` projections; the Sinkhorn divergence ``O(N M)`` (ott-jax's
dense point-cloud geometry).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _samples
from jaxloss._numerics import abs_zero_grad, safe_sqrt, sort_last

__all__ = ["sinkhorn_divergence", "sliced_wasserstein_distance", "wasserstein_distance"]


@_dispatch.compiled_when_eager
def wasserstein_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    p: float = 1,
    x_weights: ArrayLike | None = None,
    y_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Exact Wasserstein distance :math:`W_p` between two 1-D empirical distributions.

    With :math:`F^{-1}, G^{-1}` the quantile functions of the samples `x` and `y` (step
    functions, computed by sorting),

    .. math::
      W_p(\mu, \nu) = \Big(\int_0^1 |F^{-1}(t) - G^{-1}(t)|^p \, dt\Big)^{1/p},

    evaluated exactly as a sum over the ``N + M`` merged levels of the two cumulative mass
    functions. For ``p = 1`` this equals :math:`\int |F(t) - G(t)| dt`, scipy's formula.

    Args:
      x: ``[..., N]`` samples of the first distribution (the last axis holds the samples).
      y: ``[..., M]`` samples of the second; its leading axes broadcast with `x`'s.
      p: static order ``>= 1`` (default 1, scipy's only order).{masses}{reduce}

    Returns:
      ``[...]`` distances :math:`W_p` (the ``p``-th root taken), or a scalar when reduced (a
      pair for ``"sum_and_count"``).

    Edge cases: identical sample sets give 0, with a zero gradient; ties (repeated values,
    within or across the sets) give the exact value and a subgradient; a single sample per
    set gives ``|x - y|``; zero masses drop their samples.

    References:
      Villani (2009), Optimal Transport, Old and New, remark 2.19 (the 1-D quantile formula).
      Matches ``scipy.stats.wasserstein_distance(x, y, x_weights, y_weights)`` for ``p = 1``,
      and ``ot.wasserstein_1d(x, y, a, b, p) ** (1 / p)`` (POT returns ``W_p^p``) for every
      ``p``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import wasserstein_distance
      >>> x, y = jnp.array([0.0, 1.0, 3.0]), jnp.array([5.0, 6.0])
      >>> print(f"{float(wasserstein_distance(x, y)):.4f}")
      4.1667
      >>> print(f"{float(wasserstein_distance(jnp.array([0.0]), jnp.array([2.0]), p=2)):.4f}")
      2.0000
    """
    order = _order(p)
    x, y, a, b, dtype, mask = _samples.prepare(
        x,
        y,
        event_rank=1,
        reduction=reduction,
        where=where,
        x_weights=x_weights,
        y_weights=y_weights,
    )
    values = _root(_wasserstein_power(x, y, a, b, order), order)
    return _samples.finish(values, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def sliced_wasserstein_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    projections: ArrayLike | None = None,
    num_projections: int = 50,
    key: ArrayLike | None = None,
    p: float = 2,
    x_weights: ArrayLike | None = None,
    y_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Sliced Wasserstein distance between two sets of ``D``-dimensional samples.

    The samples are projected on ``L`` directions :math:`\theta_l` and compared with the exact
    1-D distance of `wasserstein_distance`:

    .. math::
      SW_p(\mu, \nu) = \Big(\frac1L \sum_{l=1}^{L} W_p^p(\theta_l^\top \mu,
      \theta_l^\top \nu)\Big)^{1/p}.

    Args:
      x: ``[..., N, D]`` samples of the first distribution.
      y: ``[..., M, D]`` samples of the second; leading axes broadcast with `x`'s.
      projections: ``[D, L]`` directions, used as given (not normalized, as POT), the same
        for every example. If None, `num_projections` directions are drawn with `key`,
        uniformly on the unit sphere (normalized standard normals).
      num_projections: static number ``L >= 1`` of random directions (POT's
        ``n_projections``); ignored when `projections` is given.
      key: a ``jax.random`` key for the random directions; required when `projections` is
        None (the same key gives the same directions for every example).
      p: static order ``>= 1`` (default 2, POT's).{masses}{reduce}

    Returns:
      ``[...]`` distances (the ``p``-th root taken), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Edge cases as `wasserstein_distance`: identical sets give 0 with a zero gradient; ties in
    a projection give a subgradient.

    References:
      Rabin, Peyré, Delon and Bernot (2011), Wasserstein barycenter and its application to
      texture mixing; Bonneel, Rabin, Peyré and Pfister (2015), Sliced and Radon Wasserstein
      barycenters of measures. Matches ``ot.sliced_wasserstein_distance(x, y, a, b,
      projections=projections, p=p)`` (POT).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import sliced_wasserstein_distance
      >>> x = jnp.array([[0.0, 0.0], [1.0, 0.0]])
      >>> sw = sliced_wasserstein_distance(x, x + 3.0, projections=jnp.array([[1.0], [0.0]]))
      >>> print(f"{float(sw):.4f}")
      3.0000
      >>> sw = sliced_wasserstein_distance(x, x, key=jax.random.key(0))
      >>> print(f"{float(sw):.4f}")
      0.0000
    """
    order = _order(p)
    x, y, a, b, dtype, mask = _samples.prepare(
        x,
        y,
        event_rank=2,
        reduction=reduction,
        where=where,
        x_weights=x_weights,
        y_weights=y_weights,
    )
    directions = _directions(projections, num_projections, key, x.shape[-1], x.dtype)
    # [..., L, N] and [..., L, M]: one 1-D problem per example and direction.
    x_proj = jnp.swapaxes(x @ directions, -1, -2)
    y_proj = jnp.swapaxes(y @ directions, -1, -2)
    a = None if a is None else a[..., None, :]
    b = None if b is None else b[..., None, :]
    powers = _wasserstein_power(x_proj, y_proj, a, b, order)
    values = _root(jnp.mean(powers, axis=-1), order)
    return _samples.finish(values, dtype, reduction, mask, weights, axis_name)


def sinkhorn_divergence(
    x: ArrayLike,
    y: ArrayLike,
    *,
    regularization: float | None = None,
    threshold: float = 1e-3,
    max_iterations: int = 2000,
    x_weights: ArrayLike | None = None,
    y_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Debiased Sinkhorn divergence between two sets of samples, solved by ott-jax.

    With the squared Euclidean cost :math:`C_{ij} = \|x_i - y_j\|^2` and
    :math:`P^\varepsilon_{\mu\nu}` the entropic optimal coupling (Sinkhorn's fixed point at
    regularization :math:`\varepsilon`),

    .. math::
      S_\varepsilon(\mu, \nu) = \langle P^\varepsilon_{\mu\nu}, C_{\mu\nu}\rangle
        - \tfrac12 \big(\langle P^\varepsilon_{\mu\mu}, C_{\mu\mu}\rangle
        + \langle P^\varepsilon_{\nu\nu}, C_{\nu\nu}\rangle\big).

    Each term is the transport cost of the entropic plan **without** the entropic term
    :math:`\varepsilon\,KL(P \| \mu \otimes \nu)`: POT's convention (``ot.sinkhorn2`` and
    ``ot.bregman.empirical_sinkhorn_divergence`` return :math:`\langle P, C \rangle`).
    ott-jax's own ``sinkhorn_divergence`` includes the entropic term (Feydy et al. 2019), so
    it differs from this value by :math:`\varepsilon` times a combination of three KL terms.
    The three Sinkhorn problems are solved by ``ott.solvers.linear.solve`` as one batch
    (padded with zero-mass points), with the averaged updates of Feydy et al. (2019), eq. 25
    (ott-jax's for the symmetric terms of its ``sinkhorn_divergence``). They are
    differentiated by backpropagating through ott-jax's iterations (its implicit
    differentiation's linear solve fails in float32 on small problems). Second derivatives
    are not available (a reverse pass through ott-jax's while loop).

    Requires ott-jax: ``pip install "jaxloss[transport]"`` (an ImportError says so otherwise).

    Inside ``jax.shard_map`` (with `axis_name`), pass ``check_vma=False`` to ``shard_map``:
    ott-jax's Sinkhorn loop returns, from one branch of a ``lax.cond``, a constant that does
    not vary over the mesh axis, which the type check refuses; with the check off the global
    reduction is exact (tested on 4 devices against one).

    Args:
      x: ``[..., N, D]`` samples of the first distribution.
      y: ``[..., M, D]`` samples of the second; leading axes broadcast with `x`'s.
      regularization: the entropic regularization :math:`\varepsilon > 0` (POT's ``reg``,
        ott-jax's ``epsilon``), in units of the squared-Euclidean cost; shared by the three
        problems. None: ott-jax's default for the ``x``-``y`` problem (a fraction of the
        cost matrix's scale), used for all three.
      threshold: ott-jax's convergence threshold on the marginal error (default ott-jax's,
        ``1e-3``; static, a concrete number); lower it for accurate values.
      max_iterations: ott-jax's maximum number of Sinkhorn iterations (static). A
        regularization small against the cost's range converges slowly (a contraction rate
        of about ``1 - exp(-range / epsilon)``): 2 points 2 apart at ``epsilon = 0.1`` are
        still ``1.5e-3`` from ``W_2^2 = 4`` after 2000 iterations.{masses}{reduce}

    Returns:
      ``[...]`` divergences, or a scalar when reduced (a pair for ``"sum_and_count"``).

    Edge cases: identical sample sets give 0 (the three plans coincide up to the solver's
    tolerance); one sample per set gives ``|x - y|^2`` (the only coupling); as ``epsilon ->
    0`` the value tends to ``W_2^2``.

    References:
      Cuturi (2013), Sinkhorn distances; Genevay, Peyré and Cuturi (2018), Learning generative
      models with Sinkhorn divergences; Cuturi et al. (2022), Optimal Transport Tools (OTT).
      Matches ``ot.sinkhorn2(a, b, M_xy, reg) - (ot.sinkhorn2(a, a, M_xx, reg) +
      ot.sinkhorn2(b, b, M_yy, reg)) / 2`` with ``M = ot.dist(., .)`` (POT).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sinkhorn_divergence
      >>> x = jnp.array([[0.0], [1.0]])
      >>> s = sinkhorn_divergence(x, x + 2.0, regularization=0.1, threshold=1e-6)
      >>> print(f"{float(s):.2f}")
      4.00
    """
    _ott()  # the ImportError naming the extra, before anything else
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int)
        or max_iterations < 1
    ):
        raise ValueError(f"`max_iterations` must be a static int >= 1; got {max_iterations!r}.")
    if regularization is not None:
        _checks.check_positive("regularization", regularization)
    _checks.check_positive("threshold", threshold)
    x, y, a, b, dtype, mask = _samples.prepare(
        x,
        y,
        event_rank=2,
        reduction=reduction,
        where=where,
        x_weights=x_weights,
        y_weights=y_weights,
    )
    if isinstance(threshold, Tracer):  # ott-jax closes over it as a constant
        raise TypeError("`threshold` must be a concrete number, not a traced value.")
    given = None if regularization is None else jnp.asarray(regularization, x.dtype)
    values = _sinkhorn_kernel(
        x, y, a, b, given, threshold=float(threshold), max_iterations=max_iterations
    )
    return _samples.finish(values, dtype, reduction, mask, weights, axis_name)


# The solver in one compiled program: called eagerly (a notebook), ott-jax's code would otherwise
# run op by op around its loop, compiling each operation on first use (a first call took 7.5 s,
# every later one 0.9 s). The arguments' checks ran before, on concrete data where it is.
# (`_dispatch.compiled_when_eager` cannot serve: checkify refuses ott-jax's vmapped while loop.)
@functools.partial(jax.jit, static_argnames=("threshold", "max_iterations"))
def _sinkhorn_kernel(x, y, a, b, given, *, threshold, max_iterations):
    """The ``[...]`` divergences of `sinkhorn_divergence` (masses None: uniform)."""
    acceleration, linear, pointcloud = _ott()
    batch = x.shape[:-2]
    n, m, d = x.shape[-2], y.shape[-2], x.shape[-1]
    a = jnp.full((*batch, n), 1 / n, x.dtype) if a is None else a
    b = jnp.full((*batch, m), 1 / m, x.dtype) if b is None else b
    solve: Any = {
        "threshold": threshold,
        "max_iterations": max_iterations,
        # ott-jax's default: the marginal error is checked every 10 iterations. Backpropagation
        # through the loop stores one solver state (which holds the error history, of length
        # max_iterations / inner_iterations) per check: 1 would store 100 times more.
        "inner_iterations": 10,
        # Unrolled differentiation of the iterations: ott-jax's default implicit
        # differentiation solves a linear system that lineax reports singular in float32.
        "implicit_diff": None,
        # The averaged updates of Feydy et al. (2019), eq. 25 (both potentials updated from
        # the previous pair, then averaged with it), with which ott-jax's own
        # sinkhorn_divergence solves the symmetric problems: the alternating updates
        # oscillate there (1000+ iterations for 6 points where these take about 10), and the
        # three problems share one loop, which runs until all have converged.
        "parallel_dual_updates": True,
        "momentum": acceleration.Momentum(start=0, value=0.5),
    }

    xs, ys = x.reshape(-1, n, d), y.reshape(-1, m, d)
    if given is None:  # ott-jax's default for the x-y problem, shared by the three
        eps = jax.vmap(lambda u, v: pointcloud.PointCloud(u, v).epsilon)(xs, ys)
    else:
        eps = jnp.broadcast_to(given, xs.shape[:1])
    # The three problems (x-y, x-x, y-y) of every batch element as one batch of 3 x batch
    # problems, padded to max(N, M) points of zero mass: one solver loop, under one vmap (a
    # vmap of a vmap batches ott-jax's while loop twice: value_and_grad's trace 1.4 -> 0.9 s).
    size = max(n, m)
    x_pad, y_pad = _pad(xs, size), _pad(ys, size)
    a_pad, b_pad = _pad(a.reshape(-1, n), size), _pad(b.reshape(-1, m), size)
    us = jnp.concatenate([x_pad, x_pad, y_pad])
    vs = jnp.concatenate([y_pad, x_pad, y_pad])
    mus = jnp.concatenate([a_pad, a_pad, b_pad])
    nus = jnp.concatenate([b_pad, a_pad, b_pad])

    def cost(u, v, mu, nu, e):
        geom = pointcloud.PointCloud(u, v, epsilon=e)
        return linear.solve(geom, a=mu, b=nu, **solve).primal_cost

    costs = jax.vmap(_allowing_rank_promotion(cost))(us, vs, mus, nus, jnp.tile(eps, 3))
    xy, xx, yy = costs.reshape(3, -1)
    flat = xy - 0.5 * (xx + yy)
    return flat.reshape(batch)


_samples.splice_docs(wasserstein_distance, sliced_wasserstein_distance, sinkhorn_divergence)


def _order(p: Any) -> float:
    """The static order ``p >= 1`` as a Python float."""
    if isinstance(p, bool) or not isinstance(p, int | float):
        raise TypeError(f"`p` must be a static Python number >= 1; got {p!r}.")
    _checks.check_scalar_range("p", p, low=1.0)
    if p == float("inf"):
        raise ValueError(f"`p` must be finite; got {p!r}.")
    return float(p)


def _root(power: jax.Array, p: float) -> jax.Array:
    """``power ** (1 / p)`` with a zero gradient at 0 (a zero distance)."""
    if p == 1.0:
        return power
    if p == 2.0:
        return safe_sqrt(power)
    positive = power > 0
    return jnp.where(positive, jnp.where(positive, power, 1) ** (1 / p), 0)


def _wasserstein_power(
    u: jax.Array, v: jax.Array, a: jax.Array | None, b: jax.Array | None, p: float
) -> jax.Array:
    """``W_p^p`` along the last axis, through the quantile functions on the merged levels.

    `a` and `b` are normalized masses broadcastable to `u` and `v` (None: uniform). For each
    merged level ``q_k`` (sorted cumulative masses of both sets) the quantile of a set is its
    first sorted sample whose cumulative mass reaches ``q_k``; the interval ``(q_{k-1}, q_k]``
    contributes its length times ``|F^{-1} - G^{-1}|^p`` there.
    """
    if a is None and b is None:
        # Uniform masses: the levels k/N, k/M and so the quantile indices and interval
        # lengths are known at trace time; only the two sorts of the samples remain.
        u_at, v_at, lengths = _uniform_quantiles(sort_last(u), sort_last(v))
        return jnp.sum(lengths * _cost(u_at - v_at, p), axis=-1)
    u_sorted, cu = _sorted_with_levels(u, a)
    v_sorted, cv = _sorted_with_levels(v, b)
    # Uniform masses share one set of levels (and indices) across the whole batch.
    level_batch = jnp.broadcast_shapes(cu.shape[:-1], cv.shape[:-1])
    cu = jnp.broadcast_to(cu, level_batch + cu.shape[-1:])
    cv = jnp.broadcast_to(cv, level_batch + cv.shape[-1:])
    levels = jnp.sort(jnp.concatenate([cu, cv], axis=-1), axis=-1)
    batch = jnp.broadcast_shapes(u.shape[:-1], v.shape[:-1], level_batch)
    u_at = _quantiles(u_sorted, cu, levels, batch)
    v_at = _quantiles(v_sorted, cv, levels, batch)
    lengths = jnp.diff(levels, axis=-1, prepend=jnp.zeros((*levels.shape[:-1], 1), levels.dtype))
    lengths = jnp.broadcast_to(lengths, u_at.shape)
    return jnp.sum(lengths * _cost(u_at - v_at, p), axis=-1)


def _cost(gap: jax.Array, p: float) -> jax.Array:
    """``|gap|^p`` with a zero gradient at 0."""
    if p == 1.0:
        return abs_zero_grad(gap)
    if p == 2.0:
        return jnp.square(gap)
    return abs_zero_grad(gap) ** p


def _uniform_quantiles(
    u_sorted: jax.Array, v_sorted: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The quantiles of `_wasserstein_power` for uniform masses, with static indices.

    The merged levels ``k/N`` and ``k/M`` and each set's first index reaching them are
    computed in numpy (float64) at trace time; the quantiles are gathers at constant indices.
    Returns ``(u_at, v_at, lengths)``, ``[..., N + M]`` each.
    """
    n, m = u_sorted.shape[-1], v_sorted.shape[-1]
    cu, cv = np.arange(1, n + 1) / n, np.arange(1, m + 1) / m
    levels = np.sort(np.concatenate([cu, cv]))
    u_index = np.minimum(np.searchsorted(cu, levels, side="left"), n - 1)
    v_index = np.minimum(np.searchsorted(cv, levels, side="left"), m - 1)
    batch = jnp.broadcast_shapes(u_sorted.shape[:-1], v_sorted.shape[:-1])
    lengths = jnp.asarray(np.diff(levels, prepend=0.0), u_sorted.dtype)
    u_at = jnp.broadcast_to(u_sorted[..., u_index], (*batch, n + m))
    v_at = jnp.broadcast_to(v_sorted[..., v_index], (*batch, n + m))
    return u_at, v_at, jnp.broadcast_to(lengths, (*batch, n + m))


def _sorted_with_levels(u: jax.Array, a: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """Sorted samples and their cumulative masses (exactly ``k / N`` when uniform)."""
    n = u.shape[-1]
    if a is None:
        return sort_last(u), jnp.arange(1, n + 1, dtype=u.dtype) / n
    a = jnp.broadcast_to(a, u.shape)
    order = jnp.argsort(u, axis=-1)
    return jnp.take_along_axis(u, order, -1), jnp.cumsum(jnp.take_along_axis(a, order, -1), -1)


def _quantiles(
    sorted_values: jax.Array, cumulative: jax.Array, levels: jax.Array, batch: tuple[int, ...]
) -> jax.Array:
    """``sorted_values[i_k]`` with ``i_k`` the first index whose cumulative mass is ``>= q_k``,
    broadcast to ``batch + [K]``."""
    n = sorted_values.shape[-1]
    flat_levels = jax.lax.stop_gradient(levels.reshape(-1, levels.shape[-1]))
    flat_cumulative = jax.lax.stop_gradient(cumulative.reshape(-1, n))
    # The "sort" method has no loop (a loop carry would need its device-varying type fixed
    # inside shard_map).
    index = jax.vmap(lambda c, q: jnp.searchsorted(c, q, method="sort"))(
        flat_cumulative, flat_levels
    )
    index = jnp.clip(index, 0, n - 1).reshape(levels.shape)
    index = jnp.broadcast_to(index, batch + levels.shape[-1:])
    values = jnp.broadcast_to(sorted_values, (*batch, n))
    return jnp.take_along_axis(values, index, -1)


def _directions(
    projections: ArrayLike | None, num: Any, key: ArrayLike | None, size: int, acc: Any
) -> jax.Array:
    """The ``[D, L]`` projection directions, given or drawn from `key` on the unit sphere."""
    if projections is not None:
        given = _checks.as_float("projections", projections)
        if given.ndim != 2 or given.shape[0] != size:
            raise ValueError(
                f"`projections` must have shape (D, L) = ({size}, L); got shape {given.shape}."
            )
        return given.astype(acc)
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"`num_projections` must be a static int >= 1; got {num!r}.")
    if key is None:
        raise ValueError("`key` must be a jax.random key when `projections` is None; got None.")
    draws = jax.random.normal(jnp.asarray(key), (size, num), acc)
    return draws / jnp.linalg.norm(draws, axis=0, keepdims=True)


def _pad(z: jax.Array, size: int) -> jax.Array:
    """``[P, K, ...]`` `z` padded with zeros along its second axis to `size` rows."""
    return jnp.concatenate(
        [z, jnp.zeros((z.shape[0], size - z.shape[1], *z.shape[2:]), z.dtype)], 1
    )


def _allowing_rank_promotion(fn: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """`fn` with numpy rank promotion allowed in its forward and backward passes.

    ott-jax broadcasts between ranks internally, also in the backward pass of its implicit
    differentiation (traced when the caller differentiates, outside `fn`): a user's
    ``jax_numpy_rank_promotion="raise"`` would refuse it.
    """

    @jax.custom_vjp
    def wrapped(*args):
        with jax.numpy_rank_promotion("allow"):
            return fn(*args)

    def forward(*args):
        with jax.numpy_rank_promotion("allow"):
            return jax.vjp(fn, *args)

    def backward(pullback, cotangent):
        with jax.numpy_rank_promotion("allow"):
            return pullback(cotangent)

    wrapped.defvjp(forward, backward)
    return wrapped


def _ott() -> tuple[Any, Any, Any]:
    """ott-jax's Sinkhorn accelerations, linear solvers and point clouds, or an ImportError
    naming the extra."""
    try:
        from ott.geometry import pointcloud
        from ott.solvers import linear
        from ott.solvers.linear import acceleration
    except ImportError as error:
        raise ImportError(
            'sinkhorn_divergence needs ott-jax: pip install "jaxloss[transport]"'
        ) from error
    return acceleration, linear, pointcloud
