"""Reference tests for jaxloss.contrastive (CLIP, SigLIP, InfoNCE, SupCon).

Oracles:

- open_clip's ``ClipLoss`` and ``SigLipLoss`` (PyPI ``open-clip-torch``, installed with
  ``--no-deps``: its package ``__init__`` imports torchvision and timm, which we do not
  install; ``open_clip/loss.py`` itself imports only torch, so it is loaded by file path),
  values and gradients with respect to the embeddings, the scale and the bias;
- pytorch-metric-learning's ``SupConLoss`` (the "out" form), values and gradients;
- each paper's formula written here in torch (autograd gives the reference gradients):
  Radford et al. 2021 with torch's label smoothing, Zhai et al. 2023, van den Oord et al.
  2018 with several positives and a bank, Khosla et al. 2020 (both forms).

Every jaxloss configuration of a test is computed in one jitted call (values and gradients
of the dense and blockwise forms), then compared. The cross-device checks (ring and gather
paths on 4 simulated devices, and plain jit with sharded inputs) run in one subprocess.
"""

from __future__ import annotations

import functools
import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import jaxloss

TOL = {"rtol": 1e-9, "atol": 1e-10}  # float64 against torch float64
METHODS = {"dense": {"method": "dense"}, "blockwise": {"method": "blockwise", "block_size": 3}}


def _open_clip_loss():
    """open_clip/loss.py loaded by path (its package __init__ needs torchvision and timm)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        # A reference that silently skips hides a broken install: `make install` provides it.
        pytest.fail("open-clip-torch is not installed (pip install --no-deps open-clip-torch)")
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "loss.py"
    module_spec = importlib.util.spec_from_file_location("open_clip_loss", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _t(x, grad=True):
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


def _torch_value_and_grads(fn, *arrays):
    """``fn(*tensors)`` and the gradients of its sum with respect to every input."""
    tensors = [_t(a) for a in arrays]
    out = fn(*tensors)
    out.sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]  # type: ignore[union-attr]


def _jax_value_and_grads(fn, *arrays):
    values, vjp = jax.vjp(fn, *arrays)
    return values, vjp(jnp.ones_like(values))


@pytest.fixture(scope="module")
def open_clip_loss():
    return _open_clip_loss()


@pytest.fixture(scope="module")
def paired():
    rng = np.random.default_rng(0)
    images, texts = rng.standard_normal((2, 7, 5))
    images /= np.linalg.norm(images, axis=-1, keepdims=True)
    texts /= np.linalg.norm(texts, axis=-1, keepdims=True)
    return images, texts, np.array(4.0), np.array(-2.0)


def _compare(actual, expected, name):
    values, grads = actual
    e_values, e_grads = expected
    np.testing.assert_allclose(values, e_values, err_msg=f"{name} value", **TOL)
    for i, (g, e) in enumerate(zip(grads, e_grads, strict=True)):
        np.testing.assert_allclose(g, e, err_msg=f"{name} gradient {i}", **TOL)


# CLIP and SigLIP -------------------------------------------------------------------------


def _clip_paper(images, texts, scale, bias, smoothing=0.0):
    """Radford et al.'s symmetric cross-entropy, torch's label smoothing, per pair."""
    logits = scale * images @ texts.T + bias
    labels = torch.arange(len(images))
    return 0.5 * (
        F.cross_entropy(logits, labels, reduction="none", label_smoothing=smoothing)
        + F.cross_entropy(logits.T, labels, reduction="none", label_smoothing=smoothing)
    )


def _siglip_paper(images, texts, scale, bias):
    """Zhai et al.'s loss, eq. (1) before the 1/|B|: per image, the sum over its texts."""
    logits = scale * images @ texts.T + bias
    z = 2 * torch.eye(len(images), dtype=logits.dtype) - 1
    return -F.logsigmoid(z * logits).sum(dim=1)


def test_clip_and_siglip_match_open_clip_and_the_papers(open_clip_loss, paired):
    images, texts, scale, bias = paired

    def configurations(kw, images, texts, scale, bias):
        clip = functools.partial(jaxloss.clip_loss, **kw)
        sig = functools.partial(jaxloss.sigmoid_contrastive_loss, **kw)
        both = (images, texts, scale, bias)
        return {
            "clip": _jax_value_and_grads(
                lambda i, t, s: clip(i, t, logit_scale=s, reduction="mean"), *both[:3]
            ),
            "clip_bias": _jax_value_and_grads(
                lambda i, t, s, b: clip(i, t, logit_scale=s, logit_bias=b, reduction="mean"), *both
            ),
            "clip_temperature": _jax_value_and_grads(
                lambda i, t, s: clip(i, t, temperature=1 / s), *both[:3]
            ),
            "clip_smoothing": _jax_value_and_grads(
                lambda i, t, s, b: clip(i, t, logit_scale=s, logit_bias=b, label_smoothing=0.2),
                *both,
            ),
            "siglip_mean": _jax_value_and_grads(
                lambda i, t, s, b: sig(i, t, logit_scale=s, logit_bias=b, reduction="mean"), *both
            ),
            "siglip": _jax_value_and_grads(
                lambda i, t, s, b: sig(i, t, logit_scale=s, logit_bias=b), *both
            ),
        }

    def ours(*args):
        return {name: configurations(kw, *args) for name, kw in METHODS.items()}

    got = jax.jit(ours)(images, texts, scale, bias)
    clip, siglip = open_clip_loss.ClipLoss(), open_clip_loss.SigLipLoss()
    expected = {
        "clip": _torch_value_and_grads(lambda i, t, s: clip(i, t, s), images, texts, scale),
        "clip_bias": _torch_value_and_grads(clip, images, texts, scale, bias),
        "clip_temperature": _torch_value_and_grads(
            lambda i, t, s: _clip_paper(i, t, s, 0.0), images, texts, scale
        ),
        "clip_smoothing": _torch_value_and_grads(
            lambda i, t, s, b: _clip_paper(i, t, s, b, 0.2), images, texts, scale, bias
        ),
        "siglip_mean": _torch_value_and_grads(siglip, images, texts, scale, bias),
        "siglip": _torch_value_and_grads(_siglip_paper, images, texts, scale, bias),
    }
    # The paper's formula and open_clip agree (so each oracle checks the other).
    paper = _torch_value_and_grads(lambda *a: _clip_paper(*a).mean(), images, texts, scale, bias)
    _compare(paper, expected["clip_bias"], "paper vs open_clip")
    for method, results in got.items():
        for name, value in results.items():
            _compare(value, expected[name], f"{method} {name}")


def test_clip_at_open_clips_clamp_and_masked_padding(open_clip_loss, paired):
    """At logit scale 100 (open_clip's clamp) and with NaN padding removed by `where`."""
    images, texts, _, bias = paired
    pad = np.full((2, images.shape[1]), np.nan)
    where = np.array([True] * len(images) + [False, False])
    full_images, full_texts = np.concatenate([images, pad]), np.concatenate([texts, pad])

    def ours(images, texts, scale, bias):
        return {
            name: _jax_value_and_grads(
                lambda i, t, s, b, kw=kw: jaxloss.clip_loss(
                    i, t, logit_scale=s, logit_bias=b, where=where, reduction="sum", **kw
                ),
                images,
                texts,
                scale,
                bias,
            )
            for name, kw in METHODS.items()
        }

    got = jax.jit(ours)(full_images, full_texts, np.array(100.0), bias)
    values, grads = _torch_value_and_grads(
        lambda i, t, s, b: len(images) * open_clip_loss.ClipLoss()(i, t, s, b),
        images,
        texts,
        np.array(100.0),
        bias,
    )
    for name, (value, (gi, gt, gs, gb)) in got.items():
        np.testing.assert_allclose(value, values, err_msg=name, **TOL)
        np.testing.assert_allclose(gi[: len(images)], grads[0], err_msg=name, **TOL)
        np.testing.assert_allclose(gt[: len(images)], grads[1], err_msg=name, **TOL)
        assert np.all(gi[len(images) :] == 0) and np.all(gt[len(images) :] == 0)
        np.testing.assert_allclose([gs, gb], grads[2:], err_msg=name, **TOL)


# InfoNCE and SupCon -----------------------------------------------------------------------


def _infonce_paper(queries, keys, bank, positives, temperature):
    """van den Oord et al.'s InfoNCE, every positive against all keys and the bank."""
    logits = torch.cat([queries @ keys.T, queries @ bank.T], dim=1) / temperature
    log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = torch.cat([positives, torch.zeros(len(queries), len(bank), dtype=torch.bool)], 1)
    count = pos.sum(1)
    per_query = -(log_p * pos).sum(1) / count.clamp(min=1)
    return torch.where(count > 0, per_query, 0.0)


def _supcon_paper(embeddings, labels, temperature, form):
    """Khosla et al.'s L_out (eq. 2) and L_in (eq. 3), per anchor; 0 without positives."""
    u = F.normalize(embeddings, dim=1)
    logits = u @ u.T / temperature
    n = len(labels)
    others = ~torch.eye(n, dtype=torch.bool)
    pos = (labels[:, None] == labels[None, :]) & others
    log_p = logits - torch.logsumexp(logits.masked_fill(~others, -torch.inf), 1, keepdim=True)
    count = pos.sum(1).clamp(min=1).to(logits.dtype)
    if form == "out":
        per_anchor = -(log_p * pos).sum(1) / count
    else:
        per_anchor = -torch.logsumexp(log_p.masked_fill(~pos, -torch.inf), 1) + count.log()
    return torch.where(pos.any(1), per_anchor, 0.0)


def test_infonce_and_supcon_match_the_papers_and_pytorch_metric_learning():
    from pytorch_metric_learning.losses import SupConLoss

    rng = np.random.default_rng(1)
    queries, keys = rng.standard_normal((2, 7, 4))
    bank = rng.standard_normal((5, 4))
    positives = rng.random((7, 7)) < 0.3
    positives[np.arange(7), np.arange(7)] = True
    positives[3] = False  # a query without a positive
    embeddings = rng.standard_normal((9, 4))
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 3])  # anchor 8 has no positive

    def configurations(kw, queries, keys, bank, embeddings):
        info = functools.partial(jaxloss.infonce_loss, temperature=0.5, **kw)
        sup = functools.partial(jaxloss.supervised_contrastive_loss, temperature=0.3, **kw)
        return {
            "infonce": _jax_value_and_grads(info, queries, keys),
            "infonce_bank": _jax_value_and_grads(
                lambda q, k, n: info(q, k, positives=positives, negatives=n), queries, keys, bank
            ),
            "supcon_out": _jax_value_and_grads(lambda e: sup(e, labels), embeddings),
            "supcon_in": _jax_value_and_grads(lambda e: sup(e, labels, form="in"), embeddings),
            "supcon_mean": _jax_value_and_grads(
                lambda e: sup(e, labels, reduction="mean"), embeddings
            ),
        }

    def ours(*args):
        return {name: configurations(kw, *args) for name, kw in METHODS.items()}

    got = jax.jit(ours)(queries, keys, bank, embeddings)
    eye = torch.eye(7, dtype=torch.bool)
    no_bank = np.zeros((0, 4))
    y = torch.from_numpy(labels)
    expected = {
        "infonce": _torch_value_and_grads(
            lambda q, k: _infonce_paper(q, k, _t(no_bank, False), eye, 0.5), queries, keys
        ),
        "infonce_bank": _torch_value_and_grads(
            lambda q, k, n: _infonce_paper(q, k, n, torch.from_numpy(positives), 0.5),
            queries,
            keys,
            bank,
        ),
        "supcon_out": _torch_value_and_grads(lambda e: _supcon_paper(e, y, 0.3, "out"), embeddings),
        "supcon_in": _torch_value_and_grads(lambda e: _supcon_paper(e, y, 0.3, "in"), embeddings),
        "supcon_mean": _torch_value_and_grads(
            lambda e: SupConLoss(temperature=0.3)(e, y), embeddings
        ),
    }
    # pytorch-metric-learning adds 1e-16 to the positive count; the paper's mean over the
    # anchors with positives is the same to ~1e-16 relative.
    paper_mean = _torch_value_and_grads(
        lambda e: _supcon_paper(e, y, 0.3, "out").sum() / 8, embeddings
    )
    _compare(paper_mean, expected["supcon_mean"], "paper vs pytorch-metric-learning")
    for method, results in got.items():
        for name, value in results.items():
            _compare(value, expected[name], f"{method} {name}")
    assert float(got["dense"]["supcon_out"][0][8]) == 0.0


def test_blockwise_ntxent_matches_optax():
    """`ntxent(method="blockwise")` (two passes, custom VJP) against optax's dense ntxent,
    values and gradients, with a class without negatives elsewhere in the batch."""
    import optax

    rng = np.random.default_rng(4)
    embeddings = rng.standard_normal((10, 4))
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 0, 3, 1])

    def ours(e):
        return jax.value_and_grad(
            lambda e: jaxloss.ntxent(e, labels, 0.3, method="blockwise", block_size=3)
        )(e)

    def reference(e):
        return jax.value_and_grad(lambda e: optax.losses.ntxent(e, labels, 0.3))(e)

    (value, grad), (e_value, e_grad) = jax.jit(ours)(embeddings), jax.jit(reference)(embeddings)
    np.testing.assert_allclose(value, e_value, **TOL)
    np.testing.assert_allclose(grad, e_grad, **TOL)


def test_removed_examples_equal_the_smaller_batch():
    """`where` removes an example entirely: the loss of the other examples is that of the
    batch without it, for every loss and both single-device methods (one compile)."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 6, 3))
    x[2], y[2] = np.nan, np.inf
    keep = np.array([True, True, False, True, True, True])
    labels = np.array([0, 1, 0, 1, 0, 1])
    fns = {
        "clip": lambda a, b, **k: jaxloss.clip_loss(
            a, b, logit_scale=3.0, label_smoothing=0.1, **k
        ),
        "siglip": lambda a, b, **k: jaxloss.sigmoid_contrastive_loss(
            a, b, logit_scale=3.0, logit_bias=-1.0, **k
        ),
        "infonce": lambda a, b, **k: jaxloss.infonce_loss(a, b, temperature=0.5, **k),
        "supcon": lambda a, b, **k: jaxloss.supervised_contrastive_loss(a, labels, **k),
    }
    small = {"supcon": lambda a, b, **k: jaxloss.supervised_contrastive_loss(a, labels[keep], **k)}

    def both(x, y):
        masked = {
            (n, m): f(x, y, where=keep, **kw) for n, f in fns.items() for m, kw in METHODS.items()
        }
        alone = {n: small.get(n, f)(x[keep], y[keep]) for n, f in fns.items()}
        return masked, alone

    masked, alone = jax.jit(both)(x, y)
    for (name, method), value in masked.items():
        assert value[2] == 0.0, (name, method)
        np.testing.assert_allclose(value[keep], alone[name], err_msg=f"{name} {method}", **TOL)


# Memory ---------------------------------------------------------------------------------


def test_blockwise_temporary_memory_is_linear_in_the_batch():
    """At B = 4096 the dense form needs a B x B float32 matrix; blockwise O(B x block)."""
    b, d, block = 4096, 32, 256
    spec = jax.ShapeDtypeStruct((b, d), jnp.float32)
    scale = jax.ShapeDtypeStruct((), jnp.float32)

    def temp_bytes(method):
        def step(x, y, s):
            loss = functools.partial(
                jaxloss.clip_loss, reduction="mean", method=method, block_size=block
            )
            return jax.value_and_grad(lambda *a: loss(a[0], a[1], logit_scale=a[2]), (0, 1, 2))(
                x, y, s
            )

        compiled = jax.jit(step).lower(spec, spec, scale).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    dense, blockwise = temp_bytes("dense"), temp_bytes("blockwise")
    square = b * b * 4
    assert dense >= square, dense
    # A few [B, block] float32 tiles (logits, their exponentials, the cotangent), 1/7 of B^2.
    assert blockwise <= 3 * b * block * 4 <= square / 5, (blockwise, square)


# Across devices -------------------------------------------------------------------------


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family)
# and with 8 by tests/test_embeddings_sharded.py.
def sharded_checks() -> None:
    """In a subprocess with 4 or 8 CPU devices: every loss inside ``shard_map`` (ring and the
    gather path) and under plain ``jit`` with sharded inputs equals the dense loss on the
    global batch, the mean, the local values and every gradient."""
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    jax.config.update("jax_enable_x64", True)
    devices = jax.device_count()  # 4 (tests/test_axis_name.py) and 8 (test_embeddings_sharded)
    assert devices in (4, 8), jax.devices()
    mesh = jax.make_mesh((devices,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(3)
    b = 16
    x, y = rng.standard_normal((2, b, 5))
    positives = rng.random((b, b)) < 0.25
    bank = rng.standard_normal((3, 5))
    labels = np.arange(b) % 3
    weights = rng.uniform(0.5, 2.0, b)
    scale, bias = np.array(2.0), np.array(-1.0)

    # Each: (loss of (x, y, scale, bias, per-example arrays, **options), its per-example args)
    losses = {
        "clip": lambda x, y, s, b_, w, **k: jaxloss.clip_loss(
            x, y, logit_scale=s, logit_bias=b_, label_smoothing=0.1, weights=w, **k
        ),
        "siglip": lambda x, y, s, b_, w, **k: jaxloss.sigmoid_contrastive_loss(
            x, y, logit_scale=s, logit_bias=b_, weights=w, **k
        ),
        "infonce": lambda x, y, s, b_, w, pos, bank, **k: jaxloss.infonce_loss(
            x, y * s, positives=pos, negatives=bank * b_, temperature=0.5, weights=w, **k
        ),
        "supcon": lambda x, y, s, b_, w, lab, **k: jaxloss.supervised_contrastive_loss(
            x * s + y * b_, lab, temperature=0.5, weights=w, **k
        ),
        "ntxent": lambda x, y, s, b_, w, lab, reduction="none", **k: jaxloss.ntxent(
            x * s + y * b_, lab, 0.5, weights=w, reduction=reduction, **k
        ),
    }
    extra = {"infonce": (positives, bank), "supcon": (labels,), "ntxent": (labels,)}
    extra_specs = {"infonce": (P("data"), P()), "supcon": (P("data"),), "ntxent": (P("data"),)}
    paths = {
        "ring": {"method": "ring", "block_size": 2},
        "gather": {"method": "dense"},
    }

    def mean_and_grads(fn, *args, **kw):
        def mean(*diff):
            return fn(*diff, *args[4:], reduction="mean", **kw)

        return jax.value_and_grad(mean, argnums=(0, 1, 2, 3))(*args[:4])

    checked = 0
    for name, fn in losses.items():
        args = (x, y, scale, bias, weights, *extra.get(name, ()))
        expected = jax.jit(lambda *a, fn=fn: (mean_and_grads(fn, *a), fn(*a)))(*args)
        specs = (P("data"), P("data"), P(), P(), P("data"), *extra_specs.get(name, ()))
        for path, kw in paths.items():

            def body(*a, fn=fn, kw=kw):
                return mean_and_grads(fn, *a, axis_name="data", **kw), fn(
                    *a, axis_name="data", **kw
                )

            out_specs = ((P(), (P("data"), P("data"), P(), P())), P("data"))
            sharded = jax.shard_map(body, mesh=mesh, in_specs=specs, out_specs=out_specs)
            got = jax.jit(sharded)(*args)
            jax.tree.map(
                lambda a, e, n=name, p=path: np.testing.assert_allclose(
                    a, e, rtol=1e-9, atol=1e-11, err_msg=f"{n} {p}"
                ),
                got,
                expected,
            )
        # GSPMD: plain jit of the single-device loss with the batch sharded over devices.
        shard = NamedSharding(mesh, P("data"))
        placed = [
            jax.device_put(a, shard) if s == P("data") else a
            for a, s in zip(args, specs, strict=True)
        ]
        got = jax.jit(lambda *a, fn=fn: (mean_and_grads(fn, *a), fn(*a)))(*placed)
        jax.tree.map(
            lambda a, e, n=name: np.testing.assert_allclose(
                a, e, rtol=1e-9, atol=1e-11, err_msg=f"{n} GSPMD"
            ),
            got,
            expected,
        )
        checked += 1
    print(f"checked {checked} losses x {len(paths)} paths on {devices} devices")
