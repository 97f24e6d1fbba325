"""`solve`: the solutions table and the decoder table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from convcli.formatting import per_dim
from convcli.views.console import Fitted, table
from convcli.views.fit_width import Prose, Squeezed, below, left_out_note, prose_lines, titled

if TYPE_CHECKING:
    from convcli.calculator.decoder import DecoderReport
    from convcli.calculator.solutions import SolveReport


def solve_view(report: SolveReport) -> Group:
    """The solutions, simplest first, with what each one costs in reading the input.
    Narrow: the notes wrap, the headers get short (k, s, p, d), then no notes."""
    kind = "ConvTranspose" if report.transposed else "Conv"
    size = f"{per_dim(report.size_in, ',')} -> {per_dim(report.size_out, ',')}"
    if len(report.size_in) > 1:
        size = "x".join(map(str, report.size_in)) + " -> " + "x".join(map(str, report.size_out))
    shown = len(report.solutions)
    names = ["#", "kernel", "stride", "padding", "dilation"] + (
        ["out pad", "Conv from"] if report.transposed else []) + ["note"]
    short = {"kernel": "k", "stride": "s", "padding": "p", "dilation": "d", "out pad": "op",
             "Conv from": "from"}
    rows: list[list[RenderableType]] = []
    row_notes: list[Prose] = []     # each row's last cell
    for i, s in enumerate(report.solutions, 1):
        # (padding is None exactly when the solution is not symmetric)
        pad = ("same" if s.uses_same else per_dim(s.padding, ',') if s.padding is not None else
               ",".join(f"{a}+{b}" for a, b in s.padding_pairs) + " F.pad")
        cells: list[RenderableType] = [
            str(i), per_dim(s.kernel_size, ','), per_dim(s.stride, ','),
            Text(pad, style="" if s.symmetric or s.uses_same else "yellow"),
            per_dim(s.dilation, ',')]
        if report.transposed:
            cells.append(per_dim(s.output_padding, ','))
            cells.append(",".join("—" if p is None else str(p[0]) if p[0] == p[1] else
                                  f"{p[0]}..{p[1]}" for p in (
                                      s.conv_from[:1] if s.scalar else s.conv_from)))
        row_notes.append(Prose("; ".join(s.notes)))
        rows.append(cells + [row_notes[-1]])
    widest = max([4] + [note.narrowest() for note in row_notes])

    # the rows widest in some column (the notes: on one line): a table of them is as
    # wide as the whole one, and quick to measure
    widest_rows = sorted({max(range(len(rows)), key=lambda i: len(str(rows[i][c])))
                          for c in range(len(names) - 1)} |
                         {max(range(len(rows)), key=lambda i: row_notes[i].natural())})

    def build(left_out: set[str], only: list[int] | None = None) -> RenderableType:
        cols = names[:-1] + ([] if "note" in left_out else ["note"])
        t = table(None, *[short.get(c, c) if "short headers" in left_out else c
                          for c in cols])
        for c in t.columns:
            c.no_wrap = c.header != "note"
        t.columns[-1].justify = "left"
        for cells in rows if only is None else [rows[i] for i in only]:
            t.add_row(*cells[:len(cols)])
        floors = {len(cols) - 1: widest} if "one-line notes" in left_out else {}
        notes = ["k, s, p, d" + (", op: kernel, stride, padding, dilation, output_padding; "
                                 "from: Conv from" if report.transposed
                                 else ": kernel, stride, padding, dilation")] \
            if "short headers" in left_out else []
        return below(Squeezed(t, floors), [*notes, *left_out_note(left_out, ["note"])])

    b = report.bounds
    lines: list = [("if it must be this kind, " if report.advice else "e.g. ")
                   + report.solutions[0].torch_code()]
    if report.transposed:
        lines.append(f"Conv from: the Conv with the same kernel, stride, padding and "
                     f"dilation maps these sizes to {per_dim(report.size_in, ',')}; "
                     "output_padding picks which one this layer restores")
    if any(s.uses_same for s in report.solutions):
        lines.append("same: torch's padding='same', d*(kernel-1) split with the odd one "
                     "after (stride 1 only)")
    if not all(s.symmetric or s.uses_same for s in report.solutions):
        lines.append("a+b F.pad: a before, b after; torch's own padding is symmetric, so "
                     "F.pad(x, ...) first and padding=0")
    more = shown < report.total
    lines.append(Prose.parts([f"searched kernel <= {b.max_kernel},",
                              f"stride <= {b.max_stride},", f"dilation <= {b.max_dilation},",
                              _pad_rule(report)
                              + (";" if more else "")]
                             + ([f"--limit 0 shows all {report.total:,}"] if more else []),
                             style="dim", hang=2))
    lead = [Prose(report.advice + ":", style="bold yellow", hang=2)] if report.advice else []
    return Group(*lead, titled(f"{kind} settings mapping {size}: {shown:,} of "
                               f"{report.total:,}, simplest first",
                               Fitted(build, ["one-line notes", "short headers", "note"],
                                      probe=lambda left_out: build(left_out, widest_rows))),
                 prose_lines(lines + [""], style="dim"))


def decoder_view(report: DecoderReport) -> Group:
    """The decoder of an encoder conv, and which sizes its output_padding chooses from."""
    t = table(None, "dim", "restore", "encoder out", "sizes that map there",
              "output padding")
    for c in t.columns:
        c.no_wrap = c.header in ("dim", "restore")
    rows = report.dims
    same = all(r.__dict__ == rows[0].__dict__ for r in rows)
    for i, d in enumerate(rows[:1] if same else rows):
        sizes = ", ".join(str(m) for m in d.preimage) if len(d.preimage) <= 6 else \
            f"{d.preimage[0]}..{d.preimage[-1]}"
        t.add_row("all" if same and len(rows) > 1 else str(i), str(d.size_in),
                  str(d.size_code), sizes,
                  Text("—" if d.output_padding is None else str(d.output_padding),
                       style="bold green"))
    lines: list = []
    if report.decoder is not None:
        lines.append(Prose(Text("decoder: ", style="bold") + Text(
            f"nn.{report.layer('decoder')}", style="bold green"), hang=2))
    for i, d in enumerate(rows[:1] if same else rows):
        if len(d.preimage) > 1:
            opts = [f"output_padding={op} -> {m}" for m, op in d.choices if op is not None]
            lines.append(Prose.parts(
                [("" if same else f"dim {i}: ") + f"stride {d.stride} floors "
                 f"{len(d.preimage)} input sizes ({d.preimage[0]}..{d.preimage[-1]}) to "
                 f"{d.size_code}, so the decoder cannot know which one it came from;"]
                + [o + "," for o in opts[:-1]] + [o + "." for o in opts[-1:]],
                style="dim", hang=2))
    if not report.ambiguous:
        lines.append(Prose("unambiguous: only this input size maps to the encoder's output, "
                           "output_padding 0 restores it", style="dim", hang=2))
    return Group(titled(f"Decoder of {report.layer('encoder')}", t), *lines, Text(""))


# ---- show (pictures of what a conv does) -------------------------------------------


def _pad_rule(report) -> str:
    """The padding bound searched (solve_search.py says why)."""
    b = report.bounds
    return (f"padding per side <= {b.max_padding}" if b.max_padding is not None else
            "padding per side <= d*(kernel-1)" if report.transposed else
            "padding <= d*(kernel-1) in all (as 'same')")
