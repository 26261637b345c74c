"""Large-vocabulary cross-entropy: the unembedding matmul fused with the loss.

`fused_linear_cross_entropy` computes the cross-entropy of ``embeddings @ weight.T + bias``
without building the ``[N, V]`` logits. Two blocked schedules share the block maths:

- per-token statistics (``reduction="none"``, the default; low-precision weights; sharded
  vocabularies):
  the forward pass streams ``[tokens, vocabulary]`` blocks through an online log-sum-exp and
  keeps only per-token statistics; the backward pass recomputes each block's logits, with the
  vocabulary in the outer loop so every block of the weight gradient is finished (and cast to
  the weight dtype) before the next one starts. Four matmuls, no weight-sized temporary.
- a reduced loss with float32/float64 weights: each token block holds its full logit rows, so
  the gradients are formed in the forward pass while the logits are at hand and the backward
  pass only scales them. Three matmuls, as many as the materialized loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxloss import _checks, _collectives, _numerics
from jaxloss.reductions import reduce_loss, weighted_reduce

__all__ = ["fused_linear_cross_entropy"]

# Default blocks: one logits block holds at most 1/64 of the [N, V] logits (and at most 2^22
# elements), so the temporaries stay a small fraction of the materialized loss, measured in
# bench/fused_linear_cross_entropy.py. The reduced schedule holds whole rows ([V, tokens]) and
# is bandwidth-bound when token blocks are thin (each block re-reads and re-writes the float32
# weight gradient, [V, D]), hence its floor of 8 tokens, 1/32 and its larger cap: at
# N=8192, D=1024, V=131072 blocks of 32 tokens (2^22 elements) ran 0.83x the materialized
# loss, blocks of 256 tokens (2^25) 1.00x, at 1/32 of its memory.
_MAX_BLOCK = 1 << 22
_MAX_ROW_BLOCK = 1 << 25
# Weight-gradient pieces of the reduced schedule: at N=2048, D=512, V=32768, 512 ran 0.86x the
# materialized loss and 2048 0.93x, at the same memory.
_ROW_VOCAB_CHUNK = 2048
_STREAM_VOCAB_CHUNK = 2048  # vocabulary blocks of the per-token schedule


def fused_linear_cross_entropy(
    embeddings: ArrayLike,
    weight: ArrayLike,
    labels: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    where: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    logit_softcap: float | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    chunk_size: int | None = None,
    token_chunk_size: int | None = None,
    axis_name: Hashable | None = None,
    vocab_axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Cross-entropy of a linear layer's logits, without materializing the logits.

    With logits :math:`z_n = W x_n + b` (``weight`` rows are classes), optionally soft-capped
    :math:`s = c \tanh(z / c)`, and :math:`\mathrm{lse}_n = \log \sum_v e^{s_{n,v}}`:

    .. math::
        \ell_n = (1-\alpha)\,(\mathrm{lse}_n - s_{n,y_n})
                 + \frac{\alpha}{V} \sum_v (\mathrm{lse}_n - s_{n,v})
                 + \lambda_z\, \mathrm{lse}_n^2

    which is ``softmax_cross_entropy_with_integer_labels(s, labels, label_smoothing=alpha,
    ignore_index=...)`` plus PaLM's z-loss. Values and gradients (with respect to
    ``embeddings``, ``weight`` and ``bias``) equal those of the materialized loss; the
    logits are formed in ``[token_chunk_size, chunk_size]`` blocks (``lax`` loops, an online
    log-sum-exp) and never as a whole, in the forward or the backward pass. Matmuls take the
    inputs' dtype and accumulate in float32 (``preferred_element_type``); gradients come back
    in the inputs' dtypes, and low-precision weights are never copied to float32.

    With a reduced loss (``"mean"``, ``"sum"``, ``"sum_and_count"``) and float32/float64
    ``weight`` the gradients are formed
    during the forward pass (three matmuls in all, as for the materialized loss); otherwise the
    backward pass recomputes the logits block by block (four matmuls). Hyperparameters
    (``label_smoothing``, ``z_loss``, ``logit_softcap``) are constants for differentiation.

    Across devices (inside ``jax.shard_map``): tokens split over ``axis_name`` (data
    parallelism) make the reductions global, the local sums of the losses and of the
    counted tokens being ``psum``-ed before the one division; the weight split by rows over
    ``vocab_axis_name`` (tensor parallelism) combines the per-shard log-sum-exps. The two
    compose (a 2-D ``data x vocab`` mesh). Every differentiable input is marked
    device-varying (``lax.pcast``) over every mesh axis any input varies over, so the
    gradient of a replicated ``weight`` or ``bias`` comes back ``psum``-ed over the token
    axes it is replicated across, and that of ``embeddings`` over the vocabulary axis:
    ``jax.grad`` inside ``shard_map`` gives the gradients of the global loss with no extra
    collective. Under plain ``jax.jit`` with sharded inputs (GSPMD) no axis name is needed.

    Args:
      embeddings: ``[..., D]`` hidden states (flattened to ``[N, D]``), floating.
      weight: ``[V, D]`` unembedding matrix whose rows are classes (the layout of
        ``torch.nn.Linear`` and ``flax.nnx.Embed``), floating. Under ``vocab_axis_name``,
        this device's shard ``[V / num_devices, D]`` of consecutive rows.
      labels: ``[...]`` integer classes in ``[0, V)`` (global indices when sharded). A class
        out of range that is neither masked out nor ``ignore_index`` raises when the labels
        are concrete and in the checked mode
        (``checkify.checkify(f, errors=checkify.user_checks)``); otherwise its token gives NaN.
      bias: optional ``[V]`` (this device's shard when sharded).
      where: optional boolean mask broadcastable to ``labels.shape``; ``False`` tokens give 0
        and do not count.
      ignore_index: a label value whose tokens give 0 and do not count.
      label_smoothing: :math:`\alpha \in [0, 1]`, torch's uniform smoothing.
      z_loss: :math:`\lambda_z \geq 0`, weight of :math:`\mathrm{lse}^2` (PaLM; 1e-4 there).
      logit_softcap: optional :math:`c > 0`; logits become :math:`c \tanh(z/c)` (Gemma 2).
      reduction: ``"none"`` (default: per-token losses), ``"mean"`` over the counted tokens,
        ``"sum"`` or ``"sum_and_count"`` (static).
      weights: optional non-negative per-token weights broadcastable to ``labels.shape``:
        ``"none"`` gives ``w * loss``, ``"mean"`` divides by their sum over the counted
        tokens.
      chunk_size: vocabulary entries per block (static): by default up to 2048 for the
        per-token schedule (fewer when ``[chunk_size, D]`` would exceed the block budget
        below), and up to 2048 (at most 1/16 of the classes, at least 128) for the
        weight-gradient pieces of the reduced one (whose logit blocks are whole rows).
      token_chunk_size: tokens per block (static); by default a block holds at most 1/64 of
        the logits and at most 2^22 elements (for whole rows 1/32, at least 8 tokens and at
        most 2^25 elements).
        Neither size needs to divide its axis: the remainder is one smaller block.
      axis_name: inside ``jax.shard_map``/``pmap``, the mesh axis (or tuple of axes) the
        tokens are split over (data parallelism): ``"mean"`` is then the mean over the
        counted tokens of the global batch, ``"sum"`` the global sum and ``"sum_and_count"``
        the global pair, the same on every device; ``"none"`` returns this device's tokens.
        Without it a shard's reduction is over its own tokens only.
      vocab_axis_name: inside ``jax.shard_map``, the mesh axis over which ``weight`` (and
        ``bias``) are sharded by rows, ``embeddings`` and ``labels`` being the same on every
        device of that axis. The per-shard log-sum-exps are combined with
        ``lax.pmax``/``lax.psum``, and the label logit is a ``psum`` in which only the owning
        shard is nonzero; the result is the same on every device of the axis. It must differ
        from ``axis_name``.

    Returns:
      Per-token losses ``[...]`` for ``reduction="none"``, else a scalar (the pair
      ``(sum, count)`` for ``"sum_and_count"``), in the promoted dtype of ``embeddings``,
      ``weight`` and ``bias``. A label outside ``[0, V)`` that is neither masked nor
      ``ignore_index`` gives NaN (under ``jit``), as in
      ``softmax_cross_entropy_with_integer_labels``; a mean over no token is 0.

    References:
      Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models" (Cut
      Cross-Entropy), 2024; Hsu et al., "Liger Kernel", 2024 (token chunks, gradients in the
      forward pass); Chowdhery et al., "PaLM", 2022 (z-loss); Gemma Team, "Gemma 2", 2024
      (logit soft-capping); Milakov & Gimelshein, "Online normalizer calculation for
      softmax", 2018. Agrees with ``torch.nn.functional.cross_entropy``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import fused_linear_cross_entropy
      >>> x = jax.random.normal(jax.random.key(0), (6, 4))
      >>> w = jax.random.normal(jax.random.key(1), (10, 4))
      >>> y = jnp.array([0, 1, 2, 3, 4, 5])
      >>> fused = fused_linear_cross_entropy(x, w, y, chunk_size=4, reduction="mean")
      >>> print(f"{float(fused):.4f}")
      4.5789
      >>> materialized = jax.nn.logsumexp(x @ w.T, axis=-1) - (x @ w.T)[jnp.arange(6), y]
      >>> print(f"{float(materialized.mean()):.4f}")
      4.5789
    """
    x = _checks.as_float("embeddings", embeddings)
    w = _checks.as_float("weight", weight)
    labels = _checks.as_integer("labels", labels)
    _checks.check_min_rank("embeddings", x, 1)
    _checks.check_rank("weight", w, 2)
    num_local, dim = w.shape
    if x.shape[-1] != dim:
        raise ValueError(
            f"`weight` must have shape [num_classes, D] with D = embeddings.shape[-1] = "
            f"{x.shape[-1]}; got `weight` {w.shape} for `embeddings` {x.shape}."
        )
    if num_local == 0:
        raise ValueError("`weight` must have at least one row (class).")
    batch_shape = x.shape[:-1]
    if labels.shape != batch_shape:
        raise ValueError(
            f"`labels` must have the shape of `embeddings` without its last axis, "
            f"{batch_shape}; got {labels.shape}."
        )
    b = None
    if bias is not None:
        b = _checks.as_float("bias", bias)
        if b.shape != (num_local,):
            raise ValueError(f"`bias` must have shape ({num_local},); got {b.shape}.")
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), batch_shape)
    token_weights = None
    if weights is not None:
        token_weights = _checks.broadcast_to(
            "weights", _checks.as_float("weights", weights), batch_shape
        )
    _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    _checks.check_nonnegative("z_loss", z_loss)
    if logit_softcap is not None:
        _checks.check_positive("logit_softcap", logit_softcap)
    _checks.check_reduction(reduction)
    _check_axes(axis_name, vocab_axis_name)
    num_classes = num_local
    if vocab_axis_name is not None:
        num_classes = num_local * lax.axis_size(vocab_axis_name)
    _checks.check_class_ids("labels", labels, num_classes, ignore_index=ignore_index, where=mask)

    num_tokens = int(np.prod(batch_shape, dtype=np.int64))
    out_dtype = _checks.result_dtype(x, w, b)
    matmul_dtype = jnp.promote_types(x.dtype, w.dtype)
    acc = _checks.compute_dtype(out_dtype)
    xf = x.reshape(num_tokens, dim).astype(matmul_dtype)
    wm = w.astype(matmul_dtype)
    y = labels.reshape(num_tokens)
    counted = None if mask is None else mask.reshape(num_tokens)
    if ignore_index is not None:
        counted = _checks.combine_masks(counted, y != ignore_index)
    tw = None if token_weights is None else token_weights.reshape(num_tokens).astype(acc)
    if counted is not None:
        # A masked token contributes nothing, even where not finite (CONTRIBUTING.md, section 4).
        xf = jnp.where(counted[:, None], xf, jnp.zeros((), xf.dtype))
    # One device-varying type for every differentiable input (see the docstring): pcast's
    # transpose is the psum that each input's cotangent needs, and loop carries built like
    # the inputs keep their type.
    vocab_axes = () if vocab_axis_name is None else _names(vocab_axis_name)
    xf, wm, b = _vary_alike((xf, wm, b), (xf, wm, b, y, counted, tw), vocab_axes)
    alpha = lax.stop_gradient(jnp.asarray(label_smoothing, acc))
    zl = lax.stop_gradient(jnp.asarray(z_loss, acc))
    cap = None if logit_softcap is None else lax.stop_gradient(jnp.asarray(logit_softcap, acc))
    terms = _Terms(
        smoothing=not _checks.is_concrete_zero(label_smoothing),
        z_loss=not _checks.is_concrete_zero(z_loss),
    )

    in_place = vocab_axis_name is None and reduction != "none" and jnp.finfo(wm.dtype).bits >= 32
    if in_place:
        # Whole logit rows per token block: the block budget sets the number of tokens.
        # Pieces of at most 1/16 of the vocabulary keep the weight-gradient piece small next
        # to the logits at any shape.
        row_vocab = min(_ROW_VOCAB_CHUNK, max(128, num_local // 16))
        vocab_chunk = _chunk("chunk_size", chunk_size, num_local, row_vocab)
        rows = max(min(num_tokens, 8), min(num_tokens // 32, _MAX_ROW_BLOCK // num_local))
        token_chunk = _chunk("token_chunk_size", token_chunk_size, num_tokens, rows)
        blocks = _Blocks(token_chunk, vocab_chunk, terms, jnp.dtype(out_dtype))
        if tw is not None:
            _checks.check_values_in("weights", tw, low=0.0, where=counted)
            # An input of the custom VJP, whose cotangent varies like the tokens' losses.
            (tw,) = _vary_alike((tw,), (xf, wm, b, y, counted), ())
        # The custom VJP sums this device's counted (weighted) tokens; the shared reduction
        # divides by the (global) count, and its gradient scales the one formed in the
        # forward pass.
        total = _reduced_loss(blocks, xf, wm, b, y, counted, tw, cap, alpha, zl)
        ones = jnp.ones((num_tokens,), acc) if tw is None else tw
        count = weighted_reduce(ones, None, counted, "sum")
        return weighted_reduce(total[None], count[None], None, reduction, axis_name)

    budget = min(num_tokens * num_local // 64, _MAX_BLOCK)
    # The float32 accumulator of a weight block, [chunk_size, D], stays within the budget too.
    vocab_default = min(_STREAM_VOCAB_CHUNK, max(128, budget // dim))
    vocab_chunk = _chunk("chunk_size", chunk_size, num_local, vocab_default)
    token_chunk = _chunk("token_chunk_size", token_chunk_size, num_tokens, budget // vocab_chunk)
    blocks = _Blocks(token_chunk, vocab_chunk, terms, jnp.dtype(out_dtype))
    if vocab_axis_name is None:
        lse, label_logit, total = _row_stats(blocks, xf, wm, b, y, cap)
    else:
        offset = _collectives.shard_offset(num_local, vocab_axis_name)
        lse, label_logit, total = _row_stats(blocks, xf, wm, b, y - offset, cap)
        lse = _collectives.logsumexp_over(lse, vocab_axis_name)
        label_logit = lax.psum(label_logit, vocab_axis_name)
        total = lax.psum(total, vocab_axis_name)
    loss = _token_losses(lse, label_logit, total, y, num_classes, alpha, zl, terms)
    loss = reduce_loss(
        loss.astype(out_dtype),
        out_dtype,
        reduction=reduction,
        where=counted,
        weights=tw,
        axis_name=axis_name,
    )
    return loss.reshape(batch_shape) if reduction == "none" else loss


# --- configuration -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Terms:
    smoothing: bool  # label smoothing is on: the row sum of the logits is needed
    z_loss: bool


@dataclasses.dataclass(frozen=True)
class _Blocks:
    tokens: int
    vocab: int
    terms: _Terms
    out_dtype: jnp.dtype


def _names(axes) -> tuple:
    return axes if isinstance(axes, tuple) else (axes,)


def _check_axes(axis_name, vocab_axis_name) -> None:
    if axis_name is None or vocab_axis_name is None:
        return
    shared = set(_names(axis_name)) & set(_names(vocab_axis_name))
    if shared:
        raise ValueError(
            f"`axis_name` (the token axes) and `vocab_axis_name` (the vocabulary axes) must be "
            f"different mesh axes; both name {sorted(shared, key=str)}."
        )


def _chunk(name: str, value, total: int, default: int) -> int:
    if value is None:
        return max(1, min(total, default))
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a static positive int or None; got {value!r}.")
    return max(1, min(total, int(value)))


# --- the loss from per-token statistics --------------------------------------------------


def _token_losses(lse, label_logit, total, labels, num_classes, alpha, zl, terms: _Terms):
    """Per-token loss from lse, the label's logit and the row sum of the logits."""
    loss = lse - label_logit
    if terms.smoothing:
        # (1 - a)(lse - s_y) + a/V (V lse - sum_v s_v): torch's uniform label smoothing.
        loss = (1.0 - alpha) * loss + alpha * (lse - total / num_classes)
    if terms.z_loss:
        loss = loss + zl * jnp.square(lse)
    out_of_range = (labels < 0) | (labels >= num_classes)
    return jnp.where(out_of_range, jnp.asarray(jnp.nan, loss.dtype), loss)


def _vary_alike(arrays, like, extra_axes: tuple) -> tuple:
    """`arrays` (None kept) device-varying over every axis of `like` and of `extra_axes`.

    Inside ``shard_map`` a replicated input used with token-sharded ones would otherwise get
    back a cotangent that varies over the token axes (a custom VJP rule may not return that
    for an invariant input): pcast to varying transposes to the psum over those axes.
    """
    axes = frozenset(extra_axes).union(*(_numerics.varying_axes(a) for a in like if a is not None))
    return tuple(None if a is None else _numerics.vary_over(a, axes) for a in arrays)


def _full(shape, value, dtype, *like: jax.Array) -> jax.Array:
    """A loop's initial value, device-varying wherever `like` is (loop carries must match)."""
    return _numerics.match_varying(jnp.full(shape, value, dtype), *like)


# --- blocks --------------------------------------------------------------------------------


def _for_chunks(total: int, size: int, body: Callable, carry):
    """Runs body(carry, start, size) over [0, total) in chunks; the remainder runs once."""
    full, rest = divmod(total, size)
    if full == 1:
        carry = body(carry, 0, size)
    elif full > 1:
        carry = lax.fori_loop(0, full, lambda i, c: body(c, i * size, size), carry)
    if rest:
        carry = body(carry, full * size, rest)
    return carry


def _rows(a: jax.Array, start, size: int) -> jax.Array:
    if isinstance(start, int) and start == 0 and size == a.shape[0]:
        return a
    return lax.dynamic_slice_in_dim(a, start, size, axis=0)


def _put(a: jax.Array, update: jax.Array, start) -> jax.Array:
    if isinstance(start, int) and start == 0 and update.shape == a.shape:
        return update
    return lax.dynamic_update_slice_in_dim(a, update, start, axis=0)


def _matmul(a, b, contract, acc):
    dims = ((contract[0],), (contract[1],)), ((), ())
    return lax.dot_general(a, b, dims, preferred_element_type=acc)


def _logits(x_t, w_c, b_c, cap, acc):
    """Soft-capped logits of one block and ds/dz (None without a cap), in `acc`."""
    z = _matmul(x_t, w_c, (1, 1), acc)
    if b_c is not None:
        z = z + b_c.astype(acc)[None, :]
    return _softcap(z, cap)


def _softcap(z, cap):
    """cap * tanh(z / cap) and its derivative (None without a cap)."""
    if cap is None:
        return z, None
    s = cap * jnp.tanh(z / cap)
    return s, 1.0 - jnp.square(s / cap)


def _hits(labels_t, start, size):
    """[tokens, size] mask of the label's column in the block of columns [start, start+size)."""
    return (labels_t - start)[:, None] == jnp.arange(size, dtype=labels_t.dtype)[None, :]


_R = TypeVar("_R", covariant=True)


class _CustomVJP(Protocol[_R]):
    """What `jax.custom_vjp` returns: a `custom_vjp` (a ``custom_vjp3`` in newer jax)."""

    def __call__(self, *args: Any) -> _R: ...

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> Any: ...


def _custom_vjp_static_blocks(fn: Callable[..., _R]) -> _CustomVJP[_R]:
    """``jax.custom_vjp(fn, nondiff_argnums=(0,))``: the first argument (`_Blocks`) is static.

    A function rather than ``functools.partial(jax.custom_vjp, ...)``, whose result pyright
    types as ``custom_vjp[object]`` (the return type of `fn` is lost).
    """
    return jax.custom_vjp(fn, nondiff_argnums=(0,))


# --- schedule 1: per-token statistics (forward streams, backward recomputes) ---------------


@_custom_vjp_static_blocks
def _row_stats(blocks: _Blocks, x, w, b, labels, cap) -> tuple[jax.Array, ...]:
    """(lse, label logit, row sum) per token over the columns of `w` ([N] each, compute dtype).

    A label outside [0, V) has label logit 0 (the sharded form relies on it)."""
    return _row_stats_fwd(blocks, x, w, b, labels, cap)[0]


def _row_stats_fwd(blocks: _Blocks, x, w, b, labels, cap):
    acc = _checks.compute_dtype(blocks.out_dtype)
    n, v = x.shape[0], w.shape[0]

    def token_block(out, t0, nt):
        x_t, y_t = _rows(x, t0, nt), _rows(labels, t0, nt)

        def vocab_block(carry, v0, vc):
            top, scale, label_logit, total = carry
            b_c = None if b is None else _rows(b, v0, vc)
            s, _ = _logits(x_t, _rows(w, v0, vc), b_c, cap, acc)
            new_top = jnp.maximum(top, jnp.max(s, axis=1))
            scale = scale * jnp.exp(top - new_top) + jnp.sum(jnp.exp(s - new_top[:, None]), axis=1)
            label_logit = label_logit + jnp.sum(jnp.where(_hits(y_t, v0, vc), s, 0.0), axis=1)
            if blocks.terms.smoothing:
                total = total + jnp.sum(s, axis=1)
            return new_top, scale, label_logit, total

        init = (_full((nt,), -jnp.inf, acc, x, w), *(_full((nt,), 0.0, acc, x, w),) * 3)
        top, scale, label_logit, total = _for_chunks(v, blocks.vocab, vocab_block, init)
        stats = (top + jnp.log(scale), label_logit, total)
        return tuple(_put(o, s, t0) for o, s in zip(out, stats, strict=True))

    stats = _for_chunks(n, blocks.tokens, token_block, (_full((n,), 0.0, acc, x, w),) * 3)
    return stats, (x, w, b, labels, cap, stats[0])


def _row_stats_bwd(blocks: _Blocks, residuals, cotangents):
    x, w, b, labels, cap, lse = residuals
    g_lse, g_label, g_total = cotangents
    acc = _checks.compute_dtype(blocks.out_dtype)
    (n, d), v = x.shape, w.shape[0]

    # Vocabulary outside, tokens inside: each weight block's gradient is complete when its
    # inner loop ends, so it is accumulated in float32 over [vocab_chunk, D] only and stored
    # in the weight dtype; the float32 accumulator that spans everything is dx, [N, D].
    def vocab_block(carry, v0, vc):
        dx, dw, db = carry
        w_c = _rows(w, v0, vc)
        b_c = None if b is None else _rows(b, v0, vc)

        def token_block(inner, t0, nt):
            dx, dw_c, db_c = inner
            x_t, y_t = _rows(x, t0, nt), _rows(labels, t0, nt)
            s, dsdz = _logits(x_t, w_c, b_c, cap, acc)
            p = jnp.exp(s - _rows(lse, t0, nt)[:, None])
            ds = _rows(g_lse, t0, nt)[:, None] * p
            ds = ds + jnp.where(_hits(y_t, v0, vc), _rows(g_label, t0, nt)[:, None], 0.0)
            if blocks.terms.smoothing:
                ds = ds + _rows(g_total, t0, nt)[:, None]
            dz = ds if dsdz is None else ds * dsdz
            dz_m = dz.astype(x.dtype)
            dx = _put(dx, _rows(dx, t0, nt) + _matmul(dz_m, w_c, (1, 0), acc), t0)
            dw_c = dw_c + _matmul(dz_m, x_t, (0, 0), acc)
            return dx, dw_c, db_c + jnp.sum(dz, axis=0)

        inner = (dx, _full((vc, d), 0.0, acc, x, w), _full((vc,), 0.0, acc, x, w))
        dx, dw_c, db_c = _for_chunks(n, blocks.tokens, token_block, inner)
        dw = _put(dw, dw_c.astype(w.dtype), v0)
        db = None if db is None else _put(db, db_c.astype(db.dtype), v0)
        return dx, dw, db

    db = None if b is None else _full(b.shape, 0.0, b.dtype, x, w)
    init = (_full((n, d), 0.0, acc, x, w), _full(w.shape, 0.0, w.dtype, x, w), db)
    dx, dw, db = _for_chunks(v, blocks.vocab, vocab_block, init)
    return dx.astype(x.dtype), dw, db, None, None


_row_stats.defvjp(_row_stats_fwd, _row_stats_bwd)


# --- schedule 2: a reduced loss, gradients formed in the forward pass ----------------------


@_custom_vjp_static_blocks
def _reduced_loss(blocks: _Blocks, x, w, b, labels, counted, weights, cap, alpha, zl) -> jax.Array:
    """The (weighted) sum of the counted tokens' losses; the forward pass also forms its
    gradient."""
    return _reduced_loss_fwd(blocks, x, w, b, labels, counted, weights, cap, alpha, zl)[0]


def _reduced_loss_fwd(blocks: _Blocks, x, w, b, labels, counted, weights, cap, alpha, zl):
    acc = _checks.compute_dtype(blocks.out_dtype)
    n, v = x.shape[0], w.shape[0]
    terms = blocks.terms
    bad = (labels < 0) | (labels >= v)
    # d(sum of the counted losses)/d(per-token loss): the token's weight (1 by default) for a
    # counted token with a label in range, 0 otherwise (a NaN loss has no gradient).
    keep = ~bad if counted is None else counted & ~bad
    coefficients = keep.astype(acc) if weights is None else jnp.where(keep, weights, 0.0)

    def token_block(carry, t0, nt):
        stats, dx, dw, db = carry
        x_t, y_t, c = _rows(x, t0, nt), _rows(labels, t0, nt), _rows(coefficients, t0, nt)
        # The block is laid out [V, tokens] so that the weight gradient's pieces are row slices
        # and every matmul reads its operands without a transpose.
        z = _matmul(w, x_t, (1, 1), acc)
        if b is not None:
            z = z + b.astype(acc)[:, None]
        s, dsdz = _softcap(z, cap)
        top = jnp.max(s, axis=0)
        e = jnp.exp(s - top[None, :])
        scale = jnp.sum(e, axis=0)
        lse = top + jnp.log(scale)
        hits = jnp.arange(v, dtype=y_t.dtype)[:, None] == y_t[None, :]
        label_logit = jnp.sum(jnp.where(hits, s, 0.0), axis=0)
        total = jnp.sum(s, axis=0) if terms.smoothing else jnp.zeros_like(lse)
        # d loss_n / d s_nv = (1 + 2 zl lse) p_v - (1 - a) [v = y] - a / V, times c_n.
        g_lse = c * (1.0 + 2.0 * zl * lse) if terms.z_loss else c
        g_label = -c * (1.0 - alpha) if terms.smoothing else -c
        ds = (g_lse / scale)[None, :] * e
        ds = ds + jnp.where(hits, g_label[None, :], 0.0)
        if terms.smoothing:
            ds = ds - (c * alpha / v)[None, :]
        dz = ds if dsdz is None else ds * dsdz
        dz_m = dz.astype(x.dtype)
        dx = _put(dx, _matmul(dz_m, w, (0, 0), acc).astype(dx.dtype), t0)

        # Weight gradient in [vocab_chunk, D] pieces: one [V, D] product per token block would
        # be a weight-sized temporary.
        def vocab_block(dw, v0, vc):
            update = _rows(dw, v0, vc) + _matmul(_rows(dz_m, v0, vc), x_t, (1, 0), acc)
            return _put(dw, update.astype(dw.dtype), v0)

        dw = _for_chunks(v, blocks.vocab, vocab_block, dw)
        if db is not None:
            db = db + jnp.sum(dz, axis=1).astype(db.dtype)
        stats = tuple(_put(o, s, t0) for o, s in zip(stats, (lse, label_logit, total), strict=True))
        return stats, dx, dw, db

    init = (
        (_full((n,), 0.0, acc, x, w),) * 3,
        _full(x.shape, 0.0, x.dtype, x, w),
        _full(w.shape, 0.0, w.dtype, x, w),
        None if b is None else _full((v,), 0.0, acc, x, w),
    )
    (lse, label_logit, total), dx, dw, db = _for_chunks(n, blocks.tokens, token_block, init)
    loss = _token_losses(lse, label_logit, total, labels, v, alpha, zl, terms)
    weighted = loss if weights is None else weights * loss
    value = weighted_reduce(weighted.astype(blocks.out_dtype), None, counted, "sum")
    # db is None exactly when b is (its initial value): testing both only narrows the types.
    db = None if db is None or b is None else db.astype(b.dtype)
    # d value / d weights: the counted tokens' losses.
    dweights = None if weights is None else weighted_reduce(loss, None, counted, "none")
    return value, (dx, dw, db, dweights)


def _reduced_loss_bwd(blocks: _Blocks, residuals, g):
    dx, dw, db, dweights = residuals
    scale = jnp.asarray(g, jnp.promote_types(g.dtype, jnp.float32))

    def scaled(a):
        return None if a is None else (scale * a).astype(a.dtype)

    return scaled(dx), scaled(dw), scaled(db), None, None, scaled(dweights), None, None, None


_reduced_loss.defvjp(_reduced_loss_fwd, _reduced_loss_bwd)
