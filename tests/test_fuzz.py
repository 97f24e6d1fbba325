"""Fuzz every command with malformed and extreme values (issue 15's contract).

A seeded generator (the same cases every run, each with a stable id) takes a valid
invocation of each command and replaces one or two of its values with hostile ones:
empty, signs, floats, NaN/inf, 400- and 4,301-digit numbers, 2**64, non-ASCII digits,
newlines, ANSI escapes, rich markup, paths to a FIFO, a folder, a text file. Each case
runs in-process (torch imported once; CONVCLI_DEBUG=1, so a bug raises with its
traceback) under a per-case time limit, and must end:

  * with an exit code in {0, 1, 2, 3, 130, 143};
  * on error (exit >= 2): exactly one `Error:` line on stderr (warnings aside) and
    nothing on stdout;
  * with --json and exit 0/1: one strict JSON object (no NaN/Infinity);
  * with no `.convcli-*.tmp` file left anywhere it could write.

Cases that fail in code other helpers own are marked xfail(strict=True) with the
reason (KNOWN), so that the fix makes them pass loudly. Bounded: about 290 cases,
each under LIMIT_S.
"""

from __future__ import annotations

import json
import os
import random
import signal
import shlex

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from conftest import ROOT  # noqa: E402

SEED = 15
LIMIT_S = 8
ALLOWED = {0, 1, 2, 3, 130, 143}
CIFAR = f"{ROOT}/examples/models/cifar_cnn.py:CifarCNN"

HOSTILE = ["", " ", "0", "-1", "1.5", "1e3", "1e400", "nan", "inf", "-inf", "٣", "１", "²",
           "x", "3x", ",", "((1)", "[1, 2", "9" * 25, "9" * 400, str(2 ** 63), str(2 ** 64),
           str(10 ** 12), "1" * 4301, "a\nb", "\x1b[31m1", "[bold]1[/bold]", "'", "+3",
           " 3 ", "3,3,3,3,3,3,3", "0x10", "1_000", "-0", "{W}/fifo.npy", "{W}/dir",
           "{W}/text.npy"]

# command -> (valid argv, {option or positional index: hostile-able}) ; a positional is
# addressed by its index in the argv
TEMPLATES = {
    "shape": (["shape", "1x3x8x8", "-o", "4", "-k", "3"],
              [1, "-o", "-k", "-s", "-p", "-d", "-g", "--dims", "--dtype", "--padding-mode",
               "-i"]),
    "params": (["params", "1x4x8x8", "-i", "4", "-o", "4", "-k", "3"],
               ["-i", "-o", "-k", "-g", 1, "-s", "--dtype"]),
    "show": (["show", "1x4x7x7", "-o", "4", "-k", "3"],
             [1, "-o", "-k", "-s", "-g", "--at", "--channel", "--along", "-p"]),
    "solve": (["solve", "--input-size", "32", "--output-size", "16"],
              ["--input-size", "--output-size", "--max-kernel", "--max-stride", "--max-padding",
               "--max-dilation", "--limit", "-k"]),
    "net": (["net", "1x3x32x32", "Conv2d(3, 16, 3), ReLU(), MaxPool2d(2)"],
            [1, 2, "--dtype"]),
    "run": (["run", "1x3x8x8", "-o", "4", "-k", "3", "-r", "1", "--warmup", "0",
             "--device", "cpu"],
            [1, "-o", "-k", "--seed", "--threads", "--max-memory", "--dtype", "-r",
             "--warmup", "--save", "--weight-file", "--bias-file", "--device", "-s"]),
    "verify": (["verify", "-i", "4", "-o", "4", "-k", "3", "1x4x8x8"],
               ["-i", "-o", "-k", 7, "--atol", "--rtol", "--seed", "--dtype",
                "--device", "--junit", "--max-memory", "-g", "-s"]),
    "suite": (["verify", "--cases", "2"],
              ["--cases", "--atol", "--rtol", "--seed", "--dtype", "--junit"]),
    "summary": (["summary", CIFAR, "--input", "1x3x32x32"], [1, "--input", "--args"]),
}
PER_COMMAND = 30

# the extreme values issue 15 names, each once, on top of the random ones
TARGETED = {
    "i15-seed-2**64": ["run", "1x3x8x8", "-o", "4", "-k", "3", "-r", "1", "--seed",
                       str(2 ** 64)],
    "i15-threads-1e11": ["run", "1x3x8x8", "-o", "4", "-k", "3", "--threads", "99999999999"],
    "i15-max-memory-1e400": ["run", "1x3x8x8", "-o", "4", "-k", "3", "--max-memory",
                             "1e400GiB"],
    "i15-max-memory-400-digits": ["run", "1x3x8x8", "-o", "4", "-k", "3", "--max-memory",
                                  "9" * 400 + "GiB"],
    "i15-fifo": ["run", "{W}/fifo.npy", "-o", "4", "-k", "3"],
    "i15-nan-tune-json": ["run", "{W}/nan.npy", "-o", "4", "-k", "3", "-r", "1", "--tune",
                          "--json", "--device", "cpu"],
    "i15-atol-inf-json": ["verify", "--cases", "2", "--atol", "inf", "--json"],
    "i15-rtol-1e400-json": ["verify", "--cases", "2", "--rtol", "1e400", "--json"],
    "i15-cases-1e8": ["verify", "--cases", str(10 ** 8)],
    "i15-verify-memory": ["verify", "-i", "4", "-o", "4", "-k", "1", "100000x4x1000x1000"],
    "i15-huge-spatial-run": ["run", f"1x3x{10 ** 160}x{10 ** 160}", "-o", "4", "-k", "3",
                             "--tune", "--dtype", "float32,bfloat16"],
    "i15-huge-spatial-verify": ["verify", "-i", "3", "-o", "4", "-k", "3",
                                f"1x3x{10 ** 160}x{10 ** 160}"],
    "i15-repeat-huge": ["run", "1x3x8x8", "-o", "4", "-k", "3", "-r", "9" * 25],
    "i15-png-empty": ["show", "1x4x7x7", "-o", "4", "-k", "3", "--png", ""],
    "i15-4301-digits": ["shape", "1x3x8x8", "-o", "1" * 4301, "-k", "3"],
    "i15-non-ascii-digit": ["shape", "1x٣x8x8", "-o", "4", "-k", "3"],
    "i15-groups-1e5": ["params", "-i", "100000", "-o", "100000", "-k", "1", "-g", "100000"],
    "i15-solve-huge": ["solve", "--input-size", str(10 ** 12), "--output-size", "16"],
    "i15-upsample-1e300": ["net", "1x3x32x32", "Upsample(scale_factor=1e300)"],
    "i15-deep-expression": ["net", "1x3x32x32", "Conv2d(3, " + "+".join(["1"] * 20000) + ", 3)"],
    "i15-summary-huge-int": ["summary", CIFAR, "--input", "1x3x" + "1" * 4301],
}

# issue 23's old spellings, kept one version: each still answers, with one `Note:` line
# per old spelling on stderr (the corpus above uses the new ones, where a note would be
# an error); (argv, exit code, the old spellings noted)
OLD_SPELLINGS = {
    "solve-input-output": (["solve", "--input", "32", "--output", "16", "--json"], 0,
                           ["solve --input", "solve --output"]),
    "params-input": (["params", "-i", "4", "-o", "4", "-k", "3", "--input", "1x4x8x8"], 0,
                     ["params --input"]),
    "verify-input": (["verify", "-i", "4", "-o", "4", "-k", "3", "--input", "1x4x8x8",
                      "--json"], 0, ["verify --input"]),
    "show-dim": (["show", "1x4x7x7", "-o", "4", "-k", "3", "--dim", "0"], 0, ["show --dim"]),
    "apply-kernel": (["apply", "1x1x8x8", "--pattern", "square", "--kernel", "edge-vertical"],
                     0, ["apply --kernel"]),
    "solve-input-nan": (["solve", "--input", "nan", "--output", "16"], 2,
                        ["solve --input", "solve --output"]),
    "solve-old-and-new": (["solve", "--input", "32", "--input-size", "32",
                           "--output-size", "16"], 2, []),
}

# cases that fail in code being changed elsewhere, with why: a strict xfail, so that the
# fix makes them pass loudly (empty: every case found so far is fixed)
KNOWN: dict[str, str] = {}


def _cases():
    rng = random.Random(SEED)
    out = []
    for name, (argv, slots) in TEMPLATES.items():
        for i in range(PER_COMMAND):
            args = list(argv)
            for slot in rng.sample(slots, k=1 if rng.random() < 0.7 else 2):
                value = rng.choice(HOSTILE)
                if isinstance(slot, int):
                    args[slot] = value
                elif slot in args:
                    args[args.index(slot) + 1] = value
                else:
                    args += [slot, value]
            if rng.random() < 0.5:
                args.append("--json")
            out.append((f"{name}-{i:03d}", args))
    return out + list(TARGETED.items())


CASES = _cases()


class Hang(BaseException):
    """Raised by the per-case alarm (a BaseException: no `except Exception` eats it)."""


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    w = tmp_path_factory.mktemp("fuzz")
    np.save(w / "in.npy", np.zeros((1, 3, 8, 8), np.float32))
    np.save(w / "nan.npy", np.full((1, 3, 8, 8), np.nan, np.float32))
    os.mkfifo(w / "fifo.npy")
    (w / "dir").mkdir()
    (w / "text.npy").write_text("not a .npy file\n")
    return w


def _strict_json(text: str) -> dict:
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    data = json.loads(text, parse_constant=refuse)
    assert isinstance(data, dict), "--json printed something other than one object"
    return data


def _temp_files(*folders) -> list[str]:
    found = []
    for folder in folders:
        for dirpath, _, files in os.walk(folder):
            found += [os.path.join(dirpath, f) for f in files if f.startswith(".convcli-")]
    return found


def _params():
    return [pytest.param(args, id=cid, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[cid])]
                         if cid in KNOWN else []) for cid, args in CASES]


@pytest.mark.parametrize("args", _params())
def test_fuzz(cli, work, args):
    argv = [a.replace("{W}", str(work)) for a in args]
    if "--save" in argv:
        i = argv.index("--save") + 1
        argv[i] = argv[i] if "/" in argv[i] else str(work / f"{argv[i] or 'out'}.npy")
    if "--junit" in argv:
        i = argv.index("--junit") + 1
        argv[i] = argv[i] if "/" in argv[i] else str(work / "new" / f"{argv[i] or 'r'}.xml")

    def hang(signum, frame):
        raise Hang(f"no answer within {LIMIT_S} s: convcli {shlex.join(argv)[:300]}")

    old = signal.signal(signal.SIGALRM, hang)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
    try:
        r = cli(*argv)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    where = f"convcli {shlex.join(argv)[:300]} -> exit {r.exit_code}, stderr {r.stderr[-400:]!r}"
    assert r.exit_code in ALLOWED, where
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    if r.exit_code >= 2:
        errors = [ln for ln in lines if ln.startswith("Error: ")]
        others = [ln for ln in lines if not ln.startswith(("Error: ", "Warning: "))]
        assert len(errors) == 1 and not others, where
        assert r.stdout == "", where
    elif "--json" in argv:
        _strict_json(r.stdout)
    assert not _temp_files(work, ROOT), where


@pytest.mark.parametrize("case", OLD_SPELLINGS)
def test_an_old_spelling_answers_with_its_note(cli, case):
    argv, code, noted = OLD_SPELLINGS[case]
    r = cli(*argv)
    where = f"convcli {shlex.join(argv)} -> exit {r.exit_code}, stderr {r.stderr[-400:]!r}"
    assert r.exit_code == code, where
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    notes = [ln for ln in lines if ln.startswith("Note: ")]
    assert [n.split(" is now ")[0].removeprefix("Note: ") for n in notes] == noted, where
    assert all(n.endswith("; the old spelling goes in the next version") for n in notes)
    others = [ln for ln in lines if not ln.startswith("Note: ")]
    if code >= 2:
        assert len(others) == 1 and others[0].startswith("Error: ") and r.stdout == "", where
    else:
        assert others == [] and r.stdout, where
        if "--json" in argv:
            _strict_json(r.stdout)
