"""Shell completion is on: `convcli --install-completion` / `--show-completion` exist,
and the completion protocol of bash, zsh and fish completes commands and options."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT


def _complete(env: dict) -> str:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    full.pop("CONVCLI_DEBUG", None)
    p = subprocess.run([sys.executable, "-c",
                        "import sys; from convcli.main import main; sys.argv[0] = 'convcli'; "
                        "main()"], env=full, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_the_root_offers_completion(cli):
    r = cli("--help")
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout


@pytest.mark.parametrize("shell, env, words", [
    ("bash", {"COMP_WORDS": "convcli sh", "COMP_CWORD": "1"}, ["shape", "show"]),
    ("bash", {"COMP_WORDS": "convcli shape 1x3x8x8 --pad", "COMP_CWORD": "3"},
     ["--padding", "--padding-mode", "--padding-from"]),
    ("zsh", {"_TYPER_COMPLETE_ARGS": "convcli params --comp"}, ["--compare-groups"]),
    ("fish", {"_TYPER_COMPLETE_ARGS": "convcli params --comp",
              "_TYPER_COMPLETE_FISH_ACTION": "get-args"}, ["--compare-groups"]),
])
def test_shells_complete_commands_and_options(shell, env, words):
    out = _complete({"_CONVCLI_COMPLETE": f"complete_{shell}", **env})
    for w in words:
        assert w in out, out
