"""Every command's output read at 80 and 60 columns: nothing rich cut ("…" of a
truncated cell, a cropped line, a word folded in two), no line wider than the
terminal, and the shapes, counts and names of the same command's --json whole in the
text (each one that the output shows at 250 columns must still be there, on one line,
at 80 and at 60; a table may leave a column out, but never breaks what it shows)."""

from __future__ import annotations

import re
import shlex
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from conftest import ROOT, sample

MODEL = ROOT / "tests" / "engine" / "summary_models.py"
CIFAR = "--file examples/models/cifar_cnn.txt"

CASES = [
    # shape and params
    "shape 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t --explain",
    "shape 1x3x224x224 -o 64 -k 7 -s 2 -p 3 -d 2 --explain",
    "shape 1x3x8x8 -o 8 -k 3 -s 2 --padding SAME --padding-from tf --explain",
    "shape 2x3x16x20x24 -o 12 -k 3,5,7 -s 1,2,3 -p 1,2,3 -d 1,2,1 -g 3 --no-bias "
    "--padding-mode reflect --explain",
    "shape 3x224x224 -o 64 -k 7 -s 2 -p 3",
    "shape 1x3x6x6 -o 4 -k 3 -p -1 --padding-mode reflect -e",
    "shape 0x3x5x5 -o 4 -k 3 -t --output-padding 2",
    "params -i 64 -o 128 -k 3 -g 4 --compare-groups 1x64x56x56",
    "params -g 65536 -i 65536 -o 65536 -k 1 --compare-groups",
    "params -o 32 -k 4 -s 2 -p 1 -g 4 -t 1x16x8x8 --conventions",
    "params -i 256 -o 512 -k 3 -s 2 -p 1 64x256x56x56 --conventions",
    "params -i 1024 -o 1024 -k 3 -g 512 8x1024x14x14",
    # show
    "show 1x4x7x7 -o 4 -k 3 -s 2 -p 1 --groups 2",
    "show 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t",
    "show 1x512x56x56 -o 512 -k 3 -p 1 -g 512",
    "show 1x1x100 -o 1 -k 5 -d 4 -s 3 --dims 1",
    "show 1x2x5x6x7 -o 4 -k 3 -s 2 -t --output-padding 1 -p 3",
    "show -i 100000000 -o 100000000 -k 1 -g 100000000",
    "show 1x64x224x224 -o 128 -k 7 -s 2 -p 3 -g 4",
    # solve
    "solve --input-size 32 --output-size 16 -n 8",
    "solve --input-size 7 --output-size 14 -t -n 4",
    "solve --input-size 7 --output-size 14 --max-padding 11 -n 4",
    "solve --input-size 224x200 --output-size 112x99 -n 6",
    "solve --input-size 7 --output-size 16 -t --limit 12",
    "solve --input-size 7x9 --output-size 16x20 -t --limit 0",
    "solve --input-size 9 --output-size 4 --limit 0",
    "solve --transposed --input-size 7x8 -k 3 -s 2 -p 1",
    "solve --transposed --input-size 225x224x223 -k 3,5,7 -s 2,3,4 -p 1,2,3",
    # run and verify
    "run 2x4x32x32 -o 8 -k 3 -r 3 --warmup 1",
    "run 2x4x32x32 -o 8 -k 3 -r 3 --warmup 1 --tune",
    "run 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t -r 2 --warmup 0 --dtype float64",
    "run 1x3x16x16 -o 4 --sweep k=1,3,17 --sweep s=1,2 -r 2 --warmup 0",
    "verify -i 16 -o 16 -k 1 -g 2 8x16x32x32",
    "verify -i 6 -o 4 -k 3 -t -s 2 --output-padding 1 2x6x9x9 --dtype float64",
    # net and summary
    f"net 1x3x32x32 {CIFAR}",
    f"net 1x3x32x32 {CIFAR} --train",
    f"net 1x3x32x32 {CIFAR} --rf",
    f"net 1x3x32x32 {CIFAR} --field 7",
    "net 1x3x61x64 'Conv2d(3, 8, 5, padding=2), MaxPool2d(2)' --field 1",
    f"summary {MODEL}:build_subclass_convs_linear --input 2x3x32x32",
    f"summary {MODEL}:build_subclass_convs_linear --input 2x3x32x32 --train --budget 64MiB",
    # apply
    "apply 1x1x8x8 --pattern square --weight edge-vertical --values",
    "apply 1x1x8x8 --pattern square --weight edge-vertical -s 2 -p 1 --dot --at 0,1",
    "apply 1x2x12 --dims 1 -o 2 --pattern impulse --weight sobel-x --values "
    "--bias-value -0.5",
    "apply 1x1x40x60 --pattern checker --weight gaussian -k 5 --values",
    "apply 1x10x2x3 -o 2 -k 1 --pattern ramp --values",
    "apply 1x2x5x5 --pattern ramp -o 2 -p 1 --padding-mode reflect --dot --at 0,4 "
    "--dtype float64",
    "apply 1x2x4 --dims 1 -o 2 -t -s 2 -p 1 --output-padding 1 --weight '[1, 2, 3]' "
    "--pattern ramp --dot --at 3",
    "apply 1x1x40x40 -k 20 --pattern square --weight box --dot",
    "apply 3x6x6 --pattern stripes --weight '[[[[1]], [[0]], [[-1]]], [[[0.5]], [[0.5]], "
    "[[0]]]]' --no-bias",
]

# --json strings that are names, code or formulas (whole wherever they are shown);
# net's and summary's layers are row labels, which may wrap between arguments
WHOLE_KEYS = {"torch", "formula", "tool", "check", "model"}
LABELS = "layers"
# keys shown in a column a table may leave out (it then says so: "left out to fit
# the width: slice shape")
COLUMNS = {"weight_slice_shape": "slice shape", "torch": "layer"}   # --sweep's layer


def run(command: str, columns: int):
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    return runner.invoke(app, shlex.split(command), catch_exceptions=False)


@contextmanager
def rich_cuts():
    """What rich cut while drawing: cells truncated or cropped, words folded, lines
    cropped to the terminal."""
    from rich import _wrap
    from rich.segment import Segment
    from rich.text import Text

    cuts: list[str] = []
    truncate, chop, adjust = Text.truncate, _wrap.chop_cells, Segment.adjust_line_length

    def checked_truncate(self, max_width, *, overflow=None, pad=False):
        if overflow != "ignore" and self.cell_len > max_width:
            cuts.append(f"truncated to {max_width}: {self.plain!r}")
        return truncate(self, max_width, overflow=overflow, pad=pad)

    def checked_chop(text, width):
        cuts.append(f"folded at {width}: {text!r}")
        return chop(text, width)

    def checked_adjust(cls, line, length, style=None, pad=True):
        if Segment.get_line_length(line) > length:
            cuts.append(f"cropped to {length}: {''.join(s.text for s in line)!r}")
        return adjust(line, length, style=style, pad=pad)

    Text.truncate, _wrap.chop_cells = checked_truncate, checked_chop
    Segment.adjust_line_length = classmethod(checked_adjust)  # type: ignore[method-assign]
    try:
        yield cuts
    finally:
        Text.truncate, _wrap.chop_cells = truncate, chop
        Segment.adjust_line_length = adjust  # type: ignore[method-assign]


def tokens(data, width: int) -> set[tuple[str, tuple[str, ...]]]:
    """Shapes (as a list or as 2x3x4), whole numbers of 1,000 and more, and names,
    code and formulas that fit the width, from a --json object; each with its key and
    the forms it may be written in."""
    out: set[tuple[str, tuple[str, ...]]] = set()

    def walk(value, key: str, label: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k, label or k == LABELS)
        elif isinstance(value, list):
            if key.endswith("shape") and value and all(type(v) is int for v in value):
                out.add((key, ("[" + ", ".join(map(str, value)) + "]",
                               "x".join(map(str, value)))))
            else:
                for v in value:
                    walk(v, key, label)
        elif type(value) is int and abs(value) >= 1000:
            out.add((key, (f"{value:,}",)))
        elif isinstance(value, str) and key in WHOLE_KEYS and not label \
                and len(value) <= width - 6:
            out.add((key, (value,)))

    walk(data, "", False)
    return out


def left_out(text: str) -> str:
    """The columns the output says it left out."""
    found = re.search(r"left out to fit the width: (.*?)\(a wider", text, re.S)
    return " ".join(found.group(1).split()) if found else ""


@pytest.mark.parametrize("command", sample(CASES, keep=10))   # rule 3: widths of every command
def test_output_fits_80_and_60_columns(command):
    import json

    if command.split()[0] in ("run", "verify", "summary", "apply"):
        pytest.importorskip("torch")
    data = json.loads(run(command + " --json", 120).stdout)
    wide = run(command, 250).stdout
    for width in (80, 60):
        with rich_cuts() as cuts:
            r = run(command, width)
        assert r.exit_code in (0, 1), r.stderr
        assert cuts == [], f"{command} at {width}: rich cut {cuts[:3]}"
        long = [line for line in r.stdout.splitlines() if len(line) > width]
        assert long == [], f"{command} at {width}: lines over the width: {long[:3]}"
        gone = left_out(r.stdout)
        shown = {forms for key, forms in tokens(data, width)
                 if any(f in wide for f in forms) and COLUMNS.get(key, "?") not in gone}
        broken = sorted(forms[0] for forms in shown if not any(f in r.stdout for f in forms))
        assert broken == [], f"{command} at {width}: not whole in the text: {broken}"


def test_the_scan_finds_what_rich_cuts():
    """The checks above can fail: a cell rich truncates, a line it crops and a word it
    folds are each caught, and a shape broken over two lines is not 'whole'."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=20, file=open("/dev/null", "w"), color_system=None)
    table = Table("a")
    table.add_row("x" * 40)
    with rich_cuts() as cuts:
        console.print(table)
    assert any("truncated" in c for c in cuts)
    with rich_cuts() as cuts:
        console.print(Text("y" * 40, no_wrap=True, overflow="crop"))
    assert cuts
    with rich_cuts() as cuts:
        console.print(Text("z" * 40))
    assert any("folded" in c for c in cuts)
    data = {"output_shape": [1, 16, 8, 8], "params": 2080, "torch": "nn.Conv2d(1, 2, 3)"}
    assert tokens(data, 80) == {("output_shape", ("[1, 16, 8, 8]", "1x16x8x8")),
                                ("params", ("2,080",)), ("torch", ("nn.Conv2d(1, 2, 3)",))}
    assert not any(form in "[1, 16,\n8, 8]" for form in ("[1, 16, 8, 8]", "1x16x8x8"))
