"""`convcli show --png/--svg`: the same pictures drawn with matplotlib (the optional
extra ``convcli[plot]``). matplotlib is imported inside ``draw``; files are written
atomically (a temporary file in the target folder, then os.replace), so a failed
draw never leaves a partial file behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import os

from convcli.calculator.groups import group_slice
from convcli.calculator.picture_data import visible
from convcli.errors import ConvError, EnvironmentProblem
from convcli.files import atomic_write

if TYPE_CHECKING:
    from convcli.calculator.picture_data import Picture


INSTALL_HINT = "pip install 'convcli[plot]'"
COLORS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b",
          "#9d755d")
TAP, TAP_ZERO, PAD, ZERO, CROP = "#2e7d32", "#f9a825", "#d9d9d9", "#f1f1f1", "#bdbdbd"
MAX_DRAWN_GROUPS = 64    # more groups: the diagonal drawn from a binned grid
GRID_CELLS = 128


def _import():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError:
        raise EnvironmentProblem(
            f"--png/--svg draw with matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None
    return Figure, FigureCanvasAgg, Rectangle


def draw(pic: Picture, path: str, kind: str) -> None:
    """Draw ``pic`` (a show.Picture) to ``path`` as ``kind`` ('png' or 'svg')."""
    if kind not in ("png", "svg"):
        raise ConvError(f"unknown picture format {kind!r}: use --png or --svg")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise EnvironmentProblem(f"--{kind} {path}: folder {folder} does not exist; "
                                 "create it or write somewhere else")
    Figure, Canvas, Rectangle = _import()
    panels = 1 if pic.window is None else 3
    ratios = [1.0] if panels == 1 else [1.0, 1.0, 1.0 if pic.spec.dims == 2 else 0.25]
    fig = Figure(figsize=(10, 4.2 * sum(ratios)), layout="constrained")
    Canvas(fig)
    axes = fig.subplots(panels, 1, squeeze=False, height_ratios=ratios)[:, 0]
    fig.suptitle(pic.spec.torch_repr() + (
        "" if pic.input_shape is None or pic.output_shape is None else
        f"  on {list(pic.input_shape)} -> {list(pic.output_shape)}"), fontsize=12)
    _groups(axes[0], pic.groups, Rectangle)
    if pic.window is not None:
        _window(axes[1], pic.window, Rectangle)
        _field(axes[2], pic.field, pic.views, Rectangle)
    atomic_write(path, lambda f: fig.savefig(f, format=kind, dpi=110), f"--{kind}")


def _groups(ax, gm, Rectangle) -> None:
    spec = gm.spec
    c_in, c_out, g = spec.in_channels, spec.out_channels, spec.groups
    ax.add_patch(Rectangle((0, 0), c_in, c_out, facecolor="#f4f4f4", edgecolor="#999999"))
    label = g <= 16
    if g > MAX_DRAWN_GROUPS:   # one patch per grid cell on the diagonal, not per group
        grid = gm.grid(GRID_CELLS, GRID_CELLS)
        for r, row in enumerate(grid.cells):
            for c, (group, _) in enumerate(row):
                if group is not None:
                    ax.add_patch(Rectangle(
                        (c * grid.bin_in, r * grid.bin_out), min(grid.bin_in, c_in - c *
                                                                 grid.bin_in),
                        min(grid.bin_out, c_out - r * grid.bin_out),
                        facecolor=COLORS[0], linewidth=0))
    for s in gm.legend[0] if g > MAX_DRAWN_GROUPS else (group_slice(spec, i) for i in range(g)):
        (i0, i1), (o0, o1) = s.in_channels, s.out_channels
        if g <= MAX_DRAWN_GROUPS:
            ax.add_patch(Rectangle((i0, o0), i1 - i0, o1 - o0,
                                   facecolor=COLORS[s.group % len(COLORS)], edgecolor="white",
                                   linewidth=0.8))
        if label:
            ax.text((i0 + i1) / 2, (o0 + o1) / 2,
                    f"group {s.group}\nweight[{s.weight_rows[0]}:{s.weight_rows[1]}]\n"
                    f"{list(s.weight_slice_shape)}", ha="center", va="center",
                    fontsize=8 if g <= 8 else 6, color="white")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, c_in)
    ax.set_ylim(c_out, 0)
    ax.set_aspect("auto")
    ax.set_xlabel("input channel")
    ax.set_ylabel("output channel")
    what = (f"groups={g}: each group reads {gm.in_per_group} input channels and writes "
            f"{gm.out_per_group}" if g > 1 else "groups=1: every output reads every input")
    ax.set_title(f"Channel map, weight {list(spec.weight_shape)}. {what}", fontsize=10)


def _window(ax, view, Rectangle) -> None:
    wins, pos = visible(view, 40)
    cols: list[int | None] = []
    prev: int | None = None
    p: int | None    # a position; None marks a gap in cols
    for p in pos:
        if prev is not None and p != prev + 1:
            cols.append(None)
        cols.append(p)
        prev = p
    x_of = {p: i for i, p in enumerate(cols) if p is not None}
    for i, p in enumerate(cols):
        if p is None:
            ax.text(i + 0.5, 0.5, "…", ha="center", va="center")
            continue
        c = view.cell(p)
        face = {"input": "white", "pad": PAD, "zero": ZERO, "crop": CROP}[c.kind]
        ax.add_patch(Rectangle((i, 0), 1, 1, facecolor=face, edgecolor="#555555",
                               hatch="//" if c.kind == "pad" else None))
        if c.kind == "input":
            text = str(c.index)
        elif c.kind == "crop":
            text = "x" if c.index is None else f"x{c.index}"
        else:
            text = "pad" if c.kind == "pad" else ""
        ax.text(i + 0.5, 0.5, text, ha="center", va="center",
                fontsize=8 if len(text) < 3 else 6)
    row = 1
    for w in wins:
        row += 1
        if w is None:
            ax.text(-0.5, row - 0.5, "⋮", ha="right", va="center")
            continue
        xs = [x_of[t] for t in w.taps if t in x_of]
        if xs:
            ax.plot([min(xs) + 0.5, max(xs) + 0.5], [row - 0.5, row - 0.5], color="#888888",
                    linewidth=1, zorder=1)
        for t in w.taps:
            if t in x_of:
                real = view.cell(t).kind == "input"
                ax.add_patch(Rectangle((x_of[t] + 0.1, row - 0.9), 0.8, 0.8,
                                       facecolor=TAP if real else TAP_ZERO, zorder=2))
        ax.text(-0.3, row - 0.5, f"out {w.out_index}", ha="right", va="center", fontsize=8)
    ax.set_xlim(-2.5, max(len(cols), 8))
    ax.set_ylim(row + 0.2, -0.2)
    ax.axis("off")
    kind = "zero-stuffed view of the transposed conv" if view.transposed else "sliding window"
    ax.set_title(f"Along {view.dim_name} (dim {view.dim}), {kind}: L={view.size_in}, "
                 f"k={view.kernel}, s={view.stride}, d={view.dilation}, padding "
                 + (f"{view.pad[0]}" if view.transposed else f"{view.pad[0]}+{view.pad[1]}")
                 + (f", output_padding {view.output_padding}" if view.output_padding else "")
                 + f" -> {view.size_out} outputs\ngreen: tap on an input element, amber: "
                 "on padding or an inserted zero"
                 + (" (light cells), x: cropped" if view.transposed else ""), fontsize=10)


def _field(ax, field, views, Rectangle) -> None:
    spec = field.spec
    where = ", ".join(map(str, field.position))
    ci = field.in_channels
    lines = [f"{d.name}: output {d.out_index} reads input "
             f"{', '.join(map(str, d.inputs)) or 'nothing'}" for d in field.dims]
    chans = str(ci[0]) if ci[1] - ci[0] == 1 else f"{ci[0]}..{ci[1] - 1}"
    lines.append(f"input channels {chans} of {spec.in_channels} (group "
                 f"{field.group.group}); {field.macs:,} MACs for this value")
    ax.set_title(f"Receptive field of output [:, {field.out_channel}, {where}]\n"
                 + "\n".join(lines), fontsize=9)
    if spec.dims != 2:
        ax.axis("off")
        return
    vh, vw = views
    fh, fw = field.dims

    def span(view, fd):
        lo = max(min(fd.taps) - 2, view.cells[0].pos)
        hi = min(max(fd.taps) + 2, view.cells[-1].pos)
        if hi - lo > 40:
            lo, hi = min(fd.taps), min(max(fd.taps), min(fd.taps) + 40)
        return list(range(lo, hi + 1))

    rows, cols = span(vh, fh), span(vw, fw)
    th, tw = set(fh.taps), set(fw.taps)
    for y, r in enumerate(rows):
        for x, c in enumerate(cols):
            ch, cw = vh.cell(r), vw.cell(c)
            real = ch.kind == "input" and cw.kind == "input"
            tap = r in th and c in tw
            face = (TAP if real else TAP_ZERO) if tap else ("white" if real else PAD)
            ax.add_patch(Rectangle((x, y), 1, 1, facecolor=face, edgecolor="#777777",
                                   linewidth=0.5))
    ax.set_xticks([x + 0.5 for x in range(len(cols))],
                  [str(vw.cell(c).index) if vw.cell(c).kind == "input" else "" for c in cols],
                  fontsize=7)
    ax.set_yticks([y + 0.5 for y in range(len(rows))],
                  [str(vh.cell(r).index) if vh.cell(r).kind == "input" else "" for r in rows],
                  fontsize=7)
    ax.set_xlim(0, len(cols))
    ax.set_ylim(len(rows), 0)
    ax.set_aspect("equal")
    ax.set_xlabel(f"input {vw.dim_name}  (grey: padding / inserted zeros)")
    ax.set_ylabel(f"input {vh.dim_name}")
