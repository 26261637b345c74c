"""Registry entries for jaxloss.margins (margin-based softmax heads)."""

from tests.registry import Case
from tests.registry._class_inputs import AXES, AXES_K, class_bad, class_call, edges, option_bad

# Edge indices (see `edges`): 0 duplicated, 1 collapsed, 2 one class, 3 absent classes,
# 4 angle 0, 5 angle pi, 6 zero vectors, 7 masked NaN padding, 8 bfloat16.
# Angle 0 is a cone of the angle (not differentiable) for the additive angular margin;
# SphereFace's psi(theta) = T_m(cos theta) near 0 and pi is smooth.
_SMOOTH = (0, 1, 2, 3, 7)

CASES = [
    Case(
        "arcface_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=16.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(
            *edges(AXES),
            *edges(AXES, scale=8.0, margin=0.3, easy_margin=True)[4:6],
        ),
        smooth_at=(*_SMOOTH, 5),  # at pi: the branch c - m sin m, linear in c
        bad_calls=(
            *class_bad("weight"),
            *option_bad(scale=0.0, margin=-0.1, easy_margin="yes"),
        ),
    ),
    Case(
        "subcenter_arcface_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, centers=True, scale=16.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(
            *edges(AXES, AXES_K),
            *edges(AXES, AXES_K, margin=0.3, easy_margin=True)[4:6],
        ),
        smooth_at=(0, 1, 2, 3, 7),  # at 0 and pi: ties of the max over sub-centres
        bad_calls=(
            *class_bad("weight", centers=True),
            *option_bad(centers=True, scale=-1.0, margin=-0.1),
        ),
    ),
    Case(
        "cosface_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=16.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=edges(AXES),
        smooth_at=(*_SMOOTH, 4, 5),
        bad_calls=(*class_bad("weight"), *option_bad(scale=0.0, margin=-0.1)),
    ),
    Case(
        "sphereface_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=2.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(*edges(AXES), *edges(AXES, margin=3)[4:6]),
        smooth_at=(*_SMOOTH, 4, 5, 9, 10),
        bad_calls=(
            *class_bad("weight"),
            *option_bad(scale=0.0, margin=0.5),
            *option_bad(margin=True),
        ),
    ),
    Case(
        "normalized_softmax_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, temperature=0.2),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=edges(AXES),
        smooth_at=(*_SMOOTH, 4, 5),
        bad_calls=(*class_bad("weight"), *option_bad(temperature=0.0)),
    ),
]
