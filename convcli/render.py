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
    """73856 -> '73,856'; big numbers get a short form too: '113,246,208 (113.2 M)'."""
    if n is None:
        return "—"
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n:,} ({n / div:.1f} {unit})"
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
    cols = ["variant", "params"] + (["MACs"] if with_macs else []) + ["saving vs groups=1", "note"]
    t = table("Parameters by groups value", *cols)
    for r in rows:
        cells = [r.label, f"{r.params:,}"]
        if with_macs:
            cells.append(count_str(r.macs))
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
        t.rows and t.add_row("padded input", shape_str(ported.padded_shape))
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


def decoder_view(report, placeholders=(True, True)):
    """The decoder of an encoder conv, and which sizes its output_padding chooses from."""
    from rich.console import Group

    def name(spec, swap):
        text = spec.torch_repr()
        a, b = ("C_out", "C_in") if swap else ("C_in", "C_out")
        if all(placeholders):
            text = text.replace(f"({spec.in_channels}, {spec.out_channels}, ", f"({a}, {b}, ", 1)
        return escape(text)

    enc = report.encoder
    t = table(f"Decoder of {name(enc, False)}", "dim", "restore", "encoder out",
              "sizes that map there", "output_padding")
    rows = report.dims
    same = all(r.__dict__ == rows[0].__dict__ for r in rows)
    for i, d in enumerate(rows[:1] if same else rows):
        sizes = ", ".join(str(m) for m in d.preimage) if len(d.preimage) <= 6 else \
            f"{d.preimage[0]}..{d.preimage[-1]}"
        t.add_row("all" if same and len(rows) > 1 else str(i), str(d.size_in), str(d.size_code), sizes,
                  Text("—" if d.output_padding is None else str(d.output_padding),
                       style="bold green"))
    lines = []
    if report.decoder is not None:
        lines.append(Text("decoder: ", style="bold") + Text(
            "nn." + name(report.decoder, True), style="bold green"))
    for i, d in enumerate(rows[:1] if same else rows):
        if len(d.preimage) > 1:
            opts = ", ".join(f"output_padding={op} -> {m}" for m, op in d.choices
                             if op is not None)
            lines.append(Text(
                ("" if same else f"dim {i}: ") + f"stride {d.stride} floors {len(d.preimage)} input sizes "
                f"({d.preimage[0]}..{d.preimage[-1]}) to {d.size_code}, so the decoder "
                f"cannot know which one it came from; {opts}.", style="dim"))
    if not report.ambiguous:
        lines.append(Text("unambiguous: only this input size maps to the encoder's output, "
                          "output_padding 0 restores it", style="dim"))
    return Group(t, *lines, Text(""))
