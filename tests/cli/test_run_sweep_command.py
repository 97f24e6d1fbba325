"""`convcli run --sweep` as a user types it: the table at 80 columns, `--json` (each
row the keys of a plain run, through `python -m json.tool`), a conv given as torch code,
what cannot combine refused with one line, Ctrl-C in the middle, progress on a
terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import ROOT, read_pty

torch = pytest.importorskip("torch")

QUICK = ("-r", "2", "--warmup", "0", "--threads", "1")


def run80(*args: str):
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    return runner.invoke(app, list(args), catch_exceptions=False)


def _rows(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("━")) + 1
    return [line.split() for line in lines[start:] if line.strip()][:100]


def test_the_table_has_a_row_per_combination_with_torchs_output_shape():
    r = run80("run", "1x3x20x20", "-o", "5", "--sweep", "k=1,3,5", "--sweep", "s=1,2",
              *QUICK)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("6 runs of k, s on cpu, float32\n")
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    x = torch.randn(1, 3, 20, 20)
    rows = _rows(r.stdout)[:6]
    for k, s in [(k, s) for k in (1, 3, 5) for s in (1, 2)]:
        row = next(x for x in rows if x[:2] == [str(k), str(s)])
        shape = list(torch.nn.Conv2d(3, 5, k, stride=s)(x).shape)
        assert " ".join(row).count(str(shape)) == 1, (row, shape)
    assert "input [1, 3, 20, 20] standard normal, seed 0" in r.stdout
    assert "2 timed calls after 0 warmup per run (perf_counter)" in r.stdout


def test_json_rows_have_a_plain_runs_keys_and_json_tool_reads_them(tmp_path):
    args = ["run", "1x4x12x12", "Conv2d(4, 6, 3)", "--sweep", "s=1,2", "--sweep",
            "p=0,1,9", *QUICK, "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = (f"{sys.executable} -m convcli {' '.join(repr(a) for a in args)} | "
           f"{sys.executable} -m json.tool")
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env,
                       timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert set(data) == {"version", "sweep_options", "sweep"}
    assert data["sweep_options"] == [
        {"option": "stride", "name": "s", "values": ["1", "2"]},
        {"option": "padding", "name": "p", "values": ["0", "1", "9"]}]
    plain = run80("run", "1x4x12x12", "Conv2d(4, 6, 3)", *QUICK, "--json")
    keys = set(json.loads(plain.stdout)) - {"version"}
    x = torch.randn(1, 4, 12, 12)
    for row in data["sweep"]:
        s, pad = int(row["swept"]["stride"]), int(row["swept"]["padding"])
        assert row["error"] is None
        assert set(row) == keys | {"swept", "error"}
        y = torch.nn.Conv2d(4, 6, 3, stride=s, padding=pad)(x)
        assert row["output_shape"] == list(y.shape)
        assert row["layer"] == "Conv2d(4, 6, 3" + (f", stride={s}" if s > 1 else "") + (
            f", padding={pad}" if pad else "") + ")"
        assert row["timing"]["repeat"] == 2 and row["threads"] == 1


def test_a_refused_combination_is_a_row_and_its_reason():
    r = run80("run", "1x2x6x6", "-o", "2", "--sweep", "k=3,7", *QUICK)
    assert r.exit_code == 0, r.stderr
    assert "torch refuses it (below)" in r.stdout
    assert "k=7: spatial dim 0: the padded input is 6" in r.stdout
    d = json.loads(run80("run", "1x2x6x6", "-o", "2", "--sweep", "k=3,7", *QUICK,
                         "--json").stdout)
    assert [row["error"] is None for row in d["sweep"]] == [True, False]
    assert set(d["sweep"][1]) == {"swept", "error"}


@pytest.fixture
def files(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 10, 10), np.float32))
    np.save(tmp_path / "w.npy", np.zeros((8, 4, 3, 3), np.float32))
    return tmp_path


@pytest.mark.parametrize("extra, code, words", [
    (("--sweep", "k=1,3", "--tune"), 2, "with --tune: --tune times the variants of one"),
    (("--sweep", "k=1,3", "--save", "y.npy"), 2, "with --save: --save writes the output"),
    (("--weight-file", "w.npy", "--sweep", "k=1,3"), 2,
     "--sweep k: --weight-file 'w.npy' fixes --kernel-size"),
    (("--weight-file", "w.npy", "--sweep", "g=1,2"), 2, "fixes --groups"),
    (("-k", "3", "--sweep", "k=1,3"), 2, "--kernel-size is given too"),
    (("--sweep", "k=1,3,5,7,9,11", "--sweep", "s=1,2,3,4,5", "--sweep", "d=1,2,3,4"), 2,
     "--sweep: 120 combinations; at most 100 in one command, since run times each one"),
    (("--sweep", "k=1", "--sweep", "o=8,1000000", "--max-memory", "1GiB"), 3,
     "--sweep k=1, o=1000000: this run needs about"),
    (("--sweep", "k=11,13"), 2, "no combination is a conv torch runs; k=11: spatial dim"),
    (("--sweep", "k=1,3", "--device", "cuda:7"), 3, "Error: --device cuda:7: "),
    (("--sweep", "q=1"), 2, "'q' is not a conv option"),
])
def test_what_cannot_combine_is_one_line_and_its_exit_code(files, extra, code, words):
    old = os.getcwd()
    os.chdir(files)
    try:
        args = ["run", "x.npy", *extra, *QUICK]
        if "--weight-file" not in extra and "o=8,1000000" not in extra:
            args[2:2] = ["-o", "8"]
        r = run80(*args)
    finally:
        os.chdir(old)
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
    assert words in r.stderr
    assert sorted(p.name for p in files.iterdir()) == ["w.npy", "x.npy"]   # nothing written


def test_a_weight_file_still_sweeps_what_it_does_not_fix(files):
    old = os.getcwd()
    os.chdir(files)
    try:
        d = json.loads(run80("run", "x.npy", "--weight-file", "w.npy", "--sweep", "s=1,2",
                             "--sweep", "p=0,1", *QUICK, "--json").stdout)
    finally:
        os.chdir(old)
    assert [row["output_shape"] for row in d["sweep"]] == [
        [1, 8, 8, 8], [1, 8, 10, 10], [1, 8, 4, 4], [1, 8, 5, 5]]
    assert {row["sources"]["weight"] for row in d["sweep"]} == {"w.npy (float32)"}


_INTERRUPT_SECOND_RUN = """
import signal, sys
from convcli.main import main
import convcli.engine.conv_run as conv_run
real, calls = conv_run.run, []
def run(*a, **k):
    calls.append(1)
    if len(calls) == 2:
        signal.raise_signal(signal.SIGINT)
    return real(*a, **k)
conv_run.run = run
sys.argv = ["convcli", "run", "1x2x8x8", "-o", "2", "--sweep", "k=1,3,5", "-r", "2"]
main()
"""


def test_ctrl_c_in_the_middle_exits_130_with_one_line_and_no_output(tmp_path):
    out = tmp_path / "table.txt"
    with open(out, "w") as stdout:
        p = subprocess.run([sys.executable, "-c", _INTERRUPT_SECOND_RUN], stdout=stdout,
                           stderr=subprocess.PIPE, text=True, timeout=300, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (p.returncode, p.stderr.splitlines()) == (130, ["Error: interrupted"])
    assert out.read_text() == ""
    assert sorted(x.name for x in tmp_path.iterdir()) == ["table.txt"]


def test_progress_is_on_a_terminals_stderr_and_never_on_stdout():
    import pty
    parent, child = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "-m", "convcli", "run", "1x16x64x64", "-o", "16", "--sweep",
         "k=3,5", "-r", "600", "--threads", "1"], stdout=subprocess.PIPE, stderr=child,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "TERM": "xterm"},
        cwd=ROOT)
    os.close(child)
    err = read_pty(parent).decode(errors="replace")
    out = p.stdout.read().decode()
    p.wait(timeout=300)
    assert p.returncode == 0, err
    assert "--sweep k: 2 runs" in err and "/1204" in err
    assert out.startswith("2 runs of k on cpu, float32") and "--sweep k:" not in out
