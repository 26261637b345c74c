"""Row and column statistics of a similarity matrix ``S = X Y^T`` without building it.

The contrastive losses (`jaxloss.contrastive`, and `jaxloss.ntxent`) need only a few
statistics of ``S`` per row and per column: log-sum-exps over the valid entries, over the
positive entries, over the negative ones, the sum of the positive entries, the count of
positives, a sum of ``softplus(-z s)`` with ``z = +1`` on positives and ``-1`` elsewhere
(SigLIP), and NT-Xent's sum over positives of ``softplus(shift_i - s_ij)`` with a per-row
``shift`` given in ``rows``. An optional per-row ``bias`` in ``rows`` is added to every logit
of its row (SigLIP's and CLIP's learnable bias, added to the tiles rather than carried as one
more feature column, which would copy both embedding matrices). ``shift`` and ``bias`` are
differentiable: their cotangents are returned. `pair_statistics`
returns them, computed one of three ways:

- ``"dense"``: the whole ``[B, M]`` matrix at once, differentiated by autodiff.
- ``"blockwise"``: ``S`` visited in column tiles of ``block_size`` with an online
  log-sum-exp (a running maximum and rescaled sum per row; each tile holds every row, so its
  column statistics are complete). A `jax.custom_vjp` keeps only the ``O(B + M)`` statistics
  and recomputes each tile in the backward pass, so temporary memory is ``O(B x tile)``.
- ``"ring"`` (inside ``shard_map`` with ``axis_name``): every device keeps its rows ``X``
  and passes the blocks of ``Y`` around the ring with ``lax.ppermute``; the partial column
  statistics travel with their block and are home, complete, after a full turn. The
  backward pass turns the ring again, the gradient of each block of ``Y`` travelling with
  it, so no device ever holds the global ``Y`` or a global tile.

Valid entries: ``row_valid[i] & col_valid[j]``, minus the diagonal of the global batch when
``exclude_self``. Positives (a subset of the valid entries): the global diagonal
(``"diagonal"``), equal labels (``"labels"``), or a given boolean ``[B, M]`` matrix
(``"matrix"``). An empty log-sum-exp is `EMPTY`, a large negative finite number, so partial
statistics combine across devices and the callers mask it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, cast

import jax
import jax.numpy as jnp

# The log-sum-exp of an empty set: finite, so that maxima and rescalings never meet inf - inf.
EMPTY = -1e30
METHODS = ("auto", "dense", "blockwise", "ring")
# Above this many entries of S, method="auto" goes blockwise (one device) or ring (devices).
DENSE_MAX_ENTRIES = 2**22


Stats = tuple[dict[str, jax.Array], dict[str, jax.Array]]


class Spec(NamedTuple):
    """Which statistics to compute (static)."""

    row_lse: bool = False
    col_lse: bool = False
    positives: str = "none"  # "none", "diagonal", "labels" or "matrix"
    pos_sum: bool = False
    pos_lse: bool = False
    neg_lse: bool = False  # over the valid entries that are not positives
    pos_softplus: bool = False  # sum over positives of softplus(shift_i - s_ij), NT-Xent's
    sigmoid: bool = False
    exclude_self: bool = False


def resolve_method(method, rows, axis_name):
    """``method`` checked against ``axis_name``; ``"auto"`` resolved from the size of the
    (global) similarity matrix of ``rows`` local rows."""
    if method == "ring" and axis_name is None:
        raise ValueError("`method`='ring' needs `axis_name` (the devices of the ring).")
    if method != "auto":
        return method
    devices = 1 if axis_name is None else jax.lax.axis_size(axis_name)
    if (rows * devices) ** 2 <= DENSE_MAX_ENTRIES:
        return "dense"
    return "blockwise" if axis_name is None else "ring"


def batched_statistics(x, y, rows, cols, positives, spec, *, method, block_size, axis_name):
    """`pair_statistics` of ``[..., B, D]`` inputs, mapped over the leading axes."""
    fn = functools.partial(
        pair_statistics, spec=spec, method=method, block_size=block_size, axis_name=axis_name
    )
    for _ in range(x.ndim - 2):
        fn = jax.vmap(fn)
    return cast(Stats, fn(x, y, rows, cols, positives))


def pair_statistics(x, y, rows, cols, positives, spec, *, method, block_size, axis_name):
    """Statistics of ``S = x y^T`` for the rows of ``x`` ``[b, D]`` against ``y`` ``[m, D]``.

    ``rows`` and ``cols`` are dicts with ``"valid"`` (bool) and, for ``"labels"``,
    ``"labels"`` (int) per row / column of the local arrays. ``positives`` is the boolean
    ``[b, M]`` matrix of ``"matrix"`` (``M`` the global number of columns) or None.

    Without ``axis_name`` the rows and columns are the whole batch. With it, ``x`` and ``y``
    are this device's blocks of the global batch (equal sizes on every device): ``"ring"``
    turns the blocks of ``y`` around the devices, the other methods all-gather ``y`` and
    combine the column statistics across devices.

    Returns ``(row_stats, col_stats)``: dicts of ``[b]`` arrays (``"lse"``, ``"pos_lse"``,
    ``"neg_lse"``, ``"pos_sum"``, ``"pos_count"``, ``"pos_softplus"``, ``"sigmoid"`` as
    asked) and of ``[m]`` arrays (``"lse"``).
    """
    if "bias" in rows:  # a replicated bias scores varying rows: its cotangent is summed
        rows = {**rows, "bias": _vma_like(rows["bias"], x)}
    if axis_name is None:
        rows = {**rows, "start": jnp.zeros((), jnp.int32)}
        cols = {**cols, "start": jnp.zeros((), jnp.int32)}
        return _local(x, y, rows, cols, positives, spec, method, block_size)
    b = x.shape[0]
    index = jax.lax.axis_index(axis_name)
    rows = {**rows, "start": (index * b).astype(jnp.int32)}
    if method == "ring":
        return _ring(x, y, rows, cols, positives, spec, block_size, axis_name)
    # The gather path: every device scores its rows against the global columns, then the
    # column log-sum-exps of the devices are combined and each keeps its own block.
    cols = {k: jax.lax.all_gather(v, axis_name, tiled=True) for k, v in cols.items()}
    cols["start"] = jnp.zeros((), jnp.int32)
    y_all = jax.lax.all_gather(y, axis_name, tiled=True)
    row_stats, col_stats = _local(x, y_all, rows, cols, positives, spec, method, block_size)
    if "lse" in col_stats:
        lse = _combine_lse(col_stats["lse"], axis_name)
        col_stats = {"lse": jax.lax.dynamic_slice_in_dim(lse, index * y.shape[0], y.shape[0])}
    return row_stats, col_stats


# Single device ------------------------------------------------------------------------------


def _local(x, y, rows, cols, positives, spec, method, block_size) -> Stats:
    # Inside shard_map, a replicated input (a bank of negatives) scored against local rows:
    # typed varying, its gradient is psum-ed by the transpose of the cast.
    axes = frozenset().union(*(_vma(v) for v in jax.tree.leaves((x, y, rows, cols, positives))))
    x, y = _cast_vma((x, y), axes)
    if method == "dense":
        row_part, col_part = _block_forward(x, y, rows, cols, positives, spec, y.shape[0])
        return _finalize(row_part), _finalize(col_part)
    return cast(Stats, _blockwise(x, y, rows, cols, positives, spec, block_size))


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6))
def _blockwise(x, y, rows, cols, positives, spec, block_size):
    row_part, col_part = _block_forward(x, y, rows, cols, positives, spec, block_size)
    return _finalize(row_part), _finalize(col_part)


def _blockwise_fwd(x, y, rows, cols, positives, spec, block_size):
    out = _blockwise(x, y, rows, cols, positives, spec, block_size)
    return out, (x, y, rows, cols, positives, out)


def _blockwise_bwd(spec, block_size, residuals, cotangents):
    x, y, rows, cols, positives, (row_stats, col_stats) = residuals
    g_row, g_col = cotangents
    dx, d_rows, dy = _block_backward(
        x, y, rows, cols, positives, spec, block_size, row_stats, col_stats, g_row, g_col
    )
    return dx, dy, _rows_cotangent(rows, d_rows), None, None


# Per-row inputs of the statistics that are differentiable (the others are masks and labels).
ROW_INPUTS = ("shift", "bias")


def _rows_cotangent(rows, d_rows):
    """Zero (None) for the masks, labels and offsets; ``shift`` and ``bias`` get theirs."""
    return {k: d_rows.get(k) for k in rows}


def _zero_row_grads(rows, x):
    return {k: jnp.zeros(x.shape[:1], x.dtype) for k in ROW_INPUTS if k in rows}


_blockwise.defvjp(_blockwise_fwd, _blockwise_bwd)


# Ring over devices --------------------------------------------------------------------------


def _ring(x, y, rows, cols, positives, spec, block_size, axis_name):
    # The column masks and labels are O(B) integers: gathered once, sliced per visiting block.
    cols_all = {k: jax.lax.all_gather(v, axis_name, tiled=True) for k, v in cols.items()}
    return _ring_stats(x, y, rows, cols_all, positives, spec, block_size, axis_name)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7))
def _ring_stats(x, y, rows, cols_all, positives, spec, block_size, axis_name):
    return _ring_forward(x, y, rows, cols_all, positives, spec, block_size, axis_name)


def _ring_forward(x, y, rows, cols_all, positives, spec, block_size, axis_name):
    n = jax.lax.axis_size(axis_name)
    index = jax.lax.axis_index(axis_name)
    m = y.shape[0]
    perm = [(i, (i + 1) % n) for i in range(n)]
    row_state = _varying(_empty_rows(spec, x.shape[0], x.dtype), axis_name)
    col_state = _varying(_empty_cols(spec, m, x.dtype), axis_name)

    def step(k, carry):
        row_state, y_block, col_state = carry
        source = (index - k) % n
        row_part, col_part = _block_forward(
            x,
            y_block,
            rows,
            _block_cols(cols_all, source, m),
            _block_positives(positives, source, m),
            spec,
            block_size,
        )
        row_state = _merge(row_state, row_part)
        col_state = _merge(col_state, col_part)
        y_block, col_state = jax.lax.ppermute((y_block, col_state), axis_name, perm)
        return row_state, y_block, col_state

    row_state, _, col_state = jax.lax.fori_loop(0, n, step, (row_state, y, col_state))
    return _finalize(row_state), _finalize(col_state)


def _ring_fwd(x, y, rows, cols_all, positives, spec, block_size, axis_name):
    out = _ring_forward(x, y, rows, cols_all, positives, spec, block_size, axis_name)
    return out, (x, y, rows, cols_all, positives, out)


def _ring_bwd(spec, block_size, axis_name, residuals, cotangents):
    x, y, rows, cols_all, positives, (row_stats, col_stats) = residuals
    g_row, g_col = cotangents
    n = jax.lax.axis_size(axis_name)
    index = jax.lax.axis_index(axis_name)
    m = y.shape[0]
    perm = [(i, (i + 1) % n) for i in range(n)]

    def step(k, carry):
        (dx, d_rows), y_block, col_block, g_col_block, dy_block = carry
        source = (index - k) % n
        dx_k, d_rows_k, dy_k = _block_backward(
            x,
            y_block,
            rows,
            _block_cols(cols_all, source, m),
            _block_positives(positives, source, m),
            spec,
            block_size,
            row_stats,
            col_block,
            g_row,
            g_col_block,
        )
        travelling = (y_block, col_block, g_col_block, dy_block + dy_k)
        local = (dx + dx_k, jax.tree.map(jnp.add, d_rows, d_rows_k))
        return (local, *jax.lax.ppermute(travelling, axis_name, perm))

    local = _varying((jnp.zeros_like(x), _zero_row_grads(rows, x)), axis_name)
    init = (local, y, col_stats, g_col, _varying(jnp.zeros_like(y), axis_name))
    (dx, d_rows), *_, dy = jax.lax.fori_loop(0, n, step, init)
    return dx, dy, _rows_cotangent(rows, d_rows), None, None


_ring_stats.defvjp(_ring_fwd, _ring_bwd)


def _block_cols(cols_all, source, m):
    out = {k: jax.lax.dynamic_slice_in_dim(v, source * m, m) for k, v in cols_all.items()}
    out["start"] = (source * m).astype(jnp.int32)
    return out


def _block_positives(positives, source, m):
    if positives is None:
        return None
    return jax.lax.dynamic_slice_in_dim(positives, source * m, m, axis=1)


def _combine_lse(lse, axis_name):
    top = jax.lax.pmax(jax.lax.stop_gradient(lse), axis_name)
    return top + jnp.log(jax.lax.psum(jnp.exp(lse - top), axis_name))


# Tiles --------------------------------------------------------------------------------------


def _block_forward(x, y, rows, cols, positives, spec, block_size):
    """Partial statistics of the rows of ``x`` against the columns of ``y``: the rows'
    (running maxima and sums, online over column tiles) and the columns' (complete over the
    rows of ``x``). With one tile (``block_size >= m``) this is the dense form."""
    m = y.shape[0]
    if block_size >= m:
        s, valid, pos = _tile(x, y, rows, cols, positives, spec)
        return _row_partials(s, valid, pos, spec, rows), _col_partials(s, valid, spec)
    tiles, _ = _tiles(y, cols, positives, block_size)
    row_state = _vma_like(_empty_rows(spec, x.shape[0], x.dtype), x)

    def step(row_state, tile):
        y_t, cols_t, pos_t = tile
        s, valid, pos = _tile(x, y_t, rows, cols_t, pos_t, spec)
        return _merge(row_state, _row_partials(s, valid, pos, spec, rows)), _col_partials(
            s, valid, spec
        )

    row_state, col_parts = jax.lax.scan(step, row_state, tiles)
    col_parts = jax.tree.map(lambda v: v.reshape(-1)[:m], col_parts)
    return row_state, col_parts


def _block_backward(
    x, y, rows, cols, positives, spec, block_size, row_stats, col_stats, g_row, g_col
):
    """``(dx, d_rows, dy)`` of the statistics' cotangents, recomputing each tile of ``S``
    (``d_rows``: of the rows' ``shift`` and ``bias`` where given, `ROW_INPUTS`)."""
    m = y.shape[0]
    g_row = {k: v for k, v in g_row.items() if k != "pos_count"}
    if block_size >= m:
        s, valid, pos = _tile(x, y, rows, cols, positives, spec)
        ds, d_rows = _tile_cotangent(s, valid, pos, spec, rows, row_stats, col_stats, g_row, g_col)
        return ds @ y, d_rows, ds.T @ x
    tiles, count = _tiles(y, cols, positives, block_size)
    pad = count * block_size - m
    col_tiles = jax.tree.map(lambda v: _pad_tiles(v, pad, block_size, 0.0), (col_stats, g_col))

    def step(carry, tile):
        dx, d_rows = carry
        (y_t, cols_t, pos_t), (col_t, g_col_t) = tile
        s, valid, pos = _tile(x, y_t, rows, cols_t, pos_t, spec)
        ds, d_rows_t = _tile_cotangent(s, valid, pos, spec, rows, row_stats, col_t, g_row, g_col_t)
        return (dx + ds @ y_t, jax.tree.map(jnp.add, d_rows, d_rows_t)), ds.T @ x

    init = _vma_like((jnp.zeros_like(x), _zero_row_grads(rows, x)), x)
    (dx, d_rows), dy = jax.lax.scan(step, init, (tiles, col_tiles))
    return dx, d_rows, dy.reshape(-1, y.shape[-1])[:m]


def _tiles(y, cols, positives, block_size):
    """``y``, the column info and the positives' columns cut into ``[count, block_size, ...]``
    tiles; padding columns are invalid."""
    m = y.shape[0]
    count = -(-m // block_size)
    pad = count * block_size - m
    y_t = _pad_tiles(y, pad, block_size, 0.0)
    cols_t = {
        "valid": _pad_tiles(cols["valid"], pad, block_size, False),
        "start": cols["start"] + block_size * jnp.arange(count, dtype=jnp.int32),
    }
    if "labels" in cols:
        cols_t["labels"] = _pad_tiles(cols["labels"], pad, block_size, 0)
    pos_t = None
    if positives is not None:
        padded = jnp.pad(positives, ((0, 0), (0, pad)))
        pos_t = jnp.moveaxis(padded.reshape(positives.shape[0], count, block_size), 1, 0)
    return (y_t, cols_t, pos_t), count


def _pad_tiles(v, pad, block_size, fill):
    if isinstance(v, dict):
        return {k: _pad_tiles(u, pad, block_size, fill) for k, u in v.items()}
    padded = jnp.pad(v, [(0, pad)] + [(0, 0)] * (v.ndim - 1), constant_values=fill)
    return padded.reshape(-1, block_size, *v.shape[1:])


def _tile(x, y, rows, cols, positives, spec):
    """The logits tile ``x y^T`` (plus the rows' ``bias``; ``EMPTY`` where invalid), its valid
    and positive masks."""
    s = x @ y.T
    if "bias" in rows:
        s = s + rows["bias"][:, None]
    row_ids = rows["start"] + jnp.arange(x.shape[0], dtype=jnp.int32)
    col_ids = cols["start"] + jnp.arange(y.shape[0], dtype=jnp.int32)
    same = row_ids[:, None] == col_ids[None, :]
    valid = rows["valid"][:, None] & cols["valid"][None, :]
    if spec.exclude_self:
        valid = valid & ~same
    pos = None
    if spec.positives == "diagonal":
        pos = valid & same
    elif spec.positives == "labels":
        pos = valid & (rows["labels"][:, None] == cols["labels"][None, :])
    elif spec.positives == "matrix":
        pos = valid & positives
    return jnp.where(valid, s, EMPTY), valid, pos


def _lse_parts(s, mask, axis):
    top = jax.lax.stop_gradient(jnp.max(jnp.where(mask, s, EMPTY), axis=axis))
    top_b = jnp.expand_dims(top, axis)
    total = jnp.sum(jnp.where(mask, jnp.exp(jnp.where(mask, s, top_b) - top_b), 0.0), axis=axis)
    return top, total


def _row_partials(s, valid, pos, spec, rows):
    out = {}
    if spec.row_lse:
        out["lse"] = _lse_parts(s, valid, 1)
    if pos is not None:
        out["pos_count"] = jnp.sum(pos, axis=1).astype(s.dtype)
        if spec.pos_lse:
            out["pos_lse"] = _lse_parts(s, pos, 1)
        if spec.pos_sum:
            out["pos_sum"] = jnp.sum(jnp.where(pos, s, 0.0), axis=1)
        if spec.neg_lse:
            out["neg_lse"] = _lse_parts(s, valid & ~pos, 1)
        if spec.pos_softplus:
            gap = rows["shift"][:, None] - s
            out["pos_softplus"] = jnp.sum(jnp.where(pos, jax.nn.softplus(gap), 0.0), axis=1)
    if spec.sigmoid:
        z = jnp.where(pos, 1.0, -1.0) if pos is not None else -1.0
        out["sigmoid"] = jnp.sum(jnp.where(valid, jax.nn.softplus(-z * s), 0.0), axis=1)
    return out


def _col_partials(s, valid, spec):
    return {"lse": _lse_parts(s, valid, 0)} if spec.col_lse else {}


def _tile_cotangent(s, valid, pos, spec, rows, row_stats, col_stats, g_row, g_col):
    """d(statistics . cotangents) / d s on one tile, and / d shift and d bias (per row)."""
    ds = jnp.zeros_like(s)
    d_rows = {"shift": jnp.zeros(s.shape[:1], s.dtype)} if "shift" in rows else {}
    if spec.row_lse:
        p = jnp.exp(jnp.where(valid, s - row_stats["lse"][:, None], -jnp.inf))
        ds = ds + g_row["lse"][:, None] * p
    if spec.col_lse:
        p = jnp.exp(jnp.where(valid, s - col_stats["lse"][None, :], -jnp.inf))
        ds = ds + g_col["lse"][None, :] * p
    if spec.pos_sum:
        ds = ds + jnp.where(pos, g_row["pos_sum"][:, None], 0.0)
    if spec.pos_lse:
        p = jnp.exp(jnp.where(pos, s - row_stats["pos_lse"][:, None], -jnp.inf))
        ds = ds + g_row["pos_lse"][:, None] * p
    if spec.sigmoid:
        z = jnp.where(pos, 1.0, -1.0) if pos is not None else -1.0
        slope = jnp.where(valid, -z * jax.nn.sigmoid(-z * s), 0.0)
        ds = ds + g_row["sigmoid"][:, None] * slope
    if spec.neg_lse and pos is not None:
        p = jnp.exp(jnp.where(valid & ~pos, s - row_stats["neg_lse"][:, None], -jnp.inf))
        ds = ds + g_row["neg_lse"][:, None] * p
    if spec.pos_softplus and pos is not None:
        slope = jnp.where(pos, jax.nn.sigmoid(rows["shift"][:, None] - s), 0.0)
        ds = ds - g_row["pos_softplus"][:, None] * slope
        d_rows["shift"] = g_row["pos_softplus"] * jnp.sum(slope, axis=1)
    if "bias" in rows:
        d_rows["bias"] = jnp.sum(ds, axis=1)  # 0 at the invalid entries
    return ds, d_rows


# Partial statistics -------------------------------------------------------------------------


def _is_lse(v):
    return isinstance(v, tuple)


def _empty_rows(spec, size, dtype):
    def lse():
        return (jnp.full((size,), EMPTY, dtype), jnp.zeros((size,), dtype))

    out = {}
    if spec.row_lse:
        out["lse"] = lse()
    if spec.positives != "none":
        out["pos_count"] = jnp.zeros((size,), dtype)
        if spec.pos_lse:
            out["pos_lse"] = lse()
        if spec.pos_sum:
            out["pos_sum"] = jnp.zeros((size,), dtype)
        if spec.neg_lse:
            out["neg_lse"] = lse()
        if spec.pos_softplus:
            out["pos_softplus"] = jnp.zeros((size,), dtype)
    if spec.sigmoid:
        out["sigmoid"] = jnp.zeros((size,), dtype)
    return out


def _empty_cols(spec, size, dtype):
    if not spec.col_lse:
        return {}
    return {"lse": (jnp.full((size,), EMPTY, dtype), jnp.zeros((size,), dtype))}


def _varying(tree, axis_name):
    """``tree`` typed as varying over ``axis_name`` (a loop carry that meets ppermute)."""
    return _cast_vma(tree, frozenset([axis_name]))


def _vma_like(tree, ref):
    """``tree`` typed as varying over the mesh axes ``ref`` varies over (a loop carry)."""
    return _cast_vma(tree, _vma(ref))


def _vma(v):
    aval = jax.typeof(v)
    manual = getattr(aval, "manual_axis_type", None)  # jax >= 0.9; before: `aval.vma`
    return frozenset(manual.varying if manual is not None else getattr(aval, "vma", ()))


def _cast_vma(tree, axes):
    def cast(v):
        missing = tuple(sorted(axes - _vma(v), key=str))
        return jax.lax.pcast(v, missing, to="varying") if missing else v

    return jax.tree.map(cast, tree)


def _merge(a, b):
    out = {}
    for k in a:
        if _is_lse(a[k]):
            (m1, l1), (m2, l2) = a[k], b[k]
            top = jnp.maximum(m1, m2)
            out[k] = (top, l1 * jnp.exp(m1 - top) + l2 * jnp.exp(m2 - top))
        else:
            out[k] = a[k] + b[k]
    return out


def _finalize(parts):
    out = {}
    for k, v in parts.items():
        if _is_lse(v):
            top, total = v
            has = total > 0
            out[k] = jnp.where(has, top + jnp.log(jnp.where(has, total, 1.0)), EMPTY)
        else:
            out[k] = v
    return out
