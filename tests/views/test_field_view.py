"""views/field_view.py: `--field`'s description and character grid at 80 columns, and
its --png/--svg; the input indices drawn are the nonzero input gradient of that one
output in torch (tests/torch_truth.py)."""

from __future__ import annotations

import io
import os
import re

import pytest
from rich.console import Console

from convcli.errors import ConvError, EnvironmentProblem
from convcli.formatting import index_ranges
from convcli.views.field_view import (FIELD, INPUT, MAX_COLS, PAD, _combine, _runs,
                                      describe, draw, terminal)

torch = pytest.importorskip("torch")

from net_reports import net_report, torch_model  # noqa: E402
from torch_truth import grad_sets, positive_copy  # noqa: E402

L1 = ["Conv1d(2, 4, 3, padding=2, dilation=2)", "ReLU()", "Conv1d(4, 4, 5, stride=3)"]
L2 = ["Conv2d(1, 2, 3, padding=1)", "MaxPool2d(2)", "Conv2d(2, 2, 3, padding=1)"]


def render(r, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    c.print(r)
    return c.export_text()


def test_a_1d_field_is_torchs_and_drawn_at_its_indices():
    pic = net_report(L1, (1, 2, 40), field="3@2").picture
    (want,) = grad_sets(positive_copy(torch_model(L1)), (1, 2, 40), (2,))
    assert set(pic.sets[0]) == want
    text = render(terminal(pic))
    assert f"sees input dim 0 {index_ranges(sorted(want))} ({max(want) - min(want) + 1} wide)" \
        in " ".join(text.split())
    grid = next(line for line in text.splitlines() if FIELD in line)
    assert {i for i, ch in enumerate(grid) if ch == FIELD} == want
    assert "indices 0..39, 1 per character" in text


def test_a_2d_field_in_the_padding_says_how_much_and_scales_down():
    shape = (1, 1, 200, 300)
    pic = net_report(L2, shape, field="3@0,0").picture
    rows, cols = grad_sets(positive_copy(torch_model(L2)), shape, (0, 0))
    assert (set(pic.sets[0]), set(pic.sets[1])) == (rows, cols)
    text = render(terminal(pic))
    flat = " ".join(text.split())
    assert f"rows 0..{max(rows)} ({max(rows) + 1} wide); 3 of the window's rows fall in " \
           "padding" in flat
    grid = [line for line in text.splitlines() if set(line.strip()) <= {FIELD, PAD, INPUT, ""}
            and line.strip()]
    assert 8 <= len(grid) <= 24 and max(len(g) for g in grid) <= MAX_COLS
    m = re.search(r"rows -3\.\.199 \((\d+) per line\), cols -3\.\.299 \((\d+) per character\)",
                  text)
    assert m and int(m.group(2)) == -(-303 // 64)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_describe_names_rows_and_cols():
    pic = net_report(L2, (1, 1, 16, 16), field="1@5,6").picture
    assert describe(pic) == ("output position [5, 6] of layer 1 Conv2d(1, 2, 3, padding=1) "
                             "sees input rows 4..6 (3 wide); cols 5..7 (3 wide)")


def test_combine_and_runs():
    assert _combine(FIELD, FIELD) == FIELD
    assert _combine(FIELD, INPUT) == INPUT
    assert _combine(PAD, FIELD) == PAD and _combine(PAD, INPUT) == " "
    assert _combine(" ", FIELD) == " "
    assert _runs([5, 1, 2, 3, 7, 8]) == [(1, 3), (5, 5), (7, 8)]
    assert _runs([]) == []


def test_draw_writes_an_svg_with_the_description(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    pic = net_report(L2, (1, 1, 16, 16), field="3@0,0").picture
    path = tmp_path / "f.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        draw(pic, str(path), "svg")
    text = path.read_text(encoding="utf-8")
    assert "of layer 3 Conv2d(2, 2, 3, padding=1) sees input rows" in text
    assert "fall in padding" in text
    draw(net_report(L1, (1, 2, 40), field="3@2").picture, str(tmp_path / "f.png"), "png")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(os.listdir(tmp_path)) == ["f.png", "f.svg"]


def test_draw_refuses_an_empty_name_and_a_missing_folder(tmp_path):
    pic = net_report(L1, (1, 2, 40), field="3@2").picture
    with pytest.raises(ConvError, match="--png: give a file name"):
        draw(pic, "", "png")
    with pytest.raises(EnvironmentProblem, match="does not exist"):
        draw(pic, str(tmp_path / "no" / "f.png"), "png")
