"""`convcli apply --dot --at` in the terminal: which input elements and channels one
output value reads, then per input channel the patch under the kernel (padding in
parentheses, '·' where a transposed conv's tap reaches no input), the kernel and the
elementwise products, side by side when they fit the width; then the sum, the bias
and the value torch computed. Views compute nothing: engine/dot_values.py did the sums.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text

from convcli.calculator.dot_indices import INPUT, NONE, PAD
from convcli.formatting import index_span, plural, shape_x
from convcli.views.fit_width import Prose
from convcli.views.apply_view import flat, grid_lines, number_format

if TYPE_CHECKING:
    from convcli.calculator.dot_indices import DotDim, DotLayout
    from convcli.engine.dot_values import DotChannel, DotResult

MAX_GRID = 16            # kernels drawn up to 16 per dim (and 1024 taps)


def _index(idx) -> str:
    return "[" + ", ".join(map(str, idx)) + "]"


def _value(v: float | None) -> str:
    if v is None:
        return "—"
    text = f"{v:.6g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def dim_line(dd: DotDim, transposed: bool, mode: str) -> str:
    """Which input positions one output reads (forward) or receives (transposed)
    along one dim."""
    if transposed:
        got = [f"input {t.source} via tap {t.tap}" for t in dd.taps if t.kind == INPUT]
        missed = [t.tap for t in dd.taps if t.kind == NONE]
        line = f"{dd.name}: output {dd.out_index} receives " + (", ".join(got) or "nothing")
        if missed:
            line += (f"; {'tap' if len(missed) == 1 else 'taps'} "
                     f"{', '.join(map(str, missed))} "
                     f"{'reaches' if len(missed) == 1 else 'reach'} no input")
        return line
    parts = []
    for t in dd.taps:
        if t.kind == PAD:
            parts.append(f"{t.position} (padding)" if t.source is None else
                         f"{t.position} (padding = input {t.source})")
        else:
            parts.append(str(t.position))
    return f"{dd.name}: output {dd.out_index} reads input " + ", ".join(parts)


def group_line(layout: DotLayout) -> str:
    spec, g = layout.spec, layout.group
    ci = index_span(g.in_channels)
    n_in = g.in_channels[1] - g.in_channels[0]
    if spec.transposed:
        w = f"weight[c, {layout.out_channel - g.out_channels[0]}] for input channel c"
    else:
        w = f"weight[{layout.out_channel}, 0{'' if n_in == 1 else f'..{n_in - 1}'}]"
    if spec.groups == 1:
        return (f"output channel {layout.out_channel} reads every input channel ({ci}) "
                f"through {w}")
    return (f"output channel {layout.out_channel} is in group {g.group} of {spec.groups}: "
            f"it reads input {'channel' if n_in == 1 else 'channels'} {ci} through {w}")


def _drawable(kernel_shape: tuple[int, ...]) -> bool:
    n = 1
    for k in kernel_shape:
        n *= k
    return all(k <= MAX_GRID for k in kernel_shape[-2:]) and n <= 1024


def _side_by_side(heads: list[str], blocks: list[list[str]], joins: list[str],
                  tail: str) -> list[str]:
    """A header row, then the grids next to each other with the join symbols and the
    tail on the middle row."""
    height = len(blocks[0])
    mid = (height - 1) // 2
    widths = [max([len(h)] + [len(r) for r in b]) for h, b in zip(heads, blocks)]
    gap = [" " * (len(j) + 4) for j in joins] + [""]
    lines = ["".join(h.ljust(w) + g for h, w, g in zip(heads, widths, gap)).rstrip()]
    for r in range(height):
        row = ""
        for i, b in enumerate(blocks):
            row += b[r].rjust(widths[i])
            if i < len(joins):
                row += f"  {joins[i]}  " if r == mid else gap[i]
        lines.append((row + (f"   {tail}" if r == mid else "")).rstrip())
    return lines


def channel_lines(ch: DotChannel, fmts, pads, width: int) -> list:
    """One input channel: patch x kernel = products, side by side or stacked."""
    title = Text(f"  input channel {ch.in_channel}, weight{_index(ch.weight_index)}",
                 style="dim")
    fp, fk, fx = fmts
    blocks = [grid_lines(ch.patch, fp, mark=lambda i: i in pads), grid_lines(ch.kernel, fk),
              grid_lines(ch.products, fx)]
    tail = f"sum {_value(ch.total)}"
    heads = ["patch", "kernel", "products"]
    side = _side_by_side(heads, blocks, ["x", "="], tail)
    if max(len(r) for r in side) + 4 <= width:
        return [title, Text("    " + side[0], style="dim")] + [Text("    " + r)
                                                               for r in side[1:]]
    lines = [title]
    for h, b in zip(heads, blocks):
        lines.append(Text(f"    {h}", style="dim"))
        lines += [Text("      " + r) for r in b]
    lines.append(Text(f"    {tail}"))
    return lines


def _pad_cells(layout: DotLayout) -> set:
    """Kernel indices whose tap lands on padding in some dim."""
    import itertools
    per_dim = [[t.kind == PAD for t in dd.taps] for dd in layout.dims]
    return {idx for idx in itertools.product(*[range(len(p)) for p in per_dim])
            if any(per_dim[d][i] for d, i in enumerate(idx))}


def dot_view(r: DotResult, width: int = 80) -> Group:
    layout = r.layout
    spec = layout.spec
    k = shape_x(spec.kernel_size)
    n_in = layout.group.in_channels[1] - layout.group.in_channels[0]
    lines: list = [Prose(
        f"output{_index(layout.output_index)} of {spec.torch_repr()} = bias + the "
        f"products over {plural(n_in, 'input channel')} and the {k} taps", style="bold",
        hang=2)]
    lines += [Prose("  " + dim_line(dd, spec.transposed, spec.padding_mode), hang=2)
              for dd in layout.dims]
    lines.append(Prose("  " + group_line(layout), hang=2))
    pads = _pad_cells(layout)
    if pads:
        what = ("zeros" if spec.padding_mode == "zeros"
                else f"{spec.padding_mode}: copies of input values")
        lines.append(Prose(f"  (v): a tap on padding ({what})", style="dim", hang=2))
    if spec.transposed and any(t.kind == NONE for dd in layout.dims for t in dd.taps):
        lines.append(Prose("  ·: no input element reaches this tap (the gaps between "
                           "strided inputs, or past an edge)", style="dim", hang=2))
    lines.append(Text(""))
    if _drawable(spec.kernel_size):
        fmts = tuple(number_format(v for ch in r.channels for v in flat(getattr(ch, a)))
                     for a in ("patch", "kernel", "products"))
        for ch in r.channels:
            lines += channel_lines(ch, fmts, pads, width)
    else:
        lines.append(Prose(f"  the kernel is {k}: too big to draw, the sums per channel "
                           "(--json carries patches, kernels and products)", style="dim",
                           hang=2))
        lines += [Text(f"  input channel {ch.in_channel}: sum {_value(ch.total)}")
                  for ch in r.channels]
    if r.omitted:
        first = r.channels[-1].in_channel + 1
        lines.append(Text(f"  input channels {first}..{first + r.omitted - 1} "
                          f"({r.omitted:,} more): sum {_value(r.omitted_sum)}"))
    return Group(*lines, *_totals(r))


def _totals(r: DotResult) -> list:
    rows = [("sum of the products", r.total), ("+ bias", r.bias), ("= output", r.value),
            ("torch computed", r.torch_value)]
    w = max(len(_value(v)) for _, v in rows)
    out: list[Text | Prose] = [Text("")]
    for label, v in rows:
        if label == "+ bias" and v is None:
            out.append(Text(f"  {label:<21}{'none':>{w}}  (--no-bias)"))
            continue
        extra = (f"  output{_index(r.layout.output_index)}, {r.dtype}"
                 if label == "torch computed" else "")
        out.append(Text(f"  {label:<21}{_value(v):>{w}}{extra}"))
    if r.value != r.torch_value:
        out.append(Prose(f"  they differ by {r.difference:.3g}: torch adds in {r.dtype} in "
                         "its own order, the sum above is in float64", style="dim", hang=2))
    return out
