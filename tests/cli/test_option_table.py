"""The option table (cli/option_table.py, cli/command_options.py): what Typer builds is
the table, one name has one meaning, a word is read by one parser on every command,
old spellings still work with a note, the shell completes every choice option, and
docs/options.md is the table's."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from convcli.cli import app
from convcli.cli.command_options import COMMANDS
from convcli.cli.option_docs import DOC, render
from convcli.cli.option_table import CONV_NAMES, OPTIONS
from convcli.cli.option_values import old_name

BUILT = typer.main.get_command(app).commands


def decl_meanings(commands: dict) -> dict[str, set[str]]:
    """Every visible flag (and positional metavar) -> the table names that declare it,
    over every command: ``commands`` maps a command to its click parameters."""
    seen: dict[str, set[str]] = {}
    for params in commands.values():
        for p in params:
            if getattr(p, "hidden", False):
                continue
            decls = (p.opts + p.secondary_opts if p.param_type_name == "option"
                     else [OPTIONS[p.name].decls[0]])
            for d in decls:
                seen.setdefault(d, set()).add(p.name)
    return seen


def test_one_name_has_one_meaning_on_every_command():
    seen = decl_meanings({c: BUILT[c].params for c in COMMANDS})
    two = {d: names for d, names in seen.items() if len(names) > 1}
    assert two == {}, f"one name, two meanings: {two}"
    # and the check can fail: a command that gave --seed another parameter
    class Fake:
        def __init__(self, name, opts):
            self.name, self.opts, self.secondary_opts = name, opts, []
            self.param_type_name, self.hidden = "option", False
    planted = {"run": [Fake("seed", ["--seed"])], "x": [Fake("threads", ["--seed"])]}
    assert decl_meanings(planted)["--seed"] == {"seed", "threads"}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_typer_builds_every_command_from_the_table(command):
    cmd = COMMANDS[command]
    params = {p.name: p for p in BUILT[command].params}
    conv = [] if cmd.conv is None else [n for n in CONV_NAMES if n not in cmd.conv.exclude]
    conv += ["code"] if cmd.conv is not None and cmd.conv.code else []   # CONV
    assert set(params) == set(conv) | set(cmd.uses) | {
        old_name(n, i) for n, u in cmd.uses.items() for i, _ in enumerate(u.old)}
    for name in [*conv, *cmd.uses]:
        p, d = params[name], OPTIONS[name]
        if d.kind == "argument":
            assert p.param_type_name == "argument" and p.metavar == d.decls[0]
            continue
        assert set(p.opts + p.secondary_opts) == {x for decl in d.decls
                                                  for x in decl.split("/")}, name
        wanted = cmd.uses[name].help if name in cmd.uses else (
            cmd.conv.help.get(name) if cmd.conv else None)
        assert p.help == (wanted or d.help), name
    for name, use in cmd.uses.items():
        for i, old in enumerate(use.old):
            p = params[old_name(name, i)]
            assert p.hidden and p.opts == [old]


def test_every_command_is_in_the_table():
    """No command declares an option beside the table (diff did): what Typer builds
    for every command is a command of COMMANDS, so docs/options.md lists all of it."""
    assert set(BUILT) == set(COMMANDS)
    params = {p.name for p in BUILT["diff"].params}
    assert {"base", "head", "inputs", "max_activations_increase"} <= params
    assert "Declared outside the table" not in render()


def test_every_choice_option_has_a_completion_and_every_name_a_meaning():
    for d in OPTIONS.values():
        assert d.meaning and d.help and d.name.replace("_", "").isalnum()
    for command, cmd in COMMANDS.items():
        for p in BUILT[command].params:
            d = OPTIONS.get(p.name)
            if d is not None and d.choices:
                assert p._custom_shell_complete is not None, (command, p.name)


def _complete(words: str) -> list[str]:
    """What bash's completion gets for the last word of ``words``, through Typer."""
    runner = CliRunner()
    parts = words.split(" ")
    env = {"_CONVCLI_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(parts) - 1)}
    r = runner.invoke(app, [], env=env, prog_name="convcli")
    assert r.exit_code == 0, r.output
    return r.stdout.split()


CHOICE_CASES = [(c, n) for c, cmd in COMMANDS.items()
                for n in [*(CONV_NAMES if cmd.conv else ()), *cmd.uses]
                if OPTIONS[n].choices and OPTIONS[n].kind != "argument"
                and not (cmd.conv and n in CONV_NAMES and n in cmd.conv.exclude)]


@pytest.mark.parametrize("command, name", CHOICE_CASES)
def test_the_shell_completes_each_choice_option(command, name):
    d = OPTIONS[name]
    flag = d.decls[0].split("/")[0]
    assert _complete(f"convcli {command} {flag} ") == list(d.choices)
    first = d.choices[-1]
    got = _complete(f"convcli {command} {flag} {first[:2]}")
    assert got == [c for c in d.choices if c.startswith(first[:2])] and first in got


def test_completion_of_a_choice_is_not_offered_to_free_text():
    assert _complete("convcli run 1x1x4x4 -o 1 -k 1 --seed ") == []


def test_docs_options_md_is_the_tables():
    assert DOC.read_text(encoding="utf-8") == render(), \
        "docs/options.md is stale: python -m convcli.cli.option_docs --write"


def test_docs_list_each_name_once_with_its_commands():
    text = render()
    rows = [line for line in text.split("## convcli")[0].splitlines() if line.startswith("| `")]
    assert len(rows) == len(OPTIONS)
    assert "| `--dtype` | element type of the tensors | shape, params, net, summary, run, " \
           "verify, apply, diff |" in text
    assert "| solve | `--output` | `--output-size` |" in text
