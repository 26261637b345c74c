"""Registry entries for jaxloss.optax_reexports: optax's own functions, re-exported.

These are optax's behaviour, registered with the fields that match it:

* none takes ``reduction=`` (``reduces=False``);
* optax does no input validation, so each `Bad` is the shape mismatch that jax itself rejects,
  matched on jax's message ("incompatible shapes", "inconsistent sizes", "Shape
  mismatch") rather than a backticked
  argument name;
* the multiclass hinge/perceptron/sparsemax losses and CTC compute in the default float dtype
  (float32, or float64 with x64 on) whatever the input dtype (optax builds default-dtype
  one-hots), so their output dtype is not checked (``dtypes=()``);
* optax's `multiclass_sparsemax_loss` is only right for ``[batch, num_classes]`` scores (with
  more leading axes it returns a wrong-shaped array), so it is ``batched=False`` like CTC;
* CTC takes exactly one batch axis (``batched=False``: vmap is still compared with a loop), and
  `ctc_loss_with_forward_probs` is registered through its loss output (its forward
  probabilities are time-major, compared with `ctc_loss` in tests/test_optax_superset.py).
"""

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

import jaxloss
from tests.registry import Bad, Call, Case, integers, normal, on_device, ones, probabilities, zeros

SHAPES = "(?i)incompatible shapes|shape mismatch"
K, T, N = 4, 6, 3


def _binary(rng, batch, dtype):
    s = normal(rng, batch, dtype)
    y = on_device(np.where(rng.uniform(size=batch) < 0.5, -1.0, 1.0), dtype)
    return Call((s, y))


def _multiclass(rng, batch, dtype):
    return Call((normal(rng, (*batch, K), dtype), integers(rng, batch, K)))


def _sparse_binary(rng, batch, dtype):
    return Call((normal(rng, batch, dtype), integers(rng, batch, 2)))


def _soft(rng, batch, dtype):
    return Call((normal(rng, (*batch, K), dtype), probabilities(rng, (*batch, K), dtype)))


def _ranking(rng, batch, dtype):
    call = _soft(rng, batch, dtype)
    return Call(call.args, {"reduce_fn": None})


def _ctc(rng, batch, dtype):
    (b,) = batch[-1:] if batch else (1,)
    lead = batch[:-1]
    logits = normal(rng, (*lead, b, T, K), dtype)
    logit_paddings = np.zeros((*lead, b, T))  # built by numpy: no XLA program
    logit_paddings[..., T - 1] = 1.0
    labels = on_device(rng.integers(1, K, (*lead, b, N)), jnp.int32)
    label_paddings = np.zeros((*lead, b, N))
    label_paddings[..., N - 1] = 1.0
    return Call(
        (logits, on_device(logit_paddings, dtype), labels, on_device(label_paddings, dtype))
    )


def _ctc_edge():
    # Uniform logits and a label sequence that fills the frames: the minimum-slack case.
    return Call((zeros((2, N, K)), zeros((2, N)), ones((2, N), jnp.int32), zeros((2, N))))


def _ctc_bad():
    return Call(
        (
            zeros((2, T, K)),
            zeros((2, T - 1)),
            ones((2, N), jnp.int32),
            zeros((2, N)),
        )
    )


def _ctc_forward_loss(logits, logit_paddings, labels, label_paddings, **kwargs):
    loss, _, _ = jaxloss.ctc_loss_with_forward_probs(
        logits, logit_paddings, labels, label_paddings, **kwargs
    )
    return loss


def _fenchel_young(scores, targets):
    return jaxloss.make_fenchel_young_loss(logsumexp)(scores, targets)


def _case(name, make, edge, bad, **fields):
    return Case(name, make, reduces=False, edge_cases=(edge,), bad_calls=(bad,), **fields)


CASES = [
    _case(
        "hinge_loss",
        _binary,
        lambda: Call((zeros(3), on_device([1.0, -1.0, 1.0]))),
        Bad(lambda: Call((zeros(3), ones(4))), SHAPES),
    ),
    _case(
        "perceptron_loss",
        _binary,
        lambda: Call((zeros(3), on_device([1.0, -1.0, 1.0]))),
        Bad(lambda: Call((zeros(3), ones(4))), SHAPES),
    ),
    _case(
        "multiclass_hinge_loss",
        _multiclass,
        lambda: Call((zeros((3, K)), on_device([0, 1, 3]))),
        Bad(lambda: Call((zeros((3, K)), zeros(4, jnp.int32))), SHAPES),
        dtypes=(),
    ),
    _case(
        "multiclass_perceptron_loss",
        _multiclass,
        lambda: Call((zeros((3, K)), on_device([0, 1, 3]))),
        Bad(lambda: Call((zeros((3, K)), zeros(4, jnp.int32))), SHAPES),
        dtypes=(),
    ),
    _case(
        "multiclass_sparsemax_loss",
        _multiclass,
        lambda: Call((zeros((3, K)), on_device([0, 1, 3]))),
        Bad(lambda: Call((zeros((3, K)), zeros(4, jnp.int32))), "inconsistent sizes"),
        dtypes=(),
        batched=False,
        # Piecewise linear (a projection onto the simplex), and optax's projection JVP mixes
        # float32 into float64 tangents, so second-order autodiff fails there.
        check_hessian=False,
    ),
    _case(
        "sparsemax_loss",
        _sparse_binary,
        lambda: Call((on_device([-1.0, 0.0, 1.0]), on_device([1, 0, 1]))),
        Bad(lambda: Call((zeros(3), ones(4))), SHAPES),
    ),
    _case(
        "poly_loss_cross_entropy",
        _soft,
        lambda: Call((on_device([[0.0, -1e4, 3.0, 0.0]]), on_device([[1.0, 0.0, 0.0, 0.0]]))),
        Bad(lambda: Call((zeros((3, K)), zeros((3, K + 1)))), SHAPES),
    ),
    _case(
        "ranking_softmax_loss",
        _ranking,
        lambda: Call((zeros((2, K)), zeros((2, K))), {"reduce_fn": None}),
        Bad(lambda: Call((zeros((3, K)), zeros((3, K + 1)))), SHAPES),
    ),
    _case(
        "make_fenchel_young_loss",
        _soft,
        lambda: Call((zeros((2, K)), on_device(np.eye(K)[[0, 2]]))),  # one-hot
        Bad(lambda: Call((zeros((3, K)), zeros((3, K + 1)))), "(?i)size|shape"),
        fn=_fenchel_young,
    ),
    _case(
        "ctc_loss",
        _ctc,
        _ctc_edge,
        Bad(_ctc_bad, "Shape mismatch"),
        batched=False,
        dtypes=(),
    ),
    _case(
        "ctc_loss_with_forward_probs",
        _ctc,
        _ctc_edge,
        Bad(_ctc_bad, "Shape mismatch"),
        batched=False,
        dtypes=(),
        fn=_ctc_forward_loss,
    ),
]
