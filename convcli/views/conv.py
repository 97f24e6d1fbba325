"""`shape` and `params`: the counts of one conv, the formula per dim, the group
layout, the groups comparison, other frameworks' padding and other tools' counts,
as tables (their --json dicts are in conv_data.py, which needs no rich)."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import ConvCounts
from convcli.calculator.groups import GroupsRow, layout_summary
from convcli.calculator.interpret import Interpretation
from convcli.calculator.spec import ConvSpec
from convcli.formatting import count, count_short, index_span, per_dim, shape_list, size
from convcli.views.console import table
from convcli.views.conv_data import notes

# groups listed in full up to this count; beyond, the first and last few and a count
TABLE_GROUPS = (6, 2)


def counts_table(c: ConvCounts) -> Table:
    spec = c.spec
    t = table(escape(spec.torch_repr()), "", "value", show_header=False)
    t.columns[1].justify = "left"
    if c.input_shape is not None:
        batched = len(c.input_shape) == spec.dims + 2
        t.add_row("input", f"{shape_list(c.input_shape)}{'' if batched else ' (unbatched)'}")
        t.add_row("output", Text(shape_list(c.output_shape), style="bold green"))
    t.add_row("weight", shape_list(spec.weight_shape))
    t.add_row("bias", shape_list(spec.bias_shape))
    t.add_row("params", f"{spec.num_params:,}" + (
        f" ({spec.num_weight:,} weight + {spec.out_channels:,} bias)" if spec.bias else ""))
    if c.macs is not None:
        t.add_row("MACs", count(c.macs))
        t.add_row("FLOPs (2*MACs)", count(c.flops))
        t.add_row("bias adds", count(c.bias_adds))
        b = c.bytes
        t.add_row(f"bytes ({c.dtype})",
                  f"in {size(b.input)} · out {size(b.output)} · "
                  f"parameters {size(b.parameters)}")
    else:
        b = c.bytes
        t.add_row(f"parameter bytes ({c.dtype})", size(b.parameters) + (
            f" (weight {size(b.weight)} + bias {size(b.bias)})" if b.bias else ""))
    return t


def reading_text(reading: Interpretation | None, transposed: bool) -> Text | None:
    """How INPUT's rank was read, for commands without a counts table (run, verify)."""
    note = None if reading is None else reading.note(transposed)
    return Text(note + "\n", style="dim") if note else None


def notes_text(c: ConvCounts, reading: Interpretation | None = None) -> Text | None:
    """The notes under the counts table, full width (None when there are none)."""
    lines = notes(c, reading)
    return Text("\n".join(lines) + "\n", style="dim") if lines else None


def explain_table(spec: ConvSpec, explanation) -> Table:
    what = "(L-1)*s - 2p + d*(k-1) + op + 1" if spec.transposed else \
        "floor((L + p_left + p_right - d*(k-1) - 1) / s) + 1"
    t = table("Output size per spatial dim", "dim", "L", "k", "s", "d",
              "padding", "formula", "out")
    for e in explanation:
        pad = (f"{e.pad_left}+{e.pad_right}" if min(e.pad_left, e.pad_right) >= 0 else
               f"({e.pad_left})+({e.pad_right})")
        if spec.transposed and e.output_padding:
            pad += f", op {e.output_padding}"
        t.add_row(str(e.dim), str(e.size_in), str(e.kernel), str(e.stride), str(e.dilation),
                  pad, e.formula, Text(str(e.size_out), style="bold"))
    notes = [f"out = {what}"] + [f"dim {e.dim}: {e.note}" for e in explanation if e.note]
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def layout_table(spec: ConvSpec) -> Table:
    """Which weight rows and which channels each group uses (the first and last
    groups when there are many)."""
    w = spec.weight_shape
    dim0 = "C_in" if spec.transposed else "C_out"
    t = table(
        f"groups={spec.groups}: weight is ONE tensor {shape_list(w)}; dim 0 stacks the "
        f"groups' {dim0} rows, dim 1 is the {w[1]} channels each group "
        f"{'writes' if spec.transposed else 'reads'}",
        "group", "input channels", "output channels", "weight slice", "slice shape")
    head, tail = TABLE_GROUPS
    slices, omitted = layout_summary(spec, head, tail)
    for i, g in enumerate(slices):
        if omitted and i == head:
            t.add_row("...", "", "", f"{omitted:,} more groups", "")
        t.add_row(str(g.group), _span(g.in_channels), _span(g.out_channels),
                  f"weight[{g.weight_rows[0]}:{g.weight_rows[1]}]",
                  shape_list(g.weight_slice_shape))
    last = slices[-1]   # the widest cells: never cut a slice in two
    t.columns[3].min_width = len(f"weight[{last.weight_rows[0]}:{last.weight_rows[1]}]")
    t.columns[4].min_width = len(shape_list(last.weight_slice_shape))
    return t


def _span(span: tuple[int, int]) -> str:
    """[start, stop) of channels: '0..15', '7' for one, '—' for none."""
    return "—" if span[0] == span[1] else index_span(span)


def groups_table(rows: list[GroupsRow]) -> Table:
    base = rows[0]
    with_macs = base.macs is not None
    cols = ["variant", "params"] + (["MACs"] if with_macs else []) + ["params saved", "note"]
    t = table("Parameters by groups value (saved against groups=1)", *cols)
    t.columns[-1].justify = "left"
    for r in rows:
        if r.omitted:
            t.add_row("...", "", *([""] if with_macs else []), "", r.note)
            continue
        cells = [Text(r.label + (" (yours)" if r.yours else ""),
                      style="bold" if r.yours else ""), f"{r.params:,}"]
        if with_macs:
            cells.append(count_short(r.macs))
        saved, saving = r.saved(base), r.saving(base)
        text = f"{saved:,}" if abs(saved) < 10 ** 7 else count_short(saved)
        cells += ["—" if r is base else f"{text} ({saving:.1%})" if saved >= 0 else
                  f"{text} (+{-saving:.1%})", r.note]
        t.add_row(*cells)
    return t


# ---- shape --padding-from (conventions of other frameworks) -----------------------

def ported_table(ported):
    """The foreign padding word as explicit (before, after) pairs, and the torch code."""
    from convcli.calculator.porting import FRAMEWORK_NAMES  # only --padding-from needs it

    name = FRAMEWORK_NAMES[ported.framework]
    t = table(f"{name} padding='{ported.word}' as explicit padding", "dim", "L", "k", "s",
              "d", "before", "after", "out")
    for e in ported.explanation:
        asym = e.pad_left != e.pad_right
        t.add_row(str(e.dim), str(e.size_in), str(e.kernel), str(e.stride), str(e.dilation),
                  Text(str(e.pad_left), style="bold yellow" if asym else ""),
                  Text(str(e.pad_right), style="bold yellow" if asym else ""),
                  Text(str(e.size_out), style="bold"))
    notes = [f"dim {e.dim}: {e.note}" for e in ported.explanation if e.note]
    if ported.word.startswith("SAME") and any(st != 1 for st in ported.spec.stride):
        notes.append(f"torch's padding='same' refuses stride {per_dim(ported.spec.stride, ',')}; "
                     "this explicit padding is the equivalent")
    if ported.symmetric:
        notes.append("symmetric: torch's own padding argument reproduces it")
    else:
        notes.append("asymmetric: torch pads both sides equally, so pad first with F.pad "
                     "(last dim first: left, right, top, bottom) and convolve with padding=0")
    code = Text("PyTorch:\n", style="bold") + Text(
        "\n".join("  " + line if line else "" for line in ported.torch_code().split("\n")))
    return Group(t, Text("\n".join(notes) + "\n"), code, Text(""))


def ported_counts_table(counts, ported) -> Table:
    """counts_table for the conv torch runs after F.pad, titled as the whole port."""
    t = counts_table(counts)
    if ported.symmetric:
        t.title = escape(ported.native.torch_repr())
    else:
        t.title = escape(f"F.pad{ported.f_pad} + {ported.spec.torch_repr()}")
        t.add_row("padded input", shape_list(ported.padded_shape))
    return t


# ---- params --conventions (other counting tools) ----------------------------------

def peers_table(report):
    """One row per counting tool: its figure for this layer and how it compares."""
    spec = report.spec
    t = table(f"What other tools report for {escape(spec.torch_repr())} on "
              f"{shape_list(report.input_shape)}", "tool", "unit", "reports", "vs convcli",
              "ConvTranspose")
    t.columns[3].justify = "left"
    t.columns[4].justify = "left"
    t.add_row(Text("convcli", style="bold"), "MACs", Text(f"{report.macs:,}", style="bold"),
              f"FLOPs {report.flops:,}", "correct")
    for p in report.peers:
        bad = spec.transposed and p.wrong_for_transposed
        verdict = Text(p.verdict, style="bold red" if bad else
                       "green" if p.verdict.startswith("=") else "yellow")
        t.add_row(p.tool, p.unit.split(" ")[0], f"{p.value:,}", verdict,
                  (Text("WRONG", style="bold red") if bad else "wrong")
                  if p.wrong_for_transposed else "correct")
    flagged = [p.tool for p in report.peers if p.wrong_for_transposed]
    note = Text(
        f"convcli: MACs of the dense conv, bias excluded; FLOPs = 2 MACs; bias adds "
        f"{report.bias_adds:,} apart. fvcore calls its MACs 'flops'.\n"
        "Formulas (N batch, S spatial size, K = prod(kernel), w weight shape):\n" + "\n".join(
            f"  {p.tool}: {p.formula}; bias {p.bias}" for p in report.peers) +
        f"\nWrong for transposed convs (they count per output element or misread the "
        f"weight): {', '.join(flagged)}.\n", style="dim")
    return Group(t, note)


# ---- solve (the inverse problem) --------------------------------------------------
