"""Every Python block of README.md and of the documentation's Markdown pages runs as written.

The blocks of one file run in order in one namespace, as a reader pastes them one after the
other. A block is skipped only with an explicit marker on the line before it (blank lines
between are allowed):

    <!-- snippet: skip (the reason, e.g. needs 2 processes: tests/test_multiprocess.py) -->
    <!-- snippet: skip-unless EXPRESSION -->   (run when EXPRESSION, evaluated with jaxloss
                                                 and inspect, is true)

README's "Scaling out" blocks are ``jaxloss/scaling.py``'s code (tests/test_scaling_recipes.py
checks the two agree and runs them on 8 simulated devices); here they run in that module's
namespace, which holds their imports.
"""

from __future__ import annotations

import dataclasses
import inspect
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = [
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs" / "notebooks").glob("*.md")),
]

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*$")
MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<kind>skip-unless|skip)\s*(?P<arg>.*?)\s*-->\s*$")


@dataclasses.dataclass
class Block:
    path: pathlib.Path
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None = None  # a skip reason
    unless: str | None = None  # run only when this expression is true


def python_blocks(path: pathlib.Path) -> list[Block]:
    """The ```python blocks of a Markdown file, dedented, with their markers."""
    lines = path.read_text().splitlines()
    blocks, i, marker = [], 0, None
    while i < len(lines):
        if m := MARKER.match(lines[i]):
            marker = (m["kind"], m["arg"])
        elif (m := FENCE.match(lines[i])) and m["lang"]:
            indent, start, body = m["indent"], i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                line = lines[i]
                body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
                i += 1
            if m["lang"] in ("python", "py"):
                block = Block(path, start, "\n".join(body) + "\n")
                if marker is not None:
                    kind, arg = marker
                    if kind == "skip":
                        block.skip = arg.strip("() ") or "marked skip"
                    else:
                        block.unless = arg
                blocks.append(block)
            marker = None
        elif lines[i].strip():
            marker = None
        i += 1
    return blocks


def _namespace(path: pathlib.Path) -> dict:
    namespace: dict = {"__name__": f"snippets_{path.stem}"}
    if path == ROOT / "README.md":
        import jaxloss.scaling

        namespace.update({k: v for k, v in vars(jaxloss.scaling).items() if not k.startswith("__")})
    return namespace


def test_markers_are_understood():
    """A marker that is not directly above a block would silently skip nothing: refuse it."""
    for path in FILES:
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines):
            if "snippet:" in line and "<!--" in line:
                assert MARKER.match(line), f"{path}:{n + 1}: unknown marker {line!r}"
                following = next((x for x in lines[n + 1 :] if x.strip()), "")
                assert FENCE.match(following), f"{path}:{n + 1}: marker not above a block"


@pytest.mark.parametrize(
    "path", [p for p in FILES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files a snippet writes land in a temporary directory
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = _namespace(path)
    ran = []
    for block in python_blocks(path):
        where = f"{path.relative_to(ROOT)}:{block.line}"
        if block.skip:
            continue
        if block.unless:
            import jaxloss

            if not eval(block.unless, {"jaxloss": jaxloss, "inspect": inspect}):
                continue
        code = compile(block.code, where, "exec")
        try:
            exec(code, namespace)
        except Exception as error:
            raise AssertionError(f"the block at {where} failed: {error!r}") from error
        ran.append(where)
    if not ran:
        pytest.skip(f"every block of {path.name} is marked to skip")
