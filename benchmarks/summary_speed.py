"""How fast `convcli summary` and `convcli net` answer, measured side by side.

1. `convcli summary examples/models/resnet50.py:ResNet50 --input 1x3x224x224`
   (25.6 M params) in a fresh interpreter: wall time including the torch import
   (target < 5 s) and the peak resident memory of that process (ru_maxrss, target
   < 600 MB). The meta device allocates neither weights nor activations.
2. `convcli net` (the CIFAR-10 CNN layer list) against `convcli shape` start-up: both
   must answer in about the time Python and Typer take to start (no torch, no numpy),
   so the ratio net/shape should be about 1.

Run: python benchmarks/summary_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESNET = str(ROOT / "examples" / "models" / "resnet50.py") + ":ResNet50"
CIFAR = str(ROOT / "examples" / "models" / "cifar_cnn.txt")
TARGET_S, TARGET_MB = 5.0, 600.0


def run(*args: str, env_extra: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `python -m convcli ARGS` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(env_extra or {})}
    env = {k: v for k, v in env.items() if v is not None}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True,
                       text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"convcli {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN is the max over all children so far: each run is reported only
    # when it raised the maximum, so measure memory with the largest process first
    return wall, max(peak, before) / 1024  # KiB on Linux


BREAKDOWN = f"""
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import torch._dynamo  # what torch's first Python meta kernel (e.g. x + y) imports
t2 = time.perf_counter()
sys.path.insert(0, {str(ROOT)!r})
from convcli.engine.summary.loading import load_model
from convcli.engine.summary.trace import summarise
from convcli.views import console as render
model, _ = load_model({RESNET!r})
t3 = time.perf_counter()
report = summarise(model, (1, 3, 224, 224))
render.net_dict(report, "float32")
t4 = time.perf_counter()
print(json.dumps({{"import torch": t1 - t0, "import torch._dynamo": t2 - t1,
                  "build on meta": t3 - t2, "hooks + meta forward": t4 - t3}}))
"""


def breakdown() -> dict:
    import json
    p = subprocess.run([sys.executable, "-c", BREAKDOWN], capture_output=True, text=True,
                       cwd=ROOT)
    if p.returncode:
        sys.exit(p.stderr)
    return json.loads(p.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    n = ap.parse_args().repeat

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (timings scale with it)")
    walls, peaks = [], []
    for _ in range(n):
        w, mb = run("summary", RESNET, "--input", "1x3x224x224", "--json")
        walls.append(w)
        peaks.append(mb)
    w, mb = statistics.median(walls), max(peaks)
    print("summary ResNet50 (25,557,032 params) at 1x3x224x224, fresh process each run")
    print(f"  wall incl. torch import: median {w:.2f} s (min {min(walls):.2f}, "
          f"max {max(walls):.2f}) of {n}   target < {TARGET_S:.0f} s   "
          f"{'OK' if w < TARGET_S else 'OVER'}")
    print(f"  peak memory (ru_maxrss): {mb:.0f} MB   target < {TARGET_MB:.0f} MB   "
          f"{'OK' if mb < TARGET_MB else 'OVER'}")

    parts = breakdown()
    print("  where the time goes (one fresh process): " + ", ".join(
        f"{k} {v:.2f} s" for k, v in parts.items()))

    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        # as installed (.pyc cached) and, where PYTHONDONTWRITEBYTECODE is set as in
        # this project's sandboxes, compiling every module from source on each start
        modes = [("bytecode cached", {"PYTHONDONTWRITEBYTECODE": None,
                                      "PYTHONPYCACHEPREFIX": cache})]
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            modes.append(("compiled from source", {}))
        for label, extra in modes:
            run("net", "1x3x32x32", "--file", CIFAR, env_extra=extra)  # warm the cache
            run("shape", "1x3x32x32", "-o", "16", "-k", "3", env_extra=extra)
            net_t, shape_t = [], []
            for _ in range(n):  # interleaved, so that load on the machine hits both alike
                net_t.append(run("net", "1x3x32x32", "--file", CIFAR, env_extra=extra)[0])
                shape_t.append(run("shape", "1x3x32x32", "-o", "16", "-k", "3", "-p", "1",
                                   env_extra=extra)[0])
            a, b = statistics.median(net_t), statistics.median(shape_t)
            print(f"start-up, fresh process each run, {label} (median of {n})")
            print(f"  convcli net   (CIFAR CNN, 11 layers): {a * 1000:.0f} ms")
            print(f"  convcli shape (one conv)            : {b * 1000:.0f} ms")
            print(f"  ratio net/shape: {a / b:.2f}   target about 1 (no torch, no numpy)")


if __name__ == "__main__":
    main()
