"""What a conv does, as data for pictures (`convcli show`): which input channels feed
which output channels, where each output's window lands along one spatial dim, and
the receptive field of one output position. render.py draws it for the terminal,
plot.py with matplotlib; nothing here prints.

Coordinates along a spatial dim: position 0 is input element 0. A forward conv's
padded input runs from -p_before to L-1+p_after, and output o's taps sit at
``o*s - p_before + t*dil`` for t in 0..k-1. A transposed conv is drawn as the
stride-1 conv it equals: the input zero-stuffed (s-1 zeros between elements, input i
at position i*s), padded by ``dil*(k-1) - p`` before and that plus output_padding
after, read with the kernel flipped; output o's taps sit at
``o - (dil*(k-1) - p) + t*dil``.

Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from math import prod

from convcli.calculator.conv_checks import check_input
from convcli.calculator.explain import explain
from convcli.calculator.groups import GroupSlice, group_slice, layout_summary
from convcli.errors import ConvError
from convcli.formatting import index_ranges
from convcli.calculator.spec import ConvSpec
from convcli.calculator.window_limits import check_drawable

INPUT, PAD, ZERO, CROP = "input", "pad", "zero", "crop"


# ---- groups -----------------------------------------------------------------------

LEGEND_GROUPS = (4, 2)     # groups named one by one: the first 4 and the last 2
JSON_GROUPS = (32, 32)     # groups listed in --json: the first 32 and the last 32


@dataclass(frozen=True)
class GroupMap:
    """Block-diagonal connectivity: output channel o reads input channel i iff both
    are in the same group. ``grid(rows, cols)`` bins channels for small pictures;
    ``legend`` names the first and last groups and says how many it left out
    between them (no object per group: a depthwise conv can have 10^8 of them)."""

    spec: ConvSpec

    @property
    def legend(self) -> tuple[list[GroupSlice], int]:
        return layout_summary(self.spec, *LEGEND_GROUPS)

    @property
    def in_per_group(self) -> int:
        return self.spec.in_channels // self.spec.groups

    @property
    def out_per_group(self) -> int:
        return self.spec.out_channels // self.spec.groups

    def connected(self, out_channel: int, in_channel: int) -> bool:
        return out_channel // self.out_per_group == in_channel // self.in_per_group

    def grid(self, max_rows: int, max_cols: int) -> "ChannelGrid":
        """Bin channels so the picture has at most max_rows x max_cols cells. Each
        cell holds the group it belongs to, or None; ``full`` says whether every
        channel pair in the cell is connected."""
        c_in, c_out = self.spec.in_channels, self.spec.out_channels
        bin_in, bin_out = -(-c_in // max_cols), -(-c_out // max_rows)
        ci, co = self.in_per_group, self.out_per_group
        if self.spec.groups > 1 and (bin_in > 1 or bin_out > 1):
            # whole groups per cell, the same number on both axes: a clean diagonal
            m = max(-(-bin_in // ci), -(-bin_out // co))
            if m > 1 or bin_in > ci or bin_out > co:
                bin_in, bin_out = m * ci, m * co
        cells = []
        for r in range(-(-c_out // bin_out)):
            o0, o1 = r * bin_out, min((r + 1) * bin_out, c_out)
            row: list[tuple[int | None, bool]] = []
            for c in range(-(-c_in // bin_in)):
                i0, i1 = c * bin_in, min((c + 1) * bin_in, c_in)
                g_lo = max(o0 // co, i0 // ci)
                g_hi = min((o1 - 1) // co, (i1 - 1) // ci)
                if g_lo > g_hi:
                    row.append((None, False))
                    continue
                full = g_lo == g_hi and (o0 // co == (o1 - 1) // co) and (
                    i0 // ci == (i1 - 1) // ci)
                row.append((g_lo, full))
            cells.append(row)
        return ChannelGrid(bin_in, bin_out, cells)

    def as_dict(self) -> dict:
        slices, omitted = layout_summary(self.spec, *JSON_GROUPS)
        return {"groups": self.spec.groups, "in_per_group": self.in_per_group,
                "out_per_group": self.out_per_group,
                "weight_shape": list(self.spec.weight_shape),
                "slices": [s.as_dict() for s in slices], "slices_omitted": omitted}


@dataclass(frozen=True)
class ChannelGrid:
    bin_in: int    # input channels per column
    bin_out: int   # output channels per row
    cells: list[list[tuple[int | None, bool]]]


# ---- the sliding window -----------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    pos: int
    kind: str               # input | pad | zero (stuffed) | crop (never reached)
    index: int | None       # the input element, for kind == input


@dataclass(frozen=True)
class Window:
    out_index: int
    taps: tuple[int, ...]   # positions, one per kernel tap, in kernel order


@dataclass(frozen=True)
class WindowView:
    dim: int
    dim_name: str
    transposed: bool
    size_in: int
    size_out: int
    kernel: int
    stride: int
    dilation: int
    pad: tuple[int, int]       # torch's (before, after); transposed: (p, p)
    output_padding: int
    implicit_pad: tuple[int, int]  # what the drawn view pads (transposed: d(k-1)-p ...)
    cells: list[Cell]
    windows: list[Window]

    @property
    def first(self) -> int:
        return self.cells[0].pos

    def cell(self, pos: int) -> Cell:
        return self.cells[pos - self.first]

    @property
    def unread(self) -> list[int]:
        """Input elements no window reads (forward conv)."""
        read: set[int] = set()
        for w in self.windows:
            read.update(w.taps)
        return [c.index for c in self.cells
                if c.kind == INPUT and c.pos not in read and c.index is not None]

    def notes(self) -> list[str]:
        k, s, dl = self.kernel, self.stride, self.dilation
        notes = []
        if self.transposed:
            q0, q1 = self.implicit_pad
            notes.append(
                f"transposed = a stride-1 conv over the zero-stuffed input ({s - 1} zero"
                f"{'s' if s != 2 else ''} between elements), padded "
                f"{dl}*({k}-1)-{self.pad[0]} = {q0} before and {q1} after"
                + (f" (+ output_padding {self.output_padding})" if self.output_padding else "")
                + ", kernel flipped")
            cropped = [c.index for c in self.cells if c.kind == CROP and c.index is not None]
            if q0 < 0 or q1 < 0:
                notes.append(f"padding {self.pad[0]} > {dl}*({k}-1): the view is cropped "
                             f"(x), {max(-q0, 0)} position(s) before and {max(-q1, 0)} after"
                             + (f"; input {index_ranges(cropped)} reach(es) no output along "
                                f"{self.dim_name}" if cropped else ""))
            return notes
        a, b = self.pad
        if a != b:
            notes.append(f"padding {a} before, {b} after: asymmetric (torch's 'same' and "
                         "TF's SAME put the odd one at the end)")
        unread = self.unread
        if unread:
            notes.append(f"{len(unread)} input element(s) never read: "
                         + index_ranges(unread))
        if dl > 1:
            notes.append(f"dilation {dl}: the {k} taps span {dl * (k - 1) + 1} positions")
        return notes

    def as_dict(self) -> dict:
        return {"dim": self.dim, "size_in": self.size_in, "size_out": self.size_out,
                "kernel": self.kernel, "stride": self.stride, "dilation": self.dilation,
                "padding": list(self.pad), "output_padding": self.output_padding,
                "view_padding": list(self.implicit_pad), "transposed": self.transposed,
                "cells": [[c.pos, c.kind, c.index] for c in self.cells],
                "windows": [{"out": w.out_index, "taps": list(w.taps)} for w in self.windows],
                "unread": self.unread, "notes": self.notes()}


def window_view(spec: ConvSpec, input_shape, dim: int) -> WindowView:
    check_input(spec, input_shape)
    d = spec.dims
    if not 0 <= dim < d:
        raise ConvError(f"--along {dim}: a {d}d conv has spatial dims 0..{d - 1} "
                        f"({_names(d)})")
    exp = explain(spec, input_shape)[dim]
    n, k, s, dl, op = exp.size_in, exp.kernel, exp.stride, exp.dilation, exp.output_padding
    pl, pr = exp.pad_left, exp.pad_right
    out = exp.size_out
    check_drawable(dim, n, pl, pr, s, out, k)
    if spec.transposed:
        q0 = dl * (k - 1) - pl
        q1 = q0 + op
        last = (n - 1) * s
        lo, hi = min(-q0, 0), max(last + q1, last)
        cells = []
        for u in range(lo, hi + 1):
            if u < -q0 or u > last + q1:  # no window reaches it: cropped by padding
                kind, idx = CROP, (u // s if 0 <= u <= last and u % s == 0 else None)
            elif 0 <= u <= last:
                kind, idx = (INPUT, u // s) if u % s == 0 else (ZERO, None)
            else:
                kind, idx = PAD, None
            cells.append(Cell(u, kind, idx))
        windows = [Window(o, tuple(o - q0 + t * dl for t in range(k))) for o in range(out)]
        return WindowView(dim, _names(d).split(", ")[dim], True, n, out, k, s, dl, (pl, pl), op,
                          (q0, q1), cells, windows)
    cells = [Cell(u, INPUT if 0 <= u < n else PAD, u if 0 <= u < n else None)
             for u in range(-pl, n + pr)]
    windows = [Window(o, tuple(o * s - pl + t * dl for t in range(k))) for o in range(out)]
    return WindowView(dim, _names(d).split(", ")[dim], False, n, out, k, s, dl, (pl, pr), 0,
                      (pl, pr), cells, windows)


def visible(view: WindowView, budget: int) -> tuple[list[Window | None], list[int]]:
    """Pick which windows and cells to draw so the strip fits ``budget`` cells.
    Returns (windows with None for an elided run, sorted cell positions)."""
    wins: list[Window | None] = list(view.windows)
    first, last = view.cells[0].pos, view.cells[-1].pos
    if len(view.cells) <= budget and len(wins) <= 12:
        return wins, [c.pos for c in view.cells]
    for head, tail, spans in ((len(wins), 0, True), (4, 2, True), (3, 1, True),
                              (2, 1, True), (2, 1, False), (1, 1, False), (1, 0, False)):
        if head + tail >= len(wins):
            chosen = wins
        else:
            chosen = wins[:head] + [None] + (wins[-tail:] if tail else [])
        if len(chosen) > 13:
            continue
        pos = {first, last}
        for w in chosen:
            if w is None:
                continue
            if spans:
                pos.update(range(min(w.taps), max(w.taps) + 1))
            else:
                pos.update(w.taps)
        for edge in (first, last):  # show the padding at the edges whole
            step = 1 if edge == first else -1
            p = edge
            while view.cell(p).kind in ("pad", "crop") and len(pos) < budget:
                pos.add(p)
                p += step
                if not first <= p <= last:
                    break
        if len(pos) + _gaps(sorted(pos)) <= budget:
            return chosen, sorted(pos)
    # a kernel too large for the width: the first window's first taps
    start = sorted(set(view.windows[0].taps[: max(1, budget // 2 - 1)]) | {first})
    return [view.windows[0], None], start


def _gaps(pos: list[int]) -> int:
    return sum(1 for a, b in zip(pos, pos[1:]) if b != a + 1)


def _names(d: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}[d]


# ---- receptive field --------------------------------------------------------------

@dataclass(frozen=True)
class FieldDim:
    dim: int
    name: str
    out_index: int
    taps: tuple[int, ...]          # positions in the drawn view
    inputs: tuple[int, ...]        # input elements the taps land on
    on_padding: int                # taps on padding (or stuffed zeros / crop)


@dataclass(frozen=True)
class ReceptiveField:
    spec: ConvSpec
    position: tuple[int, ...]      # the output position, one index per spatial dim
    out_channel: int
    group: GroupSlice
    dims: list[FieldDim]

    @property
    def in_channels(self) -> tuple[int, int]:
        return self.group.in_channels

    @property
    def taps(self) -> int:
        return prod(len(d.taps) for d in self.dims)

    @property
    def real_taps(self) -> int:
        return prod(len(d.inputs) for d in self.dims)

    @property
    def macs(self) -> int:
        """Multiply-accumulates that produce this one output value (dense count)."""
        spec = self.spec
        if spec.transposed:  # only taps on real input elements multiply anything
            return self.real_taps * (spec.in_channels // spec.groups)
        return self.taps * (spec.in_channels // spec.groups)

    def as_dict(self) -> dict:
        return {"position": list(self.position), "out_channel": self.out_channel,
                "group": self.group.group, "in_channels": list(self.in_channels),
                "dims": [{"dim": d.dim, "out": d.out_index, "taps": list(d.taps),
                          "inputs": list(d.inputs), "on_padding": d.on_padding}
                         for d in self.dims],
                "taps": self.taps, "taps_on_input": self.real_taps, "macs": self.macs}


def receptive_field(spec: ConvSpec, views: list[WindowView], position,
                    out_channel: int = 0) -> ReceptiveField:
    """Which input elements (and channels) output ``position`` reads."""
    if len(position) != len(views):
        raise ConvError(f"--at {','.join(map(str, position))}: give one output index per "
                        f"spatial dim ({len(views)})")
    if not 0 <= out_channel < spec.out_channels:
        raise ConvError(f"--channel {out_channel}: output channels are 0..{spec.out_channels - 1}")
    dims = []
    for v, o in zip(views, position):
        if not 0 <= o < v.size_out:
            raise ConvError(f"--at: output index {o} on spatial dim {v.dim} ({v.dim_name}) "
                            f"is outside 0..{v.size_out - 1}")
        taps = v.windows[o].taps
        inputs = tuple(i for i in (v.cell(t).index for t in taps if v.cell(t).kind == INPUT)
                       if i is not None)
        dims.append(FieldDim(v.dim, v.dim_name, o, taps, inputs, len(taps) - len(inputs)))
    group = group_slice(spec, out_channel // (spec.out_channels // spec.groups))
    return ReceptiveField(spec, tuple(position), out_channel, group, dims)


# ---- everything `convcli show` draws ----------------------------------------------

@dataclass(frozen=True)
class Picture:
    spec: ConvSpec
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    groups: GroupMap
    window: WindowView | None      # along the chosen dim
    views: list[WindowView]        # every dim (for the receptive field)
    field: ReceptiveField | None

    def as_dict(self) -> dict:
        return {"layer": self.spec.torch_repr(), "conv": self.spec.as_dict(),
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "output_shape": None if self.output_shape is None else list(self.output_shape),
                "groups": self.groups.as_dict(),
                "window": None if self.window is None else self.window.as_dict(),
                "receptive_field": None if self.field is None else self.field.as_dict()}


def picture(spec: ConvSpec, input_shape: Sequence[int] | None = None,
            dim: int | None = None, at: int | Sequence[int] | None = None,
            channel: int = 0) -> Picture:
    """Everything `show` draws. Without an input only the channel map is known."""
    if spec.in_channels == 0:
        raise ConvError("in_channels=0: there is no channel to draw (torch answers an "
                        "output with 0 channels); show needs at least 1 input channel")
    groups = GroupMap(spec)
    if input_shape is None:
        if dim is not None or at is not None:
            raise ConvError("--along and --at need INPUT (the sliding window and the receptive "
                            f"field depend on its size), e.g. 1x{spec.in_channels}x8x8")
        return Picture(spec, None, None, groups, None, [], None)
    input_shape = tuple(input_shape)
    out_shape = spec.output_shape(input_shape)
    d = spec.dims
    if 0 in out_shape[-d:]:
        raise ConvError(f"the output {list(out_shape)} has an empty spatial dim (torch "
                        "answers it for an empty batch); show draws windows over at least "
                        "one output position: use a larger input")
    dim = d - 1 if dim is None else dim
    if not 0 <= dim < d:
        raise ConvError(f"--along {dim}: a {d}d conv has spatial dims 0..{d - 1} ({_names(d)})")
    views = [window_view(spec, input_shape, i) for i in range(d)]
    if at is None:
        at = tuple(v.size_out // 2 for v in views)
    elif isinstance(at, int):
        at = (at,) * d
    field = receptive_field(spec, views, tuple(at), channel)
    return Picture(spec, input_shape, out_shape, groups, views[dim], views, field)
