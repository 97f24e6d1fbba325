"""docs/apply.md's console examples are real: each `$ convcli apply ...` block is run
at 80 columns and must print exactly what the page shows (`python -m pytest
--update-goldens` rewrites the page's outputs; then read the diff)."""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from conftest import ROOT

pytest.importorskip("torch")

DOC = ROOT / "docs" / "apply.md"
BLOCK = re.compile(r"```console\n\$ (convcli [^\n]*)\n(.*?)```", re.S)


def run80(command: str) -> str:
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    r = runner.invoke(app, shlex.split(command)[1:], catch_exceptions=False)
    assert r.exit_code == 0, (command, r.stderr)
    return "".join(line.rstrip() + "\n" for line in r.stdout.splitlines())


def test_every_console_example_is_what_the_command_prints(request):
    text = DOC.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) >= 8
    commands = [c for c, _ in blocks]
    # the worked examples the issue asks for
    assert "convcli apply 1x1x8x8 --pattern square --weight edge-vertical --values" in commands
    assert any("-s 2 -p 1 --values" in c for c in commands)
    assert {k for c in commands for k in (3, 5, 7) if "1x1x28x28" in c and f"-k {k}" in c} \
        == {3, 5, 7}
    if request.config.getoption("--update-goldens"):
        text = BLOCK.sub(lambda m: f"```console\n$ {m.group(1)}\n{run80(m.group(1))}```",
                         text)
        DOC.write_text(text, encoding="utf-8")
        blocks = BLOCK.findall(text)
    for command, shown in blocks:
        assert run80(command) == shown, f"{command}: docs/apply.md differs; " \
                                        "python -m pytest --update-goldens"


def test_the_worked_example_has_the_sizes_the_page_states():
    text = DOC.read_text(encoding="utf-8")
    outputs = dict(BLOCK.findall(text))
    square = outputs["convcli apply 1x1x8x8 --pattern square --weight edge-vertical --values"]
    assert "-> [1, 1, 6, 6]" in square
    strided = next(v for c, v in outputs.items() if "-s 2 -p 1 --values" in c)
    assert "-> [1, 1, 4, 4]" in strided
    for k, n in ((3, 26), (5, 24), (7, 22)):
        out = next(v for c, v in outputs.items() if "1x1x28x28" in c and f"-k {k}" in c)
        assert f"-> [1, 1, {n}, {n}]" in out
