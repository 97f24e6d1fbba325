"""Command-line text -> a validated ConvSpec: how INPUT's rank and the options are
read (the number of spatial dims, in_channels taken from INPUT).

``spec_from_text`` takes the conv options as the strings the user typed; every
message names the option. Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing import Any

from convcli.calculator.parse import parse_int, parse_ints, parse_padding
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError
from convcli.formatting import shape_x


def _dims_from(values: dict, input_shape) -> int:
    """Spatial dims from a tuple option's length, else INPUT's rank as batched, else 2."""
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, tuple)}
    if len(set(lengths.values())) > 1:
        raise ConvError("tuple options disagree on the number of spatial dims: " + ", ".join(
            f"--{n.replace('_', '-')} has {k}" for n, k in lengths.items()))
    if lengths:
        dims = next(iter(lengths.values()))
        if dims not in (1, 2, 3):
            name, n = next(iter(lengths.items()))
            raise ConvError(f"--{name.replace('_', '-')} has {n} entries; convolutions "
                            "have 1, 2 or 3 spatial dims, one entry each")
        return dims
    if input_shape is not None:
        dims = len(input_shape) - 2
        if dims not in (1, 2, 3):
            raise ConvError(
                f"INPUT {shape_x(input_shape)} has {len(input_shape)} dims; a "
                f"batched conv input has 3 to 5 (N, C, *spatial). For an unbatched input "
                f"give --dims")
        return dims
    return 2


def _in_channels(text: str | None, input_shape, dims: int) -> int:
    if text is not None:
        return parse_int(text, "--in-channels")
    if input_shape is None:
        raise ConvError("--in-channels is required without an input shape, e.g. -i 64")
    if len(input_shape) in (dims + 1, dims + 2):
        return input_shape[1] if len(input_shape) == dims + 2 else input_shape[0]
    return 1  # the rank is wrong; ConvSpec.check_input says how


def spec_from_text(*, out_channels: str, kernel_size: str, in_channels: str | None = None,
                   stride: str = "1", padding: str = "0", dilation: str = "1",
                   groups: str = "1", bias: bool = True, padding_mode: str = "zeros",
                   transposed: bool = False, output_padding: str = "0",
                   dims: int | None = None,
                   input_shape: Sequence[int] | None = None) -> ConvSpec:
    """CLI strings -> a validated ConvSpec (inferring dims and in_channels)."""
    values: dict[str, Any] = {
        "kernel_size": parse_ints(kernel_size, "--kernel-size"),
        "stride": parse_ints(stride, "--stride"),
        "padding": parse_padding(padding, "--padding"),
        "dilation": parse_ints(dilation, "--dilation"),
        "output_padding": parse_ints(output_padding, "--output-padding"),
    }
    if dims is None:
        dims = _dims_from(values, input_shape)
    return ConvSpec(dims=dims, in_channels=_in_channels(in_channels, input_shape, dims),
                    out_channels=parse_int(out_channels, "--out-channels"),
                    groups=parse_int(groups, "--groups"), bias=bias,
                    padding_mode=padding_mode.strip().lower(), transposed=transposed,
                    **values)
