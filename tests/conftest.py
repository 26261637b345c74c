"""Test-session configuration (CONTRIBUTING.md, section 9).

float64 is enabled so gradient checks can run in double precision; every other test builds its
inputs with an explicit dtype, so a float32 input that comes back float64 is a caught bug.
Rank promotion raises, so silent broadcasting between different ranks fails loudly.
"""

import os

# The suite checks semantics, not speed, so XLA:CPU compiles for compile time (set before jax
# creates its CPU backend; the suite's subprocesses inherit these flags):
# - LLVM's optimisation level 0 compiles about twice as fast with the same results;
# - the older (non-MLIR) fusion emitters compile the suite's programs about a third faster.
os.environ.setdefault("XLA_FLAGS", "")
if "xla_backend_optimization_level" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_backend_optimization_level=0"
if "xla_cpu_use_fusion_emitters" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_cpu_use_fusion_emitters=false"

import jax
import pytest
from hypothesis import HealthCheck, settings

from tests.process_tuning import share_mlir_context

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
share_mlir_context()  # before any program is lowered: tests/process_tuning.py

settings.register_profile(
    "jaxloss",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("jaxloss")


def pytest_collection_finish(session):
    # After collection (the registry, the references and jax are imported).
    from tests.process_tuning import fewer_gc_passes

    fewer_gc_passes()


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)


# Tests of tens of seconds each (subprocesses with several simulated devices, notebook kernels,
# the docs build, the demo and the quick bench) start first. pytest-xdist's worksteal
# scheduler then hands the short tests out as the workers free up, so the run ends on short
# tests instead of one worker finishing a long one while the other core idles.
SLOW_FIRST = (
    "tests/test_axis_name.py",
    "tests/test_embeddings_sharded.py",
    "tests/test_notebooks.py",
    "tests/test_multiprocess.py",
    "tests/test_cross_device.py",
    "tests/test_demo.py",
    "tests/test_bench.py",
    "tests/test_fused_sharded.py",
    "tests/test_docs.py",
    "tests/test_memory_per_device.py",
    "tests/test_demo_parallel.py",
    "tests/test_scaling_recipes.py",
)


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its place
