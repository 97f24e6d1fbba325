"""Does `convcli run`'s memory estimate tell the truth? Measured peak / estimate over a
grid of shapes, on the CPU.

Each configuration runs as a user runs it, `python -m convcli run SHAPE ... --json
--device cpu` in a fresh process, and the process's peak resident memory (ru_maxrss
from wait4, which includes the interpreter, torch and numpy: the process baseline) is
set against the estimate the same run printed (`memory_estimate.total`). A ratio above
1.00 means the estimate was too low: the guard would let a run through that needs
more than it said. Target: every ratio <= 1.00 (an estimate that errs high) and the
few-channel 1x1 convs (oneDNN pads channels to its block) no longer 2-5x too low.
`--verify` does the same for `convcli verify` on one configuration (its estimate is
`memory.estimate` in verify's --json), which has run's guard since issue 15.

    PYTHONPATH=. python benchmarks/run_memory.py [--quick] [--threads 1] [--verify]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 ** 2

# (what it stresses, argv after `run`)
GRID = [
    ("baseline: a tiny conv", ["1x1x4x4", "-o", "1", "-k", "1"]),
    ("1x1 conv, 1 channel (oneDNN pads C)", ["1x1x4096x4096", "-o", "1", "-k", "1"]),
    ("1x1 conv, 1 channel, large", ["1x1x8192x8192", "-o", "1", "-k", "1"]),
    ("1x1 conv, 3 -> 3 channels", ["1x3x2048x2048", "-o", "3", "-k", "1"]),
    ("1x1 conv, 8 -> 8 channels", ["2x8x1024x1024", "-o", "8", "-k", "1"]),
    ("1x1 conv, 16 -> 16 channels", ["1x16x1024x1024", "-o", "16", "-k", "1"]),
    ("3x3 conv, 3 -> 16 channels", ["1x3x2048x2048", "-o", "16", "-k", "3", "-p", "1"]),
    ("3x3 conv, 64 -> 64, batch 8", ["8x64x128x128", "-o", "64", "-k", "3", "-p", "1"]),
    ("3x3 conv, 1 -> 1 channel", ["1x1x4096x4096", "-o", "1", "-k", "3", "-p", "1"]),
    ("5x5 conv, stride 2, 32 -> 64", ["4x32x512x512", "-o", "64", "-k", "5", "-s", "2"]),
    ("grouped 3x3, g=8", ["2x64x512x512", "-o", "64", "-k", "3", "-g", "8", "-p", "1"]),
    ("depthwise 3x3", ["2x32x1024x1024", "-o", "32", "-k", "3", "-g", "32", "-p", "1"]),
    ("reflect padding (F.pad copy)", ["1x4x2048x2048", "-o", "4", "-k", "3", "-p", "1",
                                      "--padding-mode", "reflect"]),
    ("transposed 4x4 stride 2", ["1x16x512x512", "-o", "8", "-k", "4", "-s", "2", "-t"]),
    ("1d conv, long", ["4x16x1000000", "-o", "16", "-k", "5"]),
    ("3d conv", ["1x4x96x96x96", "-o", "8", "-k", "3", "-p", "1"]),
    ("float64 3x3", ["1x8x1024x1024", "-o", "8", "-k", "3", "--dtype", "float64"]),
    ("bfloat16 3x3", ["1x8x1024x1024", "-o", "8", "-k", "3", "--dtype", "bfloat16"]),
    ("bfloat16 1x1, 1 channel", ["1x1x4096x4096", "-o", "1", "-k", "1", "--dtype",
                                 "bfloat16"]),
    ("--tune float32,bfloat16", ["1x8x1024x1024", "-o", "8", "-k", "3", "--tune",
                                 "--dtype", "float32,bfloat16"]),
]
QUICK = {0, 1, 3, 6, 13}
VERIFY_GRID = [
    ("grouped 3x3, g=2", ["-i", "8", "-o", "16", "-k", "3", "-g", "2", "--input",
                          "4x8x256x256"]),
    ("issue 15: 16x128x128x128", ["-i", "128", "-o", "128", "-k", "3", "--input",
                                  "16x128x128x128"]),
    ("1x1 conv, 1 channel", ["-i", "1", "-o", "1", "-k", "1", "--input", "1x1x2048x2048"]),
    ("3x3 conv, 3 -> 16", ["-i", "3", "-o", "16", "-k", "3", "--input", "1x3x1024x1024"]),
    ("transposed 4x4 stride 2", ["-i", "16", "-o", "8", "-k", "4", "-s", "2", "-t",
                                 "--input", "1x16x256x256"]),
    ("depthwise 3x3", ["-i", "32", "-o", "32", "-k", "3", "-g", "32", "--input",
                       "2x32x256x256"]),
    ("reflect padding", ["-i", "4", "-o", "4", "-k", "3", "-p", "1", "--padding-mode",
                         "reflect", "--input", "2x4x512x512"]),
    ("float64 3x3", ["-i", "8", "-o", "8", "-k", "3", "--dtype", "float64", "--input",
                     "1x8x512x512"]),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="five configurations only")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--verify", action="store_true", help="convcli verify's estimate")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; peak = the process's "
          "max RSS (interpreter + torch + tensors)")
    print(f"{'configuration':38} {'peak MiB':>9} {'estimate MiB':>13} {'peak/est':>9}")
    worst = 0.0
    for i, (what, argv) in enumerate(VERIFY_GRID if args.verify else GRID):
        if args.quick and i not in QUICK:
            continue
        t0 = time.perf_counter()
        peak, data, err = (verify_one(argv) if args.verify else run_one(argv, args.threads))
        if data is None:
            print(f"{what:38} refused or failed: {err[:80]}")
            continue
        est = data["memory"]["estimate"] if args.verify else data["memory_estimate"]["total"]
        ratio = peak / est
        worst = max(worst, ratio)
        print(f"{what:38} {peak / MiB:9.0f} {est / MiB:13.0f} {ratio:9.2f}"
              f"   ({time.perf_counter() - t0:.1f} s)")
    print(f"largest peak/estimate: {worst:.2f} (target <= 1.00: "
          f"{'met' if worst <= 1.0 else 'NOT met'})")


def _measure(cmd: list[str], ok_codes=(0,)) -> tuple[int, dict | None, str]:
    """(peak RSS bytes from wait4, the --json report or None, stderr) of one fresh
    process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         cwd=ROOT)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    data = json.loads(out) if os.waitstatus_to_exitcode(status) in ok_codes else None
    return usage.ru_maxrss * 1024, data, err.decode(errors="replace").strip()


def run_one(argv: list[str], threads: int | None) -> tuple[int, dict | None, str]:
    """One `convcli run ARGV --json` on the CPU."""
    cmd = [sys.executable, "-m", "convcli", "run", *argv, "--json", "--device", "cpu",
           "--repeat", "1", "--warmup", "0", "--max-memory", "100%"]
    return _measure(cmd + (["--threads", str(threads)] if threads else []))


def verify_one(argv: list[str]) -> tuple[int, dict | None, str]:
    """One `convcli verify ARGV --json` (exit 1, a mismatch, still reports)."""
    return _measure([sys.executable, "-m", "convcli", "verify", *argv, "--json",
                     "--max-memory", "100%"], ok_codes=(0, 1))


if __name__ == "__main__":
    main()
