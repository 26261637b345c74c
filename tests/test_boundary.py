"""Reference tests for jaxloss.boundary: the boundary loss and the signed distance maps.

Oracles: the authors' preprocessing (Kervadec et al., MIDL 2019, ``one_hot2dist``) written
here with ``scipy.ndimage.distance_transform_edt`` (outside: the distance to the object;
inside: minus the distance to the background, plus 1; absent classes blank), and their
``SurfaceLoss`` (the mean of ``probs * dist_maps`` over the kept classes ``idc``) in torch,
float64, with autograd for the gradients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

import jaxloss as jl

TOL = {"rtol": 1e-10, "atol": 1e-12}


def authors_signed_distance(masks, sampling=None):
    """one_hot2dist per example and channel of channel-last `masks` [B, ..., C]."""
    masks = np.asarray(masks, bool)
    out = np.zeros(masks.shape)
    for b in range(masks.shape[0]):
        for c in range(masks.shape[-1]):
            inside = masks[b, ..., c]
            outside = ~inside
            # A class filling the example has no boundary: blank (scipy has no background
            # to measure from there; see the docstring).
            if inside.any() and outside.any():
                out[b, ..., c] = (
                    distance_transform_edt(outside, sampling=sampling) * outside
                    - (distance_transform_edt(inside, sampling=sampling) - 1) * inside
                )
    return out


def test_signed_distance_map_matches_scipy_2d_and_3d():
    rng = np.random.default_rng(0)
    labels2 = rng.integers(0, 4, (2, 9, 11))
    labels2[1][labels2[1] == 3] = 0  # class 3 absent from image 1
    masks2 = np.eye(4)[labels2]
    masks2[0, ..., 2] = 1.0  # a class filling image 0
    masks3 = rng.uniform(size=(2, 5, 6, 7, 2)) < 0.15  # volumes [B, D, H, W, C]

    @jax.jit
    def ours(m2, m3):
        return {
            "2d": jl.signed_distance_map(m2),
            "2d sampling": jl.signed_distance_map(m2, sampling=jnp.array([0.5, 2.0])),
            "3d": jl.signed_distance_map(m3, sampling=1.5),
            "3d sampling": jl.signed_distance_map(m3, sampling=jnp.array([2.0, 0.7, 1.1])),
        }

    got = ours(jnp.asarray(masks2), jnp.asarray(masks3))
    np.testing.assert_allclose(got["2d"], authors_signed_distance(masks2), **TOL)
    np.testing.assert_allclose(
        got["2d sampling"], authors_signed_distance(masks2, (0.5, 2.0)), **TOL
    )
    np.testing.assert_allclose(got["3d"], authors_signed_distance(masks3, 1.5), **TOL)
    np.testing.assert_allclose(
        got["3d sampling"], authors_signed_distance(masks3, (2.0, 0.7, 1.1)), **TOL
    )
    assert np.all(np.asarray(got["2d"])[0, ..., 2] == 0)  # the filling class is blank
    assert np.all(np.asarray(got["2d"])[1, ..., 3] == 0)  # the absent class is blank
    # the sign: negative or 0 inside, >= 1 outside (in pixels)
    phi, inside = np.asarray(got["2d"])[..., :2], masks2[..., :2] > 0
    assert np.all(phi[inside] <= 0) and np.all(phi[~inside] >= 1)


def test_boundary_loss_matches_the_authors_surface_loss():
    """SurfaceLoss(idc)(softmax(x), dist_maps): values and gradients, 2-D and 3-D."""
    rng = np.random.default_rng(1)
    x2 = rng.standard_normal((3, 6, 7, 3))
    x3 = rng.standard_normal((2, 4, 5, 3, 3))
    phi2 = authors_signed_distance(np.eye(3)[rng.integers(0, 3, x2.shape[:-1])])
    phi3 = authors_signed_distance(np.eye(3)[rng.integers(0, 3, x3.shape[:-1])])

    @jax.jit
    def ours(x2, x3, phi2, phi3):
        def mean(x, phi, **kw):
            return jl.boundary_loss(x, phi, reduction="mean", **kw)

        probs = jax.nn.softmax(x2)
        return {
            "2d": jax.value_and_grad(mean)(x2, phi2),
            "2d idc": jax.value_and_grad(lambda x: mean(x, phi2, ignore_background=True))(x2),
            "3d idc": jax.value_and_grad(lambda x: mean(x, phi3, ignore_background=True))(x3),
            "probabilities": jax.value_and_grad(lambda p: mean(p, phi2, activation=None))(probs),
        }

    got = ours(x2, x3, phi2, phi3)

    def surface(x, phi, idc, softmax=True):
        xt = torch.tensor(x, requires_grad=True)
        probs = torch.softmax(xt, dim=-1) if softmax else xt
        loss = (probs[..., idc] * torch.tensor(phi)[..., idc]).mean()
        loss.backward()
        return loss.item(), xt.grad.numpy()

    expected = {
        "2d": surface(x2, phi2, [0, 1, 2]),
        "2d idc": surface(x2, phi2, [1, 2]),
        "3d idc": surface(x3, phi3, [1, 2]),
        "probabilities": surface(np.asarray(jax.nn.softmax(x2)), phi2, [0, 1, 2], False),
    }
    for name, (value, grad) in expected.items():
        np.testing.assert_allclose(got[name][0], value, **TOL, err_msg=name)
        np.testing.assert_allclose(got[name][1], grad, **TOL, err_msg=name)
        assert value != 0 and np.any(grad != 0), name


def test_boundary_loss_is_minimal_inside_the_object():
    """Probability mass moved from outside the object to inside lowers the loss."""
    labels = np.zeros((1, 8, 8), int)
    labels[0, 2:6, 2:6] = 1
    phi = jax.jit(jl.signed_distance_map)(jax.nn.one_hot(labels, 2, dtype=jnp.float64))
    right = jax.nn.one_hot(labels, 2, dtype=jnp.float64)
    shifted = jnp.roll(right, 2, axis=2)
    loss = jax.jit(
        lambda p: jl.boundary_loss(jnp.stack(p), jnp.concatenate([phi, phi]), activation=None)
    )
    inside, outside = loss((right[0], shifted[0]))
    assert float(inside) < float(outside)
