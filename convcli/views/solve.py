"""`solve`: the solutions table and the decoder table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.text import Text

from convcli.formatting import per_dim
from convcli.views.console import table

if TYPE_CHECKING:
    from convcli.calculator.decoder import DecoderReport
    from convcli.calculator.solutions import SolveReport


def solve_view(report: SolveReport) -> Group:
    """The solutions, simplest first, with what each one costs in reading the input."""
    kind = "ConvTranspose" if report.transposed else "Conv"
    size = f"{per_dim(report.size_in, ',')} -> {per_dim(report.size_out, ',')}"
    if len(report.size_in) > 1:
        size = "x".join(map(str, report.size_in)) + " -> " + "x".join(map(str, report.size_out))
    shown = len(report.solutions)
    cols = ["#", "kernel", "stride", "padding", "dilation"] + (
        ["out pad", "Conv from"] if report.transposed else []) + ["note"]
    t = table(f"{kind} settings mapping {size}: {shown} of {report.total:,}, simplest first",
              *cols)
    t.columns[-1].justify = "left"
    for i, s in enumerate(report.solutions, 1):
        pad = (per_dim(s.padding, ',') if s.symmetric else
               ",".join(f"{a}+{b}" for a, b in s.padding_pairs) + " F.pad")
        cells = [str(i), per_dim(s.kernel_size, ','), per_dim(s.stride, ','),
                 Text(pad, style="" if s.symmetric else "yellow"), per_dim(s.dilation, ',')]
        if report.transposed:
            cells.append(per_dim(s.output_padding, ','))
            cells.append(",".join("—" if p is None else str(p[0]) if p[0] == p[1] else
                                  f"{p[0]}..{p[1]}" for p in (
                                      s.conv_from[:1] if s.scalar else s.conv_from)))
        cells.append("; ".join(s.notes))
        t.add_row(*cells)
    b = report.bounds
    pad_rule = ("d*(kernel-1)" if b.max_padding is None else str(b.max_padding))
    lines = [("if it must be this kind, " if report.advice else "e.g. ")
             + report.solutions[0].torch_code()]
    if report.transposed:
        lines.append(f"Conv from: the Conv with the same kernel, stride, padding and "
                     f"dilation maps these sizes to {per_dim(report.size_in, ',')}; output_padding "
                     "picks which one this layer restores")
    if not all(s.symmetric for s in report.solutions):
        lines.append("a+b F.pad: a before, b after; torch's own padding is symmetric, so "
                     "F.pad(x, ...) first and padding=0")
    lines.append(f"searched kernel <= {b.max_kernel}, stride <= {b.max_stride}, dilation <= "
                 f"{b.max_dilation}, padding per side <= {pad_rule.replace('ilation', '')}"
                 + (f"; --limit 0 shows all {report.total:,}" if shown < report.total else ""))
    lead = [Text(report.advice + ":", style="bold yellow")] if report.advice else []
    return Group(*lead, t, Text("\n".join(lines) + "\n", style="dim"))


def decoder_view(report: DecoderReport) -> Group:
    """The decoder of an encoder conv, and which sizes its output_padding chooses from."""
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
