"""`shape` and `params`: the counts of one conv, the formula per dim, the group
layout, the groups comparison, other frameworks' padding and other tools' counts,
as tables (their --json dicts are in conv_data.py, which needs no rich)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcli.calculator.costs import ConvCounts
from convcli.calculator.groups import GroupsRow, layout_summary
from convcli.calculator.interpret import Interpretation
from convcli.calculator.spec import ConvSpec
from convcli.formatting import count, count_short, index_span, per_dim, shape_list, shape_x, size
from convcli.views.console import Fitted, table
from convcli.views.conv_data import notes
from convcli.views.fit_width import (Prose, Squeezed, below, code_lines, left_out_note, prose_lines,
                               titled)

# groups listed in full up to this count; beyond, the first and last few and a count
TABLE_GROUPS = (6, 2)


def counts_table(c: ConvCounts) -> Group:
    """The layer, then its shapes and counts (a value wraps only between its parts)."""
    return titled(c.spec.torch_repr(), _counts(c))


def _counts(c: ConvCounts) -> Table:
    spec = c.spec
    t = table(None, "", "value", show_header=False)
    t.columns[0].no_wrap = True
    t.columns[1].justify = "left"
    if c.input_shape is not None:
        batched = len(c.input_shape) == spec.dims + 2
        t.add_row("input", Prose(f"{shape_list(c.input_shape)}"
                                 f"{'' if batched else ' (unbatched)'}"))
        t.add_row("output", Text(shape_list(c.output_shape), style="bold green"))
    t.add_row("weight", shape_list(spec.weight_shape))
    t.add_row("bias", shape_list(spec.bias_shape))
    t.add_row("params", Prose(f"{spec.num_params:,}" + (
        f" ({spec.num_weight:,} weight + {spec.out_channels:,} bias)" if spec.bias else "")))
    b = c.bytes
    if c.macs is not None:
        t.add_row("MACs", Prose(count(c.macs)))
        t.add_row("FLOPs (2*MACs)", Prose(count(c.flops)))
        t.add_row("bias adds", Prose(count(c.bias_adds)))
        t.add_row(f"bytes ({c.dtype})", Prose.parts(
            [f"in {size(b.input)}", f"out {size(b.output)}",
             f"parameters {size(b.parameters)}"], sep=" · "))
    else:
        t.add_row(f"parameter bytes ({c.dtype})", Prose.parts(
            [size(b.parameters)] + ([f"(weight {size(b.weight)}", f"+ bias {size(b.bias)})"]
                                    if b.bias else [])))
    return t


def reading_text(reading: Interpretation | None, transposed: bool) -> Group | None:
    """How INPUT's rank was read, for commands without a counts table (run, verify)."""
    note = None if reading is None else reading.note(transposed)
    return prose_lines([note, ""], style="dim") if note else None


def notes_text(c: ConvCounts, reading: Interpretation | None = None) -> Group | None:
    """The notes under the counts table, full width (None when there are none)."""
    lines = notes(c, reading)
    return prose_lines(lines + [""], style="dim") if lines else None


def explain_table(spec: ConvSpec, explanation) -> Group:
    """One row per spatial dim; where the formula column does not fit, the formulas
    follow the table, one line per dim."""
    what = "(L-1)*s - 2p + d*(k-1) + op + 1" if spec.transposed else \
        "floor((L + p_left + p_right - d*(k-1) - 1) / s) + 1"

    def build(left_out: set[str]) -> RenderableType:
        cols = [c for c in ("dim", "L", "k", "s", "d", "padding", "formula", "out")
                if c not in left_out]
        t = table(None, *cols)
        for c in t.columns:
            c.no_wrap = True
        for e in explanation:
            pad = (f"{e.pad_left}+{e.pad_right}" if min(e.pad_left, e.pad_right) >= 0 else
                   f"({e.pad_left})+({e.pad_right})")
            if spec.transposed and e.output_padding:
                pad += f", op {e.output_padding}"
            cells = [str(e.dim), str(e.size_in), str(e.kernel), str(e.stride),
                     str(e.dilation), pad] + ([] if "formula" in left_out else [e.formula])
            t.add_row(*cells, Text(str(e.size_out), style="bold"))
        notes = [f"out = {what}"]
        if "formula" in left_out:
            notes += [f"dim {e.dim}: out = {e.formula} = {e.size_out}" for e in explanation]
        notes += [f"dim {e.dim}: {e.note}" for e in explanation if e.note]
        return below(t, notes, gap=False)

    return titled("Output size per spatial dim", Fitted(build, ["formula"]))


def layout_table(spec: ConvSpec) -> Group:
    """Which weight rows and which channels each group uses (the first and last
    groups when there are many). Narrow: short headers, shapes as 32x16x3x3, then no
    slice shape."""
    w = spec.weight_shape
    dim0 = "C_in" if spec.transposed else "C_out"
    title = (f"groups={spec.groups}: weight is ONE tensor {shape_list(w)}; dim 0 stacks "
             f"the groups' {dim0} rows, dim 1 is the {w[1]} channels each group "
             f"{'writes' if spec.transposed else 'reads'}")
    head, tail = TABLE_GROUPS
    slices, omitted = layout_summary(spec, head, tail)
    names = ["group", "input channels", "output channels", "weight slice", "slice shape"]

    def build(left_out: set[str]) -> RenderableType:
        short = "short headers" in left_out
        cols = [n for n in names if n not in left_out]
        t = table(None, *[{"input channels": "in ch", "output channels": "out ch"}.get(c, c)
                          if short else c for c in cols])
        for c in t.columns:
            c.no_wrap = True
        for i, g in enumerate(slices):
            if omitted and i == head:
                t.add_row("...", "", "", f"{omitted:,} more groups", *[""] * (len(cols) - 4))
            cells = [str(g.group), _span(g.in_channels), _span(g.out_channels),
                     f"weight[{g.weight_rows[0]}:{g.weight_rows[1]}]",
                     (shape_x if "x shapes" in left_out else shape_list)(g.weight_slice_shape)]
            t.add_row(*cells[:len(cols)])
        return below(t, left_out_note(left_out, names))

    return titled(title, Fitted(build, ["short headers", "x shapes", "slice shape"]))


def _span(span: tuple[int, int]) -> str:
    """[start, stop) of channels: '0..15', '7' for one, '—' for none."""
    return "—" if span[0] == span[1] else index_span(span)


def groups_table(rows: list[GroupsRow]) -> Group:
    """One row per groups value. Narrow: the notes wrap between words, MACs are left
    out, the labels wrap, then the notes are left out."""
    base = rows[0]
    with_macs = base.macs is not None
    names = ["variant", "params"] + (["MACs"] if with_macs else []) + [
        "vs groups=1", "change", "note"]
    # one format for the column: exact, or 2.15 G where any saving reaches 10 million
    short_saved = any(abs(r.saved(base)) >= 10 ** 7 for r in rows if not r.omitted)
    widest = {"variant": max(len(w) for r in rows for w in r.label.split() + ["(yours)"]),
              "note": max(len(w) for r in rows for w in r.note.split() or ["-"])}

    def build(left_out: set[str]) -> RenderableType:
        cols = [c for c in names if c not in left_out]
        t = table(None, *cols)
        floors = {}
        for i, (c, name) in enumerate(zip(t.columns, cols)):
            c.no_wrap = f"wrapped {name}s" not in left_out   # else between words
            if not c.no_wrap:
                floors[i] = widest[name]
            if name == "note":
                c.justify = "left"
        for r in rows:
            cells: dict[str, RenderableType] = {
                "variant": Text(r.label + (" (yours)" if r.yours else ""),
                                style="bold" if r.yours else ""),
                "params": f"{r.params:,}" if not r.omitted else "", "note": r.note}
            if r.omitted:
                cells["variant"] = Text("...")
            elif with_macs:
                cells["MACs"] = count_short(r.macs)
            words, share = ("", "") if r.omitted else ("—", "") if r is base else \
                _difference(r.saved(base), r.saving(base), short_saved)
            cells["vs groups=1"], cells["change"] = words, share
            t.add_row(*[cells.get(c, "") for c in cols])
        return below(Squeezed(t, floors), left_out_note(left_out, names))

    return titled("Parameters by groups value (fewer or more than groups=1)",
                  Fitted(build, ["wrapped notes", "change", "MACs", "wrapped variants", "note"]))


def _difference(saved: int, saving: float, short: bool) -> tuple[str, str]:
    """A parameter difference in words and as a share: ('5,184 fewer', '-66.7%'),
    ('6 more', '+21.4%')."""
    if saved == 0:
        return "same", "0%"
    n = abs(saved)
    text = count_short(n) if short else f"{n:,}"
    return (f"{text} fewer", f"-{saving:.1%}") if saved > 0 else \
        (f"{text} more", f"+{-saving:.1%}")


# ---- shape --padding-from (conventions of other frameworks) -----------------------

def ported_table(ported):
    """The foreign padding word as explicit (before, after) pairs, and the torch code."""
    from convcli.calculator.porting import FRAMEWORK_NAMES  # only --padding-from needs it

    name = FRAMEWORK_NAMES[ported.framework]
    t = table(None, "dim", "L", "k", "s", "d", "before", "after", "out")
    for c in t.columns:
        c.no_wrap = True
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
    return Group(titled(f"{name} padding='{ported.word}' as explicit padding", t),
                 prose_lines(notes + [""]), Text("PyTorch:", style="bold"),
                 code_lines(ported.torch_code()), Text(""))


def ported_counts_table(counts, ported) -> Group:
    """counts_table for the conv torch runs after F.pad, titled as the whole port."""
    t = _counts(counts)
    if ported.symmetric:
        return titled(ported.native.torch_repr(), t)
    t.add_row("padded input", shape_list(ported.padded_shape))
    return titled(f"F.pad{ported.f_pad} + {ported.spec.torch_repr()}", t)


# ---- params --conventions (other counting tools) ----------------------------------

def peers_table(report) -> Group:
    """One row per counting tool: its figure for this layer and how it compares; the
    formulas under it. Narrow: no transposed column, no unit column, then the verdicts
    wrap."""
    spec = report.spec
    names = ["tool", "unit", "reports", "vs convcli", "transposed"]
    rows: list[tuple[RenderableType, str, RenderableType, Text, RenderableType]] = [
        (Text("convcli", style="bold"), "MACs", Text(f"{report.macs:,}", style="bold"),
         Text(f"FLOPs {report.flops:,}"), "correct")]
    for p in report.peers:
        bad = spec.transposed and p.wrong_for_transposed
        verdict = Text(p.verdict, style="bold red" if bad else
                       "green" if p.verdict.startswith("=") else "yellow")
        rows.append((p.tool, p.unit.split(" ")[0], f"{p.value:,}", verdict,
                     (Text("WRONG", style="bold red") if bad else "wrong")
                     if p.wrong_for_transposed else "correct"))

    def build(left_out: set[str]) -> RenderableType:
        keep = [i for i, n in enumerate(names) if n not in left_out]
        t = table(None, *[names[i] for i in keep])
        floors = {}
        for n, (c, i) in enumerate(zip(t.columns, keep)):
            c.no_wrap = i != 3 or "wrapped verdicts" not in left_out
            c.justify = "left" if i in (0, 3, 4) else "right"
            if not c.no_wrap:    # between words
                floors[n] = max(len(w) for row in rows for w in row[3].plain.split())
        for row in rows:
            t.add_row(*[row[i] for i in keep])
        # (the transposed column needs no "left out" note: the one under the formulas
        # names the tools it marks wrong)
        return below(Squeezed(t, floors), left_out_note(left_out - {"transposed"}, names))

    flagged = [p.tool for p in report.peers if p.wrong_for_transposed]
    notes = prose_lines(
        [f"convcli: MACs of the dense conv, bias excluded; FLOPs = 2 MACs; bias adds "
         f"{report.bias_adds:,} apart. fvcore calls its MACs 'flops'.",
         "Formulas (N batch, S spatial size, K = prod(kernel), w weight shape):"], "dim")
    formulas = [Prose.parts([f"{p.tool}: {p.formula};", f"bias {p.bias}"], style="dim",
                            indent=2, hang=2) for p in report.peers]
    wrong = Prose.parts(["Wrong for transposed convs (they count per output element or "
                         "misread the weight):"] + [f"{t}," for t in flagged[:-1]]
                        + [f"{t}." for t in flagged[-1:]], style="dim", hang=2)
    return Group(titled(f"What other tools report for {spec.torch_repr()} on "
                        f"{shape_list(report.input_shape)}",
                        Fitted(build, ["transposed", "unit", "wrapped verdicts"])),
                 notes, *formulas, wrong, Text(""))


# ---- solve (the inverse problem) --------------------------------------------------
