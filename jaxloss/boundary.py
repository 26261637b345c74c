"""Boundary loss (Kervadec et al., MIDL 2019) and the signed distance maps it integrates.

The boundary loss replaces a region integral over the ground truth by an integral over the
whole map weighted by the ground truth's signed distance map :math:`\\phi` (negative inside
the object, positive outside, 0 on its boundary): :math:`\\ell = \\operatorname{mean}_{i, c}
p_{i,c} \\phi_{i,c}`. :math:`\\phi` depends on the labels only, so it is computed once per
example, as preprocessing (the authors compute it in their data loader with
``scipy.ndimage.distance_transform_edt``); :func:`signed_distance_map` computes it in JAX,
exactly, so it also runs inside a jitted input pipeline.

Maps are channel-last, ``[batch..., spatial..., C]`` (2-D images ``[..., H, W, C]``, volumes
``[..., D, H, W, C]``); ``axis`` names the spatial axes, by default every axis but the first
and the last (:mod:`jaxloss.overlap`'s convention).

The exact Euclidean distance transform is separable: the squared distance to the nearest
seed is a minimum over the seeds of a sum over the axes, so it is computed one spatial axis
at a time as :math:`f'(x) = \\min_y f(y) + s^2 (x - y)^2` (the lower envelope of Felzenszwalb
& Huttenlocher, here by brute force: :math:`O(n)` work per pixel and axis of length
:math:`n`, every pixel in parallel, memory bounded by mapping over blocks of :math:`x`;
``jaxloss._distance_transform``, shared with :func:`hausdorff_dt_loss`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _distance_transform, _numerics, _overlap, _vectors
from jaxloss.reductions import reduce_loss

__all__ = ["boundary_loss", "signed_distance_map"]


def boundary_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Boundary loss (Kervadec et al. 2019): probabilities weighted by the ground truth's
    signed distance map.

    .. math::
        \ell = \operatorname{mean}_{i,\, c} \; p_{i,c}\, \phi_{i,c}

    over the spatial positions :math:`i` and the (kept) classes :math:`c`, with :math:`p` the
    softmax of ``predictions`` and :math:`\phi` = ``targets``, the signed distance maps of the
    one-hot ground truth (:func:`signed_distance_map`: negative inside a class, positive
    outside). It is minimal when each class's probability mass lies inside its region, and is
    meant to be added to a regional loss (the paper: :math:`\alpha`-weighted with the
    generalized Dice loss, :math:`\alpha` rising during training). The loss can be negative.

    Mapping to the reference: the authors' ``SurfaceLoss(idc)(probs, dist_maps)`` is
    ``activation=None`` with ``reduction="mean"`` (the mean over examples, classes and
    pixels); ``idc=[1, ..., C-1]``, their usual choice, is ``ignore_background=True``.

    Edge cases: an all-zero :math:`\phi` (classes absent from the example) gives 0. The loss
    is linear in :math:`p`, so smooth in the logits everywhere.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if ``activation=None``);
        ``C == 1`` is binary (sigmoid).
      targets: signed distance maps ``[batch..., spatial..., C]``, floating (no gradient is
        taken through them in the reference; here they are ordinary inputs).
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``), the authors' ``idc`` of the
        foreground classes.
      axis: spatial axes averaged over (static); default all axes but the first and the last.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]``, a scalar, or the ``(sum, count)`` pair.

    References:
      Kervadec, Bouchtiba, Desrosiers, Granger, Dolz & Ben Ayed, "Boundary loss for highly
      unbalanced segmentation", MIDL 2019 (the authors' ``SurfaceLoss``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import boundary_loss, signed_distance_map
      >>> labels = jnp.array([[0, 0, 1, 1, 1, 0]])  # [batch=1, pixels=6]
      >>> phi = signed_distance_map(jnp.eye(2)[labels])
      >>> phi[0, :, 1]
      Array([ 2.,  1., -0., -1., -0.,  1.], dtype=float32)
      >>> logits = jnp.array([[[2.0, -2.0]] * 2 + [[-1.0, 1.0]] * 3 + [[0.0, 0.0]]])
      >>> print(f"{float(boundary_loss(logits, phi)[0]):.4f}")
      -0.0693
    """
    _checks.check_choice("activation", activation, _overlap.ACTIVATIONS)
    _checks.check_reduction(reduction)
    _overlap.check_flag("ignore_background", ignore_background)
    x = _checks.as_float("predictions", predictions)
    phi = _checks.as_float("targets", targets)
    _checks.check_min_rank("predictions", x, 2)
    _checks.check_same_shape(predictions=x, targets=phi)
    axes = _spatial_axes(axis, x.ndim, "predictions")
    example_shape = tuple(n for a, n in enumerate(x.shape[:-1]) if a not in axes)
    channel_mask = None
    if where is not None:
        kept = _checks.broadcast_to("where", _checks.as_bool("where", where), example_shape)
        channel_mask = jnp.expand_dims(kept, (*axes, x.ndim - 1))
    if activation is None:
        _checks.check_values_in("predictions", x, low=0.0, high=1.0, where=channel_mask)
    out_dtype = _checks.result_dtype(x, phi)
    ct = _checks.compute_dtype(out_dtype)
    # A masked example contributes nothing, even where not finite (CONTRIBUTING.md, section 4).
    x, phi = _vectors.zero_masked(channel_mask, (), x.astype(ct), phi.astype(ct))
    if activation == "sigmoid" or (activation == "softmax" and x.shape[-1] == 1):
        probs = jax.nn.sigmoid(x)
    elif activation == "softmax":
        probs = jax.nn.softmax(x, axis=-1)
    else:
        probs = x
    product = probs * phi
    if ignore_background and x.shape[-1] > 1:
        product = product[..., 1:]
    per_example = jnp.mean(product, axis=(*axes, x.ndim - 1))
    return reduce_loss(
        per_example,
        out_dtype,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def signed_distance_map(
    targets: ArrayLike,
    *,
    sampling: ArrayLike | Sequence[float] | None = None,
    axis: _checks.Axis = None,
) -> jax.Array:
    r"""The signed Euclidean distance map of each channel of a binary map, for
    :func:`boundary_loss` (the authors' ``one_hot2dist``).

    .. math::
        \phi_i = \begin{cases}
          d(i, \text{foreground}) & i \text{ in the background}\\
          -\big(d(i, \text{background}) - 1\big) & i \text{ in the foreground}
        \end{cases}

    with :math:`d` the exact Euclidean distance (in units of ``sampling``) to the nearest
    pixel of the other set, as ``scipy.ndimage.distance_transform_edt``: a background pixel
    next to the object has 1, the object's own border pixels 0 and its interior negative
    values. The ``- 1`` is in pixels whatever ``sampling`` (the authors' code).

    Edge cases: a channel without foreground in an example (an absent class) is all 0 (the
    authors leave it blank); a channel without background (the class fills the example) is
    all 0 too, since it has no boundary (scipy's transform has no background pixel to measure
    from there and returns an artefact). There is no gradient with respect to ``targets``;
    the map is differentiable with respect to ``sampling``.

    Args:
      targets: binary maps ``[batch..., spatial..., C]`` (bool, integer or floating; nonzero
        is foreground), e.g. ``jax.nn.one_hot(labels, C)``.
      sampling: the pixel spacing: a scalar or one value per spatial axis (scipy's
        ``sampling``, the authors' ``resolution``); default 1.
      axis: spatial axes (static); default all axes but the first and the last.

    Returns:
      The signed distance maps, the shape of ``targets``; floating (the dtype of floating
      ``targets`` or ``sampling``, else the default float).

    References:
      Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019 (the
      authors' ``one_hot2dist``); ``scipy.ndimage.distance_transform_edt``; Felzenszwalb &
      Huttenlocher, "Distance Transforms of Sampled Functions", 2012.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import signed_distance_map
      >>> mask = jnp.array([[0, 0, 1, 1, 1, 1, 0]])[..., None]  # [batch=1, pixels=7, C=1]
      >>> signed_distance_map(mask)[0, :, 0]
      Array([ 2.,  1., -0., -1., -1., -0.,  1.], dtype=float32)
    """
    t = jnp.asarray(targets)
    if not (
        jnp.issubdtype(t.dtype, jnp.floating)
        or jnp.issubdtype(t.dtype, jnp.integer)
        or t.dtype == jnp.bool_
    ):
        raise TypeError(f"`targets` must be a boolean, integer or floating map; got {t.dtype}.")
    _checks.check_min_rank("targets", t, 2)
    axes = _spatial_axes(axis, t.ndim, "targets")
    floats = [a for a in (t,) if jnp.issubdtype(a.dtype, jnp.floating)]
    spacing = None
    if sampling is not None:
        spacing = _checks.as_float("sampling", sampling)
        if spacing.ndim > 1 or spacing.size not in (1, len(axes)):
            raise ValueError(
                f"`sampling` must be a scalar or have one value per spatial axis "
                f"({len(axes)}); got shape {spacing.shape}."
            )
        _checks.check_positive("sampling", sampling)
        floats.append(spacing)
        spacing = jnp.broadcast_to(spacing.reshape(-1), (len(axes),))
    out_dtype = _checks.result_dtype(*floats)
    ct = _checks.compute_dtype(out_dtype)
    spacing = jnp.ones((len(axes),), ct) if spacing is None else spacing.astype(ct)
    foreground = t != 0
    outside = _distance(~foreground, axes, spacing)
    inside = _distance(foreground, axes, spacing)
    phi = jnp.where(foreground, 1.0 - inside, outside)
    # no foreground (absent class) or no background (no boundary): a blank map
    has_both = jnp.any(foreground, axis=axes, keepdims=True) & jnp.any(
        ~foreground, axis=axes, keepdims=True
    )
    return jnp.where(has_both, phi, 0.0).astype(out_dtype)


# ---------------------------------------------------------------------------------------------
# helpers


def _spatial_axes(axis: _checks.Axis, ndim: int, name: str) -> tuple[int, ...]:
    """The family's spatial axes: default all but the first and the last; never the last."""
    if axis is None:
        return tuple(range(1, ndim - 1))
    axes = _checks.normalize_axes("axis", axis, ndim)
    if ndim - 1 in axes:
        raise ValueError(
            f"`axis`={axis!r} must not contain the class axis (the last axis of `{name}`)."
        )
    return axes


def _distance(mask: jax.Array, axes: tuple[int, ...], spacing: jax.Array) -> jax.Array:
    """The Euclidean distance from each True of `mask` to its nearest False over `axes`
    (:func:`jaxloss._distance_transform.squared_edt`); 0 where there is none (the caller
    blanks those maps). At distance 0 the square root is not differentiated (``safe_sqrt``)."""
    squared = _distance_transform.squared_edt(mask, axes, sampling=spacing)
    found = jnp.isfinite(squared)
    return jnp.where(found, _numerics.safe_sqrt(jnp.where(found, squared, 0.0)), 0.0)
