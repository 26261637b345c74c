"""`make docs-notebooks`: executes notebooks/*.ipynb, stores the copies in docs/notebooks.

The site renders these stored outputs (``nb_execution_mode = "off"``), so `make docs` executes
nothing; ``tests/test_docs.py`` checks that their code cells are those of notebooks/, so a
changed notebook without refreshed outputs fails the tests.
"""

from __future__ import annotations

import os
import pathlib
import sys

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks"
TARGET = ROOT / "docs" / "notebooks"


def main(names: list[str]) -> None:
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend keeps the figures
    TARGET.mkdir(exist_ok=True)
    paths = sorted(SOURCE.glob("*.ipynb"))
    for path in paths if not names else [SOURCE / n for n in names]:
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(
            notebook,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(SOURCE)}},
        ).execute()
        for cell in notebook.cells:  # no timestamps: a re-run changes only what changed
            cell.get("metadata", {}).pop("execution", None)
        notebook.metadata.pop("widgets", None)
        nbformat.write(notebook, TARGET / path.name)
        print(f"executed {path.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
