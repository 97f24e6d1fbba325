"""How fast and how light `convcli summary` is, measured side by side (interleaved
rounds, medians, a fresh process each run; wall, CPU = user + sys of the child, and
its peak RSS from os.wait4).

1. ResNet-50 (examples/models/resnet50.py) at 1x3x224x224: `convcli summary` against
   `python -c "import torch"` (target: wall <= 1.3x), and against torchinfo and fvcore
   on the same model where they are installed (target: faster). The same summary with
   `os._exit` after flushing (what the console script would save by skipping the
   interpreter's teardown of torch; convcli's main() does not do it today) is shown too.
2. Peak memory flat in input size and batch: 1x3x224x224, 1x3x1024x1024, 64x3x224x224.
3. `convcli net` start-up against `convcli shape` (no torch, no numpy: ratio about 1).

Run: python benchmarks/summary_speed.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RESNET_FILE = ROOT / "examples" / "models" / "resnet50.py"
RESNET = f"{RESNET_FILE}:ResNet50"
CIFAR = str(ROOT / "examples" / "models" / "cifar_cnn.txt")

EXIT_WRAPPER = """
import os, sys
sys.argv = ["convcli", *sys.argv[1:]]
from convcli.main import main
try:
    main()
    code = 0
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
sys.stdout.flush(); sys.stderr.flush()
os._exit(code)
"""
LOAD = f"""
import importlib.util, torch
spec = importlib.util.spec_from_file_location("rn50", {str(RESNET_FILE)!r})
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
model = mod.ResNet50().eval()
"""
TORCHINFO = LOAD + "import torchinfo\ntorchinfo.summary(model, (1, 3, 224, 224), verbose=0)\n"
FVCORE = LOAD + """from fvcore.nn import FlopCountAnalysis
import logging; logging.disable(logging.WARNING)
FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224)).total()
"""


def summary(*extra: str) -> list[str]:
    return [PY, "-m", "convcli", "summary", RESNET, *extra]


def run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "100"}
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    err = p.stderr.read().decode() if p.stderr else ""
    if status:
        sys.exit(f"{' '.join(cmd[:6])}... failed ({status}): {err.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def rounds(variants: dict[str, list[str]], n: int) -> dict[str, list[tuple]]:
    results: dict[str, list[tuple]] = {k: [] for k in variants}
    for name, cmd in variants.items():  # warm the file cache once
        run(cmd)
    for _ in range(n):
        for name, cmd in variants.items():
            results[name].append(run(cmd))
    return results


def table(results: dict[str, list[tuple]], base: str, title: str) -> None:
    b_wall = statistics.median(r[0] for r in results[base])
    b_cpu = statistics.median(r[1] for r in results[base])
    print(title)
    print(f"  {'':44s} {'wall/base':>9s} {'CPU/base':>9s} {'peak RSS':>9s}")
    for name, rs in results.items():
        wall = statistics.median(r[0] for r in rs) / b_wall
        cpu = statistics.median(r[1] for r in rs) / b_cpu
        rss = statistics.median(r[2] for r in rs)
        print(f"  {name:44s} {wall:9.2f} {cpu:9.2f} {rss:6.0f} MiB")
    print(f"  (base '{base}': median wall {b_wall:.2f} s, CPU {b_cpu:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="only part 1, 3 rounds")
    args = ap.parse_args()
    n = 3 if args.quick else args.rounds
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{n} interleaved rounds, medians")
    variants = {
        'python -c "import torch"': [PY, "-c", "import torch"],
        "convcli summary (table)": summary("--input", "1x3x224x224"),
        "convcli summary --json": summary("--input", "1x3x224x224", "--json"),
        "convcli summary (table), os._exit at the end": [
            PY, "-c", EXIT_WRAPPER, "summary", RESNET, "--input", "1x3x224x224"],
    }
    for label, module, code in (("torchinfo.summary (CPU forward)", "torchinfo", TORCHINFO),
                                ("fvcore FlopCountAnalysis (jit trace)", "fvcore", FVCORE)):
        if importlib.util.find_spec(module) is None:
            print(f"  ({module} is not installed here: pip install {module})")
        else:
            variants[label] = [PY, "-c", code]
    table(rounds(variants, n), 'python -c "import torch"',
          "1. ResNet-50 at 1x3x224x224 (target: summary wall <= 1.3x import torch, "
          "faster than torchinfo and fvcore)")
    if args.quick:
        return
    sizes = {f"summary --json --input {s}": summary("--input", s, "--json")
             for s in ("1x3x224x224", "1x3x1024x1024", "64x3x224x224")}
    table(rounds(sizes, max(3, n // 2)), "summary --json --input 1x3x224x224",
          "2. peak memory in input size and batch (target: flat, RSS ratio about 1)")
    startup = {"convcli shape (one conv)": [PY, "-m", "convcli", "shape", "1x3x32x32", "-o",
                                            "16", "-k", "3"],
               "convcli net (CIFAR CNN, 11 layers)": [PY, "-m", "convcli", "net",
                                                      "1x3x32x32", "--file", CIFAR]}
    table(rounds(startup, n), "convcli shape (one conv)",
          "3. net start-up against shape (target: ratio about 1, no torch)")


if __name__ == "__main__":
    main()
