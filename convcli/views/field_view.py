"""`--field LAYER[@POS]` (net and summary): the input region behind one output position,
drawn in the terminal (a character grid, scaled down for large inputs) and with
--png/--svg (matplotlib, written atomically), with the part of the window that falls in
the padding marked (its --json dict is in net_data.py). The 2-d region is the product
of the per-dim sets (exact for a chain; through residual branches, the projections of
the union)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from convcli.errors import ConvError, EnvironmentProblem
from convcli.files import atomic_write
from convcli.formatting import index_ranges
from convcli.views.fit_width import Prose

if TYPE_CHECKING:
    from convcli.network.receptive_fields import FieldPicture

FIELD, PAD, INPUT = "█", "░", "·"
MAX_COLS, MAX_ROWS = 64, 24


def describe(pic: FieldPicture) -> str:
    names = ("rows", "cols") if len(pic.lengths) == 2 else tuple(
        f"dim {d}" for d in range(len(pic.lengths)))
    parts = []
    for d, name in enumerate(names):
        hull = pic.hulls[d]
        if hull is None:
            parts.append(f"no {name}")
            continue
        holes = len(pic.sets[d]) != hull[1] - hull[0] + 1
        text = f"{name} {index_ranges(pic.sets[d])} ({hull[1] - hull[0] + 1} wide" + (
            ", with holes)" if holes else ")")
        before, after = pic.padding(d)
        if before or after:
            text += f"; {before + after} of the window's {name} fall in padding"
        parts.append(text)
    return (f"output position {list(pic.position)} of {pic.row} sees input "
            + "; ".join(parts))


def _axis(pic: FieldPicture, d: int, most: int) -> tuple[int, int, int]:
    """(first index drawn, last, indices per character)."""
    lo, hi = 0, pic.lengths[d] - 1
    n = pic.nominal[d]
    if n is not None:
        lo, hi = min(lo, n[0]), max(hi, n[1])
    step = max(1, -(-(hi - lo + 1) // most))
    return lo, hi, step


def _cell(pic: FieldPicture, d: int, a: int, b: int) -> str:
    """What a character covering indices a..b of dim d shows, along that dim."""
    s = pic.sets[d]
    if any(a <= i <= b for i in s):
        return FIELD
    n = pic.nominal[d]
    outside = b < 0 or a > pic.lengths[d] - 1
    if n is not None and outside and b >= n[0] and a <= n[1]:
        return PAD
    return " " if outside else INPUT


def terminal(pic: FieldPicture) -> FieldView:
    """A character grid: field, padding part of the window, the rest of the input."""
    return FieldView(pic)


class FieldView:
    """The grid drawn at most as wide as the terminal (MAX_COLS characters), its
    description and legend wrapped between words."""

    def __init__(self, pic: FieldPicture):
        self.pic = pic

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        pic, dims = self.pic, len(self.pic.lengths)
        most = max(8, min(MAX_COLS, options.max_width))
        yield Prose(describe(pic), style="bold", hang=2)
        text = Text()
        if dims == 1:
            lo, hi, step = _axis(pic, 0, most)
            text.append(_styled("".join(_cell(pic, 0, i, i + step - 1)
                                        for i in range(lo, hi + 1, step))))
            footer = f"indices {lo}..{hi}, {step} per character"
        else:
            rlo, rhi, rs = _axis(pic, dims - 2, MAX_ROWS)
            clo, chi, cs = _axis(pic, dims - 1, most)
            for r in range(rlo, rhi + 1, rs):
                row = _cell(pic, dims - 2, r, r + rs - 1)
                line = "".join(_combine(row, _cell(pic, dims - 1, c, c + cs - 1))
                               for c in range(clo, chi + 1, cs))
                text.append(_styled(line) + "\n")
            text.rstrip()
            footer = (f"rows {rlo}..{rhi} ({rs} per line), cols {clo}..{chi} ({cs} per "
                      "character)" + (f"; dims before the last two: {describe_lead(pic)}"
                                     if dims > 2 else ""))
        yield text
        yield Prose(footer, hang=2)
        yield Prose.parts([f"{FIELD} the field", f"{PAD} window in padding",
                           f"{INPUT} rest of the input"], sep="   ", style="dim", hang=2)


def describe_lead(pic: FieldPicture) -> str:
    return ", ".join(index_ranges(s) for s in pic.sets[:-2])


def _combine(a: str, b: str) -> str:
    """A cell of the 2-d grid from what its row and its column show."""
    if a == FIELD and b == FIELD:
        return FIELD
    if " " in (a, b):
        return " "
    if PAD in (a, b):
        return PAD if {a, b} <= {PAD, FIELD} else " "
    return INPUT


def _styled(line: str) -> Text:
    t = Text()
    for ch in line:
        t.append(ch, style={"█": "green", "░": "yellow", "·": "dim"}.get(ch, ""))
    return t


def draw(pic: FieldPicture, path: str, kind: str) -> None:
    """The picture as PNG or SVG (matplotlib), atomically."""
    if not path:
        raise ConvError(f"--{kind}: give a file name, e.g. --{kind} field.{kind}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise EnvironmentProblem(f"--{kind} {path}: folder {folder} does not exist")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError:
        raise EnvironmentProblem("--png/--svg draw with matplotlib, which is not installed: "
                                 "pip install 'convcli[plot]'") from None
    sets = pic.sets if len(pic.sets) >= 2 else ((0,),) + tuple(pic.sets)
    lengths = pic.lengths if len(pic.lengths) >= 2 else (1,) + tuple(pic.lengths)
    fig = Figure(figsize=(7, 7 * max(0.25, lengths[-2] / max(lengths[-1], 1))),
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.add_patch(Rectangle((-0.5, -0.5), lengths[-1], lengths[-2], color="#eeeeee"))
    for r0, r1 in _runs(sets[-2]):
        for c0, c1 in _runs(sets[-1]):
            ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1,
                                   color="#2e7d32"))
    _padding(ax, pic, lengths, Rectangle)
    ax.set_title(describe(pic), fontsize=8, wrap=True)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.invert_yaxis()
    atomic_write(path, lambda f: fig.savefig(f, format=kind, dpi=110), f"--{kind}")


def _padding(ax, pic: FieldPicture, lengths, Rectangle) -> None:
    windows: list = list(pic.nominal) if len(pic.nominal) >= 2 else \
        [(0, 0)] + list(pic.nominal)
    if windows[-2] is None or windows[-1] is None:
        return
    (r0, r1), (c0, c1) = windows[-2], windows[-1]
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                           hatch="//", edgecolor="#f9a825", label="window in padding"))
    ax.set_xlim(min(-0.5, c0 - 1), max(lengths[-1] - 0.5, c1 + 1))
    ax.set_ylim(min(-0.5, r0 - 1), max(lengths[-2] - 0.5, r1 + 1))


def _runs(values) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for v in sorted(values):
        if out and v == out[-1][1] + 1:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out
