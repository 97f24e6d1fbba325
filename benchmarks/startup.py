"""Start-up cost of the calculator: `convcli shape`, `convcli params` and `--help`
against a bare Typer app that prints one rich table, measured side by side.

Target (issue 2): median wall time within 1.5x of the bare app.

    python benchmarks/startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE_APP = '''
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False)

@app.command()
def shape(input: str, out_channels: int = typer.Option(..., "-o"),
          kernel_size: int = typer.Option(..., "-k")):
    t = Table(title="bare")
    t.add_column("k"); t.add_column("v")
    t.add_row("input", input); t.add_row("out", str(out_channels))
    Console().print(t)

@app.command()
def other():
    pass

app()
'''

CASES = {
    "bare typer + rich table": None,
    "convcli shape": ["shape", "4x3x64x64", "-o", "16", "-k", "3", "--explain"],
    "convcli params --compare-groups": ["params", "-i", "64", "-o", "128", "-k", "3",
                                        "--compare-groups"],
    "convcli --help": ["--help"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        commands = {
            name: [sys.executable, str(bare), "shape", "4x3x64x64", "-o", "16", "-k", "3"]
            if argv is None else [sys.executable, "-m", "convcli", *argv]
            for name, argv in CASES.items()
        }
        times = {name: [] for name in commands}
        for name, cmd in commands.items():  # warm the file cache once
            subprocess.run(cmd, env=env, capture_output=True, check=True)
        for _ in range(args.runs):  # interleaved, so drift hits every case alike
            for name, cmd in commands.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, capture_output=True, check=True)
                times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["bare typer + rich table"])
    print(f"{'case':34} {'median ms':>10} {'min ms':>8} {'ratio':>6}   (runs={args.runs}, "
          f"target ratio <= 1.50)")
    worst = 0.0
    for name, ts in times.items():
        ratio = statistics.median(ts) / base
        worst = max(worst, ratio)
        print(f"{name:34} {statistics.median(ts) * 1e3:10.1f} {min(ts) * 1e3:8.1f} {ratio:6.2f}")
    print(f"worst ratio {worst:.2f}: {'PASS' if worst <= 1.5 else 'FAIL'}")


if __name__ == "__main__":
    main()
