"""Wall time of `convcli verify` (the default built-in suite), torch import included,
measured as a user sees it: a fresh `python -m convcli verify` subprocess.

Target (issue 4): under 20 s on the 2-core development machine.

    PYTHONPATH=. python benchmarks/verify_suite.py [--runs 3] [-- extra verify args]
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
TARGET_S = 20.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("extra", nargs="*", help="extra arguments for convcli verify")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "convcli", "verify", "--json", *args.extra]
    print(f"$ {' '.join(cmd[1:])}   ({os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f})")
    walls = []
    for i in range(args.runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - t
        walls.append(wall)
        if p.returncode not in (0, 1):
            sys.exit(f"verify exited {p.returncode}: {p.stderr.strip()}")
        data = json.loads(p.stdout)
        per_check = ", ".join(f"{c['name']} {c['cases']} in {c['seconds']:.1f}s"
                              for c in data["checks"])
        print(f"run {i + 1}: {wall:5.1f} s wall (checks {data['seconds']:.1f} s; "
              f"{'passed' if data['passed'] else 'FAILED'}) — {per_check}")
    best, worst = min(walls), max(walls)
    print(f"default suite: best {best:.1f} s, worst {worst:.1f} s of {args.runs} runs; "
          f"target < {TARGET_S:.0f} s: {'OK' if worst < TARGET_S else 'OVER TARGET'} "
          f"({worst / TARGET_S:.0%} of the budget)")


if __name__ == "__main__":
    main()
