"""How the process ends, as a shell sees it: a stdout closed by its reader (exit 141,
nothing on stderr), SIGINT (130) and SIGTERM (143) with one `Error:` line each, in the
middle of a torch run. The hostile environments (closed and full streams, signals
from the first instruction, encodings, terminals) are tests/cli/test_exit.py's."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, convcli_env, signal_at, start_ready
from convcli.errors import ExitCode

LAYERS = ", ".join(["Conv2d(3, 3, 3, padding=1)"] * 3000)


def _spawn(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "convcli", *args], cwd=ROOT,
                            env=convcli_env(), stderr=subprocess.PIPE, text=True, **kwargs)


def test_exit_codes_are_one_enum():
    assert {int(c) for c in ExitCode} == {0, 1, 2, 3, 70, 130, 141, 143}


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="needs Linux's pipe sizes")
@pytest.mark.parametrize("json", [False, True])
def test_closed_stdout_exits_141_quietly(json):
    """`convcli net ... | head -1`: the reader takes a line and goes away in the middle
    of the output. The pipe holds one page, so the rest cannot all be written before
    the reader closes it (the table is ~30 KB: a 64 KB pipe would take it whole, and
    a loaded machine then saw exit 0)."""
    read, write = os.pipe()
    page = fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)
    p = _spawn("net", "1x3x32x32", LAYERS, *(["--json"] if json else []), stdout=write)
    os.close(write)
    with os.fdopen(read) as out:
        first = out.readline()
    err = p.stderr.read()
    assert p.wait(timeout=60) == ExitCode.CLOSED_STDOUT
    assert err == "" and first
    bigger = subprocess.run(p.args, cwd=ROOT, env=convcli_env(), capture_output=True,
                            timeout=60).stdout
    assert len(bigger) > 2 * page     # what makes the close land mid-output


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, words", [
    (signal.SIGINT, ExitCode.INTERRUPTED, "Error: interrupted"),
    (signal.SIGTERM, ExitCode.TERMINATED, "Error: terminated (SIGTERM)"),
])
def test_signals_end_with_one_line(tmp_path, sig, code, words):
    pytest.importorskip("torch")
    p = _spawn("run", "8x16x64x64", "-o", "16", "-k", "3", "--repeat", "100000",
               "--save", str(tmp_path / "y.npy"), stdout=subprocess.DEVNULL)
    time.sleep(4)             # inside the timed calls (torch imported, tensors made)
    p.send_signal(sig)
    err = p.stderr.read()
    assert p.wait(timeout=60) == code
    assert err.strip().splitlines() == [words]
    assert os.listdir(tmp_path) == []   # no output, no temporary file


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
@pytest.mark.parametrize("argv", [["shape", "1x3x8x8", "-o", "1", "-k", "1"],
                                  ["solve", "--input-size", "32", "--output-size", "16"]])
@pytest.mark.parametrize("share", [0.0, 0.3, 0.6])
def test_a_signal_while_starting_up_is_one_line(argv, share):
    """From the moment convcli's handler is in place (main.py installs it before
    anything slow is imported: typer, rich, the calculator), SIGTERM ends with one line
    and 143, never a traceback. The signal goes at a share of the time this machine
    takes from there to the end, so a slow machine is not a flaky one. (Before the
    handler, Python itself is starting: the default action, no convcli code yet.)"""
    cmd = [sys.executable, "-m", "convcli", *argv]
    p, t0 = start_ready(cmd)
    p.communicate(timeout=60)
    rest = time.perf_counter() - t0
    p, t = start_ready(cmd)
    signal_at(p, t + share * rest, signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode in (0, ExitCode.TERMINATED), err
    if p.returncode == ExitCode.TERMINATED:
        assert err.strip().splitlines() == ["Error: terminated (SIGTERM)"] and out == ""


@pytest.mark.slow
@pytest.mark.parametrize("share", [0.15, 0.3, 0.45, 0.6, 0.8])
def test_ctrl_c_at_any_point_of_a_run_is_one_line_and_130(share):
    """While Typer parses the arguments (it swallows Ctrl-C into a silent 130), while
    torch imports (its import swallows a KeyboardInterrupt landing in part of it), or
    in the command: always exit 130 and `Error: interrupted`, never a silent exit or
    death by SIGINT."""
    pytest.importorskip("torch")
    args = ("run", "1x3x8x8", "-o", "4", "-k", "3", "-r", "1", "--device", "cpu")
    t0 = time.perf_counter()
    p = _spawn(*args, stdout=subprocess.PIPE)
    p.communicate(timeout=120)
    whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = _spawn(*args, stdout=subprocess.PIPE)
    signal_at(p, t0 + share * whole, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode in (0, ExitCode.INTERRUPTED), (p.returncode, err)
    if p.returncode == ExitCode.INTERRUPTED:
        assert err.strip().splitlines() == ["Error: interrupted"] and out == ""


def test_a_ctrl_c_swallowed_by_an_import_is_raised_after_it(tmp_path):
    """import_torch defers SIGINT over the import: a module that catches the
    KeyboardInterrupt itself (as torch's import does in part) cannot lose it."""
    (tmp_path / "torch.py").write_text(
        "import os, signal, time\n"
        "try:\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(0.05)\n"
        "except KeyboardInterrupt:\n    pass\n")
    code = ("from convcli.engine.torch_adapter import import_torch\n"
            "try:\n    import_torch()\nexcept KeyboardInterrupt:\n    print('raised after')\n"
            "else:\n    print('lost')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.stdout.strip() == "raised after", p.stderr


def test_a_stdout_closed_as_a_python_file_is_one_line_and_3(capsys, monkeypatch):
    """flush() on a closed file object raises ValueError (no strerror): one line,
    exit 3, not an AttributeError while leaving (mypy found it)."""
    from convcli import process

    closed = open(os.devnull, "w")
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    assert process._flushed(0) == int(ExitCode.ENVIRONMENT)
    assert capsys.readouterr().err == ("Error: cannot write to stdout (I/O operation on "
                                       "closed file.); the output is incomplete\n")
