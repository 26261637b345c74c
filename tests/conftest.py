"""Test-session configuration (CONTRIBUTING.md, section 9).

float64 is enabled so gradient checks can run in double precision; every other test builds its
inputs with an explicit dtype, so a float32 input that comes back float64 is a caught bug.
Rank promotion raises, so silent broadcasting between different ranks fails loudly.
"""

import os

# LLVM's optimisation level 0 compiles about twice as fast with the same results: the suite
# checks semantics, not speed (set before jax creates its CPU backend).
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = " ".join(
        filter(None, [os.environ.get("XLA_FLAGS"), "--xla_backend_optimization_level=0"])
    )

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile(
    "jaxloss",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("jaxloss")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)
