"""Registry entries for jaxloss.margins (margin-based softmax heads)."""

from tests.registry import Case
from tests.registry._class_inputs import (
    AXES,
    AXES_K,
    both_angles,
    class_bad,
    class_call,
    edges,
    option_bad,
)

# Edge indices (see `edges`): 0 duplicated / collapsed / one class / absent classes / masked
# NaN padding, 1 angle 0, 2 angle pi, 3 zero vectors, 4 bfloat16. The additive angular margin
# is not differentiable at angle 0 (a cone of the angle); at pi ArcFace's branch c - m sin m is
# linear in c. SphereFace's psi = +-T_m(cos theta) near 0 and pi is smooth.

CASES = [
    Case(
        "arcface_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=16.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(*edges(AXES), both_angles(AXES, scale=8.0, margin=0.3, easy_margin=True)),
        smooth_at=(0, 2),
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
        edge_cases=(*edges(AXES, AXES_K), both_angles(AXES_K, margin=0.3, easy_margin=True)),
        smooth_at=(0,),  # at 0 and pi: ties of the max over sub-centres
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
        smooth_at=(0, 1, 2),
        bad_calls=(*class_bad("weight"), *option_bad(scale=0.0, margin=-0.1)),
    ),
    Case(
        "sphereface_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=2.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(*edges(AXES), both_angles(AXES, margin=3)),
        # Not 0: its one-class slice sits at theta = pi / 2 = 2 pi / m, where psi is
        # continuously differentiable but its curvature jumps (-m^2 to m^2).
        smooth_at=(1, 2, 5),
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
        smooth_at=(0, 1, 2),
        bad_calls=(*class_bad("weight"), *option_bad(temperature=0.0)),
    ),
]
