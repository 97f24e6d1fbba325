"""The index arithmetic behind one output value (`convcli apply --dot --at`): which
input elements each kernel tap multiplies, which input channels the group reads and
which weight entries it uses. Pure Python; the engine fetches the values.

Along one spatial dim of a forward conv, output ``o``'s tap ``t`` sits at input
position ``o*s - p_before + t*d``. Inside ``0..L-1`` it reads that element; outside it
reads padding: 0 for 'zeros', and for the other modes the element F.pad copies
(reflect: mirrored without repeating the edge, replicate: the edge, circular: wrapped).

A transposed conv scatters: input ``i`` reaches output ``i*s - p + t*d`` through tap
``t``. So output ``o`` receives, for each tap ``t``, input ``(o + p - t*d) / s`` when
that is a whole number inside ``0..L-1``, and nothing otherwise (no flip in this form).

The value: ``bias[oc] + sum over the group's input channels ci and the taps of
x[ci, taps] * w``, with ``w = weight[oc, ci - first_in_channel_of_group, taps]`` for a
conv and ``weight[ci, oc - first_out_channel_of_group, taps]`` for a transposed conv.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcli.calculator.groups import GroupSlice, group_slice
from convcli.formatting import spatial_names
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError
from convcli.formatting import shape_x

INPUT, PAD, NONE = "input", "pad", "none"


@dataclass(frozen=True)
class Tap:
    """One kernel tap along one dim: where it lands and what it reads there."""

    tap: int
    position: int            # forward: in input coordinates (negative: padding before)
    source: int | None       # the input element whose value it reads (None: a zero)
    kind: str                # input | pad (padding) | none (transposed: no input reaches)


@dataclass(frozen=True)
class DotDim:
    dim: int
    name: str
    out_index: int
    taps: tuple[Tap, ...]

    @property
    def inputs(self) -> list[int]:
        return [t.source for t in self.taps if t.kind == INPUT and t.source is not None]

    def as_dict(self) -> dict:
        return {"dim": self.dim, "name": self.name, "out": self.out_index,
                "taps": [{"tap": t.tap, "position": t.position, "input": t.source,
                          "kind": t.kind} for t in self.taps]}


@dataclass(frozen=True)
class DotLayout:
    """Everything about one output value except the numbers."""

    spec: ConvSpec
    sample: int | None           # the batch index (None: unbatched input)
    out_channel: int
    position: tuple[int, ...]
    group: GroupSlice
    dims: list[DotDim]

    @property
    def in_channels(self) -> range:
        return range(*self.group.in_channels)

    def weight_index(self, in_channel: int) -> tuple[int, int]:
        """The weight's first two indices for (this output channel, ``in_channel``)."""
        i0, o0 = self.group.in_channels[0], self.group.out_channels[0]
        if self.spec.transposed:
            return in_channel, self.out_channel - o0
        return self.out_channel, in_channel - i0

    @property
    def output_index(self) -> tuple[int, ...]:
        head = (self.out_channel,) if self.sample is None else (self.sample, self.out_channel)
        return head + self.position

    def as_dict(self) -> dict:
        return {"sample": self.sample, "out_channel": self.out_channel,
                "position": list(self.position), "group": self.group.group,
                "in_channels": list(self.group.in_channels),
                "dims": [d.as_dict() for d in self.dims]}


def _source(pos: int, n: int, mode: str) -> tuple[int | None, str]:
    """What a forward conv reads at input position ``pos`` (padding outside 0..n-1)."""
    if 0 <= pos < n:
        return pos, INPUT
    if mode == "zeros":
        return None, PAD
    if mode == "reflect":
        return (-pos if pos < 0 else 2 * (n - 1) - pos), PAD
    if mode == "replicate":
        return (0 if pos < 0 else n - 1), PAD
    return pos % n, PAD   # circular


def dot_dim(spec: ConvSpec, dim: int, size_in: int, out_index: int) -> DotDim:
    """The taps of output ``out_index`` along spatial dim ``dim``."""
    k, s, dl = spec.kernel_size[dim], spec.stride[dim], spec.dilation[dim]
    before = spec.padding_pairs[dim][0]
    taps = []
    for t in range(k):
        if spec.transposed:
            num = out_index + before - t * dl
            i = num // s
            inside = num % s == 0 and 0 <= i < size_in
            taps.append(Tap(t, num, i if inside else None, INPUT if inside else NONE))
        else:
            pos = out_index * s - before + t * dl
            source, kind = _source(pos, size_in, spec.padding_mode)
            taps.append(Tap(t, pos, source, kind))
    name = spatial_names(spec.dims).split(", ")[dim]
    return DotDim(dim, name, out_index, tuple(taps))


def dot_layout(spec: ConvSpec, input_shape: Sequence[int], position, out_channel: int = 0,
               sample: int = 0) -> DotLayout:
    """The layout of output ``[sample, out_channel, *position]``; ``position`` is one
    index per spatial dim (an int is used for every dim) or None for the middle."""
    shape = tuple(input_shape)
    out = spec.output_shape(shape)
    d = spec.dims
    if len(shape) == d + 2 and shape[0] == 0:
        raise ConvError(f"INPUT has an empty batch (N=0): there is no output value to "
                        f"break down; use a batch of 1, e.g. 1x{shape_x(shape[1:])}")
    sizes_in, sizes_out = shape[-d:], out[-d:]
    if position is None:
        position = tuple(n // 2 for n in sizes_out)
    elif isinstance(position, int):
        position = (position,) * d
    position = tuple(position)
    if len(position) != d:
        raise ConvError(f"--at {','.join(map(str, position))}: give one output index per "
                        f"spatial dim ({d}: {spatial_names(d)})")
    for i, (o, n) in enumerate(zip(position, sizes_out)):
        if not 0 <= o < n:
            raise ConvError(f"--at: output index {o} on spatial dim {i} "
                            f"({spatial_names(d).split(', ')[i]}) is outside 0..{n - 1}")
    if not 0 <= out_channel < spec.out_channels:
        raise ConvError(f"--channel {out_channel}: output channels are "
                        f"0..{spec.out_channels - 1}")
    if spec.in_channels == 0:
        raise ConvError("in_channels=0: no input channel feeds the output; --dot needs "
                        "at least one")
    dims = [dot_dim(spec, i, n, o) for i, (n, o) in enumerate(zip(sizes_in, position))]
    group = group_slice(spec, out_channel // (spec.out_channels // spec.groups))
    batched = len(shape) == d + 2
    return DotLayout(spec, sample if batched else None, out_channel, position, group, dims)
