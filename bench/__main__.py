"""`python -m bench [--quick] [--groups a,b] [--no-write]`: run every benchmark group.

Writes bench/results.json, bench/results.png and the table in bench/README.md (between the
markers), with the command and the machine, unless --no-write.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import jax

from bench._timing import peak_rss_bytes, progress

GROUPS = [
    "elementwise",
    "cross_entropy",
    "fused_linear_cross_entropy",
    "mining",
    "pairwise",
    "gram",
    "image_quality",
    "contrastive",
    "transport",
    "metric_learning",
    "registration",
    "compile_time",
    "checked_mode",
    "lovasz",
]
HERE = pathlib.Path(__file__).resolve().parent
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def machine() -> str:
    device = jax.devices()[0]
    return (
        f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}, "
        f"jax {jax.__version__} on {device.platform} ({device.device_kind})"
    )


def table(results: list[dict]) -> str:
    lines = [
        "| group | implementation | shape | median | vs | figure | temp memory | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        mem = "" if r["temp_bytes"] is None else f"{r['temp_bytes'] / 2**20:.1f} MiB"
        lines.append(
            f"| {r['group']} | {r['name']} | {r['shape']} | {_seconds(r['seconds'])} "
            f"| {r['baseline'] or ''} | {ratio} | {mem} | {r['note'].replace('|', '/')} |"
        )
    return "\n".join(lines)


def _seconds(s: float) -> str:
    return f"{s:.3f} s" if s >= 1 else f"{s * 1e3:.3f} ms"


def write(results: list[dict], command: str) -> None:
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    block = (
        f"{BEGIN}\nCommand: `{command}`  \nMachine: {machine()}  \n"
        f"Date: {time.strftime('%Y-%m-%d')}\n\n{table(results)}\n{END}"
    )
    start, end = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + block + text[end:])
    _plot(results)


def _plot(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if r["ratio"] is not None]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1))
    ax.barh([f"{r['group']}: {r['name']} {r['shape']}" for r in rows], [r["ratio"] for r in rows])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("figure (reference or peer time / time; higher is better)")
    fig.tight_layout()
    fig.savefig(HERE / "results.png", dpi=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats")
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every group in this process (the default with --quick); otherwise each "
        "group runs in a process of its own, so one group's memory or crash cannot touch another",
    )
    parser.add_argument("--worker-json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    groups = args.groups.split(",")
    results = []
    for group in groups:
        progress(f"[{group}]")
        if args.quick or args.in_process or args.worker_json:
            module = importlib.import_module(f"bench.{group}")
            results.extend(r.as_dict() for r in module.run(quick=args.quick))
        else:
            results.extend(_run_isolated(group))
    if args.worker_json:
        pathlib.Path(args.worker_json).write_text(json.dumps(results))
        return 0
    print(table(results))
    print(f"peak RSS {peak_rss_bytes() / 2**20:.0f} MiB")
    if not args.no_write:
        write(results, "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


def _run_isolated(group: str) -> list[dict]:
    """Runs one group in a fresh `python -m bench` process and returns its rows."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "results.json"
        command = [sys.executable, "-m", "bench", "--groups", group, "--worker-json", str(out)]
        code = subprocess.run(command, cwd=HERE.parent, check=False).returncode
        if code == 0 and out.exists():
            return json.loads(out.read_text())
    note = f"group failed: exit status {code}" + (" (killed: out of memory?)" if code < 0 else "")
    progress(f"  {group}: {note}")
    return [
        dict(
            group=group,
            name="(group)",
            shape="",
            seconds=float("nan"),
            baseline=None,
            ratio=None,
            temp_bytes=None,
            note=note,
        )
    ]


if __name__ == "__main__":
    raise SystemExit(main())
