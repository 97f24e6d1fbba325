"""Command-line text -> a validated ConvSpec, and how INPUT's rank was read.

A conv with d spatial dims takes a batched (N, C, *d sizes) or an unbatched
(C, *d sizes) input, so a rank-3 shape is an unbatched 2d input or a batched 1d one,
and a rank-4 shape a batched 2d input or an unbatched 3d one. The rule, the same in
every command that takes a shape:

1. ``--dims`` decides; else a tuple option's length (``-k 3,5`` is 2d);
2. else an ``-i`` that fits only one reading's channel dim;
3. else the rank alone, 2 spatial dims first (then the only reading that fits).

``Interpretation`` records the reading, what decided it and the other reading the
rank allows; when the rank alone decided and another reading was possible, its
``note`` says which reading was used and how to get the other. Every message names
the option. Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from typing import Any

from convcli.calculator.parse import parse_int, parse_ints, parse_padding
from convcli.calculator.shapes import spatial_names
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
        """For people, when the rank alone decided and another reading was possible,
        or -i chose the reading the rank alone would not have: which reading was used
        and how to get the other."""
        alt = self.alternative
        if alt is None and self.decided_by == "rank" and len(self.shape) == 2:
            # 2 dims can only be one (C, L) sequence; an image without its channel dim
            # (224x224) reads as 224 channels of length 224, so say so
            kind = f"{KIND_NAMES[transposed]}1d"
            h, w = self.shape
            return (f"read {shape_x(self.shape)} as {self.reading.describe(self.shape)} for "
                    f"a {kind}; a 2-d conv needs the channels too: 1x{h}x{w} for one "
                    "gray image")
        if alt is None or self.decided_by not in ("rank", "--in-channels") or (
                self.decided_by == "--in-channels"
                and readings(len(self.shape))[0] == self.reading):
            return None
        kind = f"{KIND_NAMES[transposed]}{self.reading.dims}d"
        why = (f" (--in-channels {self.reading.channels(self.shape)} fits its C)"
               if self.decided_by == "--in-channels" else "")
        return (f"read {shape_x(self.shape)} as {self.reading.describe(self.shape)} for a "
                f"{kind}{why}; for {alt.describe(self.shape)} use --dims {alt.dims}")

    def as_dict(self, transposed: bool = False) -> dict:
        return {"dims": self.reading.dims, "batched": self.reading.batched,
                "layout": self.reading.layout, "decided_by": self.decided_by,
                "alternative": None if self.alternative is None else self.alternative.as_dict(),
                "note": self.note(transposed)}


def interpret(input_shape: Sequence[int], dims: int | None, decided_by: str | None,
              in_channels: int | None) -> Interpretation:
    """Read INPUT's rank. ``dims``/``decided_by``: the dims an option fixed and which
    option ('--dims' or a tuple option), or None; ``in_channels``: -i if given."""
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
        elif not fits and len(options) > 1:
            a, b = options
            raise ConvError(
                f"--in-channels {in_channels} fits no reading of INPUT {shape_x(shape)}: as "
                f"({a.layout}) it has {a.channels(shape)} channels, as ({b.layout}) "
                f"{b.channels(shape)}; set -i to one of them")
    alt = next((r for r in options if r != reading), None)
    return Interpretation(shape, reading, how, alt)


def _fixed_dims(values: dict) -> tuple[int, str] | None:
    """Spatial dims from a tuple option's length, and that option's name."""
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, tuple)}
    if len(set(lengths.values())) > 1:
        raise ConvError("tuple options disagree on the number of spatial dims: " + ", ".join(
            f"--{n.replace('_', '-')} has {k}" for n, k in lengths.items()))
    if not lengths:
        return None
    name, dims = next(iter(lengths.items()))
    if dims not in (1, 2, 3):
        raise ConvError(f"--{name.replace('_', '-')} has {dims} entries; convolutions "
                        "have 1, 2 or 3 spatial dims, one entry each")
    return dims, "--" + name.replace("_", "-")


def read_spec(*, out_channels: str, kernel_size: str, in_channels: str | None = None,
              stride: str = "1", padding: str = "0", dilation: str = "1",
              groups: str = "1", bias: bool = True, padding_mode: str = "zeros",
              transposed: bool = False, output_padding: str = "0",
              dims: int | None = None, input_shape: Sequence[int] | None = None,
              dims_by: str | None = None) -> tuple[ConvSpec, Interpretation | None]:
    """CLI strings -> a validated ConvSpec (dims and in_channels read from INPUT when
    not given) and how INPUT was read (None without an input)."""
    values: dict[str, Any] = {
        "kernel_size": parse_ints(kernel_size, "--kernel-size"),
        "stride": parse_ints(stride, "--stride"),
        "padding": parse_padding(padding, "--padding"),
        "dilation": parse_ints(dilation, "--dilation"),
        "output_padding": parse_ints(output_padding, "--output-padding"),
    }
    c_in = None if in_channels is None else parse_int(in_channels, "--in-channels")
    fixed = (dims, dims_by or "--dims") if dims is not None else _fixed_dims(values)
    reading = None
    if input_shape is not None:
        reading = interpret(input_shape, fixed[0] if fixed else None,
                            fixed[1] if fixed else None, c_in)
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


def spec_from_text(**kwargs: Any) -> ConvSpec:
    """CLI strings -> a validated ConvSpec (``read_spec`` without the reading)."""
    return read_spec(**kwargs)[0]
