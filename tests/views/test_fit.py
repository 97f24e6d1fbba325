"""views/fit_width.py: text that wraps between whole tokens, at any width."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from conftest import sample
from convcli.views.fit_width import First, Prose, code_lines, left_out_note


def draw(renderable, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue().rstrip("\n").split("\n")


def test_prose_breaks_only_between_brackets_and_hangs():
    text = "read 1x16x8x8 as a batch of 1 (N, C, H, W) for a ConvTranspose2d; for one " \
           "unbatched input (C, D, H, W) use --dims 3"
    for width in range(30, 90):
        lines = draw(Prose(text, hang=2), width)
        assert all(len(line) <= width for line in lines)
        assert "(N, C, H, W)" in "\n".join(lines) and "(C, D, H, W)" in "\n".join(lines)
        assert all(line.startswith("  ") for line in lines[1:])
        assert " ".join(" ".join(lines).split()) == text


@pytest.mark.parametrize("width", [40, 60, 80])
def test_a_layer_too_long_for_a_line_breaks_between_its_arguments(width):
    layer = "ConvTranspose3d(16, 32, (4, 3, 3), stride=(2, 1, 1), padding=1, groups=4, " \
            "bias=False)"
    lines = draw(Prose.parts([layer, "on [1, 16, 8, 8, 8] -> [1, 32, 16, 16, 16]"],
                             hang=2), width)
    text = "\n".join(lines)
    for token in ("(4, 3, 3),", "stride=(2, 1, 1),", "[1, 16, 8, 8, 8]",
                  "[1, 32, 16, 16, 16]"):
        assert token in text
    assert all(len(line) <= width for line in lines)
    layer_lines = lines[:next(i for i, line in enumerate(lines) if "bias=False)" in line)]
    assert layer_lines and all(line.endswith(",") for line in layer_lines)  # after arguments
    assert all(line.startswith("  ") for line in lines[1:])


def test_arithmetic_in_an_argument_stays_whole():
    lines = draw(Prose("Linear(64 * 4 * 4, 500)"), 20)
    assert lines == ["Linear(64 * 4 * 4,", "500)"]


def test_parts_break_only_between_parts():
    parts = ["median 0.076 ms", "min 0.067 ms", "max 0.140 ms"]
    assert draw(Prose.parts(parts, sep=" · "), 80) == [" · ".join(parts)]
    assert draw(Prose.parts(parts, sep=" · "), 32) == ["median 0.076 ms · min 0.067 ms",
                                                       "max 0.140 ms"]


def test_a_code_line_too_long_gets_its_comment_above():
    code = "conv = nn.Conv2d(3, 8, 3, stride=2)  # padding=0: F.pad does it"
    assert draw(code_lines(code), 80) == ["  " + code]
    assert draw(code_lines(code), 50) == ["  # padding=0: F.pad does it",
                                          "  conv = nn.Conv2d(3, 8, 3, stride=2)"]


def test_first_draws_the_first_form_that_fits():
    pick = First("a" * 30, "b" * 10)
    assert draw(pick, 40) == ["a" * 30]
    assert draw(pick, 20) == ["b" * 10]


def test_the_left_out_note_keeps_column_names_whole():
    (note,) = left_out_note({"max diff", "95% CI"}, ["ms", "95% CI", "max diff"])
    lines = draw(note, 36)
    assert "95% CI," in "\n".join(lines) and "max diff" in "\n".join(lines)
    assert left_out_note(set(), ["ms"]) == []


# rule 3 (tests/conftest.py): the fast loop draws one table at the narrowest width
@pytest.mark.parametrize("columns", sample([44, 120, 80, 60]))
@pytest.mark.parametrize("argv", sample([
    ["--input-size", "7", "--output-size", "14", "--max-padding", "11", "--limit", "0"],
    ["--input-size", "7x9", "--output-size", "16x20", "-t", "--limit", "300"],
    ["--input-size", "224x200", "--output-size", "112x99", "--limit", "0"],
]))
def test_solve_measured_on_its_widest_rows_draws_what_the_whole_table_draws(
        monkeypatch, columns, argv):
    """solve's table is measured on the rows widest in some column (thousands of rows
    with --limit 0): the layout chosen must be the one the whole table gives."""
    from typer.testing import CliRunner

    from convcli.cli import app
    from convcli.views import console

    runner = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    quick = runner.invoke(app, ["solve", *argv]).stdout
    real_init = console.Fitted.__init__
    monkeypatch.setattr(console.Fitted, "__init__",
                        lambda self, build, optional=(), probe=None:
                        real_init(self, build, optional))
    whole = runner.invoke(app, ["solve", *argv]).stdout
    assert quick == whole and "settings mapping" in quick
