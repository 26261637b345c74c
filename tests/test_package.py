"""The package as a user installs it: the wheel's files and metadata, its imports, its extras.

The wheel is also installed, with exactly the floor versions and without flax, into a fresh
venv outside the source tree by `make test-floors` (``.ci/run``), which runs every public
function there (tests/floor_check.py) and checks ``import jaxloss.models`` names the extra.
"""

from __future__ import annotations

import ast
import email.parser
import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = {"jax", "jaxlib", "optax", "numpy"}
# Modules whose imports beyond the core dependencies come from an extra, named in their error.
EXTRA_MODULES = {"models": "models", "demo.py": "demo"}
# An extra's package imported inside one function of a core module, when that function is
# called (its ImportError names the extra; tests/floor_check.py calls it without the extra).
LAZY_IMPORTS = {"ott": ("transport.py", "transport")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = out.glob("jaxloss-*.whl")
    return path


def test_wheel_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "jaxloss/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "jaxloss").rglob("*.py")}
    assert sources <= set(names), sources - set(names)
    assert not [n for n in names if n.startswith(("tests/", "docs/", "notebooks/", "bench/"))]


def test_wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(z.read(meta).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    requires = metadata.get_all("Requires-Dist") or []
    core = {r.split(";")[0].split(">")[0].split("=")[0].strip() for r in requires if ";" not in r}
    assert core == CORE, core
    by_extra: dict[str, set[str]] = {}
    for r in requires:
        if "extra ==" in r:
            extra = r.split("extra ==")[1].strip().strip("'\"")
            by_extra.setdefault(extra, set()).add(r.split(";")[0].split(">")[0].split("[")[0])
    assert "flax" in by_extra["models"] and "flax" in by_extra["demo"]
    assert "tqdm" in by_extra["demo"]
    assert "chex" in by_extra["test"] and not any(
        "chex" in v for k, v in by_extra.items() if k != "test"
    )
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])
    assert "pip install jaxloss" in metadata.get_payload()  # the README is the description


def test_core_modules_import_only_the_core_dependencies():
    """Every jaxloss module imports the standard library, the core dependencies and jaxloss;
    flax (and the demo's packages) only in the modules of an extra."""
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    for path in sorted((ROOT / "jaxloss").rglob("*.py")):
        relative = path.relative_to(ROOT / "jaxloss")
        if relative.parts[0] in EXTRA_MODULES:
            continue
        tree = ast.parse(path.read_text())
        in_functions = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                module, extra = LAZY_IMPORTS.get(top, (None, None))
                if (
                    str(relative) == module
                    and id(node) in in_functions
                    and f'jaxloss[{extra}]"' in path.read_text()
                ):
                    continue
                if top not in stdlib | CORE | {"jaxloss"}:
                    offenders.append(f"{relative}:{getattr(node, 'lineno', '?')} imports {name}")
    assert not offenders, offenders


def test_without_flax_the_extras_are_named():
    """With flax missing, the losses work and jaxloss.models / jaxloss.demo name their extra."""
    program = """
import sys
sys.modules["flax"] = None  # as if flax were not installed
import jax.numpy as jnp
import jaxloss
assert float(jaxloss.huber_loss(jnp.array([0.5, 3.0]), reduction="sum")) == 2.625
jaxloss.softmax_cross_entropy_with_integer_labels(jnp.zeros((2, 3)), jnp.array([0, 2]))
assert "flax" not in [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None]
for module, extra in (("jaxloss.models", "models"), ("jaxloss.demo", "demo")):
    try:
        __import__(module)
    except ImportError as error:
        assert f"jaxloss[{extra}]" in str(error), error
    else:
        raise AssertionError(module + " imported without flax")
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
