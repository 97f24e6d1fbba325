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
4. From Python (issue 21): ``convcli.summary(model, (1, 3, 224, 224))`` against
   ``torchinfo.summary`` on the same ResNet-50, each in a fresh process that has built
   the model already: the call's own time (first call, import of the package included,
   and a second call), and the peak RSS above a process that only builds the model
   (target: convcli no slower, and lighter).
5. An LSTM classifier (2 layers) at 2,048 steps: `convcli summary` against torchinfo
   (target: at most torchinfo's time; issue 26).

Run: python benchmarks/summary_speed.py [--rounds N] [--quick] [--api] [--lstm]
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


TIMED = """
import time, json
t0 = time.perf_counter()
{call}
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1]))
"""
API_CALLS = {
    "torchinfo.summary(model, (1, 3, 224, 224))":
        "import torchinfo; torchinfo.summary(model, (1, 3, 224, 224), verbose=0)",
    "convcli.summary(model, (1, 3, 224, 224))":
        "import convcli; convcli.summary(model, (1, 3, 224, 224), verbose=0)",
}


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


def python_api(n: int) -> None:
    """4. convcli.summary against torchinfo.summary from Python (see the module doc).
    Peak RSS per process comes from os.wait4 (run()); the call times from the child."""
    if importlib.util.find_spec("torchinfo") is None:
        print("4. (torchinfo is not installed here: pip install torchinfo)")
        return
    base = [PY, "-c", LOAD]
    cmds = {name: [PY, "-c", LOAD + TIMED.format(call=call)]
            for name, call in API_CALLS.items()}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    rss: dict[str, list[float]] = {k: [] for k in [*cmds, "build the model only"]}
    for cmd in cmds.values():     # warm the file cache once
        _call_times(cmd, [])
    for _ in range(n):
        rss["build the model only"].append(run(base)[2])
        for name, cmd in cmds.items():
            times[name].append(_call_times(cmd, rss[name]))
    med = statistics.median
    floor = med(rss["build the model only"])
    print("4. From Python on ResNet-50 at 1x3x224x224, the model built already "
          "(target: convcli no slower than torchinfo, and lighter)")
    print(f"  {'':44s} {'1st call':>9s} {'2nd call':>9s} {'peak RSS':>9s} {'above model':>12s}")
    for name in cmds:
        first, second = med(t[0] for t in times[name]), med(t[1] for t in times[name])
        peak = med(rss[name])
        print(f"  {name:44s} {first:8.2f}s {second:8.2f}s {peak:5.0f} MiB {peak - floor:8.0f} MiB")
    print(f"  {'build the model only':44s} {'':9s} {'':9s} {floor:5.0f} MiB")


def _call_times(cmd: list[str], rss: list[float]) -> tuple[float, float]:
    """One fresh process: its two call times (printed by the child) and its peak RSS
    (os.wait4, appended to ``rss``)."""
    import json
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = p.stdout.read() if p.stdout else b""
    err = p.stderr.read() if p.stderr else b""
    _, status, usage = os.wait4(p.pid, 0)
    if status:
        sys.exit(f"{' '.join(cmd[:3])}... failed: {err.decode().strip()[-500:]}")
    rss.append(usage.ru_maxrss / 1024)
    first, second = json.loads(out.decode().strip().splitlines()[-1])
    return first, second


LSTM_SOURCE = """
import torch.nn as nn


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(64, 128, num_layers=2, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])
"""
LSTM_STEPS = 2048


def lstm_2048(n: int) -> None:
    """5. An LSTM classifier (2 layers, 64 -> 128) at 2,048 steps, batch 8: `convcli
    summary` (meta, closed form per recurrent layer) against torchinfo.summary (a real
    CPU forward), side by side (target: convcli at most torchinfo's time)."""
    import tempfile
    path = Path(tempfile.mkdtemp(prefix="convcli-bench-")) / "lstm_model.py"
    path.write_text(LSTM_SOURCE)
    shape = (8, LSTM_STEPS, 64)
    load = (f"import importlib.util, torch\nspec = importlib.util.spec_from_file_location("
            f"'lstm_model', {str(path)!r})\nmod = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(mod)\nmodel = mod.LSTMClassifier().eval()\n")
    variants = {'python -c "import torch"': [PY, "-c", "import torch"],
                f"convcli summary LSTM at {LSTM_STEPS} steps": [
                    PY, "-m", "convcli", "summary", f"{path}:LSTMClassifier", "--input",
                    "x".join(map(str, shape))]}
    if importlib.util.find_spec("torchinfo") is None:
        print("5. (torchinfo is not installed here: pip install torchinfo)")
    else:
        variants["torchinfo.summary (CPU forward)"] = [
            PY, "-c", load + f"import torchinfo\ntorchinfo.summary(model, {shape}, verbose=0)\n"]
    table(rounds(variants, n), 'python -c "import torch"',
          f"5. LSTM classifier at {LSTM_STEPS} steps, batch 8 (target: convcli <= torchinfo)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="only part 1, 3 rounds")
    ap.add_argument("--api", action="store_true",
                    help="only part 4: convcli.summary against torchinfo.summary")
    ap.add_argument("--lstm", action="store_true",
                    help="only part 5: an LSTM at 2,048 steps against torchinfo")
    args = ap.parse_args()
    n = 3 if args.quick else args.rounds
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{n} interleaved rounds, medians")
    if args.api:
        python_api(n)
        return
    if args.lstm:
        lstm_2048(n)
        return
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
    python_api(n)
    lstm_2048(n)


if __name__ == "__main__":
    main()
