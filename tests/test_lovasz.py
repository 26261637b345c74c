"""Reference tests for jaxloss.lovasz: the Lovász-Softmax and Lovász hinge losses.

Oracles: (1) the authors' algorithm written here in numpy from the paper (Berman, Rannen
Triki & Blaschko, CVPR 2018, Algorithm 1 and Eq. 9-12: sort the errors decreasingly, Jaccard
gradient ``g = diff(1 - (G - cumsum(t)) / (G + cumsum(1 - t)))``, loss ``sum(sorted errors *
g)``), with its options ``per_image``, ``classes`` and ``ignore`` by dropping pixels and
looping over classes and images, and its (sub)gradient from the same sort; (2) kornia 0.9
``kornia.losses.lovasz_softmax_loss`` / ``lovasz_hinge_loss`` (torch CPU, float64, autograd),
which score each image, average over the batch and, for the softmax, over all classes; (3)
the tightness of the Lovász extension: at binary errors it equals the Jaccard loss itself.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from kornia.losses import lovasz_hinge_loss as kornia_hinge
from kornia.losses import lovasz_softmax_loss as kornia_softmax

import jaxloss as jl

TOL = {"rtol": 1e-10, "atol": 1e-12}
IGNORE = 255

# --- the authors' algorithm in numpy ----------------------------------------------------------


def _jaccard_gradient(fg_sorted):
    """Algorithm 1: the Lovász weights of the Jaccard loss for foreground sorted by error."""
    total = fg_sorted.sum()
    intersection = total - np.cumsum(fg_sorted)
    union = total + np.cumsum(1.0 - fg_sorted)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def _extension(errors, fg):
    """The Lovász extension at `errors` and its gradient with respect to them."""
    order = np.argsort(-errors, kind="stable")
    g = _jaccard_gradient(fg[order])
    grad = np.empty_like(errors)
    grad[order] = g
    return errors[order] @ g, grad


def _groups(batch, per_image):
    return [[b] for b in range(batch)] if per_image else [list(range(batch))]


def authors_softmax(probs, labels, *, classes="present", per_image=False, ignore=None):
    """Value and gradient (w.r.t. `probs` [B, ..., C]) of the authors' ``lovasz_softmax``."""
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
    num_classes = probs.shape[-1]
    grad = np.zeros_like(probs)
    values = []
    for group in _groups(probs.shape[0], per_image):
        p = probs[group].reshape(-1, num_classes)
        y = labels[group].reshape(-1)
        kept = np.ones(y.shape, bool) if ignore is None else y != ignore
        p, y = p[kept], y[kept]
        losses, dp = [], np.zeros_like(p)
        for c in range(num_classes):
            fg = (y == c).astype(np.float64)
            if classes == "present" and fg.sum() == 0:
                continue
            value, de = _extension(np.abs(fg - p[:, c]), fg)
            losses.append(value)
            dp[:, c] = de * np.sign(p[:, c] - fg)
        values.append(np.mean(losses) if losses else 0.0)
        full = np.zeros((kept.size, num_classes))
        full[kept] = dp / max(len(losses), 1)
        grad[group] = full.reshape(grad[group].shape)
    return np.mean(values), grad / len(values)


def authors_hinge(logits, labels, *, per_image=True, ignore=None):
    """Value and gradient (w.r.t. `logits` [B, ...]) of the authors' ``lovasz_hinge``."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    grad = np.zeros_like(logits)
    values = []
    for group in _groups(logits.shape[0], per_image):
        x, y = logits[group].reshape(-1), labels[group].reshape(-1)
        kept = np.ones(y.shape, bool) if ignore is None else y != ignore
        x, fg = x[kept], y[kept].astype(np.float64)
        signs = 2.0 * fg - 1.0
        errors = 1.0 - x * signs
        order = np.argsort(-errors, kind="stable")
        g = _jaccard_gradient(fg[order]) if x.size else np.zeros(0)
        values.append(np.maximum(errors[order], 0.0) @ g)
        de = np.empty_like(errors)
        de[order] = g * (errors[order] > 0)
        full = np.zeros(kept.size)
        full[kept] = -signs * de
        grad[group] = full.reshape(grad[group].shape)
    return np.mean(values), grad / len(values)


def softmax_backward(probs, grad_probs):
    """The gradient with respect to the logits of a function of softmax(logits)."""
    return probs * (grad_probs - np.sum(grad_probs * probs, axis=-1, keepdims=True))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# --- inputs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x2 = rng.standard_normal((3, 5, 6, 4))
    y2 = rng.integers(0, 4, (3, 5, 6))
    y2[0][y2[0] == 3] = 1  # class 3 absent from image 0
    y2i = np.where(rng.uniform(size=y2.shape) < 0.2, IGNORE, y2)
    y2i[2] = IGNORE  # image 2 entirely ignored
    x3 = rng.standard_normal((2, 3, 4, 5, 3))  # volumes [B, D, H, W, C]
    y3 = np.where(rng.uniform(size=x3.shape[:-1]) < 0.15, IGNORE, rng.integers(0, 3, x3.shape[:-1]))
    h2 = 2.0 * rng.standard_normal((3, 5, 6))
    b2 = rng.integers(0, 2, (3, 5, 6))
    b2i = np.where(rng.uniform(size=b2.shape) < 0.2, IGNORE, b2)
    h3 = 2.0 * rng.standard_normal((2, 3, 4, 5))
    b3 = rng.integers(0, 2, (2, 3, 4, 5))
    return {k: v for k, v in locals().items() if k not in ("rng",)}


def _value_and_grad(fn, x, **kwargs):
    return jax.value_and_grad(lambda x: fn(x, **kwargs))(x)


def test_matches_the_authors_algorithm_2d_and_3d(data):
    """Every option of the authors' functions, values and gradients, in one compiled call."""
    d = data
    softmax_configs = {
        # name: (logits, labels, jaxloss options, authors' options)
        "per_image_present_ignore": (
            "x2",
            "y2i",
            {"reduction": "mean", "ignore_index": IGNORE},
            {"per_image": True, "ignore": IGNORE},
        ),
        "batch_present_ignore": (
            "x2",
            "y2i",
            {"batch_dice": True, "ignore_index": IGNORE},
            {"per_image": False, "ignore": IGNORE},
        ),
        "per_image_all": (
            "x2",
            "y2",
            {"reduction": "mean", "classes": "all"},
            {
                "per_image": True,
                "classes": "all",
            },
        ),
        "volumes_per_image_present": (
            "x3",
            "y3",
            {"reduction": "mean", "ignore_index": IGNORE},
            {"per_image": True, "ignore": IGNORE},
        ),
        "volumes_batch_all": (
            "x3",
            "y3",
            {"batch_dice": True, "classes": "all", "ignore_index": IGNORE},
            {"per_image": False, "classes": "all", "ignore": IGNORE},
        ),
    }
    hinge_configs = {
        "per_image": ("h2", "b2", {"reduction": "mean"}, {"per_image": True}),
        "batch_ignore": (
            "h2",
            "b2i",
            {"batch_dice": True, "ignore_index": IGNORE},
            {"per_image": False, "ignore": IGNORE},
        ),
        "per_image_ignore": (
            "h2",
            "b2i",
            {"reduction": "mean", "ignore_index": IGNORE},
            {"per_image": True, "ignore": IGNORE},
        ),
        "volumes_per_image": ("h3", "b3", {"reduction": "mean"}, {"per_image": True}),
        "volumes_batch": ("h3", "b3", {"batch_dice": True}, {"per_image": False}),
    }
    arrays = {k: jnp.asarray(v) for k, v in d.items()}

    @jax.jit
    def ours(arrays):
        out = {}
        for name, (x, y, options, _) in softmax_configs.items():
            fn = functools.partial(jl.lovasz_softmax_loss, targets=arrays[y], **options)
            out["softmax " + name] = _value_and_grad(fn, arrays[x])
        # probabilities in, the authors' input (activation=None)
        probs = jax.nn.softmax(arrays["x2"])
        fn = functools.partial(
            jl.lovasz_softmax_loss,
            targets=arrays["y2i"],
            activation=None,
            batch_dice=True,
            ignore_index=IGNORE,
        )
        out["probabilities"] = _value_and_grad(fn, probs)
        for name, (x, y, options, _) in hinge_configs.items():
            fn = functools.partial(jl.lovasz_hinge_loss, labels=arrays[y], **options)
            out["hinge " + name] = _value_and_grad(fn, arrays[x])
        return out

    got = ours(arrays)
    for name, (x, y, _, authors) in softmax_configs.items():
        probs = _softmax(d[x])
        value, grad_probs = authors_softmax(probs, d[y], **authors)
        np.testing.assert_allclose(got["softmax " + name][0], value, **TOL, err_msg=name)
        grad = softmax_backward(probs, grad_probs)
        np.testing.assert_allclose(got["softmax " + name][1], grad, **TOL, err_msg=name)
    value, grad_probs = authors_softmax(_softmax(d["x2"]), d["y2i"], ignore=IGNORE)
    np.testing.assert_allclose(got["probabilities"][0], value, **TOL)
    np.testing.assert_allclose(got["probabilities"][1], grad_probs, **TOL)
    for name, (x, y, _, authors) in hinge_configs.items():
        value, grad = authors_hinge(d[x], d[y], **authors)
        np.testing.assert_allclose(got["hinge " + name][0], value, **TOL, err_msg=name)
        np.testing.assert_allclose(got["hinge " + name][1], grad, **TOL, err_msg=name)
    # the configurations are not degenerate
    assert all(float(v) > 0 and np.any(g != 0) for v, g in got.values())


def test_matches_kornia(data):
    """kornia 0.9: per image, mean over the batch; the softmax over all classes, its `weight`
    our `class_weights`. Values and gradients in float64 (torch autograd)."""
    d = data
    w = np.array([0.5, 1.0, 2.0, 0.0])

    @jax.jit
    def ours(x, y, h, b):
        def softmax(x, **kw):
            return jl.lovasz_softmax_loss(x, y, classes="all", reduction="mean", **kw)

        return {
            "softmax": jax.value_and_grad(softmax)(x),
            "weighted": jax.value_and_grad(functools.partial(softmax, class_weights=w))(x),
            "hinge": jax.value_and_grad(lambda h: jl.lovasz_hinge_loss(h, b, reduction="mean"))(h),
            # kornia's channel-first [B, 1, H, W] logits are our [B, H, W, 1]
            "hinge channel": jax.value_and_grad(
                lambda h: jl.lovasz_hinge_loss(h[..., None], b, reduction="mean")
            )(h),
        }

    got = ours(d["x2"], d["y2"], d["h2"], d["b2"])

    def kornia(fn, x, *args, **kwargs):
        xt = torch.tensor(x, requires_grad=True)
        value = fn(xt, *args, **kwargs)
        value.backward()
        return value.item(), xt.grad.numpy()

    cf = np.moveaxis(d["x2"], -1, 1)
    y = torch.tensor(d["y2"])
    for name, options in (("softmax", {}), ("weighted", {"weight": torch.tensor(w)})):
        value, grad = kornia(kornia_softmax, cf, y, **options)
        np.testing.assert_allclose(got[name][0], value, **TOL, err_msg=name)
        np.testing.assert_allclose(got[name][1], np.moveaxis(grad, 1, -1), **TOL, err_msg=name)
    value, grad = kornia(kornia_hinge, d["h2"][:, None], torch.tensor(d["b2"]))
    for name in ("hinge", "hinge channel"):
        np.testing.assert_allclose(got[name][0], value, **TOL, err_msg=name)
        np.testing.assert_allclose(got[name][1], grad[:, 0], **TOL, err_msg=name)


def test_the_extension_is_tight_at_binary_errors():
    """At one-hot predictions the Lovász-Softmax term of each class is its Jaccard loss
    1 - IoU; at logits of +-1 the hinge is twice the Jaccard loss of the predicted mask."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, (6, 4, 5))
    predicted = np.where(rng.uniform(size=labels.shape) < 0.3, rng.integers(0, 3, labels.shape),
                         labels)  # fmt: skip
    ours = jax.jit(
        lambda p, y, x, t: (
            jl.lovasz_softmax_loss(p, y, activation=None),
            jl.lovasz_hinge_loss(x, t),
        )
    )
    t = labels > 0
    softmax, hinge = ours(
        jax.nn.one_hot(predicted, 3, dtype=jnp.float64), labels, np.where(predicted > 0, 1.0, -1.0),
        t,
    )  # fmt: skip
    for b in range(labels.shape[0]):
        p, t_ = predicted[b], labels[b]
        ious = [np.sum((p == c) & (t_ == c)) / np.sum((p == c) | (t_ == c)) for c in range(3)
                if np.any(t_ == c)]  # fmt: skip
        np.testing.assert_allclose(softmax[b], 1.0 - np.mean(ious), **TOL)
        pred = predicted[b] > 0
        union = np.sum(pred | t[b])
        iou = np.sum(pred & t[b]) / union if union else 1.0
        np.testing.assert_allclose(hinge[b], 2.0 * (1.0 - iou), **TOL)
    assert np.all(np.asarray(softmax) >= 0) and np.any(np.asarray(softmax) > 0)


def test_ignore_index_is_dropping_the_pixels_and_is_checked():
    """An ignored pixel is as if cropped out; labels out of range raise (eagerly and in
    checked mode) unless they equal `ignore_index`."""
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.standard_normal((1, 4, 6, 3)))
    y = jnp.asarray(rng.integers(0, 3, (1, 4, 6)))
    padded = y.at[:, :, 4:].set(IGNORE)

    @jax.jit
    def run(x, y, padded):
        return {
            "ignored": jl.lovasz_softmax_loss(x, padded, ignore_index=IGNORE),
            "cropped": jl.lovasz_softmax_loss(x[:, :, :4], y[:, :, :4]),
            "hinge ignored": jl.lovasz_hinge_loss(
                x[..., 0], jnp.where(padded == IGNORE, IGNORE, y % 2), ignore_index=IGNORE
            ),
            "hinge cropped": jl.lovasz_hinge_loss(x[:, :, :4, 0], y[:, :, :4] % 2),
        }

    out = run(x, y, padded)
    np.testing.assert_allclose(out["ignored"], out["cropped"], **TOL)
    np.testing.assert_allclose(out["hinge ignored"], out["hinge cropped"], **TOL)
    assert float(out["ignored"][0]) > 0 and float(out["hinge ignored"][0]) > 0
    with pytest.raises(ValueError, match="`targets` must hold class ids"):
        jl.lovasz_softmax_loss(x, padded)
    with pytest.raises(ValueError, match="`labels` must lie in"):
        jl.lovasz_hinge_loss(x[..., 0], padded)
    jl.lovasz_hinge_loss(x[..., 0], jnp.where(padded == IGNORE, IGNORE, y % 2), ignore_index=IGNORE)


def test_tied_errors_share_the_mean_of_their_weights():
    """Quantized probabilities tie many errors (and ignored pixels tie): the value is the
    authors' (the extension is continuous) and each pixel's gradient is the mean of the
    authors' weights over its block of equal (error, foreground) pixels."""
    rng = np.random.default_rng(5)
    probs = rng.integers(0, 4, (2, 6, 7, 3)).astype(np.float64) + 0.5
    probs /= probs.sum(-1, keepdims=True)
    labels = rng.integers(0, 3, (2, 6, 7))
    labels = np.where(rng.uniform(size=labels.shape) < 0.2, IGNORE, labels)
    value, grad = jax.jit(
        jax.value_and_grad(
            lambda p: jl.lovasz_softmax_loss(
                p, labels, activation=None, batch_dice=True, ignore_index=IGNORE
            )
        )
    )(probs)
    p, y = probs.reshape(-1, 3), labels.reshape(-1)
    kept = y != IGNORE
    want_grad, losses = np.zeros_like(p), []
    for c in range(3):
        fg = (y[kept] == c).astype(np.float64)
        errors = np.abs(fg - p[kept, c])
        loss, g = _extension(errors, fg)
        for e, t in set(zip(errors, fg, strict=True)):
            block = (errors == e) & (fg == t)
            g[block] = g[block].mean()
        losses.append(loss)
        want_grad[kept, c] = g * np.sign(p[kept, c] - fg) / 3
    assert len(set(np.round(np.abs(p - 0.5), 12).ravel())) < p.size // 4  # many ties
    np.testing.assert_allclose(value, np.mean(losses), **TOL)
    np.testing.assert_allclose(grad.reshape(-1, 3), want_grad, **TOL)


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family).
def sharded_checks() -> None:
    from jax.sharding import PartitionSpec as P

    jax.config.update("jax_enable_x64", True)
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((8, 3, 4, 3)))
    y = jnp.asarray(
        np.where(rng.uniform(size=(8, 3, 4)) < 0.2, IGNORE, rng.integers(0, 3, (8, 3, 4)))
    )
    configs = {
        "softmax": lambda x, y, **k: jl.lovasz_softmax_loss(x, y, ignore_index=IGNORE, **k),
        "softmax all": lambda x, y, **k: jl.lovasz_softmax_loss(
            x, y, ignore_index=IGNORE, classes="all", **k
        ),
        "hinge": lambda x, y, **k: jl.lovasz_hinge_loss(x[..., 0], y % 2, **k),
        "hinge ignore": lambda x, y, **k: jl.lovasz_hinge_loss(
            x[..., 0], jnp.where(y == IGNORE, y, y % 2), ignore_index=IGNORE, **k
        ),
    }

    @jax.jit
    def program(x, y):
        out = {}
        for name, fn in configs.items():
            one = functools.partial(fn, batch_dice=True, reduction="mean")
            many = jax.shard_map(
                functools.partial(one, axis_name="data"),
                mesh=mesh,
                in_specs=(P("data"), P("data")),
                out_specs=P(),
            )
            out[name] = (
                jax.value_and_grad(one)(x, y),
                jax.value_and_grad(many)(x, y),
            )
        return out

    # GSPMD: the same losses without axis_name, jitted on inputs split over the devices (on
    # CPU XLA runs the sort's numpy callback on one device with the gathered keys)
    @jax.jit
    def global_program(x, y):
        return {
            f"{name}, batch_dice={dice}": jax.value_and_grad(
                functools.partial(fn, batch_dice=dice, reduction="mean")
            )(x, y)
            for name, fn in configs.items()
            for dice in (False, True)
        }

    split = jax.sharding.NamedSharding(mesh, P("data"))
    placed = global_program(jax.device_put(x, split), jax.device_put(y, split))
    checked = 0
    for name, (want, got) in jax.device_get(program(x, y)).items():
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-15, err_msg=name)
        assert want[0] > 0 and np.any(want[1] != 0), name
        checked += 1
    for (name, (value, grad)), (_, (want, want_grad)) in zip(
        jax.device_get(placed).items(), jax.device_get(global_program(x, y)).items(), strict=True
    ):
        np.testing.assert_allclose(value, want, rtol=1e-12, err_msg=f"gspmd {name}")
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15, err_msg=f"gspmd {name}")
        checked += 1
    print(f"checked {checked} configurations")


def test_tie_block_paths_give_each_block_its_mean_weight():
    """The backward's two tie paths (equal-neighbour counts for blocks of at most
    `SHORT_BLOCK` keys, running extrema for any length) against a numpy loop over the
    blocks: each sorted position gets ``(J(hi) - J(lo)) / (hi - lo)`` of its block, blocks
    of every length up to 4 at both ends of the rows, and longer ones for the general path."""
    from jaxloss import lovasz

    rng = np.random.default_rng(3)
    lengths = [[1, 2, 1, 3, 4, 1, 2, 2, 1, 4], [4, 1, 1, 3, 2, 1, 1, 4, 2, 2]]
    short = np.stack([np.repeat(np.arange(10), row) for row in lengths]).astype(np.int32)
    long = short.copy()
    long[1, 3:12] = long[1, 3]  # a block of 9
    jaccard = np.sort(rng.uniform(size=short.shape), axis=-1)  # nondecreasing, as J is

    def reference(ordered):
        out = np.empty_like(jaccard)
        for r, row in enumerate(ordered):
            for key in np.unique(row):
                lo, hi = np.flatnonzero(row == key)[[0, -1]] + (0, 1)
                before = jaccard[r, lo - 1] if lo > 0 else 0.0
                out[r, lo:hi] = (jaccard[r, hi - 1] - before) / (hi - lo)
        return out

    assert short.shape[-1] == 21 and lovasz.SHORT_BLOCK == 4
    got = jax.jit(
        lambda s, g, j: (
            lovasz._short_tie_block_means(s, j),
            lovasz._tie_block_means(s, j),
            lovasz._tie_block_means(g, j),
        )
    )(short, long, jaccard)
    for value, keys in zip(got, (short, short, long), strict=True):
        np.testing.assert_allclose(value, reference(keys), rtol=1e-12, atol=1e-15)


def test_prefix_count_is_the_cumulative_sum():
    """The foreground count by blocks of triangular matmuls equals numpy's cumsum exactly, at
    row lengths below, at and above the block, not multiples of it."""
    from jaxloss import lovasz

    rng = np.random.default_rng(7)
    rows = {n: rng.integers(0, 2, (3, n)).astype(np.int32) for n in (1, 5, 128, 129, 1000)}
    got = jax.jit(lambda r: {n: lovasz._prefix_count(b) for n, b in r.items()})(rows)
    for n, bits in rows.items():
        np.testing.assert_array_equal(got[n], np.cumsum(bits, axis=-1), err_msg=str(n))
        assert got[n].dtype == np.int32
