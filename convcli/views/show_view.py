"""`show` in the terminal: the channel map, the sliding window along one spatial dim
and the receptive field of one output position, fitted to the terminal's width."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text

from convcli.calculator.picture_data import LEGEND_GROUPS, visible
from convcli.formatting import index_ranges, index_span, shape_list
from convcli.views.fit_width import Prose

if TYPE_CHECKING:
    from convcli.calculator.picture_data import Picture


_GROUP_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red")
_GLYPHS = {"input": None, "pad": "·", "zero": "∘", "crop": "x"}


def _group_style(g: int) -> str:
    return _GROUP_STYLES[g % len(_GROUP_STYLES)]


def show_view(pic: Picture, width: int = 80, note: str | None = None) -> Group:
    """The channel map, the sliding window and the receptive field, fitted to width;
    ``note``: how INPUT's rank was read, when that was a choice."""
    parts: list = [Prose.parts([pic.spec.torch_repr()] + (
        [f"on {shape_list(pic.input_shape)} -> {shape_list(pic.output_shape)}"]
        if pic.input_shape else []), style="bold", hang=2)]
    if note:
        parts.append(Prose(note, style="dim", hang=2))
    parts.append(Text(""))
    parts += group_map_lines(pic.groups, width)
    if pic.window is None:
        parts.append(Prose("Give INPUT (e.g. 1x{}x8x8) to see the sliding window and the "
                           "receptive field.".format(pic.spec.in_channels), style="dim",
                           hang=2))
        return Group(*parts)
    parts.append(Text(""))
    parts += window_lines(pic.window, width)
    parts.append(Text(""))
    parts += field_lines(pic.field, pic.views, width,
                         batched=pic.input_shape is not None
                         and len(pic.input_shape) == pic.spec.dims + 2)
    return Group(*parts)


def group_map_lines(gm, width: int = 80) -> list:
    spec = gm.spec
    g, w = spec.groups, spec.weight_shape
    lines: list = [Prose(f"Channels: groups={g}, weight {shape_list(w)} is one tensor; "
                         + (f"each group reads {gm.in_per_group} input and writes "
                            f"{gm.out_per_group} output channels" if g > 1 else
                            "every output channel reads every input channel"),
                         style="bold", hang=2)]
    label_w = max(8, len(str(spec.out_channels)) + 1)
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
        lines.append(Prose(f"each cell is {grid.bin_out} output x {grid.bin_in} input "
                           f"channels{per}; ░ = only partly connected", style="dim", hang=2))
    # legend: one line per group (summarised), the weight slice labelled
    dim0 = "C_in" if spec.transposed else "C_out"
    legend, omitted = gm.legend
    for i, s in enumerate(legend):
        if omitted and i == LEGEND_GROUPS[0]:
            lines.append(Text(f"  ... {omitted:,} more groups ...", style="dim"))
        glyph = "██" if s.group % 2 == 0 else "▓▓"
        lines.append(Prose.parts([
            Text(f"{glyph} ", style=_group_style(s.group)) + Text(
                f"group {s.group}: in {index_span(s.in_channels)} -> out "
                f"{index_span(s.out_channels)}"),
            f"weight[{s.weight_rows[0]}:{s.weight_rows[1]}] "
            f"{shape_list(s.weight_slice_shape)}"], sep="  ", indent=2, hang=3))
    if g > 1:
        lines.append(Prose(f"weight dim 0 stacks the groups' {dim0} rows; a cell off the "
                           "diagonal blocks is a weight that does not exist", style="dim",
                           hang=2))
    return lines



def window_lines(view, width: int = 80) -> list:
    k, s, dl = view.kernel, view.stride, view.dilation
    kind = "zero-stuffed view of the transposed conv" if view.transposed else "sliding window"
    pad = (f"padding {view.pad[0]}" + (f", output_padding {view.output_padding}"
                                        if view.output_padding else "")
           if view.transposed else f"padding {view.pad[0]}+{view.pad[1]}")
    lines: list = [Prose.parts([f"Along {view.dim_name} (dim {view.dim}), {kind}:",
                                f"L={view.size_in},", f"k={k},", f"s={s},", f"d={dl},",
                                f"{pad}", f"-> {view.size_out} outputs"], style="bold",
                               hang=2)]
    label_w = 8
    cw = max(3, len(str(view.size_in - 1)) + 1)
    budget = max(6, (width - label_w) // cw)
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
    legend = ["■ kernel tap on an input element,", "○ on padding;", "· padding"]
    if view.transposed:
        legend = ["■ kernel tap on an input element,", "○ on a zero (adds nothing);",
                  "· padding,", "∘ inserted zero"] + (
            ["x cropped"] if any(c.kind == "crop" for c in view.cells) else [])
        legend[3:-1] = [p + "," for p in legend[3:-1]]
    notes = view.notes()
    if len(pos) < len(view.cells) or len(wins) < len(view.windows):
        notes.append("… and ⋮ mark cells and outputs left out to fit the width "
                     "(--json has them all)")
    lines.append(Prose.parts(legend, style="dim", hang=2))
    lines += [Prose(n, style="dim", hang=2) for n in notes]
    return lines


def field_lines(field, views, width: int = 80, batched: bool = True) -> list:
    spec = field.spec
    where = ", ".join(str(i) for i in field.position)
    lines: list = [Prose(f"Receptive field of output [{':, ' if batched else ''}"
                         f"{field.out_channel}, {where}]", style="bold", hang=2)]
    for d in field.dims:
        ins = index_ranges(d.inputs)
        extra = f" + {d.on_padding} tap(s) on padding" if d.on_padding and not spec.transposed \
            else f" ({d.on_padding} tap(s) on zeros/padding)" if d.on_padding else ""
        lines.append(Prose(f"  {d.name}: output {d.out_index} reads input "
                           f"{ins or 'nothing'}{extra}", hang=2))
    ci = field.in_channels
    lines.append(Prose(
        f"  channels: output channel {field.out_channel} is in group {field.group.group}: "
        f"it reads input channels {index_span(ci)} of {spec.in_channels}", hang=2))
    lines.append(Prose(
        f"  = {field.real_taps if spec.transposed else field.taps} taps x {ci[1] - ci[0]} "
        f"channels = {field.macs:,} MACs for this one value", style="dim", hang=2))
    if spec.dims == 2:
        lines += _field_grid(field, views, width)
    return lines


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
    lines: list[Text | Prose] = [Text("")]
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

    lines.append(Prose(f"rows: input {vh.dim_name} {extent(vh, rows)}, columns: input "
                       f"{vw.dim_name} {extent(vw, cols)}", style="dim", indent=8, hang=2))
    lines.append(Prose.parts(["■ input read by this output,", "○ tap on padding/zero,",
                              "□ input not read,", "· padding"], style="dim", indent=8,
                             hang=2))
    return lines
