"""Inputs that are not what they say (issue 25): a FIFO named like an image, a device as
a layer file, a closed stdin, a byte-order mark, bytes that are not UTF-8. Each is one
line and a documented exit code, the same through --file and through stdin, never a
hang or an internal error. Real processes: a FIFO blocks only a real open()."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_subprocess

LAYERS = "Conv2d(3, 8, 3)\n"


def _net_stdin(data: bytes | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    command = [sys.executable, "-m", "convcli", "net", "1x3x8x8", "--file", "-", "--json"]
    if data is None:   # stdin closed: the child starts with no descriptor 0
        return subprocess.run(command, capture_output=False, stdin=None, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                              preexec_fn=lambda: os.close(0))
    return subprocess.run(command, input=data, capture_output=True, env=env, timeout=60)


def test_a_byte_order_mark_is_read_as_text_through_a_file_and_stdin(tmp_path):
    path = tmp_path / "layers.txt"
    path.write_bytes(b"\xef\xbb\xbf" + LAYERS.encode())
    r = run_subprocess("net", "1x3x8x8", "--file", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["total_params"] == 3 * 8 * 9 + 8
    p = _net_stdin(b"\xef\xbb\xbf" + LAYERS.encode())
    assert p.returncode == 0, p.stderr


def test_bytes_that_are_not_utf8_exit_3_through_a_file_and_stdin_alike(tmp_path):
    bad = b"Conv2d(3, 8, 3)  # \xff\n"
    path = tmp_path / "layers.txt"
    path.write_bytes(bad)
    r = run_subprocess("net", "1x3x8x8", "--file", str(path))
    p = _net_stdin(bad)
    assert (r.exit_code, p.returncode) == (3, 3), (r.stderr, p.stderr)
    assert "not UTF-8 text" in r.stderr and b"not UTF-8 text" in p.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_closed_stdin_is_said_so(tmp_path):
    p = _net_stdin(None)
    assert p.returncode == 3, p.stderr
    assert b"standard input is closed" in p.stderr and b"internal error" not in p.stderr


@pytest.mark.parametrize("name", ["x.png", "x.npy", "layers.txt"])
def test_a_fifo_is_refused_at_once_not_read(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    if name == "layers.txt":
        args = ("net", "1x3x8x8", "--file", str(fifo))
    else:
        pytest.importorskip("torch")
        args = ("apply", str(fifo))
    r = run_subprocess(*args, timeout=60)     # today's code blocked on the .png forever
    assert r.exit_code == 3, r.stderr
    assert "not a regular file" in r.stderr or "FIFO" in r.stderr



@pytest.mark.parametrize("args", [
    ("net", "1x3x8x8", "--file", "/nonexistent/\x1b[31mred\x1b[0m.txt"),
    ("summary", "/nonexistent/\x1b]0;pwn\x07.py:Net", "--input", "1x3"),
])
def test_control_characters_in_user_text_never_reach_the_terminal(args):
    r = run_subprocess(*args)
    assert r.exit_code in (2, 3), r.stderr
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert "\\x1b" in r.stderr or "\\x07" in r.stderr       # shown, escaped
    assert len(r.stderr.strip().splitlines()) == 1


def test_terminal_safe_line_keeps_text_and_escapes_controls():
    from convcli.formatting import terminal_safe_line
    assert terminal_safe_line("a\n b\tc é ×") == "a b c é ×"
    assert terminal_safe_line("x\x1b[2Jy\x9b\x7f") == "x\\x1b[2Jy\\x9b\\x7f"
