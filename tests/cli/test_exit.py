"""The process's one way out, as a shell sees it in a hostile environment: closed,
broken and full streams, narrow encodings, absurd terminal sizes, NO_COLOR on a
terminal, signals from the first instruction, the user's atexit handlers. Real
processes throughout.

The signal tests run on every interpreter named in CONVCLI_TEST_PYTHONS (paths,
os.pathsep-separated; each with typer and rich installed, convcli comes from this
checkout through PYTHONPATH) as well as on this one:

    CONVCLI_TEST_PYTHONS=/venvs/py3.10/bin/python:/venvs/py3.12/bin/python:... \\
        python -m pytest tests/cli/test_exit.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, convcli_env, read_pty, run_script, signal_at, start_ready
from convcli.errors import ExitCode

PYTHONS = [sys.executable] + [p for p in os.environ.get("CONVCLI_TEST_PYTHONS", "").split(
    os.pathsep) if p]
SHAPE = ["shape", "1x3x8x8", "-o", "4", "-k", "3"]
# one command per way through main.py: the fast path, Typer, the --help cache, --json
COMMANDS = [SHAPE, SHAPE + ["--json"], ["params", "-o", "4", "-k", "3", "1x3x8x8"],
            ["solve", "--input-size", "32", "--output-size", "16"], ["--help"],
            ["shape", "--help"],
            ["net", "1x3x8x8", "Conv2d(3, 4, 3), ReLU()"]]


def _shell(redirect: str, argv: list[str], python: str = sys.executable,
           timeout: float = 60, **env) -> subprocess.CompletedProcess:
    """convcli run by sh with a redirection of its own (`>&-`, `> /dev/full`...)."""
    script = f'exec "$@" {redirect}'
    return subprocess.run(["sh", "-c", script, "sh", python, "-m", "convcli", *argv],
                          cwd=ROOT, env=convcli_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and "Exception ignored" not in text, text


# ---- closed, broken and full stdout; closed stderr ---------------------------------


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_closed_stdout_is_141_quietly(argv):
    r = _shell(">&-", argv)
    assert (r.returncode, r.stderr) == (ExitCode.CLOSED_STDOUT, "")


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_full_stdout_is_exit_3_with_one_line(argv):
    r = _shell("> /dev/full", argv)
    assert r.returncode == ExitCode.ENVIRONMENT, r.stderr
    assert r.stderr.splitlines() == [
        "Error: cannot write to stdout (No space left on device); the output is incomplete"]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_closed_or_full_stderr_never_changes_the_exit_code(argv):
    for redirect in ("2>&-", "2>/dev/full"):
        r = _shell(redirect, argv)
        assert r.returncode == 0 and r.stdout, (redirect, r.stdout[-300:])
    bad = _shell("2>&-", ["shape", "1x3x8x8", "-o", "4", "-k", "0"])
    assert (bad.returncode, bad.stdout) == (ExitCode.USAGE, "")


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize("argv", [["--help"], ["net", "--help"], SHAPE], ids=" ".join)
def test_a_reader_that_went_away_is_141_quietly(tmp_path, cached, argv):
    """`convcli --help | head -1`, made deterministic: the reader has gone before
    convcli writes (a cached help page fits a pipe's buffer, so with a real `head` it
    may be written whole, and exit 0, before head closes)."""
    env = convcli_env(XDG_CACHE_HOME=str(tmp_path))
    if cached:
        assert subprocess.run([sys.executable, "-m", "convcli", *argv], cwd=ROOT, env=env,
                              capture_output=True, timeout=60).returncode == 0
    read, write = os.pipe()
    os.close(read)
    try:
        r = subprocess.run([sys.executable, "-m", "convcli", *argv], cwd=ROOT, env=env,
                           stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert (r.returncode, r.stderr) == (ExitCode.CLOSED_STDOUT, "")


# ---- encodings, terminal sizes, NO_COLOR -------------------------------------------


@pytest.mark.parametrize("encoding", [dict(PYTHONIOENCODING="ascii"),
                                      dict(PYTHONIOENCODING="latin-1"),
                                      dict(LC_ALL="C", LANG="C", PYTHONIOENCODING=None)],
                         ids=lambda e: "-".join(f"{k}={v}" for k, v in e.items()))
@pytest.mark.parametrize("argv", [["params", "-o", "4", "-k", "3", "1x3x8x8",
                                   "--compare-groups"],
                                  SHAPE + ["--explain"], ["show", "1x1x6x6", "-o", "1", "-k", "3"],
                                  ["--help"], ["net", "1x3x8x8", "Conv2d(3, 4, 3)", "--rf"]],
                         ids=" ".join)
def test_a_narrow_encoding_degrades_to_ascii(argv, encoding):
    r = subprocess.run([sys.executable, "-m", "convcli", *argv], cwd=ROOT, capture_output=True,
                       env=convcli_env(**encoding), timeout=60)
    assert r.returncode == 0, r.stderr
    _no_traceback(r.stderr.decode("latin-1"))
    if encoding.get("PYTHONIOENCODING") == "ascii":
        assert r.stdout.isascii()
        r.stdout.decode("ascii")
    utf8 = subprocess.run([sys.executable, "-m", "convcli", *argv], cwd=ROOT,
                          capture_output=True, env=convcli_env(PYTHONIOENCODING="utf-8"),
                          timeout=60)
    # the same lines, not a partial table: as many as in UTF-8
    assert len(r.stdout.splitlines()) == len(utf8.stdout.splitlines())


def test_ascii_output_replaces_symbols_with_their_ascii_spelling():
    r = subprocess.run([sys.executable, "-m", "convcli", "params", "-o", "4", "-k", "3",
                        "1x3x8x8"], cwd=ROOT, capture_output=True, text=True,
                       env=convcli_env(PYTHONIOENCODING="ascii"), timeout=60)
    assert r.returncode == 0
    assert "+---" in r.stdout or "|" in r.stdout          # rich's ASCII box
    assert "?" not in r.stdout


@pytest.mark.parametrize("columns", ["99999999999", "10000000", "1" * 5000])
def test_a_huge_width_is_clamped(columns):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "convcli", "--help"], cwd=ROOT,
                       capture_output=True, text=True, env=convcli_env(COLUMNS=columns,
                                                                CONVCLI_HELP_CACHE="0"),
                       timeout=60)
    assert r.returncode == 0 and time.perf_counter() - t0 < 30
    assert max(map(len, r.stdout.splitlines())) <= 1000


@pytest.mark.parametrize("value", ["0", "", "abc", "-5", "٣"])
def test_a_zero_or_bogus_width_is_unknown(value):
    for var in ("COLUMNS", "LINES", "TERMINAL_WIDTH"):
        ok = subprocess.run([sys.executable, "-m", "convcli", *SHAPE], cwd=ROOT,
                            capture_output=True, text=True, env=convcli_env(**{var: value}),
                            timeout=60)
        assert ok.returncode == 0 and "[1, 4, 6, 6]" in ok.stdout, (var, ok.stderr)
        bad = subprocess.run([sys.executable, "-m", "convcli", "shape", "1x3x8x8", "-o", "4",
                              "-k", "0"], cwd=ROOT, capture_output=True, text=True,
                             env=convcli_env(**{var: value}), timeout=60)
        assert bad.returncode == 2 and bad.stderr.startswith("Error: kernel_size"), bad.stderr


def _on_a_tty(argv: list[str], **env) -> tuple[int, bytes]:
    import fcntl
    import pty
    import struct
    import termios

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    full = convcli_env(TERM="xterm-256color", **env)
    full.pop("COLUMNS")
    p = subprocess.Popen([sys.executable, "-m", "convcli", *argv], stdin=child, stdout=child,
                         stderr=child, env=full, cwd=ROOT)
    os.close(child)
    out = read_pty(parent)
    return p.wait(timeout=60), out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty, as on Linux")
@pytest.mark.parametrize("argv", [SHAPE, ["--help"], ["shape", "1x3x8x8", "-o", "4", "-k", "0"],
                                  ["params", "-o", "4", "-k", "3", "1x3x8x8"]],
                         ids=" ".join)
def test_no_color_on_a_terminal_means_no_style_escapes(tmp_path, argv):
    code, coloured = _on_a_tty(argv, NO_COLOR=None, XDG_CACHE_HOME=str(tmp_path))
    assert b"\x1b[" in coloured          # a terminal: rich styles it
    for _ in range(2):                   # --help: a miss, then a hit of the cache
        code2, plain = _on_a_tty(argv, NO_COLOR="1", XDG_CACHE_HOME=str(tmp_path))
        assert code2 == code
        assert b"\x1b[" not in plain, plain[:400]
        assert plain.strip()


# ---- a Python without convcli's dependencies -----------------------------------------


@pytest.mark.parametrize("argv", [SHAPE, ["--help"], ["run", "1x3x8x8", "-o", "4", "-k", "3"]],
                         ids=" ".join)
def test_a_python_without_convcli_s_dependencies_is_exit_3_with_one_line(tmp_path, argv):
    """`PYTHONPATH=checkout python -m convcli` under a Python convcli is not installed
    in: its import of typer or rich fails. That is the environment (exit 3, which
    module, which Python), not a bug in convcli (it said "internal error", 70)."""
    import venv
    venv.create(tmp_path / "bare", symlinks=True, with_pip=False)
    bare = str(tmp_path / "bare" / "bin" / "python")
    assert subprocess.run([bare, "-c", "import typer"], capture_output=True).returncode == 1
    r = subprocess.run([bare, "-m", "convcli", *argv], cwd=tmp_path, capture_output=True,
                       text=True, env=convcli_env(PYTHONPATH=str(ROOT)), timeout=60)
    assert (r.returncode, r.stdout) == (ExitCode.ENVIRONMENT, "")
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: ")
    assert f"is not installed for this Python ({bare})" in r.stderr
    assert r.stderr.split()[1] in ("typer", "rich")


# ---- the user's atexit handlers ------------------------------------------------------


def test_a_model_files_atexit_handler_runs(tmp_path):
    pytest.importorskip("torch")
    marker = tmp_path / "flushed.txt"
    model = tmp_path / "model.py"
    model.write_text(
        "import atexit\nimport torch\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('closed'))\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.c = torch.nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n        return self.c(x)\n")
    r = subprocess.run([sys.executable, "-m", "convcli", "summary", f"{model}:M", "--input",
                        "1x3x8x8", "--json"], cwd=tmp_path, capture_output=True, text=True,
                       env=convcli_env(), timeout=240)
    assert r.returncode == 0, r.stderr
    assert marker.read_text() == "closed"


def test_atexit_handlers_run_on_every_way_out(tmp_path):
    """Registered before main() runs (as a model file's would be): they run after a
    success, an error, and a signal."""
    marker = tmp_path / "ran"
    for argv, code in [(SHAPE, 0), (["shape", "1x3x8x8", "-o", "4", "-k", "0"], 2)]:
        script = ("import atexit, sys\n"
                  f"atexit.register(lambda: open({str(marker)!r}, 'a').write('x'))\n"
                  f"sys.argv = ['convcli', *{argv!r}]\n"
                  "from convcli.main import main\nmain()\n")
        r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, env=convcli_env(), timeout=60)
        assert r.returncode == code, r.stderr
    assert marker.read_text() == "xx"


# ---- signals from the first instruction ---------------------------------------------

_SIGNALS = [(signal.SIGINT, ExitCode.INTERRUPTED, "Error: interrupted"),
            (signal.SIGTERM, ExitCode.TERMINATED, "Error: terminated (SIGTERM)")]


def _one_line_or_done(p: subprocess.Popen, out: str, err: str, code: int, words: str,
                      what: str) -> None:
    assert p.returncode in (0, code), (what, p.returncode, err[-500:])
    if p.returncode == code:
        assert err.splitlines() == [words] and out == "", (what, out[:200], err[-500:])
    else:
        assert out and not err, (what, err[-500:])


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("sig, code, words", _SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_convcli_imports_is_raised_once_it_can_be(python, sig, code, words):
    """A signal that lands after main.py took the handlers but before the try that
    reports it (convcli still importing) is remembered and raised then: deterministic,
    the signal is sent by the process itself right after the import."""
    script = ("import os, signal, sys\nfrom convcli.main import main\n"
              f"os.kill(os.getpid(), {int(sig)})\n"
              f"sys.argv = ['convcli', *{SHAPE!r}]\nmain()\n")
    assert run_script(python, script) == (code, [words], "")


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("sig, code, words", _SIGNALS, ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("where", ["class", "instance"])
def test_a_signal_inside_a_dataclass_construction_is_one_line(python, sig, code, words, where):
    """The signal is raised inside dataclasses' own code: while a @dataclass class is
    built (convcli's modules define them as they import) or while an instance is
    built (ConvArgs, in the fast path)."""
    hook = ("import dataclasses\norig = dataclasses._process_class\n"
            "def patched(cls, *a, **k):\n"
            f"    signal.raise_signal({int(sig)})\n    return orig(cls, *a, **k)\n"
            "dataclasses._process_class = patched\n") if where == "class" else (
            "import convcli.cli.conv_args as ca\norig = ca.ConvArgs.__init__\n"
            "def patched(*a, **k):\n"
            f"    signal.raise_signal({int(sig)})\n    return orig(*a, **k)\n"
            "ca.ConvArgs.__init__ = patched\n")
    script = (f"import signal, sys\nfrom convcli.main import main\n{hook}"
              f"sys.argv = ['convcli', *{SHAPE!r}]\nmain()\n")
    assert run_script(python, script) == (code, [words], "")


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("sig, code, words", _SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_inside_a_weakref_callback_is_not_lost(python, sig, code, words):
    """Python runs the handler wherever the main thread is: in a weakref callback
    (or a __del__, or the garbage collector) the exception would be printed as
    "Exception ignored" and dropped, and the command would go on to exit 0 (the
    traceback of issue 23, seen when SIGTERM landed as a dataclass was built)."""
    script = ("import signal, sys, weakref\nfrom convcli.main import main\n"
              "import convcli.cli.fast_path as fast\norig = fast.parse\n"
              "class Box:\n    pass\n"
              "def parse(argv):\n    box = Box()\n"
              f"    ref = weakref.ref(box, lambda r: signal.raise_signal({int(sig)}))\n"
              "    del box\n    return orig(argv)\n"
              f"fast.parse = parse\nsys.argv = ['convcli', *{SHAPE!r}]\nmain()\n")
    assert run_script(python, script) == (code, [words], "")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("argv", [SHAPE,
                                  ["solve", "--input-size", "32", "--output-size", "16"]],
                         ids=["fast path", "typer"])
def test_signals_at_every_offset_from_the_first_instruction(python, argv):
    """SIGINT and SIGTERM sent at offsets from 0 ms after convcli's first statement
    (main.py's, which takes both signals) to past the end: every run ends with its
    answer (exit 0) or with one line and 130 / 143, never a traceback, exit 1 or
    death by the signal. The offsets spread over the time this machine takes, so a
    slow machine is not a flaky one. (Before that statement the interpreter itself
    is starting up: no convcli code exists yet to answer a signal.)"""
    cmd = [python, "-m", "convcli", *argv]
    p, t0 = start_ready(cmd)
    p.communicate(timeout=60)
    rest = time.perf_counter() - t0
    offsets = [0.0, 0.0005, 0.001, 0.002] + [rest * i / 10 for i in range(1, 12)]
    outcomes = set()
    for offset in offsets:
        for sig, code, words in _SIGNALS:
            p, t = start_ready(cmd)
            signal_at(p, t + offset, sig)
            out, err = p.communicate(timeout=60)
            _one_line_or_done(p, out, err, code, words, f"{sig!r} at {offset * 1000:.1f} ms")
            outcomes.add(p.returncode)
    assert {ExitCode.INTERRUPTED, ExitCode.TERMINATED} <= outcomes
