"""`convcli apply` in the terminal and as JSON: the tensors' summary table, the
values per channel (aligned numbers when small, a shaded heatmap when large), and
the --json object. The dot-product breakdown is views/dot_view.py. Views compute nothing:
the planes and block means come from engine/apply_values.py; here they become text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from math import isfinite

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from convcli.formatting import shape_list, shape_x
from convcli.views.console import JSON_VERSION, Fitted, table
from convcli.views.fit_width import Prose, Squeezed, below, left_out_note

if TYPE_CHECKING:
    from convcli.engine.apply_values import Applied, Plane, TensorInfo, TensorPlanes

SHADES = " .:-=+*#%@"     # low to high, two characters per heatmap cell
MAX_DECIMALS = 4


# ---- numbers as text ------------------------------------------------------------------

def flat(values) -> Iterable:
    """The leaves of nested lists, in order."""
    if isinstance(values, list):
        for v in values:
            yield from flat(v)
    else:
        yield values


def number_format(values: Iterable[float | None],
                  most: int = MAX_DECIMALS) -> Callable[[float | None], str]:
    """One format for a set of numbers, so they align: whole numbers as such, else
    the fewest decimals (up to ``most``) that write every value exactly, else
    ``most``; very large or very small magnitudes in e-notation."""
    finite = [v for v in values if v is not None and isfinite(v)]
    big = max((abs(v) for v in finite), default=0.0)
    if big >= 1e6 or 0 < big < 1e-3:
        spec = ".3e"
    else:
        decimals = next((d for d in range(most + 1)
                         if all(abs(v - round(v, d)) <= 1e-9 * max(1.0, abs(v))
                                for v in finite)), most)
        spec = f".{decimals}f"

    def fmt(v: float | None) -> str:
        if v is None:
            return "·"
        if not isfinite(v):
            return "nan" if v != v else ("inf" if v > 0 else "-inf")
        text = format(v, spec)
        return text[1:] if text.startswith("-") and float(text) == 0 else text

    return fmt


def grid_lines(values: list, fmt: Callable, width: int | None = None,
               mark: Callable[[tuple[int, ...]], bool] | None = None) -> list[str]:
    """Nested values over 1-3 spatial dims as aligned rows (3d: one block per depth,
    headed 'D=0'). ``mark(index)``: wrap that cell in parentheses (padding)."""
    depth = _depth(values)
    cells: dict[tuple[int, ...], str] = {}

    def walk(v, index):
        if isinstance(v, list):
            for i, c in enumerate(v):
                walk(c, index + (i,))
        else:
            text = fmt(v)
            cells[index] = f"({text})" if mark is not None and mark(index) else text

    walk(values, ())
    w = width or max((len(c) for c in cells.values()), default=1)
    if depth == 1:
        return [" ".join(cells[(i,)].rjust(w) for i in range(len(values)))]
    if depth == 2:
        return [" ".join(cells[(r, c)].rjust(w) for c in range(len(row)))
                for r, row in enumerate(values)]
    lines = []
    for z, block in enumerate(values):
        lines.append(f"D={z}")
        lines += [" ".join(cells[(z, r, c)].rjust(w) for c in range(len(row)))
                  for r, row in enumerate(block)]
    return lines


def _depth(values) -> int:
    d = 0
    while isinstance(values, list):
        d += 1
        values = values[0] if values else None
    return d


def shade_lines(rows: list | None, lo: float | None, hi: float | None) -> list[str]:
    """Rows of values as shades, two characters per value ('?' for NaN)."""
    rows = rows if rows and isinstance(rows[0], list) else [rows]
    span = None if lo is None or hi is None or hi <= lo else hi - lo
    lines = []
    for row in rows:
        chars = []
        for v in row:
            if v is None or v != v or lo is None:
                chars.append("??")
                continue
            level = 0 if span is None else round((min(max(v, lo), hi) - lo) / span
                                                 * (len(SHADES) - 1))
            chars.append(SHADES[level] * 2)
        lines.append("".join(chars))
    return lines


# ---- the summary table --------------------------------------------------------------------

def _short(v: float | None) -> str:
    if v is None:
        return "—"
    text = f"{v:.4g}"
    return "0" if float(text) == 0 else text


def summary_view(applied: Applied, infos: list[TensorInfo], note: str | None):
    """The conv, then one row per tensor. Narrow: where the values came from wraps,
    shapes become 1x1x8x8, then that column is left out."""
    spec = applied.spec
    head = Prose.parts([spec.torch_repr(), f"on {shape_list(applied.x.shape)} -> "
                        f"{shape_list(applied.y.shape)}, {applied.options.dtype}"],
                       style="bold", hang=2)
    names = ["tensor", "shape", "values", "min", "max"]
    widest = max([8] + [len(w) for info in infos for w in info.source.split()])

    def build(left_out: set[str]) -> RenderableType:
        keep = [n for n in names if n not in left_out]
        t = table(None, *keep)
        for c in t.columns:
            c.no_wrap = c.header != "values"
            c.justify = "left" if c.header in ("tensor", "shape", "values") else "right"
        shape = shape_x if "x shapes" in left_out else shape_list
        for info in infos:
            cells: dict[str, RenderableType] = {"tensor": info.name, "shape": shape(info.shape),
                     "values": Prose(info.source), "min": _short(info.stats.min),
                     "max": _short(info.stats.max)}
            t.add_row(*[cells[n] for n in keep])
        floors = {keep.index("values"): widest} if "wrapped values" in left_out and \
            "values" in keep else {}
        return below(Squeezed(t, floors), left_out_note(left_out, names))

    parts: list = [head]
    if note:
        parts.append(Prose(note, style="dim", hang=2))
    parts.append(Fitted(build, ["wrapped values", "x shapes", "values"]))
    return Group(*parts)


HINT = ("--values prints the numbers, --dot --at POSITION one output's dot product, "
        "--png FILE a picture")


# ---- --values ---------------------------------------------------------------------------

def _label(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def planes_view(tp: TensorPlanes, source: str, width: int = 80) -> list:
    """One tensor's planes: numbers when small and narrow enough, else shades."""
    lines: list = [Prose(f"{tp.name} {shape_list(tp.shape)}: {source}", style="bold",
                         hang=2)]
    numbers = [v for p in tp.planes if p.values is not None for v in flat(p.values)]
    fmt, cell_w = _fitting_format(numbers, tp.planes, width)
    for p in tp.planes:
        label = _label(tp.name, p.index) if tp.name != "bias" else "bias"
        if p.values is not None and fmt is not None:
            lines.append(Text(f"  {label}", style="dim"))
            lines += [Text("    " + r) for r in grid_lines(p.values, fmt, cell_w)]
        else:
            lines += _heat(p, label, width)
    if not tp.planes:
        lines.append(Text("  (empty: it holds no values)", style="dim"))
    if tp.omitted:
        lines.append(Prose(f"  ... {tp.omitted:,} more "
                           f"{'planes' if tp.name == 'weight' else 'channels'} "
                           "(--json with --values carries every value)", style="dim", hang=4))
    return lines


def _fitting_format(numbers: list, planes: list[Plane], width: int):
    """The most decimals (4, 3 or 2) whose rows fit the width, and the cell width;
    (None, 0) when none fits (the planes are then drawn as shades)."""
    longest = max((p.shape[-1] for p in planes if p.values is not None), default=0)
    for most in range(MAX_DECIMALS, 1, -1):
        fmt = number_format(numbers, most)
        cell_w = max((len(fmt(v)) for v in numbers), default=1)
        if 4 + longest * (cell_w + 1) - 1 <= width:
            return fmt, cell_w
    return None, 0


def _heat(p: Plane, label: str, width: int = 80) -> list:
    """A plane as shades, with what a shade and a cell stand for (indented less where
    the terminal is narrow)."""
    rows = p.heat if p.heat is not None else p.values
    if p.depth is None and p.values is not None and len(p.shape) == 3:
        rows = p.values[len(p.values) // 2]
        where = f", depth {len(p.values) // 2} of {p.shape[0]}"
    else:
        where = "" if p.depth is None else f", depth {p.depth} of {p.shape[0]}"
    if p.lo is not None and p.lo == p.hi:
        return [Prose(f"  {label}  {shape_x(p.shape)}: every value is {_short(p.lo)}",
                      style="dim", hang=4)]
    cell = "" if p.block == 1 else (
        f"; a cell: mean of {p.block} values" if len(p.shape) == 1 else
        f"; a cell: mean of {p.block}x{p.block} values")
    lines: list = [Prose.parts([f"{label}  {shape_x(p.shape)}{where}:",
                                f"'{SHADES[0]}' = {_short(p.lo)} ...",
                                f"'{SHADES[-1]}' = {_short(p.hi)}{';' if cell else ''}"]
                               + ([cell[2:]] if cell else []), style="dim", indent=2, hang=2)]
    shades = shade_lines(rows, p.lo, p.hi)
    indent = next((n for n in (4, 2) if n + 2 + max(map(len, shades), default=0) <= width), 0)
    lines += [Text(f"{' ' * indent}|{r}|") for r in shades]
    return lines


def values_view(applied: Applied, planes: list[TensorPlanes], width: int = 80) -> Group:
    lines: list = []
    for i, tp in enumerate(planes):
        if i:       # (the summary table above ends in a blank line)
            lines.append(Text(""))
        lines += planes_view(tp, applied.sources[tp.name], width)
    return Group(*lines)


# ---- --json -----------------------------------------------------------------------------

def apply_dict(applied: Applied, infos: list[TensorInfo], reading: dict | None) -> dict:
    spec, opts = applied.spec, applied.options
    kernel = opts.kernel
    return {
        "version": JSON_VERSION, "layer": spec.torch_repr(), "conv": spec.as_dict(),
        "dtype": opts.dtype,
        "input_shape": list(applied.x.shape), "weight_shape": list(applied.w.shape),
        "bias_shape": None if applied.b is None else list(applied.b.shape),
        "output_shape": list(applied.y.shape),
        "input": applied.input.as_dict(opts.seed),
        "kernel": None if kernel is None else {
            "text": kernel.text, "name": kernel.name, "whole_weight": opts.whole},
        "bias_value": opts.bias_value,
        "tensors": {i.name: i.as_dict() for i in infos},
        "memory_estimate": applied.estimate.as_dict(),
        "interpretation": reading,
    }
