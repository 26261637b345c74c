"""Reference tests for jaxloss.mining (online triplet and quadruplet mining).

Oracles: numpy loops written from the published definitions (TF-Addons' semi-hard and hard
mining, batch-all, Chen et al.'s quadruplet loss), with scipy's ``cdist`` distances. The
empty-set, duplicate, collapse, memory and property tests also cover ``ntxent`` (jaxloss.pairs),
which scores a batch the same way.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

import jaxloss
from jaxloss import mining
from jaxloss._embedding import distance_matrix as _pairwise
from tests.embedding_helpers import CDIST, TOL
from tests.embedding_helpers import grad_finite as _grad_finite
from tests.embedding_helpers import jit as _jit

# numpy oracles ---------------------------------------------------------------------------


def _np_distances(x, distance):
    d = cdist(x, x, CDIST[distance])
    np.fill_diagonal(d, 0.0)
    return d


def _np_semihard(x, y, margin, distance="euclidean"):
    """TF-Addons triplet_semihard_loss, from its documented definition (loops)."""
    d = _np_distances(x, distance)
    b = len(y)
    per_anchor = np.zeros(b)
    total, pairs = 0.0, 0
    for a in range(b):
        negs = [d[a, n] for n in range(b) if y[n] != y[a]]
        losses = []
        for p in range(b):
            if p == a or y[p] != y[a] or not negs:
                continue
            farther = [v for v in negs if v > d[a, p]]
            semihard = min(farther) if farther else max(negs)
            losses.append(max(d[a, p] - semihard + margin, 0.0))
        if losses:
            per_anchor[a] = np.mean(losses)
            total += np.sum(losses)
            pairs += len(losses)
    return per_anchor, (total / pairs if pairs else 0.0)


def _np_hard(x, y, margin, soft=False, distance="euclidean"):
    """TF-Addons triplet_hard_loss / Hermans et al. batch hard (loops)."""
    d = _np_distances(x, distance)
    b = len(y)
    out, valid = np.zeros(b), np.zeros(b, bool)
    for a in range(b):
        pos = [d[a, p] for p in range(b) if p != a and y[p] == y[a]]
        neg = [d[a, n] for n in range(b) if y[n] != y[a]]
        if pos and neg:
            gap = max(pos) - min(neg)
            out[a] = np.log1p(np.exp(gap)) if soft else max(gap + margin, 0.0)
            valid[a] = True
    return out, (out[valid].mean() if valid.any() else 0.0)


def _np_batch_all(x, y, margin, mean_over="positive", distance="euclidean"):
    d = _np_distances(x, distance)
    b = len(y)
    sums, counts = np.zeros(b), np.zeros(b)
    for a, p, n in itertools.product(range(b), repeat=3):
        if p == a or y[p] != y[a] or y[n] == y[a]:
            continue
        h = max(d[a, p] - d[a, n] + margin, 0.0)
        sums[a] += h
        counts[a] += (h > 0) if mean_over == "positive" else 1
    per_anchor = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return per_anchor, (sums.sum() / counts.sum() if counts.sum() else 0.0)


def _np_hard_quadruplet(x, y, margin, margin2, distance="euclidean"):
    """Chen et al. 2017 eq. (5) on each anchor's hardest positive, negative, negative pair."""
    d = _np_distances(x, distance)
    b = len(y)
    out, valid = np.zeros(b), np.zeros(b, bool)
    for a in range(b):
        pos = [d[a, p] for p in range(b) if p != a and y[p] == y[a]]
        neg = [d[a, n] for n in range(b) if y[n] != y[a]]
        if not (pos and neg):
            continue
        valid[a] = True
        out[a] = max(max(pos) - min(neg) + margin, 0.0)
        pairs = [
            d[k, m]
            for k in range(b)
            for m in range(b)
            if y[k] != y[m] and y[k] != y[a] and y[m] != y[a]
        ]
        if pairs:
            out[a] += max(max(pos) - min(pairs) + margin2, 0.0)
    return out, (out[valid].mean() if valid.any() else 0.0)


def _batch(rng, b, d, classes):
    x = rng.standard_normal((b, d))
    y = rng.integers(0, classes, b)
    return x, y


# mining ----------------------------------------------------------------------------------


def _with_negatives(rng, b, d, classes):
    """A batch where every anchor has a negative (where our semantics equal TF-Addons')."""
    x, y = _batch(rng, b, d, classes)
    y[0], y[1] = 0, 1
    return x, y


@pytest.mark.parametrize(
    "b,d,classes,distance,margin",
    [
        (6, 3, 2, "euclidean", 0.2),
        (16, 5, 4, "euclidean", 1.0),
        (16, 5, 4, "squared_euclidean", 0.5),
        (16, 5, 4, "cosine", 0.2),
        (16, 5, 4, "manhattan", 0.5),
        (16, 5, 4, "chebyshev", 0.5),
    ],
)
def test_semihard_matches_tf_addons_port(rng, b, d, classes, distance, margin):
    x, y = _with_negatives(rng, b, d, classes)
    per_anchor, mean = _np_semihard(x, y, margin, distance)
    kw = {"margin": margin, "distance": distance}
    np.testing.assert_allclose(_jit(jaxloss.semihard_triplet_loss)(x, y, **kw), per_anchor, **TOL)
    np.testing.assert_allclose(
        _jit(jaxloss.semihard_triplet_loss)(x, y, reduction="mean", **kw), mean, **TOL
    )


@pytest.mark.parametrize("ties", [False, True])
def test_semihard_paths_agree_on_values_gradients_and_ties(rng, ties, monkeypatch):
    # P x K batches visit positives in turn; anchors with more than _SEMIHARD_MAX_TURNS
    # positives sort their rows. Both pick the same negative (ties: the lowest index, or the
    # largest index at the largest distance), so values and gradients agree, and both match
    # the TF-Addons port. Rounded or duplicated rows make exact ties between distances.
    x = rng.standard_normal((40, 3))
    x = np.round(x) if ties else x
    x[20:] = x[:20] if ties else x[20:]
    for labels in (rng.permutation(np.arange(40) % 10), rng.permutation(np.arange(40) % 2)):
        y = jnp.asarray(labels)
        results = []
        for turns in (mining._SEMIHARD_MAX_TURNS, -1):  # -1: the sorting path for every batch
            monkeypatch.setattr(mining, "_SEMIHARD_MAX_TURNS", turns)
            step = jax.value_and_grad(
                lambda e, y: jaxloss.semihard_triplet_loss(e, y, margin=0.5, reduction="sum")
            )
            results.append(jax.jit(step)(x, y))
        np.testing.assert_allclose(results[0][0], results[1][0], **TOL)
        np.testing.assert_allclose(results[0][1], results[1][1], **TOL)
        if not ties:
            per_anchor, _ = _np_semihard(x, labels, 0.5)
            np.testing.assert_allclose(results[0][0], per_anchor.sum(), **TOL)


@pytest.mark.parametrize(
    "b,d,classes,distance,soft",
    [
        (6, 3, 2, "euclidean", False),
        (16, 5, 4, "euclidean", True),
        (16, 5, 4, "squared_euclidean", False),
        (16, 5, 4, "cosine", False),
        (16, 5, 4, "chebyshev", False),
    ],
)
def test_batch_hard_matches_tf_addons_port(rng, b, d, classes, distance, soft):
    x, y = _with_negatives(rng, b, d, classes)
    per_anchor, mean = _np_hard(x, y, 0.5, soft, distance)
    kw = {"margin": 0.5, "soft": soft, "distance": distance}
    np.testing.assert_allclose(_jit(jaxloss.batch_hard_triplet_loss)(x, y, **kw), per_anchor, **TOL)
    np.testing.assert_allclose(
        _jit(jaxloss.batch_hard_triplet_loss)(x, y, reduction="mean", **kw), mean, **TOL
    )


@pytest.mark.parametrize(
    "b,d,classes,mean_over,distance",
    [
        (6, 3, 2, "positive", "euclidean"),
        (16, 5, 4, "valid", "euclidean"),
        (16, 5, 4, "positive", "cosine"),
        (16, 5, 4, "valid", "manhattan"),
    ],
)
def test_batch_all_matches_loops(rng, b, d, classes, mean_over, distance):
    x, y = _batch(rng, b, d, classes)
    per_anchor, mean = _np_batch_all(x, y, 0.8, mean_over, distance)
    kw = {"margin": 0.8, "mean_over": mean_over, "distance": distance}
    np.testing.assert_allclose(_jit(jaxloss.batch_all_triplet_loss)(x, y, **kw), per_anchor, **TOL)
    np.testing.assert_allclose(
        _jit(jaxloss.batch_all_triplet_loss)(x, y, reduction="mean", **kw), mean, **TOL
    )


@pytest.mark.parametrize(
    "b,d,classes,distance",
    [
        (6, 3, 2, "squared_euclidean"),
        (16, 5, 4, "squared_euclidean"),
        (16, 5, 4, "euclidean"),
        (16, 5, 4, "manhattan"),
    ],
)
def test_batch_hard_quadruplet_matches_loops(rng, b, d, classes, distance):
    x, y = _batch(rng, b, d, classes)
    per_anchor, mean = _np_hard_quadruplet(x, y, 1.0, 0.5, distance)
    # The default distance is "euclidean" (jaxloss 1.0; it was "squared_euclidean").
    kw = {} if distance == "euclidean" else {"distance": distance}
    np.testing.assert_allclose(
        _jit(jaxloss.batch_hard_quadruplet_loss)(x, y, **kw), per_anchor, **TOL
    )
    np.testing.assert_allclose(
        _jit(jaxloss.batch_hard_quadruplet_loss)(x, y, reduction="mean", **kw), mean, **TOL
    )


def test_mining_with_callable_distance(rng):
    x, y = _with_negatives(rng, 8, 3, 3)

    def cityblock(a, b):
        return jnp.sum(jnp.abs(a[..., :, None, :] - b[..., None, :, :]), axis=-1)

    d = cdist(x, x, "cityblock")
    hard = [
        max(d[a, p] for p in range(8) if p != a and y[p] == y[a])
        - min(d[a, n] for n in range(8) if y[n] != y[a])
        for a in range(8)
        if any(y[p] == y[a] for p in range(8) if p != a)
    ]
    expected = np.mean(np.maximum(np.array(hard) + 1.0, 0))
    actual = _jit(jaxloss.batch_hard_triplet_loss)(x, y, distance=cityblock, reduction="mean")
    np.testing.assert_allclose(actual, expected, **TOL)
    with pytest.raises(ValueError, match="`distance`"):
        _jit(jaxloss.batch_hard_triplet_loss)(x, y, distance=lambda a, b: a)


def test_tf_addons_differences_on_degenerate_anchors():
    # Anchor 2 is alone in its class (no positive); anchors 0/1 vs 3 otherwise normal.
    x = jnp.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [0.0, 3.0]])
    y = jnp.array([0, 0, 1, 2])
    hard = _jit(jaxloss.batch_hard_triplet_loss)(x, y)
    assert float(hard[2]) == 0.0 and float(hard[3]) == 0.0
    # The mean is over anchors with a valid triplet only (0 and 1), not over all 4.
    np.testing.assert_allclose(
        _jit(jaxloss.batch_hard_triplet_loss)(x, y, reduction="mean"), jnp.mean(hard[:2]), **TOL
    )


# edge cases: empty sets, duplicates, collapse -----------------------------------------------

MINERS = [
    jaxloss.batch_all_triplet_loss,
    jaxloss.batch_hard_triplet_loss,
    jaxloss.semihard_triplet_loss,
    jaxloss.batch_hard_quadruplet_loss,
    jaxloss.ntxent,
]


def _value_and_grad(fn, x, y, **kw):
    return jax.jit(jax.value_and_grad(lambda e, l: fn(e, l, reduction="mean", **kw)))(x, y)


@pytest.mark.parametrize("fn", MINERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "labels",
    [np.arange(5), np.zeros(5, int), np.array([3])],
    ids=["no-positive-pair", "all-labels-equal-no-negative", "single-example"],
)
def test_empty_triplet_sets_give_zero_and_zero_gradients(rng, fn, labels):
    x = jnp.asarray(rng.standard_normal((len(labels), 3)))
    value, grad = _value_and_grad(fn, x, jnp.asarray(labels))
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)
    np.testing.assert_array_equal(_jit(fn)(x, jnp.asarray(labels), reduction="none"), 0.0)


@pytest.mark.parametrize("fn", MINERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_collapsed_embeddings(fn, distance):
    x = jnp.ones((6, 4))
    y = jnp.array([0, 0, 1, 1, 2, 2])
    kw = {} if fn is jaxloss.ntxent else {"distance": distance}
    value, grad = _value_and_grad(fn, x, y, **kw)
    assert bool(jnp.all(jnp.isfinite(grad)))
    if fn is jaxloss.batch_hard_triplet_loss or fn is jaxloss.semihard_triplet_loss:
        np.testing.assert_allclose(value, 1.0)  # every distance is 0: the loss is the margin
    if fn is jaxloss.batch_hard_quadruplet_loss:
        np.testing.assert_allclose(value, 1.5)


@pytest.mark.parametrize("fn", MINERS, ids=lambda f: f.__name__)
def test_duplicated_embeddings_have_finite_gradients(rng, fn):
    base = rng.standard_normal((16, 8)).astype(np.float32) + 3.0
    x = jnp.asarray(np.concatenate([base, base[::-1]]))
    y = jnp.asarray(np.concatenate([np.arange(16), np.arange(16)[::-1]]) % 4)
    value, grad = _value_and_grad(fn, x, y)
    assert bool(jnp.isfinite(value)) and bool(jnp.all(jnp.isfinite(grad)))


@pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean", "cosine"])
def test_duplicated_embeddings_are_at_distance_exactly_zero(rng, distance):
    # Rows far from the origin, duplicated at mirrored positions of a 300-row batch: the
    # Gram-matrix form alone rounds such pairs to ~1e-3, the miners' distances are exactly 0.
    base = rng.standard_normal((150, 16)).astype(np.float32) + 3.0
    x = jnp.asarray(np.concatenate([base, base[::-1]]))
    d = jax.jit(_pairwise, static_argnums=(1, 2))(x, None, distance)
    np.testing.assert_array_equal(d[jnp.arange(150), 299 - jnp.arange(150)], 0.0)
    np.testing.assert_array_equal(jnp.diagonal(d), 0.0)  # self-distances, exactly
    assert float(jnp.min(jnp.where(jnp.eye(300, dtype=bool), 1.0, d + (d == 0)))) > 0


def test_anchor_equal_to_positive_gives_margin_minus_negative(rng):
    x = jnp.array([[1.0, 2.0], [1.0, 2.0], [1.0, 5.0]])
    y = jnp.array([0, 0, 1])
    for fn in (jaxloss.batch_hard_triplet_loss, jaxloss.semihard_triplet_loss):
        loss = fn(x, y, margin=4.0)
        np.testing.assert_allclose(loss[:2], [1.0, 1.0], atol=1e-6)
        ok, _ = _grad_finite(lambda e, f=fn: f(e, y), x)
        assert ok


# memory ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", MINERS, ids=lambda f: f.__name__)
def test_mining_memory_is_quadratic_not_cubic(fn):
    b, d = 512, 16
    x = jax.ShapeDtypeStruct((b, d), jnp.float32)
    y = jax.ShapeDtypeStruct((b,), jnp.int32)
    step = jax.jit(jax.value_and_grad(lambda e, l: fn(e, l, reduction="mean")))
    stats = step.lower(x, y).compile().memory_analysis()
    temp = stats.temp_size_in_bytes
    # A [B, B, B] float32 tensor would be 512 MiB; the O(B^2) kernels need a few [B, B] slabs.
    assert temp < 64 * b * b * 4, temp
    assert temp < b**3 * 4 // 16, temp


# properties ------------------------------------------------------------------------------


def _generic_batch(seed, b=8):
    """Random embeddings (no exact ties between distances) and labels from 4 classes."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((b, 3)) * rng.uniform(0.1, 10), rng.integers(0, 4, b)


_seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=10)
@given(_seeds, st.sampled_from(MINERS), st.permutations(list(range(8))))
def test_mining_is_permutation_equivariant_and_nonnegative(seed, fn, perm):
    x, y = _generic_batch(seed)
    perm = np.asarray(perm)
    # Jitted (one compile per miner and shape) rather than run op by op in every example.
    out = np.asarray(_jit(fn)(x, y, reduction="none"))
    permuted = np.asarray(_jit(fn)(x[perm], y[perm], reduction="none"))
    assert np.all(out >= 0)
    np.testing.assert_allclose(permuted, out[perm], rtol=1e-6, atol=1e-6)


@settings(max_examples=10)
@given(_seeds, st.floats(-50, 50))
def test_euclidean_mining_is_translation_invariant(seed, shift):
    x, y = _generic_batch(seed)
    for fn in (jaxloss.batch_hard_triplet_loss, jaxloss.batch_all_triplet_loss):
        a = np.asarray(_jit(fn)(x, y, reduction="none"))
        b = np.asarray(_jit(fn)(x + shift, y, reduction="none"))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)


@settings(max_examples=10)
@given(_seeds)
def test_batch_hard_bounds_every_triplet_of_its_anchor(seed):
    x, y = _generic_batch(seed)
    hard = np.asarray(_jit(jaxloss.batch_hard_triplet_loss)(x, y))
    d = _np_distances(x, "euclidean")
    for a in range(8):
        for p, n in itertools.product(range(8), repeat=2):
            if p != a and y[p] == y[a] and y[n] != y[a]:
                assert hard[a] + 1e-6 >= max(d[a, p] - d[a, n] + 1.0, 0.0)


# masks, weights, sum_and_count -----------------------------------------------------------


def _np_semihard_counts(x, y, margin):
    """Per-anchor (total, count) of the TF-Addons semi-hard loss: count = positive pairs of
    an anchor that has a negative."""
    per_anchor, _ = _np_semihard(x, y, margin)
    count = np.array(
        [
            sum(p != a and y[p] == y[a] for p in range(len(y))) * any(y != y[a])
            for a in range(len(y))
        ],
        float,
    )
    return per_anchor * count, count


def _np_batch_all_counts(x, y, margin):
    d = _np_distances(x, "euclidean")
    total, count = np.zeros(len(y)), np.zeros(len(y))
    for a, p, n in itertools.product(range(len(y)), repeat=3):
        if p != a and y[p] == y[a] and y[n] != y[a]:
            h = max(d[a, p] - d[a, n] + margin, 0.0)
            total[a] += h
            count[a] += h > 0
    return total, count


def _np_hard_counts(x, y, margin):
    per_anchor, _ = _np_hard(x, y, margin)
    valid = np.array([any(y == y[a]) and any(y != y[a]) for a in range(len(y))])
    valid &= np.array([np.sum(y == y[a]) > 1 for a in range(len(y))])
    return per_anchor, valid.astype(float)


def _np_quadruplet_counts(x, y, margin):
    per_anchor, _ = _np_hard_quadruplet(x, y, margin, 0.5)
    _, valid = _np_hard_counts(x, y, margin)
    return per_anchor, valid


def _np_ntxent_counts(x, y, margin):
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)
    s = u @ u.T / margin  # `margin` is the temperature here
    total, count = np.zeros(len(y)), np.zeros(len(y))
    for i, j in itertools.product(range(len(y)), repeat=2):
        if j != i and y[j] == y[i]:
            neg = np.exp(s[i, y != y[i]]).sum()
            total[i] += np.log(np.exp(s[i, j]) + neg) - s[i, j]
            count[i] += 1
    return total, count


# Each miner with its numpy oracle of per-anchor (total, count): "mean" is
# sum(w total) / sum(w count), "none" and "sum" use the per-anchor value total / count.
ORACLES = [
    (jaxloss.semihard_triplet_loss, _np_semihard_counts, {"margin": 0.7}),
    (jaxloss.batch_all_triplet_loss, _np_batch_all_counts, {"margin": 0.7}),
    (jaxloss.batch_hard_triplet_loss, _np_hard_counts, {"margin": 0.7}),
    (jaxloss.batch_hard_quadruplet_loss, _np_quadruplet_counts, {"margin": 0.7}),
    (jaxloss.ntxent, _np_ntxent_counts, {"temperature": 0.7}),
]


@pytest.mark.parametrize("fn,oracle,kw", ORACLES, ids=[f.__name__ for f, _, _ in ORACLES])
def test_where_removes_examples_entirely_and_weights_weight_anchors(rng, fn, oracle, kw):
    # `where` leaves an example out as an anchor *and* as a candidate: the loss is the
    # oracle's on the batch without it (its embedding may be NaN padding). `weights` weight
    # the anchors of the reductions.
    x = rng.standard_normal((12, 3))
    y = rng.permutation(np.arange(12) % 4)
    where = rng.random(12) < 0.75
    where[y == y[0]] = True  # keep a positive pair
    keep = np.nonzero(where)[0]
    weights = rng.uniform(0.1, 2.0, 12)
    total, count = oracle(x[keep], y[keep], 0.7)
    value = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    w = weights[keep]
    padded = x.copy()
    padded[~where] = np.nan
    opts = {**kw, "where": where, "weights": weights}
    none = np.asarray(_jit(fn)(padded, y, reduction="none", **opts))
    np.testing.assert_allclose(none[keep], w * value, **TOL)
    np.testing.assert_array_equal(none[~where], 0.0)
    np.testing.assert_allclose(_jit(fn)(padded, y, reduction="sum", **opts), w @ value, **TOL)
    mean = (w @ total) / (w @ count)
    np.testing.assert_allclose(_jit(fn)(padded, y, reduction="mean", **opts), mean, **TOL)
    s, c = _jit(fn)(padded, y, reduction="sum_and_count", **opts)
    np.testing.assert_allclose((s, c), (w @ total, w @ count), **TOL)
    # Unweighted and without a mask: the oracle on the whole batch.
    total, count = oracle(x, y, 0.7)
    np.testing.assert_allclose(
        _jit(fn)(x, y, reduction="sum_and_count", **kw), (total.sum(), count.sum()), **TOL
    )
    grad = jax.jit(jax.grad(lambda e: fn(e, y, reduction="mean", **opts)))(padded)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~where] == 0.0)


def test_zero_weight_removes_an_anchor_but_keeps_the_candidate(rng):
    x = rng.standard_normal((8, 3))
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    weights = np.ones(8)
    weights[2] = 0.0
    per_anchor, _ = _np_hard(x, y, 1.0)
    out = _jit(jaxloss.batch_hard_triplet_loss)(x, y, weights=weights)
    np.testing.assert_allclose(out, np.where(weights > 0, per_anchor, 0.0), **TOL)
    # Every anchor is valid: the mean is over the anchors of non-zero weight.
    np.testing.assert_allclose(
        _jit(jaxloss.batch_hard_triplet_loss)(x, y, weights=weights, reduction="mean"),
        per_anchor[weights > 0].mean(),
        **TOL,
    )


def test_mining_weights_are_checked(rng):
    from tests.embedding_helpers import checked_mode

    x = jnp.asarray(rng.standard_normal((6, 3)))
    y = jnp.array([0, 0, 1, 1, 2, 2])
    for fn in MINERS:

        def loss(w, fn=fn):
            return fn(x, y, weights=w, reduction="mean")

        checked_mode(loss, -jnp.ones(6), jnp.ones(6), "weights")
    # A masked-out example's weight is not checked.
    where = jnp.arange(6) != 3
    w = jnp.ones(6).at[3].set(-1.0)
    assert np.isfinite(float(jaxloss.semihard_triplet_loss(x, y, where=where, weights=w)[0]))


def test_mining_rejects_scipy_spellings():
    x, y = jnp.ones((4, 3)), jnp.array([0, 0, 1, 1])
    for fn in MINERS[:4]:
        for spelling in ("sqeuclidean", "cityblock", "seuclidean"):
            with pytest.raises(ValueError, match="`distance`"):
                fn(x, y, distance=spelling)
