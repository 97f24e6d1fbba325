"""CPU of `convcli verify` (the default built-in suite) against `import torch`.

Target (issue 14): whole-process CPU <= 1.3 x `python -c "import torch"` plus the
checks themselves. Measured side by side in one run, whole processes interleaved
round by round (a rotated order, so load from elsewhere falls on every case alike),
CPU = user + sys of each child from wait4, medians over the rounds:

  * pass:         python -c pass
  * import torch: python -c "import torch"
  * verify:       python -m convcli verify --json  (as a user runs it)
  * checks:       the suite's own CPU, measured in one process that runs it twice and
                  times the second run (imports and first-use costs paid by the first)

ratio = (verify - checks) / import torch. Also prints the wall time per verify run
(issue 4's target: under 20 s on the 2-core development machine).

    PYTHONPATH=. python benchmarks/verify_suite.py [--runs 7] [-- extra verify args]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3
TARGET_WALL_S = 20.0

CHECKS_TWICE = """
import json, sys, time
from convcli.engine.verify import execute
from convcli.engine.verify.verify_results import Options
opts = Options(device="cpu")
execute.run_suite(opts)
t0 = time.process_time()
report = execute.run_suite(opts)
print(json.dumps({"checks_cpu": time.process_time() - t0, "passed": report.passed}))
"""


def run(cmd: list[str], env: dict) -> tuple[float, float, int, bytes]:
    """(wall s, child CPU s, exit code, stdout) of one process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    return (time.perf_counter() - t0, usage.ru_utime + usage.ru_stime,
            os.waitstatus_to_exitcode(status), out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("extra", nargs="*", help="extra arguments for convcli verify")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    py = sys.executable
    cases = {
        "pass": [py, "-c", "pass"],
        "import torch": [py, "-c", "import torch"],
        "verify": [py, "-m", "convcli", "verify", "--json", *args.extra],
        "checks (in-process, 2nd run)": [py, "-c", CHECKS_TWICE],
    }
    names = list(cases)
    cpu = {n: [] for n in names}
    wall = {n: [] for n in names}
    checks = []
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.runs} interleaved "
          f"rounds; $ convcli verify --json {' '.join(args.extra)}")
    for r in range(args.runs):
        for n in names[r % len(names):] + names[:r % len(names)]:
            w, c, code, out = run(cases[n], env)
            if n == "verify" and code not in (0, 1):
                sys.exit(f"verify exited {code}")
            if n.startswith("checks"):
                checks.append(json.loads(out)["checks_cpu"])
            cpu[n].append(c)
            wall[n].append(w)
    med = {n: statistics.median(v) for n, v in cpu.items()}
    med_checks = statistics.median(checks)
    for n in names:
        print(f"  {n:30} CPU {med[n]:6.2f} s   wall {statistics.median(wall[n]):6.2f} s")
    print(f"  {'the checks themselves':30} CPU {med_checks:6.2f} s")
    ratio = (med["verify"] - med_checks) / med["import torch"]
    worst_wall = max(wall["verify"])
    print(f"verify CPU - checks = {med['verify'] - med_checks:.2f} s = {ratio:.2f} x "
          f"import torch ({med['import torch']:.2f} s); target <= {TARGET_RATIO}: "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    print(f"verify wall: worst {worst_wall:.1f} s of {args.runs}; target < {TARGET_WALL_S:.0f} s: "
          f"{'met' if worst_wall < TARGET_WALL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
