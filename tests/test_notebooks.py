"""Executes every research notebook in notebooks/; their last cells assert their findings."""

import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

# Notebooks whose time is the run, not the compile: their kernel gets XLA's default LLVM
# optimization instead of the suite's level 0 (tests/conftest.py). Measured on 2 cores, CPU
# seconds at level 0 / default: 04 21.0 / 15.2, 10 85.3 / 34.2 (its Sinkhorn training loop
# 45 / 7 s); every other notebook is 0.4-3.5 s faster at level 0.
RUNTIME_BOUND = {"04_segmentation", "10_distances_without_overlap"}

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if path.stem in RUNTIME_BOUND:
        flags = os.environ.get("XLA_FLAGS", "").split()
        kept = [f for f in flags if not f.startswith("--xla_backend_optimization_level")]
        monkeypatch.setenv("XLA_FLAGS", " ".join(kept))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
