"""Output that is not a terminal has no spaces at the ends of its lines (rich pads
every table line to the table's width); a terminal gets rich's output as it is."""

from __future__ import annotations

import io

import pytest

from convcli.views.console import _NoTrailingSpaces, console

NET = "Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(4096, 10)"


@pytest.mark.parametrize("argv", [
    ["shape", "4x3x64x64", "-o", "16", "-k", "3", "--explain"],
    ["params", "-i", "64", "-o", "128", "-k", "3", "-g", "4", "--compare-groups"],
    ["net", "1x3x32x32", NET],
    ["show", "1x4x7x7", "-o", "4", "-k", "3", "-s", "2", "-p", "1", "--groups", "2"],
    ["solve", "--input-size", "32", "--output-size", "16"],
    ["--help"],
])
def test_no_line_ends_in_a_space(sh, argv):
    r = sh(*argv)
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) > 5
    assert [line for line in r.stdout.splitlines() if line.endswith(" ")] == []


def test_the_stream_keeps_inner_spaces_and_lines_written_in_pieces():
    out = io.StringIO()
    stream = _NoTrailingSpaces(out)
    for piece in ("  a  b   ", "  \n c", "   \n\n   ", "d  "):
        stream.write(piece)
    stream.flush()
    assert out.getvalue() == "  a  b\n c\n\n   d  "   # the unfinished line: as written


def test_a_terminal_gets_rich_as_it_is(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")      # rich: a terminal
    assert not isinstance(console().file, _NoTrailingSpaces)
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("TTY_COMPATIBLE", "0")   # rich: not a terminal
    assert isinstance(console().file, _NoTrailingSpaces)


@pytest.mark.parametrize("argv", [["--help"], ["shape", "--help"]])
def test_help_to_a_closed_pipe_exits_141_quietly(tmp_path, argv):
    """As every convcli command: Typer's help (a cache miss) and the cached copy."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("CONVCLI_DEBUG", None)
    assert subprocess.run([sys.executable, "-m", "convcli", *argv], env=env,
                          capture_output=True).returncode == 0      # fills the cache
    for cache in ("0", "1"):
        p = subprocess.Popen([sys.executable, "-m", "convcli", *argv], cwd=ROOT,
                             env={**env, "CONVCLI_HELP_CACHE": cache},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.stdout.close()        # gone before the help is written
        err = p.stderr.read()
        assert (p.wait(timeout=60), err) == (141, ""), cache
