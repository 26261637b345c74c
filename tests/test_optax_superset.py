"""jaxloss is a superset of optax.losses: every name, a compatible signature, the same values.

Generic over `optax.losses`: a name that lands in jaxloss later (distances, embeddings,
segmentation) is covered by its registry Case with no change here. Inputs come from the
registry (`tests/registry`), so each function is compared with optax on the inputs its own
contract tests use; options that optax does not have are left out of both calls.
"""

from __future__ import annotations

import inspect
import itertools
import pathlib
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxloss
from jaxloss import optax_reexports
from tests.compile_helpers import backend_compiles
from tests.registry import all_cases

OPTAX_NAMES = sorted(
    n for n in dir(optax.losses) if not n.startswith("_") and callable(getattr(optax.losses, n))
)
CASES = {c.name: c for c in all_cases()}
README = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()

# Where a value comparison with optax is not meaningful, and why; each name is also in the
# README "Differences from optax" table (checked below).
NOT_COMPARED = {
    # A factory: its Case builds the loss with logsumexp; compared explicitly below.
    "make_fenchel_young_loss": "factory",
}
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _positional(sig):
    return [(p.name, p.default) for p in sig.parameters.values() if p.kind in POSITIONAL]


def _keyword_only(sig):
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_optax_has_losses_to_compare():
    assert len(OPTAX_NAMES) >= 30


@pytest.mark.parametrize("name", OPTAX_NAMES)
def test_name_is_public_in_jaxloss(name):
    assert name in jaxloss.__all__, f"optax.losses.{name} is missing from jaxloss"


@pytest.mark.parametrize("name", OPTAX_NAMES)
def test_signature_is_compatible(name):
    ours = inspect.signature(getattr(jaxloss, name))
    theirs = inspect.signature(getattr(optax.losses, name))
    assert _positional(ours) == _positional(theirs), name
    ours_kw = _keyword_only(ours)
    for key, default in _keyword_only(theirs).items():
        assert key in ours_kw, f"{name}: keyword `{key}` of optax is missing"
        assert ours_kw[key] is default or ours_kw[key] == default, f"{name}: default of {key}"
    extra = [
        p.name
        for p in ours.parameters.values()
        if p.name not in theirs.parameters and p.kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    assert not extra, f"{name}: parameters beyond optax's must be keyword-only: {extra}"


@pytest.mark.parametrize("name", optax_reexports.__all__)
def test_reexports_are_optax_with_its_exact_signature(name):
    ours = getattr(jaxloss, name)
    assert ours.__wrapped__ is getattr(optax.losses, name)
    assert inspect.signature(ours) == inspect.signature(getattr(optax.losses, name))
    assert f"optax.losses.{name}" in ours.__doc__


COMPARED = [n for n in OPTAX_NAMES if n not in NOT_COMPARED]


@pytest.mark.parametrize("batch", [(1,), (5,)], ids=str)
@pytest.mark.parametrize("name", COMPARED)
def test_values_agree_with_optax(name, batch):
    case = CASES[name]
    ours, theirs = getattr(jaxloss, name), getattr(optax.losses, name)
    accepted = inspect.signature(theirs).parameters
    calls = [case.make(np.random.default_rng(seed), batch, jnp.float64) for seed in range(3)]
    kwargs = [{k: v for k, v in call.kwargs.items() if k in accepted} for call in calls]

    @jax.jit  # one program: ours and optax's for the three seeds
    def program(args):
        out = []
        for a, kw in zip(args, kwargs, strict=True):
            # optax relies on implicit rank promotion in places (generalized dice), which the
            # suite otherwise forbids (only optax's call allows it); optax's convex_kl alias
            # warns.
            with warnings.catch_warnings(), jax.numpy_rank_promotion("allow"):
                warnings.simplefilter("ignore", DeprecationWarning)
                expected = theirs(*a, **kw)
            out.append((ours(*a, **kw), expected))
        return out

    for actual, expected in program([call.args for call in calls]):
        for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
            # Where optax is not finite it is not correct: we are finite there instead.
            e = np.asarray(e)
            assert np.all(np.isfinite(np.asarray(a)))
            ok = np.isfinite(e)
            np.testing.assert_allclose(np.asarray(a)[ok], e[ok], rtol=1e-5, atol=1e-6)


def test_fenchel_young_factory_agrees_with_optax():
    scores = np.random.default_rng(0).standard_normal((4, 6))
    max_funs = (jax.scipy.special.logsumexp, lambda s: jnp.max(s))

    @jax.jit  # one program: ours and optax's for both max functions
    def program(scores):
        targets = jax.nn.softmax(scores[::-1])
        return [
            (
                jaxloss.make_fenchel_young_loss(max_fun)(scores, targets),
                optax.losses.make_fenchel_young_loss(max_fun)(scores, targets),
            )
            for max_fun in max_funs
        ]

    for ours, theirs in program(scores):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _ctc_brute_force(logp, labels):
    """-log p(labels) summed over all alignments (Graves et al. 2006, eq. 2-3), blank = 0.

    `logp`: the frames' log-probabilities, ``jax.nn.log_softmax(logits, axis=-1)``.
    """
    logp = np.asarray(logp)
    frames, classes = logp.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=frames):
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])]
        if collapsed == list(labels):
            total += np.exp(sum(logp[t, c] for t, c in enumerate(path)))
    return -np.log(total)


def test_ctc_matches_brute_force_and_forward_probs():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 5, 3))
    labels = np.asarray([[1, 2], [1, 1], [2, 1]])
    pads = (np.zeros((3, 5)), labels, np.zeros((3, 2)))

    @jax.jit  # one program: both CTC functions and the log-softmax of the brute force
    def program(logits, *pads):
        return (
            jaxloss.ctc_loss(logits, *pads),
            jaxloss.ctc_loss_with_forward_probs(logits, *pads),
            jax.nn.log_softmax(logits, axis=-1),
        )

    loss, (with_probs, blank, _), logp = jax.tree.map(np.asarray, program(logits, *pads))
    expected = [_ctc_brute_force(logp[b], labels[b]) for b in range(3)]
    np.testing.assert_allclose(loss, expected, rtol=1e-10)
    np.testing.assert_allclose(with_probs, loss, rtol=1e-12)
    # The loss is the forward probability of the final blank state after the whole sequence.
    np.testing.assert_allclose(-blank[-1, :, 2], loss, rtol=1e-12)


def test_every_reexport_is_registered_and_documented_as_optax():
    for name in optax_reexports.__all__:
        assert name in CASES
        assert re.search(rf"^\|\s*`{name}`.*optax", README, re.M), name


def test_not_compared_names_are_in_the_differences_table():
    table = README.split("## Differences from optax", 1)[1].split("\n## ", 1)[0]
    for name in NOT_COMPARED:
        assert f"`{name}`" in table, name


def test_eager_reexports_compile_one_program():
    """Called eagerly, a re-export runs optax's code as one compiled program, not op by op
    (optax's CTC losses compiled for over 1 s on their first eager call): at shapes no other
    test uses, the first call compiles once and an equal call compiles nothing."""
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(3, 11, 6)), jnp.float32)
    pads = jnp.zeros((3, 11), jnp.float32), jnp.zeros((3, 4), jnp.float32)
    labels = jnp.asarray(rng.integers(1, 6, size=(3, 4)), jnp.int32)
    scores = jnp.asarray(rng.normal(size=(3, 13)), jnp.float32)
    classes = jnp.asarray([0, 5, 12], jnp.int32)
    calls = {
        "ctc_loss": lambda: jaxloss.ctc_loss(logits, pads[0], labels, pads[1]),
        "ctc_loss_with_forward_probs": lambda: jaxloss.ctc_loss_with_forward_probs(
            logits, pads[0], labels, pads[1], blank_id=0
        ),
        "multiclass_sparsemax_loss": lambda: jaxloss.multiclass_sparsemax_loss(scores, classes),
    }
    for name, call in calls.items():
        with backend_compiles() as compiles:
            jax.block_until_ready(call())
            first = len(compiles)
            jax.block_until_ready(call())
        assert (first, len(compiles)) == (1, 1), (name, first, len(compiles))
