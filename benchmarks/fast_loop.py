"""The fast inner loop's cost: runs `python -m pytest -q -m "not slow"` (the suite's
own options: `-n auto`, so one worker per core) from the checkout and prints its CPU
seconds (user + sys of pytest and every process it waited for: the xdist workers and
what they started), its wall time and the number of tests; `--check` fails above the
limit (60 s of CPU: tests/conftest.py states the rules that keep the loop under it).

    python benchmarks/fast_loop.py [--check] [--limit 60] [--keep-env] [-- PYTEST ARGS...]

The loop is measured as a developer runs it again and again: with Python's bytecode
and pytest's rewritten test modules cached (PYTHONDONTWRITEBYTECODE, where the
environment sets it, is dropped and one collection beforehand fills the caches;
`--keep-env` measures with the environment as it is).

CPU seconds, not wall time, are the figure: on a shared machine the wall time grows
with the load, the CPU much less. A run whose tests fail is reported and exits with
pytest's code: the figure of a broken loop is not a measure of the loop.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 60.0
COUNTED = ("passed", "failed", "skipped", "xfailed", "xpassed", "error", "errors")


def children_cpu() -> tuple[float, float]:
    """(user, sys) of every child this process has waited for, and theirs."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime, r.ru_stime


def tests_run(output: str) -> int:
    """The tests pytest's last summary line counts (passed, failed, skipped, ...)."""
    lines = [ln for ln in output.splitlines() if re.search(r"\bin [\d.]+s\b", ln)]
    if not lines:
        return 0
    pairs = re.findall(r"(\d+) (\w+)", lines[-1])
    return sum(int(n) for n, word in pairs if word in COUNTED)


def run(extra: list[str], keep_env: bool) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider",
           *extra]
    env = dict(os.environ)
    if not keep_env:
        # as a developer runs the loop again and again: Python's bytecode and pytest's
        # rewritten test modules cached (one run beforehand, not measured, fills them)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([*cmd, "--collect-only"], cwd=ROOT, env=env, capture_output=True)
    u0, s0 = children_cpu()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    u1, s1 = children_cpu()
    return {"code": p.returncode, "user": u1 - u0, "sys": s1 - s0, "wall": wall,
            "tests": tests_run(p.stdout), "output": p.stdout + p.stderr,
            "command": " ".join(cmd[1:])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 above --limit CPU seconds")
    ap.add_argument("--limit", type=float, default=LIMIT_S, help="CPU seconds (default 60)")
    ap.add_argument("--keep-env", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE if it is set (every worker then "
                         "compiles every module again)")
    ap.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = ap.parse_args(argv)
    if not 0 < args.limit < float("inf"):
        ap.error(f"--limit must be a positive number of seconds, got {args.limit}")
    r = run(args.pytest_args, args.keep_env)
    cpu = r["user"] + r["sys"]
    print(f"fast loop: python {r['command']}")
    print(f"  tests         {r['tests']}")
    print(f"  CPU           {cpu:.1f} s (user {r['user']:.1f} + sys {r['sys']:.1f}, "
          f"pytest and its workers), {cpu / args.limit:.2f}x the {args.limit:g} s limit")
    print(f"  wall          {r['wall']:.1f} s on {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f})")
    cached = not (args.keep_env and os.environ.get("PYTHONDONTWRITEBYTECODE"))
    print("  bytecode      " + ("cached (a run beforehand filled the caches)" if cached else
                             "not cached: PYTHONDONTWRITEBYTECODE is set (--keep-env)"))
    heavy = r["output"].partition("fast tests over")[2].split("\n=")[0]
    if heavy.strip():
        print("  heaviest      the tests of the loop over a second of CPU (tests/conftest.py):")
        for line in heavy.splitlines()[2:12]:
            print(f"               {line.strip()}")
    if r["code"] != 0:
        tail = "\n".join(r["output"].rstrip().splitlines()[-30:])
        print(f"the loop failed (pytest exit {r['code']}):\n{tail}", file=sys.stderr)
        return r["code"]
    if args.check and cpu > args.limit:
        print(f"over the limit: {cpu:.1f} s of CPU > {args.limit:g} s (tests/conftest.py "
              "lists the tests of the loop over a second)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
