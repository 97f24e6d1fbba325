"""Help screens read well: at 80 and 60 columns no word broken across lines and no
text cut with "…"; required options first; short metavars, no <str>, {INPUT} or
[[INPUT]]; every docstring paragraph one sentence flow (no hard line breaks); no
trailing spaces. A golden file per screen at 80 columns pins it (regenerate with
`python -m pytest --update-goldens`, then read the diff)."""

from __future__ import annotations

import re

import pytest
import typer.main
from rich.text import Text
from typer.testing import CliRunner

from convcli.cli import app
from convcli.cli.app import COMMANDS

SCREENS = [None, *COMMANDS]         # None: `convcli --help`
_SPLIT = re.compile(r"[\s│╭╮╰╯─]+")


def _group():
    return typer.main.get_command(app)


def _help(command: str | None, width: int) -> str:
    runner = CliRunner(env={"COLUMNS": str(width), "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    r = runner.invoke(app, ([command] if command else []) + ["--help"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return r.stdout


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


def source_words(command: str | None) -> set[str]:
    """Every word the screen shows from the source: the docstring (the first paragraph
    of each command's, in the root's list), each option's help, names and metavar,
    as rich renders the markup."""
    group = _group()
    cmd = group if command is None else group.commands[command]
    texts = [cmd.help or ""]
    if command is None:
        texts += [(group.commands[n].help or "").split("\n\n")[0] for n in COMMANDS]
    plain = []      # shown as they are, not as rich markup
    for p in cmd.params:
        if getattr(p, "hidden", False):     # an old spelling, accepted but not shown
            continue
        texts.append(getattr(p, "help", None) or "")
        plain.append(p.metavar or "")
        if p.param_type_name == "option":
            plain += [*p.opts, *p.secondary_opts]
    return ({w for t in texts for w in _words(Text.from_markup(t).plain)}
            | {w for t in plain for w in _words(t)})


def screen_problems(screen: str, width: int, words: set[str]) -> list[str]:
    problems = []
    if "…" in screen:
        problems.append("text cut with …")
    problems += [f"line over {width}: {line!r}" for line in screen.splitlines()
                 if len(line) > width]
    shown = set(_words(screen))
    problems += [f"broken: {w!r}" for w in sorted(words - shown)]
    problems += [f"clutter: {m!r}" for m in re.findall(r"<[a-z]+>|\{[A-Z]+\}|\[\[[A-Z]", screen)]
    problems += [f"trailing space: {line!r}" for line in screen.splitlines()
                 if line.endswith(" ")]
    return problems


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("command", SCREENS, ids=lambda c: c or "convcli")
def test_help_screens_read_well(command, width):
    screen = _help(command, width)
    assert screen_problems(screen, width, source_words(command)) == []


def test_the_scan_finds_what_it_looks_for():
    """The checks above can fail: a word split by a narrow column, an ellipsis, a
    type in angle brackets, a padded line."""
    words = {"depthwise-separable", "--output-padding", "groups"}
    good = "│ --output-padding  groups of depthwise-separable │\n"
    assert screen_problems(good, 60, words) == []
    broken = ("│ --output-padd…  groups of depthwise-sep  │\n"
              "│                 arable <str>  │   \n")
    assert screen_problems(broken, 60, words) == [
        "text cut with …", "broken: '--output-padding'", "broken: 'depthwise-separable'",
        "clutter: '<str>'", "trailing space: '│                 arable <str>  │   '"]


@pytest.mark.parametrize("command", SCREENS, ids=lambda c: c or "convcli")
def test_help_screen_at_80_columns(command, golden):
    golden(f"help_{command or 'convcli'}.txt", _help(command, 80))


@pytest.mark.parametrize("command", COMMANDS)
def test_required_options_come_first_and_metavars_are_short(command):
    cmd = _group().commands[command]
    screen = _help(command, 80)
    # an option's row starts at the panel's edge (after the required column, if any)
    rows = [m.group(1) for m in re.finditer(r"^│ (?:[ *]  )?(--[\w-]+)", screen, re.M)]
    options = {p.opts[0] if p.opts[0].startswith("--") else p.opts[-1]: p
               for p in cmd.params if p.param_type_name == "option" and not p.hidden}
    order = [options[name].required for name in rows if name in options]
    assert len(order) == len(options)
    assert order == sorted(order, reverse=True), (command, rows)   # required, then the rest
    for p in cmd.params:
        if p.metavar:   # one short word; the forms it takes are in the help
            assert re.fullmatch(r"[A-Z][A-Za-z.:]{0,11}", p.metavar), (command, p.metavar)
            assert p.param_type_name == "argument" or len(p.metavar) <= 7, p.metavar


@pytest.mark.parametrize("command", SCREENS, ids=lambda c: c or "convcli")
def test_docstring_paragraphs_have_no_hard_line_breaks(command):
    """Typer's rich help keeps a docstring's line breaks; the commands' help is one
    line per paragraph, so the terminal wraps whole sentences."""
    group = _group()
    cmd = group if command is None else group.commands[command]
    for paragraph in (cmd.help or "").split("\n\n"):
        assert "\n" not in paragraph, (command, paragraph)
