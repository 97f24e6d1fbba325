"""Reports -> rich tables for people | JSON for machines. The one place output is
formatted. Core modules return dataclasses; commands hand them to an ``Output``.

Plain text (no colour) where NO_COLOR is set or stdout is not a terminal: rich
decides that from the environment.
"""

from __future__ import annotations

import json
import sys

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convcli.counts import CONVENTION, ConvCounts, GroupsRow, group_layout
from convcli.spec import ConvSpec

JSON_VERSION = 1


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def error(message: str) -> None:
    """`Error: <message>` on stderr, as one line (user text escaped)."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text("Error: ", style="bold red") + Text(message))


def warn(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text("Warning: ", style="yellow") + Text(message))


class Output:
    """Knows whether the user asked for JSON; commands call ``emit`` once."""

    def __init__(self, json_mode: bool):
        self.json_mode = json_mode

    def emit(self, data: dict, *renderables) -> None:
        if self.json_mode:
            write_json(data)
        else:
            out = console()
            for r in renderables:
                out.print(r)


def write_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


# ---- formatting helpers ---------------------------------------------------------

def shape_str(shape) -> str:
    return "—" if shape is None else "[" + ", ".join(str(n) for n in shape) + "]"


def count_str(n: int | None) -> str:
    """73856 -> '73,856 (73.9 k)': the exact count, and a short form from 1,000 up."""
    if n is None or n < 1000:
        return short_count(n)
    return f"{n:,} ({short_count(n)})"


def short_count(n: int | None) -> str:
    """113246208 -> '113.2 M' (tables where width is tight)."""
    if n is None:
        return "—"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:,}"


def bytes_str(n: int) -> str:
    if n < 1024:
        return f"{n:,} B"
    for unit, div in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= div:
            return f"{n / div:,.1f} {unit}"
    return f"{n:,} B"  # pragma: no cover


def table(title: str | None = None, *columns: str, **kwargs) -> Table:
    t = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left",
              title_style="bold", **kwargs)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


# ---- shape / params -------------------------------------------------------------

def counts_dict(c: ConvCounts) -> dict:
    spec = c.spec
    return {
        "version": JSON_VERSION,
        "layer": spec.torch_repr(),
        "conv": spec.as_dict(),
        "batched": None if c.input_shape is None else len(c.input_shape) == spec.dims + 2,
        "input_shape": None if c.input_shape is None else list(c.input_shape),
        "output_shape": None if c.output_shape is None else list(c.output_shape),
        "weight_shape": list(spec.weight_shape),
        "bias_shape": None if spec.bias_shape is None else list(spec.bias_shape),
        "params": spec.num_params,
        "weight_params": spec.num_weight,
        "bias_params": spec.num_params - spec.num_weight,
        "macs": c.macs,
        "flops": c.flops,
        "bias_adds": c.bias_adds,
        "dtype": c.dtype,
        "bytes": c.bytes.as_dict(),
        "groups_layout": [g.as_dict() for g in group_layout(spec)] if spec.groups > 1 else [],
        "counting": CONVENTION,
    }


def counts_table(c: ConvCounts) -> Table:
    spec = c.spec
    t = table(escape(spec.torch_repr()), "", "value", show_header=False)
    t.columns[1].justify = "left"
    if c.input_shape is not None:
        batched = len(c.input_shape) == spec.dims + 2
        t.add_row("input", f"{shape_str(c.input_shape)}{'' if batched else ' (unbatched)'}")
        t.add_row("output", Text(shape_str(c.output_shape), style="bold green"))
    t.add_row("weight", shape_str(spec.weight_shape))
    t.add_row("bias", shape_str(spec.bias_shape))
    t.add_row("params", f"{spec.num_params:,}" + (
        f" ({spec.num_weight:,} weight + {spec.out_channels:,} bias)" if spec.bias else ""))
    if c.macs is not None:
        t.add_row("MACs", count_str(c.macs))
        t.add_row("FLOPs (2*MACs)", count_str(c.flops))
        t.add_row("bias adds", count_str(c.bias_adds))
        b = c.bytes
        t.add_row(f"bytes ({c.dtype})",
                  f"in {bytes_str(b.input)} · out {bytes_str(b.output)} · "
                  f"weight {bytes_str(b.weight + b.bias)}")
    else:
        t.add_row(f"weight bytes ({c.dtype})", bytes_str(c.bytes.weight + c.bytes.bias))
    return t


def explain_dicts(explanation) -> list[dict]:
    """`--json`'s `explain`: one object per spatial dim."""
    return [{"dim": e.dim, "size_in": e.size_in, "size_out": e.size_out, "formula": e.formula,
             "padding": [e.pad_left, e.pad_right], "note": e.note} for e in explanation]


def explain_table(spec: ConvSpec, explanation) -> Table:
    what = "(L-1)*s - 2p + d*(k-1) + op + 1" if spec.transposed else \
        "floor((L + p_left + p_right - d*(k-1) - 1) / s) + 1"
    t = table("Output size per spatial dim", "dim", "L", "k", "s", "d",
              "padding", "formula", "out")
    for e in explanation:
        pad = f"{e.pad_left}+{e.pad_right}"
        if spec.transposed and e.output_padding:
            pad += f", op {e.output_padding}"
        t.add_row(str(e.dim), str(e.size_in), str(e.kernel), str(e.stride), str(e.dilation),
                  pad, e.formula, Text(str(e.size_out), style="bold"))
    notes = [f"out = {what}"] + [f"dim {e.dim}: {e.note}" for e in explanation if e.note]
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def layout_table(spec: ConvSpec) -> Table:
    """Which weight rows and which channels each group uses."""
    w = spec.weight_shape
    dim0 = "C_in" if spec.transposed else "C_out"
    t = table(
        f"groups={spec.groups}: weight is ONE tensor {shape_str(w)}; dim 0 stacks the "
        f"groups' {dim0} rows, dim 1 is the {w[1]} channels each group "
        f"{'writes' if spec.transposed else 'reads'}",
        "group", "input channels", "output channels", "weight slice", "slice shape")
    for g in group_layout(spec):
        t.add_row(str(g.group), f"{g.in_channels[0]}..{g.in_channels[1] - 1}",
                  f"{g.out_channels[0]}..{g.out_channels[1] - 1}",
                  f"weight[{g.weight_rows[0]}:{g.weight_rows[1]}]",
                  shape_str(g.weight_slice_shape))
    return t


def groups_rows_dict(rows: list[GroupsRow]) -> list[dict]:
    base = rows[0]
    return [{"label": r.label, "groups": r.groups, "params": r.params, "macs": r.macs,
             "saving": round(r.saving(base), 6), "note": r.note,
             "layer": None if r.spec is None else r.spec.torch_repr()} for r in rows]


def groups_table(rows: list[GroupsRow]) -> Table:
    base = rows[0]
    with_macs = base.macs is not None
    cols = ["variant", "params"] + (["MACs"] if with_macs else []) + ["saving", "note"]
    t = table("Parameters by groups value (saving against groups=1)", *cols)
    t.columns[-1].justify = "left"
    for r in rows:
        cells = [r.label, f"{r.params:,}"]
        if with_macs:
            cells.append(short_count(r.macs))
        saving = r.saving(base)
        cells += ["—" if r is base else f"{saving:.1%}" if saving >= 0 else f"+{-saving:.1%}",
                  r.note]
        t.add_row(*cells)
    return t


# ---- shape --padding-from (conventions of other frameworks) -----------------------

def ported_table(ported):
    """The foreign padding word as explicit (before, after) pairs, and the torch code."""
    from rich.console import Group

    from convcli.conventions import FRAMEWORK_NAMES

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
        notes.append(f"torch's padding='same' refuses stride {_ints(ported.spec.stride)}; "
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
        t.add_row("padded input", shape_str(ported.padded_shape))
    return t


# ---- params --conventions (other counting tools) ----------------------------------

def peers_table(report):
    """One row per counting tool: its figure for this layer and how it compares."""
    from rich.console import Group

    spec = report.spec
    t = table(f"What other tools report for {escape(spec.torch_repr())} on "
              f"{shape_str(report.input_shape)}", "tool", "unit", "reports", "vs convcli",
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

def _ints(t) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else ",".join(map(str, t))


def solve_view(report):
    """The solutions, simplest first, with what each one costs in reading the input."""
    from rich.console import Group

    kind = "ConvTranspose" if report.transposed else "Conv"
    size = f"{_ints(report.size_in)} -> {_ints(report.size_out)}"
    if len(report.size_in) > 1:
        size = "x".join(map(str, report.size_in)) + " -> " + "x".join(map(str, report.size_out))
    shown = len(report.solutions)
    cols = ["#", "kernel", "stride", "padding", "dilation"] + (
        ["out pad", "Conv from"] if report.transposed else []) + ["note"]
    t = table(f"{kind} settings mapping {size}: {shown} of {report.total:,}, simplest first",
              *cols)
    t.columns[-1].justify = "left"
    for i, s in enumerate(report.solutions, 1):
        pad = (_ints(s.padding) if s.symmetric else
               ",".join(f"{a}+{b}" for a, b in s.padding_pairs) + " F.pad")
        cells = [str(i), _ints(s.kernel_size), _ints(s.stride),
                 Text(pad, style="" if s.symmetric else "yellow"), _ints(s.dilation)]
        if report.transposed:
            cells.append(_ints(s.output_padding))
            cells.append(",".join("—" if p is None else str(p[0]) if p[0] == p[1] else
                                  f"{p[0]}..{p[1]}" for p in (
                                      s.conv_from[:1] if s.scalar else s.conv_from)))
        cells.append("; ".join(s.notes))
        t.add_row(*cells)
    b = report.bounds
    pad_rule = ("d*(kernel-1)" if b.max_padding is None else str(b.max_padding))
    lines = [f"e.g. {report.solutions[0].torch_code()}"]
    if report.transposed:
        lines.append(f"Conv from: the Conv with the same kernel, stride, padding and "
                     f"dilation maps these sizes to {_ints(report.size_in)}; output_padding "
                     "picks which one this layer restores")
    if not all(s.symmetric for s in report.solutions):
        lines.append("a+b F.pad: a before, b after; torch's own padding is symmetric, so "
                     "F.pad(x, ...) first and padding=0")
    lines.append(f"searched kernel <= {b.max_kernel}, stride <= {b.max_stride}, dilation <= "
                 f"{b.max_dilation}, padding per side <= {pad_rule.replace('ilation', '')}"
                 + (f"; --limit 0 shows all {report.total:,}" if shown < report.total else ""))
    return Group(t, Text("\n".join(lines) + "\n", style="dim"))


def decoder_view(report):
    """The decoder of an encoder conv, and which sizes its output_padding chooses from."""
    from rich.console import Group

    t = table(f"Decoder of {escape(report.layer('encoder'))}", "dim", "restore", "encoder out",
              "sizes that map there", "output_padding")
    rows = report.dims
    same = all(r.__dict__ == rows[0].__dict__ for r in rows)
    for i, d in enumerate(rows[:1] if same else rows):
        sizes = ", ".join(str(m) for m in d.preimage) if len(d.preimage) <= 6 else \
            f"{d.preimage[0]}..{d.preimage[-1]}"
        t.add_row("all" if same and len(rows) > 1 else str(i), str(d.size_in),
                  str(d.size_code), sizes,
                  Text("—" if d.output_padding is None else str(d.output_padding),
                       style="bold green"))
    lines = []
    if report.decoder is not None:
        lines.append(Text("decoder: ", style="bold") + Text(
            "nn." + escape(report.layer("decoder")), style="bold green"))
    for i, d in enumerate(rows[:1] if same else rows):
        if len(d.preimage) > 1:
            opts = ", ".join(f"output_padding={op} -> {m}" for m, op in d.choices
                             if op is not None)
            lines.append(Text(
                ("" if same else f"dim {i}: ")
                + f"stride {d.stride} floors {len(d.preimage)} input sizes "
                f"({d.preimage[0]}..{d.preimage[-1]}) to {d.size_code}, so the decoder "
                f"cannot know which one it came from; {opts}.", style="dim"))
    if not report.ambiguous:
        lines.append(Text("unambiguous: only this input size maps to the encoder's output, "
                          "output_padding 0 restores it", style="dim"))
    return Group(t, *lines, Text(""))


# ---- show (pictures of what a conv does) -------------------------------------------

_GROUP_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red")
_GLYPHS = {"input": None, "pad": "·", "zero": "∘", "crop": "x"}


def _group_style(g: int) -> str:
    return _GROUP_STYLES[g % len(_GROUP_STYLES)]


def show_view(pic, width: int = 80):
    """The channel map, the sliding window and the receptive field, fitted to width."""
    from rich.console import Group

    parts = [Text(escape(pic.spec.torch_repr()) + (
        f" on {shape_str(pic.input_shape)} -> {shape_str(pic.output_shape)}"
        if pic.input_shape else ""), style="bold"), Text("")]
    parts += group_map_lines(pic.groups, width)
    if pic.window is None:
        parts.append(Text("Give INPUT (e.g. 1x{}x8x8) to see the sliding window and the "
                          "receptive field.".format(pic.spec.in_channels), style="dim"))
        return Group(*parts)
    parts.append(Text(""))
    parts += window_lines(pic.window, width)
    parts.append(Text(""))
    parts += field_lines(pic.field, pic.views, width,
                         batched=len(pic.input_shape) == pic.spec.dims + 2)
    return Group(*parts)


def _summarised(items: list, head: int = 4, tail: int = 2) -> list:
    """items, or its head and tail with None marking what was left out."""
    if len(items) <= head + tail + 1:
        return list(items)
    return items[:head] + [None] + items[-tail:]


def group_map_lines(gm, width: int = 80) -> list:
    spec = gm.spec
    g, w = spec.groups, spec.weight_shape
    lines = [Text(f"Channels: groups={g}, weight {shape_str(w)} is one tensor; "
                  + (f"each group reads {gm.in_per_group} input and writes "
                     f"{gm.out_per_group} output channels" if g > 1 else
                     "every output channel reads every input channel"), style="bold")]
    label_w = 8
    grid = gm.grid(16, max(4, (width - label_w - 2) // 2))
    cols = len(grid.cells[0])
    # header: the input channel at each column's start, where there is room
    header = [" "] * (cols * 2)
    c = 0
    while c < cols:
        text = str(c * grid.bin_in)
        if c * 2 + len(text) <= cols * 2:
            header[c * 2:c * 2 + len(text)] = list(text)
        c += max(1, -(-(len(text) + 1) // 2), -(-gm.in_per_group // grid.bin_in)
                 if g > 1 else 4)
    lines.append(Text(" " * label_w + "input channels ->", style="dim"))
    lines.append(Text(f"{'out ch':>{label_w - 1}} " + "".join(header), style="dim"))
    rows_per_group = max(1, gm.out_per_group // grid.bin_out)
    for r, row in enumerate(grid.cells):
        start = r * grid.bin_out
        label = str(start) if (r % rows_per_group == 0 or grid.bin_out > gm.out_per_group) \
            else ""
        line = Text(f"{label:>{label_w - 1}} ", style="dim")
        for group, full in row:
            if group is None:
                line += Text(" ·", style="dim")
            else:
                glyph = ("██" if group % 2 == 0 else "▓▓") if full else "░░"
                line += Text(glyph, style=_group_style(group))
        lines.append(line)
    if grid.bin_out > 1 or grid.bin_in > 1:
        per = (f" ({grid.bin_in // gm.in_per_group} groups)" if g > 1 and
               grid.bin_in % gm.in_per_group == 0 and grid.bin_in > gm.in_per_group else "")
        lines.append(Text(f"each cell is {grid.bin_out} output x {grid.bin_in} input "
                          f"channels{per}; ░ = only partly connected", style="dim"))
    # legend: one line per group (summarised), the weight slice labelled
    dim0 = "C_in" if spec.transposed else "C_out"
    for s in _summarised(gm.slices):
        if s is None:
            lines.append(Text(f"  ... {g - 6} more groups ...", style="dim"))
            continue
        glyph = "██" if s.group % 2 == 0 else "▓▓"
        lines.append(Text(f"  {glyph} ", style=_group_style(s.group)) + Text(
            f"group {s.group}: in {_span(s.in_channels)} -> out {_span(s.out_channels)}"
            f"  weight[{s.weight_rows[0]}:{s.weight_rows[1]}] {shape_str(s.weight_slice_shape)}"))
    if g > 1:
        lines.append(Text(f"weight dim 0 stacks the groups' {dim0} rows; a cell off the "
                          "diagonal blocks is a weight that does not exist", style="dim"))
    return lines


def _span(r) -> str:
    return str(r[0]) if r[1] - r[0] == 1 else f"{r[0]}..{r[1] - 1}"


def window_lines(view, width: int = 80) -> list:
    k, s, dl = view.kernel, view.stride, view.dilation
    kind = "zero-stuffed view of the transposed conv" if view.transposed else "sliding window"
    pad = (f"padding {view.pad[0]}" + (f", output_padding {view.output_padding}"
                                        if view.output_padding else "")
           if view.transposed else f"padding {view.pad[0]}+{view.pad[1]}")
    lines = [Text(f"Along {view.dim_name} (dim {view.dim}), {kind}: L={view.size_in}, k={k}, "
                  f"s={s}, d={dl}, {pad} -> {view.size_out} outputs", style="bold")]
    label_w = 8
    cw = max(3, len(str(view.size_in - 1)) + 1)
    budget = max(6, (width - label_w) // cw)
    from convcli.show import visible

    wins, pos = visible(view, budget)
    # header: the cells
    head = Text(f"{'input':>{label_w - 1}} ", style="dim")
    prev = None
    for p in pos:
        if prev is not None and p != prev + 1:
            head += Text(f"{'…':>{cw}}", style="dim")
        c = view.cell(p)
        if c.kind == "input":
            head += Text(f"{c.index:>{cw}}")
        elif c.kind == "crop" and c.index is not None and len(f"x{c.index}") < cw:
            head += Text(f"{'x' + str(c.index):>{cw}}", style="dim")
        else:
            head += Text(f"{_GLYPHS[c.kind]:>{cw}}", style="dim")
        prev = p
    lines.append(head)
    for w in wins:
        if w is None:
            lines.append(Text(f"{'⋮':>{label_w - 1}}", style="dim"))
            continue
        taps, lo, hi = set(w.taps), min(w.taps), max(w.taps)
        line = Text(f"{'out ' + str(w.out_index):>{label_w - 1}} ")
        prev = None
        for p in pos:
            if prev is not None and p != prev + 1:
                line += Text(f"{'…' if lo <= prev and p <= hi else '':>{cw}}", style="dim")
            if p in taps:
                real = view.cell(p).kind == "input"
                line += Text(f"{'■' if real else '○':>{cw}}",
                             style="bold green" if real else "yellow")
            elif lo < p < hi:
                line += Text(f"{'─':>{cw}}", style="dim")
            else:
                line += Text(" " * cw)
            prev = p
        lines.append(line)
    legend = "■ kernel tap on an input element, ○ on padding; · padding"
    if view.transposed:
        legend = ("■ kernel tap on an input element, ○ on a zero (adds nothing); · padding, "
                  "∘ inserted zero" + (", x cropped" if any(c.kind == "crop"
                                                            for c in view.cells) else ""))
    notes = [legend] + view.notes()
    if len(pos) < len(view.cells) or len(wins) < len(view.windows):
        notes.append("… and ⋮ mark cells and outputs left out to fit the width "
                     "(--json has them all)")
    lines += [Text(n, style="dim") for n in notes]
    return lines


def field_lines(field, views, width: int = 80, batched: bool = True) -> list:
    spec = field.spec
    where = ", ".join(str(i) for i in field.position)
    lines = [Text(f"Receptive field of output [{':, ' if batched else ''}{field.out_channel}, "
                  f"{where}]", style="bold")]
    for d in field.dims:
        ins = _ranges_str(d.inputs)
        extra = f" + {d.on_padding} tap(s) on padding" if d.on_padding and not spec.transposed \
            else f" ({d.on_padding} tap(s) on zeros/padding)" if d.on_padding else ""
        lines.append(Text(f"  {d.name}: output {d.out_index} reads input {ins or 'nothing'}"
                          f"{extra}"))
    ci = field.in_channels
    lines.append(Text(
        f"  channels: output channel {field.out_channel} is in group {field.group.group}: "
        f"it reads input channels {_span(ci)} of {spec.in_channels}"))
    lines.append(Text(
        f"  = {field.real_taps if spec.transposed else field.taps} taps x {ci[1] - ci[0]} "
        f"channels = {field.macs:,} MACs for this one value", style="dim"))
    if spec.dims == 2:
        lines += _field_grid(field, views, width)
    return lines


def _ranges_str(values) -> str:
    values = sorted(set(values))
    if not values:
        return ""
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values))


def _field_grid(field, views, width: int) -> list:
    """A small 2-d picture: rows x cols around the field, taps marked."""
    vh, vw = views
    fh, fw = field.dims

    def window(view, fd, budget):
        lo, hi = min(fd.taps) - 1, max(fd.taps) + 1
        lo, hi = max(lo, view.cells[0].pos), min(hi, view.cells[-1].pos)
        if hi - lo + 1 > budget:
            return None
        return list(range(lo, hi + 1))

    rows = window(vh, fh, 15)
    cols = window(vw, fw, (width - 10) // 2)
    if rows is None or cols is None:
        return []
    taps_h, taps_w = set(fh.taps), set(fw.taps)
    lines = [Text("")]
    for r in rows:
        ch = vh.cell(r)
        label = str(ch.index) if ch.kind == "input" else _GLYPHS[ch.kind]
        line = Text(f"{label:>7} ", style="dim")
        for c in cols:
            cw = vw.cell(c)
            real = ch.kind == "input" and cw.kind == "input"
            if r in taps_h and c in taps_w:
                line += Text(" ■" if real else " ○", style="bold green" if real else "yellow")
            else:
                line += Text(" □" if real else " ·", style="" if real else "dim")
        lines.append(line)
    def extent(view, positions):
        idx = [view.cell(p).index for p in positions if view.cell(p).kind == "input"]
        return f"{min(idx)}..{max(idx)}" if idx else "padding only"

    lines.append(Text(f"        rows: input {vh.dim_name} {extent(vh, rows)}, columns: input "
                      f"{vw.dim_name} {extent(vw, cols)}", style="dim"))
    lines.append(Text("        ■ input read by this output, ○ tap on padding/zero, □ input "
                      "not read, · padding", style="dim"))
    return lines


def info(message: str) -> None:
    """A side note for people on stderr (never on --json's stdout)."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(message, style="dim"))

# ---- run ------------------------------------------------------------------------

def _ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 \
        else f"{v:.3f}"


def _num(v) -> str:
    return "—" if v is None else f"{v:.6g}"


def run_dict(r) -> dict:
    """`convcli run --json`: one object; keys documented in the README."""
    spec = r.spec
    return {
        "version": JSON_VERSION,
        "layer": spec.torch_repr(),
        "conv": spec.as_dict(),
        "input_shape": list(r.input_shape),
        "predicted_shape": list(r.predicted_shape),
        "output_shape": list(r.output_shape),
        "device": r.device.name,
        "device_name": r.device.description,
        "dtype": r.dtype,
        "channels_last": r.channels_last,
        "cudnn_benchmark": r.cudnn_benchmark,
        "cudnn_allow_tf32": r.cudnn_allow_tf32,
        "seed": r.seed,
        "sources": dict(r.sources),
        "timing": r.timing.as_dict(),
        "macs": r.macs,
        "flops": r.flops,
        "gflops": r.gflops,
        "peak_memory": {"bytes": r.peak_memory, "what": r.peak_memory_what},
        "memory_estimate": r.estimate.as_dict(),
        "stats": r.stats.as_dict(),
        "saved": None if r.saved is None else {"path": r.saved.path, "dtype": r.saved.dtype,
                                               "note": r.saved.note},
        "tune": [{"label": t.label, **t.as_dict()} for t in r.tune],
        "torch": r.torch_version,
        "threads": r.threads,
        "counting": CONVENTION,
    }


def run_table(r) -> Table:
    spec = r.spec
    t = table(f"{escape(spec.torch_repr())} on {r.device.name}, {r.dtype}"
              + (", channels_last" if r.channels_last else ""), "", "value",
              show_header=False)
    t.columns[1].justify = "left"
    t.add_row("input", f"{shape_str(r.input_shape)}  {escape(r.sources['input'])}")
    t.add_row("weight", f"{shape_str(spec.weight_shape)}  {escape(r.sources['weight'])}")
    t.add_row("bias", f"{shape_str(spec.bias_shape)}  {escape(r.sources['bias'])}"
              if spec.bias else "none")
    t.add_row("output", Text(shape_str(r.output_shape), style="bold green")
              + Text("  = predicted"))
    tm = r.timing
    t.add_row("time / call", Text(f"median {_ms(tm.median_ms)} ms", style="bold")
              + Text(f" · min {_ms(tm.min_ms)} ms · max {_ms(tm.max_ms)} ms"))
    t.add_row("calls", f"{tm.repeat} timed after {tm.warmup} warmup ({tm.method})")
    t.add_row("throughput", f"{r.gflops:,.1f} GFLOP/s ({count_str(r.flops)} FLOPs = 2*MACs)")
    est = r.estimate
    limit = "" if est.limit is None else f" of {bytes_str(est.limit)} limit"
    t.add_row("memory", f"peak {bytes_str(r.peak_memory)} · estimate "
              f"{bytes_str(est.total)}{limit}")
    s = r.stats
    t.add_row("output stats", f"mean {_num(s.mean)} · std {_num(s.std)} · min {_num(s.min)} · "
              f"max {_num(s.max)}")
    bad = Text(f"{s.nan:,} NaN, {s.inf:,} Inf",
               style="bold red" if s.nonfinite else "")
    t.add_row("non-finite", bad)
    t.add_row("device", escape(r.device.description) + f" · torch {r.torch_version}"
              + ("" if r.cudnn_benchmark is None else
                 f" · cudnn.benchmark {'on' if r.cudnn_benchmark else 'off'}")
              + (" · TF32 allowed" if r.cudnn_allow_tf32 and r.dtype == "float32" else ""))
    if r.saved is not None:
        t.add_row("saved", escape(r.saved.path) + f" ({r.saved.dtype})"
                  + (f"; {r.saved.note}" if r.saved.note else ""))
    return t


def tune_table(r) -> Table:
    """--tune: one row per variant, the fastest marked, and what to set."""
    rows = r.tune
    base = next((x for x in rows if x.requested), rows[0])
    t = table("Variants (same tensors; fastest marked ★; NHWC = channels_last)", "variant",
              "median ms", "min ms", "GFLOP/s", "vs yours", "max diff")
    t.columns[0].no_wrap = True
    for x in rows:
        style = "bold green" if x.fastest else ""
        label = ("★ " if x.fastest else "  ") + x.short_label + (" (yours)" if x.requested else "")
        if x.timing is None:
            t.add_row(Text(label, style="dim"), "—", "—", "—", "—", "unsupported")
            continue
        t.add_row(Text(label, style=style), _ms(x.timing.median_ms), _ms(x.timing.min_ms),
                  f"{x.gflops:,.1f}", f"{base.timing.median_ms / x.timing.median_ms:.2f}x",
                  "—" if x is base else f"{x.max_abs_diff:.3g}")
    best = next(x for x in rows if x.fastest)
    advice = []
    if best.requested:
        advice.append("your settings are already the fastest measured")
    else:
        if best.channels_last != base.channels_last:
            advice.append("model = model.to(memory_format=torch.channels_last) and the same for "
                          "inputs" if best.channels_last else
                          "keep tensors contiguous (no channels_last)")
        if best.cudnn_benchmark is not None and best.cudnn_benchmark != base.cudnn_benchmark:
            advice.append(f"torch.backends.cudnn.benchmark = {best.cudnn_benchmark}")
        if best.dtype != base.dtype:
            advice.append(f"run in {best.dtype} (model.to(torch.{best.dtype}) or torch.autocast)"
                          f"; max diff vs yours {best.max_abs_diff:.3g}")
    failed = [f"{x.short_label}: {x.error}" for x in rows if x.error]
    t.caption = "set: " + "; ".join(advice) + \
        "\nmax diff: largest absolute difference from your variant's output" + \
        "".join(f"\n{escape(f)}" for f in failed)
    t.caption_justify = "left"
    return t


class RunProgress:
    """A progress bar on stderr, shown only when stderr is a terminal and the work
    has taken more than ``delay`` seconds; never on stdout. Call as
    ``progress(done, total, label)``; ``close()`` removes it."""

    def __init__(self, delay: float = 0.5, console_: Console | None = None):
        self.delay = delay
        self.console = console_ or Console(stderr=True)
        self.enabled = self.console.is_terminal
        self._t0 = None
        self._bar = None
        self._task = None
        self._label = None

    def __call__(self, done: int, total: int, label: str) -> None:
        import time

        if not self.enabled:
            return
        if self._bar is None:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            if now - self._t0 < self.delay:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(escape(label), total=total)
            self._label = label
        if label != self._label:
            self._bar.reset(self._task, total=total, description=escape(label))
            self._label = label
        self._bar.update(self._task, completed=done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- verify ---------------------------------------------------------------------

def _finite(v):
    """JSON has no NaN/inf: those become null."""
    return None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v


def _err_str(v) -> str:
    if v is None:
        return "—"
    if v != v:
        return "nan"
    if v == 0:
        return "0"
    return f"{v:.2g}" if isinstance(v, float) and v < 1 else f"{v:,.4g}"


def verify_dict(report) -> dict:
    """`convcli verify --json`: stable keys (README)."""
    from convcli.verify import TOLERANCES

    checks = []
    for c in report.checks:
        item = {"name": c.name, "title": c.title, "cases": c.cases,
                "worst_error": _finite(c.worst_error), "passed": c.passed,
                "failures": c.failures, "tolerance": c.tolerance,
                "seconds": round(c.seconds, 3),
                "worst": None if c.worst is None else
                {k: _finite(v) for k, v in c.worst.as_dict().items()}}
        if c.name == "calculator":
            item["zero_size_quirks"] = c.quirks
        checks.append(item)
    configuration = None
    if report.spec is not None:
        configuration = {"layer": report.spec.torch_repr(), "conv": report.spec.as_dict(),
                         "input_shape": list(report.input_shape)}
    return {
        "version": JSON_VERSION,
        "passed": report.passed,
        "failed": [c.name for c in report.failed],
        "mode": report.mode,
        "configuration": configuration,
        "device": report.device,
        "dtype": report.dtype,
        "tolerance": {"atol": report.atol, "rtol": report.rtol,
                      "source": report.tolerance_source,
                      "rule": "|torch - expected| <= atol + rtol * |expected|"},
        "tolerances": {k: {"atol": a, "rtol": r} for k, (a, r) in TOLERANCES.items()},
        "seed": report.seed,
        "random_cases": report.random_cases,
        "torch": report.torch_version,
        "seconds": round(report.seconds, 3),
        "checks": checks,
        "skipped": [{"name": s.name, "reason": s.reason} for s in report.skipped],
    }


def verify_renderables(report) -> list:
    """The report as people read it: one row per check, then the worst case of each
    failing check, skipped checks and notes."""
    what = "built-in suite" if report.mode == "suite" else escape(report.configuration)
    t = table(f"convcli verify: {what}", "check", "what", "cases", "worst error", "result")
    t.columns[1].justify = "left"
    for c in report.checks:
        t.add_row(c.name, c.title, f"{c.cases:,}", _err_str(c.worst_error),
                  Text("pass", style="green") if c.passed else
                  Text(f"FAIL {c.failures}", style="bold red"))
    notes = [f"{report.device} · {report.dtype} · atol={report.atol:g} rtol={report.rtol:g} "
             f"({escape(report.tolerance_source)}) · seed {report.seed}"
             + (f" · {report.random_cases:,} random configs" if report.mode == "suite" else "")
             + f" · torch {report.torch_version} · {report.seconds:.1f} s",
             "numeric checks pass when |torch - expected| <= atol + rtol*|expected|; "
             "calculator and separable are exact"]
    for c in report.checks:
        if c.quirks:
            notes.append(
                f"calculator: {len(c.quirks)} transposed config(s) with an output size of "
                "exactly 0: torch's CPU backend returned an empty tensor, ConvSpec rejects "
                "them on purpose (documented quirk, counted as agreement)")
    for s in report.skipped:
        notes.append(f"skipped {s.name}: {escape(s.reason)}")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    parts = [t]
    for c in report.failed:
        w = c.worst
        d = table(f"worst case of '{c.name}' ({c.failures:,} of {c.cases:,} failed)", "", "",
                  show_header=False)
        d.columns[1].justify = "left"
        d.add_row("config", escape(w.configuration))
        d.add_row("where", escape(w.where))
        d.add_row("expected", escape(w.expected))
        d.add_row("got", escape(w.got))
        d.add_row("max abs error", _err_str(w.error))
        if w.message:
            d.add_row("why", escape(w.message))
        parts.append(d)
    parts.append(Text("PASSED" if report.passed else "FAILED: " + ", ".join(
        c.name for c in report.failed), style="bold green" if report.passed else "bold red"))
    return parts


def verify_summary(report) -> str:
    """One line for the `Error:` funnel when a check failed."""
    parts = []
    for c in report.failed:
        w = c.worst
        err = "" if w.error is None else f", max abs error {_err_str(w.error)}"
        parts.append(f"{c.name} ({c.failures} of {c.cases} cases; worst: {w.configuration}"
                     f" at {w.where}{err})")
    return f"verify found a mismatch in {len(parts)} check(s): " + "; ".join(parts)


def junit_xml(report) -> str:
    """JUnit XML for CI: one testcase per check (skipped checks as <skipped/>)."""
    import platform
    import xml.etree.ElementTree as ET
    from datetime import datetime, timezone

    n_tests = len(report.checks) + len(report.skipped)
    n_fail = len(report.failed)
    attrs = {"name": "convcli verify", "tests": str(n_tests), "failures": str(n_fail),
             "errors": "0", "skipped": str(len(report.skipped)),
             "time": f"{report.seconds:.3f}"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {
        **attrs, "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node()})
    props = ET.SubElement(suite, "properties")
    for k, v in (("mode", report.mode), ("configuration", report.configuration or ""),
                 ("device", report.device), ("dtype", report.dtype),
                 ("atol", f"{report.atol:g}"), ("rtol", f"{report.rtol:g}"),
                 ("seed", str(report.seed)), ("random_cases", str(report.random_cases)),
                 ("torch", report.torch_version)):
        ET.SubElement(props, "property", {"name": k, "value": v})
    from convcli.verify import CHECKS

    order = list(CHECKS)
    for c in sorted(report.checks + report.skipped, key=lambda c: order.index(c.name)):
        if not hasattr(c, "passed"):        # a check that did not run
            case = ET.SubElement(suite, "testcase", {
                "classname": "convcli.verify", "name": c.name, "time": "0"})
            ET.SubElement(case, "skipped", {"message": c.reason})
            continue
        case = ET.SubElement(suite, "testcase", {
            "classname": "convcli.verify", "name": c.name, "time": f"{c.seconds:.3f}"})
        if not c.passed:
            w = c.worst
            fail = ET.SubElement(case, "failure", {
                "type": "mismatch",
                "message": f"{c.title}: {c.failures} of {c.cases} cases failed; worst: "
                           f"{w.configuration} at {w.where}"})
            fail.text = "\n".join([
                f"check: {c.title} ({c.tolerance})", f"config: {w.configuration}",
                f"where: {w.where}", f"expected: {w.expected}", f"got: {w.got}",
                f"max abs error: {_err_str(w.error)}"] + ([w.message] if w.message else []))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (f"{c.title}: {c.cases} cases, worst error {_err_str(c.worst_error)}"
                        f" ({c.tolerance})")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_atomic(path: str, text: str, what: str = "--junit") -> None:
    """Write a text report whole or not at all (see convcli.files)."""
    from convcli.files import atomic_write

    atomic_write(path, lambda f: f.write(text.encode("utf-8")), what)


class verify_progress:
    """A rich progress bar on stderr (only when stderr is a terminal); the
    callback verify's checks report to: (check name, done, total)."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
            TimeElapsedColumn

        err = console(stderr=True)
        self.progress = None
        if err.is_terminal:
            self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=err, transient=True)
        self.tasks = {}

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self.update

    def update(self, name: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False


# ---- net / summary ----------------------------------------------------------------

NET_COUNTING = (
    "MACs: dense multiply-accumulates of convs (transposed: per input element) and "
    "Linear layers, bias excluded; pooling, norms, activations, dropout and reshapes "
    "count 0; FLOPs = 2 * MACs; params = weight + bias + affine elements; activations = "
    "every layer's output summed (in-place layers counted as copies)"
)


def net_dict(report, dtype: str) -> dict:
    """`net` and `summary` --json: the same keys."""
    from convcli.counts import DTYPE_SIZES

    layers = []
    for r in report.rows:
        row = {"index": r.index, "layer": r.layer, "type": r.kind,
               "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
               "params": r.params, "macs": r.macs,
               "geometry": r.geometry, "conv": None if r.conv is None else r.conv.as_dict()}
        if r.name is not None:
            row["name"] = r.name
        if r.note:
            row["note"] = r.note
        layers.append(row)
    return {
        "version": JSON_VERSION,
        "input_shape": list(report.input_shape),
        "layers": layers,
        "output_shape": list(report.output_shape),
        "total_params": report.total_params,
        "total_macs": report.total_macs,
        "total_flops": 2 * report.total_macs,
        "uncounted_macs": report.uncounted,
        "macs_complete": report.macs_complete,
        "activation_elements": report.activation_elements,
        "dtype": dtype,
        "activation_bytes": {d: report.activation_elements * s for d, s in DTYPE_SIZES.items()},
        "param_bytes": {d: report.total_params * s for d, s in DTYPE_SIZES.items()},
        "notes": list(report.notes),
        "counting": NET_COUNTING,
    }


def compact_str(n: int | None) -> str:
    """Short counts for table cells: 9,216 / 442.4 k / 1.18 M / 4.09 G."""
    if n is None:
        return "?"
    if n < 10_000:
        return f"{n:,}"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{n:,}"  # pragma: no cover


def _geometry_str(g: dict | None) -> str:
    if not g:
        return ""

    def per_dim(values) -> str:
        values = [v if not isinstance(v, list) else (str(v[0]) if v[0] == v[1]
                                                     else f"{v[0]}+{v[1]}") for v in values]
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    parts = [per_dim(g["kernel_size"]), per_dim(g["stride"]), per_dim(g["padding"]),
             per_dim(g["dilation"]), "-" if g["groups"] is None else str(g["groups"])]
    return "/".join(parts)


def net_table(report, dtype: str, title: str | None = None) -> Table:
    """One row per layer (summary: per leaf-module call), the totals at the foot."""
    t = table(None if title is None else escape(title), "layer", "output shape", "params",
              "MACs", "k/s/p/d/g")
    t.columns[0].overflow = "fold"
    t.add_row("input", shape_str(report.input_shape), "", "", "", style="dim")
    for r in report.rows:
        # summary rows: the module's name and class (its arguments are in --json `layer`;
        # channels, kernel, stride... are in the other columns)
        label = escape(r.layer) if r.name is None else f"{escape(r.name)} [dim]{r.kind}[/dim]"
        if r.note:
            label += f"\n[dim]{escape(r.note)}[/dim]"
        t.add_row(label, shape_str(r.output_shape), f"{r.params:,}", compact_str(r.macs),
                  _geometry_str(r.geometry), end_section=r is report.rows[-1])
    t.add_row("total", Text(shape_str(report.output_shape), style="bold green"),
              f"{report.total_params:,}", compact_str(report.total_macs), "", style="bold")
    notes = [escape(n) for n in report.notes]
    notes.append("MACs: convs and Linear, bias excluded; pools, norms and activations count "
                 "0. k/s/p/d/g: kernel/stride/padding/dilation/groups used.")
    t.caption = "\n".join(notes)
    t.caption_justify = "left"
    return t


def net_totals(report, dtype: str) -> Table:
    from convcli.counts import DTYPE_SIZES

    size = DTYPE_SIZES[dtype]
    t = table(None, "", "value", show_header=False)
    t.columns[1].justify = "left"
    t.add_row("params", f"{report.total_params:,} = {bytes_str(report.total_params * size)} "
                        f"({dtype})")
    t.add_row("MACs", count_str(report.total_macs)
              + ("" if report.macs_complete else " at least (see the notes)"))
    t.add_row("FLOPs (2*MACs)", count_str(2 * report.total_macs))
    t.add_row("activations", f"{report.activation_elements:,} elements = "
                             f"{bytes_str(report.activation_elements * size)} ({dtype})")
    return t
