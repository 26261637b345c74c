"""Reference tests for jaxloss.hinges against torch.nn.functional (torch==2.13.0, CPU), and the
README/docs table that maps every torch.nn.functional loss to its jaxloss name.

Oracles: ``torch.nn.functional.margin_ranking_loss``, ``hinge_embedding_loss``,
``soft_margin_loss``, ``multilabel_soft_margin_loss``, ``multilabel_margin_loss`` and
``multi_margin_loss`` and their autograd, in float64, on random inputs with the hinges' kinks
placed exactly (torch's derivative there is part of the contract). All jaxloss values and
gradients come from one jitted call.
"""

from __future__ import annotations

import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(1616)
N, C = 6, 5

X1 = RNG.standard_normal(N)
X2 = RNG.standard_normal(N)
SIGNS = np.array([1, -1, 1, -1, 1, -1])
X1[0], X2[0] = 0.5, 0.0  # -y (x1 - x2) + 0.5 == 0: the kink of margin 0.5
DIST = np.abs(RNG.standard_normal(N))
DIST[1] = 1.0  # margin - x == 0 for a dissimilar pair (y = -1)
SCORES = RNG.standard_normal((N, C))
SCORES[0, :3] = [1.0, 0.0, 0.5]  # margin - x_y + x_1 == 0 for label 0
MULTI_HOT = (RNG.random((N, C)) < 0.4).astype(np.float64)
MULTI_HOT[1] = RNG.random(C)  # soft targets
CLASS_W = RNG.uniform(0.5, 2.0, C)
LABELS = np.array([0, 4, 2, 1, 3, 0])
TARGET_LISTS = np.array(
    [
        [0, -1, 3, 3, 3],  # one target, garbage after the end
        [4, 1, 1, -1, 0],  # a repeated id counts twice
        [2, 0, 1, 3, 4],  # every class a target: loss 0
        [-1, 2, 2, 2, 2],  # no target
        [3, 4, -1, -1, -1],
        [1, -1, -1, -1, -1],
    ]
)


def _case(name, torch_fn, ours_fn, arrays, wrt):
    return name, torch_fn, ours_fn, arrays, wrt


CASES = [
    _case(
        "margin_ranking",
        lambda a, b: F.margin_ranking_loss(
            a, b, torch.tensor(SIGNS * 1.0), margin=0.5, reduction="none"
        ),
        lambda a, b: jaxloss.margin_ranking_loss(a, b, jnp.asarray(SIGNS), margin=0.5),
        (X1, X2),
        (0, 1),
    ),
    _case(
        "hinge_embedding",
        lambda d: F.hinge_embedding_loss(d, torch.tensor(SIGNS * 1.0), reduction="none"),
        lambda d: jaxloss.hinge_embedding_loss(d, jnp.asarray(SIGNS)),
        (DIST,),
        (0,),
    ),
    _case(
        "hinge_embedding_margin",
        lambda d: F.hinge_embedding_loss(
            d, torch.tensor(-SIGNS * 1.0), margin=0.3, reduction="sum"
        ),
        lambda d: jaxloss.hinge_embedding_loss(d, jnp.asarray(-SIGNS), margin=0.3, reduction="sum"),
        (DIST,),
        (0,),
    ),
    _case(
        "soft_margin",
        lambda x: F.soft_margin_loss(
            x, torch.tensor(SIGNS[:, None] * np.ones(C)), reduction="none"
        ),
        lambda x: jaxloss.soft_margin_loss(x, jnp.asarray(SIGNS[:, None] * np.ones(C, int))),
        (SCORES,),
        (0,),
    ),
    _case(
        "multilabel_soft_margin",
        lambda x: F.multilabel_soft_margin_loss(x, torch.tensor(MULTI_HOT), reduction="none"),
        lambda x: jaxloss.multilabel_soft_margin_loss(x, jnp.asarray(MULTI_HOT)),
        (SCORES,),
        (0,),
    ),
    _case(
        "multilabel_soft_margin_weighted_mean",
        lambda x: F.multilabel_soft_margin_loss(
            x, torch.tensor(MULTI_HOT), weight=torch.tensor(CLASS_W), reduction="mean"
        ),
        lambda x: jaxloss.multilabel_soft_margin_loss(
            x, jnp.asarray(MULTI_HOT), class_weights=jnp.asarray(CLASS_W), reduction="mean"
        ),
        (SCORES,),
        (0,),
    ),
    _case(
        "multilabel_margin",
        lambda x: F.multilabel_margin_loss(x, torch.tensor(TARGET_LISTS), reduction="none"),
        lambda x: jaxloss.multilabel_margin_loss(x, jnp.asarray(TARGET_LISTS)),
        (SCORES,),
        (0,),
    ),
    _case(
        "multi_margin",
        lambda x: F.multi_margin_loss(x, torch.tensor(LABELS), reduction="none"),
        lambda x: jaxloss.multi_margin_loss(x, jnp.asarray(LABELS)),
        (SCORES,),
        (0,),
    ),
    _case(
        "multi_margin_p2_weighted_mean",
        lambda x: F.multi_margin_loss(
            x, torch.tensor(LABELS), p=2, margin=0.7, weight=torch.tensor(CLASS_W)
        ),
        lambda x: jaxloss.multi_margin_loss(
            x,
            jnp.asarray(LABELS),
            p=2,
            margin=0.7,
            class_weights=jnp.asarray(CLASS_W),
            reduction="mean",
        ),
        (SCORES,),
        (0,),
    ),
    _case(
        "multi_margin_weighted_sum",
        lambda x: F.multi_margin_loss(
            x, torch.tensor(LABELS), weight=torch.tensor(CLASS_W), reduction="sum"
        ),
        lambda x: jaxloss.multi_margin_loss(
            x, jnp.asarray(LABELS), class_weights=jnp.asarray(CLASS_W), reduction="sum"
        ),
        (SCORES,),
        (0,),
    ),
]


@pytest.fixture(scope="module")
def ours():
    def run(arrays_per_case):
        out = {}
        for (name, _, fn, _, wrt), arrays in zip(CASES, arrays_per_case, strict=True):

            def total(*a, fn=fn):
                return jnp.sum(fn(*a))

            out[name] = (fn(*arrays), jax.grad(total, argnums=wrt)(*arrays))
        return out

    return jax.jit(run)([tuple(jnp.asarray(a) for a in c[3]) for c in CASES])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_equals_torch_values_and_gradients(ours, case):
    name, torch_fn, _, arrays, wrt = case
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = torch_fn(*tensors)
    expected.sum().backward()
    value, grads = ours[name]
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for i, g in zip(wrt, grads, strict=True):
        np.testing.assert_allclose(g, tensors[i].grad.numpy(), rtol=1e-12, atol=1e-12)


def test_soft_margin_is_finite_where_torch_overflows():
    x, y = jnp.array([-100.0], jnp.float32), jnp.array([1])
    torch_value = F.soft_margin_loss(torch.tensor([-100.0]), torch.tensor([1.0]), reduction="none")
    assert torch.isinf(torch_value).all()
    np.testing.assert_allclose(jaxloss.soft_margin_loss(x, y), [100.0])


def test_bad_labels_raise_when_concrete_and_give_nan_under_jit():
    with pytest.raises(ValueError, match="`labels`"):
        jaxloss.margin_ranking_loss(jnp.zeros(2), jnp.zeros(2), jnp.array([1, 0]))
    with pytest.raises(ValueError, match="`labels`"):
        jaxloss.multilabel_margin_loss(jnp.zeros((1, 3)), jnp.array([[0, 3, -1]]))
    bad = jax.jit(jaxloss.multi_margin_loss)(jnp.zeros((2, 3)), jnp.array([1, 3]))
    assert bad[0] == pytest.approx(2.0 / 3.0) and np.isnan(bad[1])
    bad = jax.jit(jaxloss.multilabel_margin_loss)(
        jnp.zeros((2, 3)), jnp.array([[0, -1, 7], [5, 0, 0]])
    )
    assert bad[0] == pytest.approx(2.0 / 3.0) and np.isnan(bad[1])


# The torch.nn.functional table -------------------------------------------------------------

TORCH_LOSSES = sorted(
    n
    for n in dir(F)
    if n.endswith("_loss")
    or n in {"kl_div", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits"}
)


def _table_rows(text: str, start: str, end: str) -> dict[str, list[str]]:
    section = text.split(start, 1)[1].split(end, 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`(\w+)`", cells[0]) if len(cells) >= 3 else None
        if name:
            rows[name.group(1)] = re.findall(r"`(\w+)`", cells[1])
    return rows


def test_every_torch_loss_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    rows = _table_rows(readme, "## From torch.nn.functional", "\n## ")
    assert len(TORCH_LOSSES) >= 21, TORCH_LOSSES
    missing = [n for n in TORCH_LOSSES if n not in rows]
    assert not missing, f"torch.nn.functional losses missing from README's table: {missing}"
    for torch_name, ours in rows.items():
        assert hasattr(F, torch_name), f"{torch_name} is not in torch.nn.functional"
        assert ours, f"{torch_name}: no jaxloss name"
        unknown = [n for n in ours if n not in jaxloss.__all__]
        assert not unknown, f"{torch_name}: not public jaxloss names: {unknown}"


def test_docs_include_the_torch_table():
    docs = (ROOT / "docs" / "differences.md").read_text()
    assert ':start-after: "## From torch.nn.functional"' in docs
