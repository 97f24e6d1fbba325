"""Start-up of `convcli shape`, `params`, `net` (a 10-layer stack) and `--help`, as
ratios to `python -c pass` of the same interpreter, measured side by side:
interleaved whole-process runs in a rotated order, medians, wall and CPU time
(user + sys of the child, from wait4). Reference rows show this machine's floors:
`import typer`, and rich printing one table.

Issue 14's targets are wall ratios: shape/params/net <= 5x, --help <= 6x. `--check`
gates the CPU ratios instead (a shared machine moves wall time far more than CPU
time), against the gate column: ceilings this code meets with room for noise, raised
in proportion when a reference (`import typer`, rich printing a table) reads slower
than when they were set (never lowered), and timed again over 21 rounds before a case
fails, so CI fails on a start-up regression, not on a busy neighbour. Both are
printed. Measured on
the 2-core machine (CPU ratios, medians of 21 rounds; references: `import typer`
5.8x, rich printing one table 5.9x, the floor of any output drawn with rich):
- shape, params 6.1x (gate 7.5): the fast path answers them without typer; main
  before issue 14: 12x;
- --json 3.9x (gate 4.5): no rich; main: 11.6x;
- --help 2.2x (gate 3): Typer's output replayed from the cache; main: 16x;
- net 7.4-7.6x (gate 9; 9-round runs read 7.3-8.4): the fast path; over shape's
  6.4x: the network's modules (0.4x; the report's dataclasses and the rules), the
  parse and walk (0.1x), a 13-row table fitted to the width (0.55x more than
  shape's tables); through Typer 11x;
- net --json 4.5-4.6x (gate 5.4): no rich; through Typer 10.2x.

What is timed is what a user runs: the console script's code (`from convcli.main
import main`) in a fresh virtual environment of this interpreter that sees this
checkout and the installed packages through a .pth file, so an editable install's
import hook (pathlib, re, urllib... in every process, `python -c pass` included) is
in neither side. convcli is byte-compiled first (an editable checkout under
PYTHONDONTWRITEBYTECODE would otherwise compile it in every run); the --help cache
lives in a temporary folder, filled by the warm-up run.

    python benchmarks/startup.py [--runs 21] [--check] [--root CHECKOUT] [--compare OTHER]

--compare times another checkout's commands in the same rounds (e.g. main's, from
`git worktree add`), rows marked with its folder's name.
"""

from __future__ import annotations

import argparse
import compileall
import os
import site
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NET = ("Conv2d(3, 16, 3, padding=1), BatchNorm2d(16), ReLU(), Conv2d(16, 32, 3, stride=2, "
       "padding=1), ReLU(), MaxPool2d(2), Conv2d(32, 64, 3, padding=1), AdaptiveAvgPool2d(1), "
       "Flatten(), Linear(64, 10)")
# pip's console-script wrapper, as `convcli` runs it
SCRIPT = "import re, sys; from convcli.main import main; sys.argv[0] = 'convcli'; sys.exit(main())"
RICH_TABLE = ("from rich.console import Console; from rich.table import Table; t = Table(); "
              "t.add_column('k'); t.add_row('output'); Console().print(t)")
REFERENCES = {"python -c pass": ["-c", "pass"], "(ref) import typer": ["-c", "import typer"],
              "(ref) rich, one table": ["-c", RICH_TABLE]}
# the references' CPU ratios when the gates were set (21-round medians): `import typer`,
# and rich printing one table (the floor of every table convcli draws)
REF_CPU = {"(ref) import typer": 5.9, "(ref) rich, one table": 5.9}
# name: (argv, issue 14's target wall ratio, CI gate on the CPU ratio); None: reference
CASES = {
    "shape": (["shape", "4x3x64x64", "-o", "16", "-k", "3"], 5.0, 7.5),
    "params": (["params", "-i", "64", "-o", "128", "-k", "3"], 5.0, 7.5),
    "net (10 layers)": (["net", "1x3x32x32", NET], 5.0, 9.0),
    "shape --json": (["shape", "4x3x64x64", "-o", "16", "-k", "3", "--json"], 5.0, 4.5),
    "params --json": (["params", "-i", "64", "-o", "128", "-k", "3", "--json"], 5.0, 4.5),
    "net --json": (["net", "1x3x32x32", NET, "--json"], 5.0, 5.4),
    "--help": (["--help"], 6.0, 3.0),
    "shape --help": (["shape", "--help"], 6.0, 3.0),
}


def child_env(cache: str) -> dict:
    os.makedirs(cache, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONVCLI_DEBUG",
                                                            "CONVCLI_HELP_CACHE")}
    env.update(COLUMNS="80", XDG_CACHE_HOME=cache)
    return env


def make_venv(where: Path, root: Path) -> str:
    """A fresh venv of this interpreter whose site-packages .pth names the checkout and
    this environment's site-packages (lines of a .pth are added to sys.path, the
    .pth files in them are not run)."""
    venv.create(where, symlinks=True, with_pip=False)
    py = where / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    paths = [str(root)] + [p for p in site.getsitepackages() if os.path.isdir(p)]
    Path(purelib, "convcli-startup-benchmark.pth").write_text("\n".join(paths) + "\n")
    return str(py)


def run(cmd: list[str], env: dict) -> tuple[float, float]:
    t0 = time.perf_counter()
    # cwd: a folder with no convcli in it (`python -c` puts the cwd first on sys.path)
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         cwd=env["XDG_CACHE_HOME"])
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[3:])!r} failed: {err.decode(errors='replace')[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(commands: dict[str, tuple[list[str], dict]], runs: int) -> tuple[dict, dict]:
    for cmd, env in commands.values():      # warm: file cache, the --help cache
        run(cmd, env)
    wall: dict[str, list[float]] = {n: [] for n in commands}
    cpu: dict[str, list[float]] = {n: [] for n in commands}
    names = list(commands)
    for r in range(runs):       # rotated: drift and neighbours hit every case alike
        for n in names[r % len(names):] + names[:r % len(names)]:
            w, c = run(*commands[n])
            wall[n].append(w)
            cpu[n].append(c)
    return wall, cpu


def report(commands: dict, wall: dict, cpu: dict, runs: int) -> list[str]:
    """Prints the ratios and returns the cases over their gate."""
    base_wall = statistics.median(wall["python -c pass"])
    base_cpu = statistics.median(cpu["python -c pass"])
    print(f"runs={runs}, python -c pass: {base_wall * 1e3:.1f} ms wall, "
          f"{base_cpu * 1e3:.1f} ms CPU; load {os.getloadavg()[0]:.1f}; {sys.version.split()[0]}")
    # a busy machine slows every Python start-up, the references' too, and a program
    # that reads more files and runs more code more than `python -c pass`: the gates
    # move up with the slower of the two references (never down), so that CI fails on
    # a regression of convcli's own start-up, not on a loaded neighbour
    reads = {n: statistics.median(cpu[n]) / base_cpu for n in REF_CPU}
    slowest = max(REF_CPU, key=lambda n: reads[n] / REF_CPU[n])
    scale = max(1.0, reads[slowest] / REF_CPU[slowest])
    if scale > 1:
        print(f"gates x{scale:.2f}: {slowest.removeprefix('(ref) ')} reads "
              f"{reads[slowest]:.2f}x (the gates were set when it read {REF_CPU[slowest]}x)")
    print(f"{'case':32} {'wall x':>7} {'target':>7} {'CPU x':>7} {'gate':>6}")
    over = []
    for n in list(commands)[1:]:
        rw = statistics.median(wall[n]) / base_wall
        rc = statistics.median(cpu[n]) / base_cpu
        _, target, gate = CASES.get(n.removeprefix("convcli "), (None, None, None))
        if target is None or n.startswith("("):
            print(f"{n:32} {rw:7.2f} {'':>7} {rc:7.2f}")
            continue
        gate = round(gate * scale, 2)
        verdict = "ok" if rc <= gate else "OVER"
        over += [n] if verdict == "OVER" else []
        print(f"{n:32} {rw:7.2f} {'<=' + format(target, 'g'):>7} {rc:7.2f} "
              f"{'<=' + format(gate, 'g'):>6}  {verdict}"
              f"{'' if rw <= target else '  (over the issue target)'}")
    return over


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a CPU ratio is over its gate")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to time")
    ap.add_argument("--compare", type=Path, help="another checkout, timed alongside")
    args = ap.parse_args()
    roots = [args.root.resolve()] + ([args.compare.resolve()] if args.compare else [])
    with tempfile.TemporaryDirectory() as tmp:
        commands: dict[str, tuple[list[str], dict]] = {}
        for i, root in enumerate(roots):
            compileall.compile_dir(root / "convcli", quiet=1)
            py = make_venv(Path(tmp, f"venv{i}"), root)
            env = child_env(str(Path(tmp, f"cache{i}")))     # a --help cache per checkout
            if i == 0:
                commands = {n: ([py, *argv], env) for n, argv in REFERENCES.items()}
            mark = "" if i == 0 else f"({root.name}) "
            commands.update({f"{mark}convcli {n}": ([py, "-c", SCRIPT, *argv], env)
                             for n, (argv, _, _) in CASES.items()})
        over = report(commands, *measure(commands, args.runs), args.runs)
        if args.check and over:
            # one noisy round is not a regression: the cases over their gate are timed
            # again, 21 rounds beside the same references, and fail only if still over
            print(f"\nover on the first measure: {', '.join(over)}; timing them again")
            again = {n: commands[n] for n in [*REFERENCES, *over]}
            over = report(again, *measure(again, max(21, args.runs)), max(21, args.runs))
    if args.check and over:
        sys.exit(f"start-up over its gate: {', '.join(over)}")


if __name__ == "__main__":
    main()
