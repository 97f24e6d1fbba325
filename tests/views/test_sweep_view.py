"""views/sweep_view.py on its own: --sweep's table at 80 columns (a column per swept
option, then the answer's columns; a refused combination says so and why; optional
columns left out, and said so, where the width is short) and its --json dict."""

from __future__ import annotations

import io

from rich.console import Console

from convcli.calculator.sweep_grid import Sweep, SweepRow
from convcli.views import sweep_view
from convcli.views.jsonout import JSON_VERSION

SWEEPS = [Sweep("kernel_size", "k", ("3", "5")), Sweep("stride", "s", ("1", "2"))]
ROWS = [SweepRow({"kernel_size": "3", "stride": "1"}, {"out": "[1, 2, 6, 6]", "n": 10},
                 None),
        SweepRow({"kernel_size": "3", "stride": "2"}, {"out": "[1, 2, 3, 3]", "n": 20},
                 None),
        SweepRow({"kernel_size": "5", "stride": "1"}, {"out": "[1, 2, 4, 4]", "n": 30},
                 None),
        SweepRow({"kernel_size": "5", "stride": "2"}, None, "too small for k=5, s=2")]


def draw(part, width: int = 80) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, no_color=True).print(part)
    text = "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
    assert max(len(line) for line in text.splitlines()) <= width
    return text


def test_sweep_dict_holds_each_rows_keys_and_the_swept_values():
    d = sweep_view.sweep_dict(SWEEPS, ROWS, lambda a: {"version": 99, "output": a["out"],
                                                       "n": a["n"]})
    assert d["version"] == JSON_VERSION
    assert d["sweep_options"] == [{"option": "kernel_size", "name": "k",
                                   "values": ["3", "5"]},
                                  {"option": "stride", "name": "s", "values": ["1", "2"]}]
    assert d["sweep"][0] == {"swept": {"kernel_size": "3", "stride": "1"},
                             "output": "[1, 2, 6, 6]", "n": 10, "error": None}
    assert [r.get("n") for r in d["sweep"]] == [10, 20, 30, None]
    assert d["sweep"][3] == {"swept": {"kernel_size": "5", "stride": "2"},
                             "error": "too small for k=5, s=2"}


def _table(**kw):
    return sweep_view.sweep_table(
        "4 combinations of k, s", SWEEPS, ROWS, ["layer", "output", "n"],
        lambda a: {"layer": f"Conv2d(2, 2, {a['n']})" + " " * 30 + "x", "output": a["out"],
                   "n": f"{a['n']:,}"}, **kw)


def test_sweep_table_at_80_columns():
    text = draw(_table())
    assert text.startswith("4 combinations of k, s\n")
    header = next(line for line in text.splitlines() if "output" in line)
    assert header.split() == ["k", "s", "layer", "output", "n"]
    rows = [line.split() for line in text.splitlines() if line.startswith("  ")
            and line.split()[0] in ("3", "5")]
    assert [r[:2] for r in rows] == [["3", "1"], ["3", "2"], ["5", "1"], ["5", "2"]]
    assert rows[1][-1] == "20" and "[1, 2, 3, 3]" in " ".join(rows[1])
    assert rows[3][2:] == ["torch", "refuses", "it", "(below)"]
    assert "k=5, s=2: too small for k=5, s=2" in text


def test_optional_columns_leave_first_first_and_notes_follow_the_refusals():
    narrow = draw(_table(optional=["layer"], notes=["a note for every row"]), width=40)
    flat = " ".join(narrow.split())
    assert "layer" not in narrow.splitlines()[2] and "left out to fit the width: layer" in flat
    assert flat.index("too small for") < flat.index("a note for every row") < \
        flat.index("left out")
    wide = draw(_table(optional=["layer"]), width=120)
    assert "Conv2d(2, 2, 10)" in wide and "left out" not in wide


def test_a_left_column_reads_as_text():
    def cells(a):
        return {"output": a["out"], "n": "x" * (a["n"] // 10)}
    left = draw(sweep_view.sweep_table("t", SWEEPS, ROWS, ["output", "n"], cells,
                                       left=["n"]))
    right = draw(sweep_view.sweep_table("t", SWEEPS, ROWS, ["output", "n"], cells))
    def x_columns(text: str, end: bool) -> set[int]:
        return {(line.rindex("x") if end else line.index("x", 10)) for line in
                text.splitlines() if line.rstrip().endswith("x")}
    assert len(x_columns(left, end=False)) == 1 and len(x_columns(left, end=True)) == 3
    assert len(x_columns(right, end=True)) == 1 and len(x_columns(right, end=False)) == 3
