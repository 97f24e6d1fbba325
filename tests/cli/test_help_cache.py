"""The --help cache is safe (issue 25): only a regular file of bounded size, checked
against what it replays, is replayed; a FIFO, a link to a device, a tampered file or
a cache folder that is a file never hangs, grows, or leaves a temporary file; the
shell names its own completion (`--install-completion zsh`). Real processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from conftest import ROOT


def _help(tmp_path, *argv, timeout=60, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("CONVCLI_DEBUG", "NO_COLOR")}
    full.update(PYTHONPATH=str(ROOT), COLUMNS="80", NO_COLOR="1",
                XDG_CACHE_HOME=str(tmp_path / "cache"))
    full.update(env)
    return subprocess.run([sys.executable, "-m", "convcli", *(argv or ["--help"])], cwd=ROOT,
                          env=full, capture_output=True, text=True, timeout=timeout)


def _typer_help(tmp_path):
    return _help(tmp_path, CONVCLI_HELP_CACHE="0").stdout


def _cache(tmp_path):
    return tmp_path / "cache" / "convcli" / "help-convcli.txt"


def _temporary_files(tmp_path):
    return [os.path.join(d, f) for d, _, files in os.walk(tmp_path) for f in files
            if f.endswith(".tmp")]


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero", "link to a file"])
def test_a_cache_file_that_is_not_a_regular_file_is_a_miss(tmp_path, kind):
    cache = _cache(tmp_path)
    cache.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(cache)
    elif kind == "link to /dev/zero":
        cache.symlink_to("/dev/zero")
    else:
        good = _help(tmp_path)          # a real cache file, then a link to a copy of it
        (tmp_path / "elsewhere.txt").write_bytes(cache.read_bytes())
        cache.unlink()
        cache.symlink_to(tmp_path / "elsewhere.txt")
        assert good.returncode == 0
    r = _help(tmp_path, timeout=30)     # a FIFO or /dev/zero read would hang or grow
    assert (r.returncode, r.stdout) == (0, _typer_help(tmp_path))
    assert stat.S_ISREG(os.lstat(cache).st_mode)    # replaced by a regular file
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    assert _temporary_files(tmp_path) == []


def test_a_tampered_cache_file_is_not_replayed(tmp_path):
    assert _help(tmp_path).returncode == 0
    cache = _cache(tmp_path)
    text = cache.read_text()
    cache.write_text(text.replace("Usage", "Usage: rm -rf ~ #", 1))
    r = _help(tmp_path)
    assert "rm -rf" not in r.stdout and r.stdout == _typer_help(tmp_path)
    # escape sequences that are not colours, with a matching digest: still refused
    from convcli.cli import fast_path as fast
    key, deps, _, page = cache.read_text().split("\n", 3)
    evil = page.replace("Usage", "\x1b]0;owned\x07Usage", 1)
    cache.write_text(f"{key}\n{deps}\n{fast._digest(evil)}\n{evil}")
    assert "\x1b]0" not in _help(tmp_path).stdout


def test_an_oversized_cache_file_is_not_read(tmp_path):
    assert _help(tmp_path).returncode == 0
    cache = _cache(tmp_path)
    with open(cache, "a") as f:
        f.write("x" * (2 << 20))
    r = _help(tmp_path)
    assert r.returncode == 0 and r.stdout == _typer_help(tmp_path)
    assert cache.stat().st_size < 1 << 20      # rewritten whole


def test_no_temporary_file_is_left_when_the_cache_folder_cannot_be_made(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "convcli").write_text("a file where the folder goes")
    for _ in range(3):
        r = _help(tmp_path)
        assert r.returncode == 0 and r.stdout == _typer_help(tmp_path)
    assert _temporary_files(tmp_path) == []
    assert sorted(os.listdir(tmp_path / "cache")) == ["convcli"]


def test_a_relative_xdg_cache_home_is_ignored(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = _help(tmp_path, XDG_CACHE_HOME="relative", HOME=str(home))
    assert r.returncode == 0
    assert not (ROOT / "relative").exists()
    assert (home / ".cache" / "convcli" / "help-convcli.txt").is_file()


@pytest.mark.parametrize("shell, installed", [("zsh", ".zfunc/_convcli"),
                                              ("fish", ".config/fish/completions/convcli.fish"),
                                              ("bash", ".bash_completions/convcli.sh")])
def test_install_completion_installs_the_named_shells(tmp_path, shell, installed):
    home = tmp_path / "home"
    home.mkdir()
    r = _help(tmp_path, "--install-completion", shell, HOME=str(home))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{shell} completion installed in")
    assert (home / installed).is_file()
    others = {".zfunc", ".bash_completions", ".config"} - {installed.split("/")[0]}
    assert not others & set(os.listdir(home))


def test_show_completion_shows_the_named_shells_and_refuses_others(tmp_path):
    r = _help(tmp_path, "--show-completion=zsh")
    assert r.returncode == 0 and "compdef" in r.stdout
    bad = _help(tmp_path, "--install-completion", "tcsh")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: --install-completion 'tcsh'")
    assert len(bad.stderr.splitlines()) == 1
