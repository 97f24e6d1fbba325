"""Command-line text -> a validated ConvSpec, and how INPUT's rank was read.

A conv with d spatial dims takes a batched (N, C, *d sizes) or an unbatched
(C, *d sizes) input, so a rank-3 shape is an unbatched 2d input or a batched 1d one,
and a rank-4 shape a batched 2d input or an unbatched 3d one. The rule, the same in
every command that takes a shape:

1. every source that fixes the spatial dims decides, together: ``--dims``, a tuple
   option's length (``-k 3,5`` is 2d), the constructor's class (Conv1d), a weight
   file's rank; two that disagree are an error naming both;
2. else an ``-i`` that fits only one reading's channel dim (a rank-4 shape is a batch
   of images: an -i that fits only its (C, D, H, W) reading is an error naming both);
3. else the rank: 2 spatial dims first, where that reading is the likely one (any
   rank-4 shape; a rank-3 one with at most 4 channels or a square plane); a rank-3
   shape like 8x16x100 that reads as well both ways is an error naming both.

``Interpretation`` records the reading, what decided it and the other reading the
rank allows; its ``note`` speaks only where two readings remained and nothing but
the rank decided (3x224x224). Every message names the option. Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from typing import Any

from convcli.calculator.parse import parse_int, parse_ints, parse_padding
from convcli.formatting import spatial_names
from convcli.calculator.spec import KIND_NAMES, ConvSpec
from convcli.errors import ConvError
from convcli.formatting import shape_x


@dataclass(frozen=True)
class Reading:
    """One way to read an input's rank: d spatial dims, batched or not."""

    dims: int
    batched: bool

    @property
    def layout(self) -> str:
        return ("N, C, " if self.batched else "C, ") + spatial_names(self.dims)

    def channels(self, shape: Sequence[int]) -> int:
        return shape[1] if self.batched else shape[0]

    def describe(self, shape: Sequence[int]) -> str:
        what = f"a batch of {shape[0]}" if self.batched else "one unbatched input"
        return f"{what} ({self.layout})"

    def as_dict(self) -> dict:
        return {"dims": self.dims, "batched": self.batched, "layout": self.layout,
                "option": f"--dims {self.dims}"}


def readings(rank: int) -> list[Reading]:
    """Every reading of a rank, the default (2 spatial dims) first."""
    return [Reading(d, rank == d + 2) for d in (2, 1, 3) if rank in (d + 1, d + 2)]


@dataclass(frozen=True)
class Interpretation:
    """How INPUT was read: the reading, what decided it ('--dims', a tuple option's
    name, '--in-channels' or 'rank'), and the other reading the rank allows."""

    shape: tuple[int, ...]
    reading: Reading
    decided_by: str
    alternative: Reading | None

    def note(self, transposed: bool = False) -> str | None:
        """For people, when nothing but the rank decided and another reading stays
        possible (3x224x224): which reading was used and how to get the other."""
        alt = self.alternative
        if alt is None and self.decided_by == "rank" and len(self.shape) == 2:
            # 2 dims can only be one (C, L) sequence; an image without its channel dim
            # (224x224) reads as 224 channels of length 224, so say so
            kind = f"{KIND_NAMES[transposed]}1d"
            h, w = self.shape
            return (f"read {shape_x(self.shape)} as {self.reading.describe(self.shape)} for "
                    f"a {kind}; a 2-d conv needs the channels too: 1x{h}x{w} for one "
                    "gray image")
        if alt is None or self.decided_by != "rank" or len(self.shape) != 3:
            return None     # a batch of images (N, C, H, W) goes without a word
        kind = f"{KIND_NAMES[transposed]}{self.reading.dims}d"
        return (f"read {shape_x(self.shape)} as {self.reading.describe(self.shape)} for a "
                f"{kind}; for {alt.describe(self.shape)} use --dims {alt.dims}")

    def as_dict(self, transposed: bool = False) -> dict:
        return {"dims": self.reading.dims, "batched": self.reading.batched,
                "layout": self.reading.layout, "decided_by": self.decided_by,
                "alternative": None if self.alternative is None else self.alternative.as_dict(),
                "note": self.note(transposed)}


def interpret(input_shape: Sequence[int], dims: int | None, decided_by: str | None,
              in_channels: int | None, transposed: bool = False) -> Interpretation:
    """Read INPUT's rank. ``dims``/``decided_by``: the dims a source fixed and which
    ('--dims', a tuple option, the constructor's class, --weight-file), or None;
    ``in_channels``: -i if given. Two readings that both stay possible are an error
    naming them (below), never a silent choice."""
    shape = tuple(input_shape)
    options = readings(len(shape))
    if dims is not None:
        reading = Reading(dims, len(shape) == dims + 2)
        alt = next((r for r in options if r.dims != dims), None)
        return Interpretation(shape, reading, decided_by or "--dims", alt)
    if not options:
        raise ConvError(
            f"INPUT {shape_x(shape)} has {len(shape)} dims; a conv input has 2 to 5: "
            "(C, L) ... (N, C, D, H, W), an optional batch N, the channels C, then 1 to 3 "
            "spatial sizes")
    reading, how = options[0], "rank"
    if in_channels is not None:
        # -i picks the reading it fits (also the only one: then it confirmed it)
        fits = [r for r in options if r.channels(shape) == in_channels]
        if len(fits) == 1:
            reading, how = fits[0], "--in-channels"
            if len(shape) == 4 and reading != options[0]:
                _conflict(shape, options, in_channels, transposed)
        elif not fits and len(options) > 1:
            a, b = options
            raise ConvError(
                f"--in-channels {in_channels} fits no reading of INPUT {shape_x(shape)}: as "
                f"({a.layout}) it has {a.channels(shape)} channels, as ({b.layout}) "
                f"{b.channels(shape)}; set -i to one of them")
    elif len(shape) == 3 and not looks_like_an_image(shape):
        _two_ways(shape, options, transposed)
    alt = next((r for r in options if r != reading), None)
    return Interpretation(shape, reading, how, alt)


def looks_like_an_image(shape: tuple[int, ...]) -> bool:
    """A rank-3 shape read as (C, H, W) without a word: gray, RGB or RGBA channels, or
    a square plane (a feature map); 8x16x100 is as likely a batch of sequences."""
    c, h, w = shape
    return c <= 4 or h == w


def _kind(r: Reading, transposed: bool) -> str:
    return f"{KIND_NAMES[transposed]}{r.dims}d"


def _two_ways(shape: tuple[int, ...], options: list[Reading], transposed: bool) -> None:
    a, b = options
    raise ConvError(
        f"INPUT {shape_x(shape)} reads two ways: {a.describe(shape)} with "
        f"{a.channels(shape)} channels for a {_kind(a, transposed)}, or {b.describe(shape)} "
        f"with {b.channels(shape)} channels for a {_kind(b, transposed)}; say which: "
        f"-i {a.channels(shape)} (or --dims {a.dims}) for the {_kind(a, transposed)}, "
        f"-i {b.channels(shape)} (or --dims {b.dims}) for the {_kind(b, transposed)}")


def _conflict(shape: tuple[int, ...], options: list[Reading], c_in: int,
              transposed: bool) -> None:
    usual, other = options
    raise ConvError(
        f"--in-channels {c_in} fits INPUT {shape_x(shape)} only as {other.describe(shape)} "
        f"for a {_kind(other, transposed)}, but the shape reads as {usual.describe(shape)} "
        f"with {usual.channels(shape)} channels for a {_kind(usual, transposed)}; for the "
        f"{_kind(usual, transposed)} give -i {usual.channels(shape)}, for the "
        f"{_kind(other, transposed)} add --dims {other.dims}")


def _fixed_dims(values: dict, sources: Sequence[tuple[str, int]] = ()
                ) -> tuple[int, str] | None:
    """Spatial dims from every source that fixes them (``sources``: (name, dims) of
    --dims, the constructor's class, a weight file; then each tuple option's length),
    and the first source's name; ConvError naming two that disagree."""
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, tuple)}
    if len(set(lengths.values())) > 1:
        raise ConvError("tuple options disagree on the number of spatial dims: " + ", ".join(
            f"--{n.replace('_', '-')} has {k}" for n, k in lengths.items()))
    for name, dims in lengths.items():
        if dims not in (1, 2, 3):
            raise ConvError(f"--{name.replace('_', '-')} has {dims} entries; convolutions "
                            "have 1, 2 or 3 spatial dims, one entry each")
    every = [*sources, *(("--" + n.replace("_", "-"), k) for n, k in lengths.items())]
    for (a, da), (b, db) in zip(every, every[1:]):
        if da != db:
            raise ConvError(f"{a} says a {da}-d conv but {b} a {db}-d one; give one "
                            "number of spatial dims")
    return (every[0][1], every[0][0]) if every else None


def read_spec(*, out_channels: str, kernel_size: str, in_channels: str | None = None,
              stride: str = "1", padding: str = "0", dilation: str = "1",
              groups: str = "1", bias: bool = True, padding_mode: str = "zeros",
              transposed: bool = False, output_padding: str = "0",
              dims: int | None = None, input_shape: Sequence[int] | None = None,
              dims_by: str | None = None, weight_dims: int | None = None
              ) -> tuple[ConvSpec, Interpretation | None]:
    """CLI strings -> a validated ConvSpec (dims and in_channels read from INPUT when
    not given) and how INPUT was read (None without an input). ``dims_by``: what set
    ``dims`` when not --dims (the constructor's class); ``weight_dims``: the spatial
    dims of a weight file."""
    values: dict[str, Any] = {
        "kernel_size": parse_ints(kernel_size, "--kernel-size"),
        "stride": parse_ints(stride, "--stride"),
        "padding": parse_padding(padding, "--padding"),
        "dilation": parse_ints(dilation, "--dilation"),
        "output_padding": parse_ints(output_padding, "--output-padding"),
    }
    c_in = None if in_channels is None else parse_int(in_channels, "--in-channels")
    sources = [] if dims is None else [(dims_by or "--dims", dims)]
    if weight_dims is not None:
        sources.append(("--weight-file", weight_dims))
    fixed = _fixed_dims(values, sources)
    reading = None
    if input_shape is not None:
        reading = interpret(input_shape, fixed[0] if fixed else None,
                            fixed[1] if fixed else None, c_in, transposed)
        dims = reading.reading.dims
        if c_in is None and len(input_shape) in (dims + 1, dims + 2):
            c_in = reading.reading.channels(input_shape)
    else:
        dims = fixed[0] if fixed else 2
    if c_in is None:
        if input_shape is None:
            raise ConvError("--in-channels is required without an input shape, e.g. -i 64")
        c_in = 1  # the rank is wrong for --dims; ConvSpec.check_input says how
    spec = ConvSpec(dims=dims, in_channels=c_in,
                    out_channels=parse_int(out_channels, "--out-channels"),
                    groups=parse_int(groups, "--groups"), bias=bias,
                    padding_mode=padding_mode.strip().lower(), transposed=transposed,
                    **values)
    return spec, reading
