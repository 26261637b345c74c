"""The opt-in checked mode (CONTRIBUTING.md, section 7): free when off, raising when on.

Each family's tests check its own data conditions (which argument, which values). Here, over
the whole registry: every function whose traced program contains a data check compiles, with
the checks off (the default), to the same XLA program as with the checks stripped at trace
time, and gives the same values under ``checkify`` on valid data.
"""

from __future__ import annotations

import collections
import functools
import re

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import jaxloss
from bench.checked_mode import checks_stripped
from tests.registry import Case, all_cases


def _has_check(jaxpr) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "check":
            return True
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            if _has_check(sub):
                return True
    return False


def _call(case: Case):
    call = case.make(np.random.default_rng(0), (3,), jnp.float32)
    return functools.partial(case.function, **call.kwargs), call.args


# The functions whose traced program holds a data check. Declared rather than traced at
# collection, which every pytest worker repeats (about 10 s each); the first test below traces
# every registered function once and fails, naming it, when this list is out of date.
CHECKED_NAMES = frozenset(
    {
        "arcface_loss",
        "bhattacharyya_distance",
        "binary_cross_entropy",
        "binary_dice_loss",
        "contrastive_loss",
        "convex_kl_divergence",
        "cosface_loss",
        "cosine_embedding_loss",
        "cross_entropy",
        "dice_bce_loss",
        "dice_coefficient",
        "dice_cross_entropy_loss",
        "dice_focal_loss",
        "dice_loss",
        "entropy",
        "focal_tversky_loss",
        "fused_linear_cross_entropy",
        "gamma_deviance",
        "gaussian_crps",
        "gaussian_nll_loss",
        "general_robust_loss",
        "generalized_dice_loss",
        "generalized_js_divergence",
        "generalized_kl_divergence",
        "hausdorff_dt_loss",
        "hellinger_distance",
        "hinge_embedding_loss",
        "iou_loss",
        "js_divergence",
        "kl_divergence",
        "lovasz_hinge_loss",
        "lovasz_softmax_loss",
        "margin_loss",
        "margin_ranking_loss",
        "multi_margin_loss",
        "multiclass_generalized_dice_loss",
        "multilabel_margin_loss",
        "multilabel_soft_margin_loss",
        "mutual_information",
        "mutual_information_from_joint",
        "nll_loss",
        "normalized_mutual_information",
        "normalized_softmax_loss",
        "poisson_deviance",
        "poisson_nll_loss",
        "proxy_anchor_loss",
        "proxy_nca_loss",
        "renyi_divergence",
        "sigmoid_binary_cross_entropy",
        "sigmoid_focal_loss",
        "soft_cldice_loss",
        "soft_dice_cldice_loss",
        "soft_margin_loss",
        "soft_triple_loss",
        "softmax_cross_entropy_with_integer_labels",
        "softmax_focal_loss",
        "sphereface_loss",
        "student_t_nll",
        "subcenter_arcface_loss",
        "total_variation_distance",
        "tversky_loss",
        "tweedie_deviance",
        "wasserstein_distance",
    }
)
CHECKED = [case for case in all_cases() if case.name in CHECKED_NAMES]


def _op_counts(compiled) -> collections.Counter:
    """The multiset of (result type, opcode) of every instruction: the program's structure,
    blind to instruction names and source metadata."""
    text = compiled.as_text()
    return collections.Counter(re.findall(r"=\s+(\S+)\s+([a-z][a-z0-9\-]*)\(", text))


def test_checked_names_are_the_functions_whose_programs_check_data():
    traced = set()
    for case in all_cases():
        fn, args = _call(case)
        if _has_check(jax.make_jaxpr(fn)(*args).jaxpr):
            traced.add(case.name)
    assert traced == CHECKED_NAMES, (
        f"data checks but not in CHECKED_NAMES: {sorted(traced - CHECKED_NAMES)}; "
        f"in CHECKED_NAMES without a data check: {sorted(CHECKED_NAMES - traced)}"
    )
    assert {"softmax_cross_entropy_with_integer_labels", "mutual_information"} <= traced


@pytest.mark.parametrize("case", CHECKED, ids=[c.name for c in CHECKED])
def test_checks_off_compile_to_the_program_without_checks(case: Case):
    fn, args = _call(case)
    default = jax.jit(fn).lower(*args).compile()
    # `checks_stripped` traces the private jitted kernels again (see there), without
    # `jax.clear_caches()`, which would make every later test of this worker compile again what
    # it shares with earlier ones.
    with checks_stripped():
        assert not _has_check(jax.make_jaxpr(fn)(*args).jaxpr)
        stripped = jax.jit(functools.partial(fn)).lower(*args).compile()
    assert _op_counts(default) == _op_counts(stripped)
    err, checked = jax.jit(checkify.checkify(fn, errors=checkify.user_checks))(*args)
    assert err.get() is None, err.get()
    jax.tree.map(
        lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
        checked,
        default(*args),
    )


def test_checked_mode_raises_on_negative_weights_under_jit():
    loss = jax.jit(
        checkify.checkify(lambda v, w: jaxloss.reduce(v, weights=w), errors=checkify.user_checks)
    )
    err, _ = loss(jnp.ones(3), jnp.array([1.0, -2.0, 1.0]))
    assert "`weights` must lie in [0, inf]; got -2.0" in err.get()
    err, value = loss(jnp.ones(3), jnp.array([1.0, 2.0, 1.0]))
    assert err.get() is None and float(value) == 1.0
    with pytest.raises(ValueError, match="`weights` must lie in"):
        jaxloss.reduce(jnp.ones(3), weights=jnp.array([1.0, -2.0, 1.0]))
