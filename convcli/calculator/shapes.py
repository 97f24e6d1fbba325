"""The forward rules of a ConvSpec: which inputs torch accepts, and the output size
per spatial dim with the formula written out.

    conv:        L_out = floor((L + p_left + p_right - dil*(k-1) - 1) / s) + 1
    transposed:  L_out = (L-1)*s - 2p + dil*(k-1) + output_padding + 1

Functions of a ConvSpec (its methods call them). Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcli.calculator.ints import is_int
from convcli.errors import ConvError
from convcli.formatting import shape_x

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

Ints = tuple[int, ...]


def spatial_names(d: int) -> str:
    """'L' | 'H, W' | 'D, H, W'."""
    return ", ".join(("L",) if d == 1 else ("H", "W") if d == 2 else ("D", "H", "W"))


@dataclass(frozen=True)
class DimExplanation:
    """How one spatial dim's output size is computed, numbers substituted."""

    dim: int
    size_in: int
    kernel: int
    stride: int
    dilation: int
    pad_left: int
    pad_right: int
    output_padding: int
    size_out: int
    formula: str
    note: str = ""



def check_input(spec: ConvSpec, input_shape: Sequence[int]) -> bool:
    """Validate an input shape; return True when it is batched (N, C, *L)."""
    shape = tuple(input_shape)
    if not all(is_int(n) for n in shape):
        raise ConvError(f"input shape {shape}: every size must be a whole number")
    d = spec.dims
    if len(shape) not in (d + 1, d + 2):
        raise ConvError(
            f"input shape {shape_x(shape)} has {len(shape)} dims but {spec.kind_name} takes "
            f"{d + 2} (N, C, {spatial_names(d)}) or {d + 1} unbatched "
            f"(C, {spatial_names(d)}); "
            + (f"for a {len(shape) - 2}d conv use --dims {len(shape) - 2}"
               if 3 <= len(shape) <= 5 else "check the input shape")
        )
    batched = len(shape) == d + 2
    if any(n < 0 for n in shape):
        raise ConvError(f"input shape {shape_x(shape)}: sizes cannot be negative")
    channels = shape[1] if batched else shape[0]
    if channels != spec.in_channels:
        raise ConvError(
            f"input has {channels} channels (dim {1 if batched else 0} of {shape_x(shape)}) but "
            f"in_channels={spec.in_channels}; set in_channels={channels} or feed "
            f"{spec.in_channels} channels"
        )
    if batched and shape[0] == 0:
        raise ConvError(
            f"input shape {shape_x(shape)} has an empty batch (N=0); torch skips most "
            "checks for it, so convcli treats it as undefined: use N >= 1"
        )
    spatial = shape[-d:]
    for i, n in enumerate(spatial):
        if n == 0:
            raise ConvError(
                f"input shape {shape_x(shape)}: spatial dim {i} is 0; torch rejects empty "
                "spatial dims for a non-empty batch"
            )
    if not spec.transposed and spec.padding_mode != "zeros":
        for i, (n, (pl, pr)) in enumerate(zip(spatial, spec.padding_pairs)):
            if spec.padding_mode == "reflect" and max(pl, pr) >= n:
                raise ConvError(
                    f"padding_mode='reflect': padding {max(pl, pr)} on spatial dim {i} "
                    f"must be smaller than its size {n}; reflect mirrors the inside, "
                    f"so use padding <= {n - 1} or padding_mode='replicate'"
                )
            if spec.padding_mode == "circular" and max(pl, pr) > n:
                raise ConvError(
                    f"padding_mode='circular': padding {max(pl, pr)} on spatial dim {i} "
                    f"is larger than its size {n}; it can wrap around at most once, "
                    f"so use padding <= {n}"
                )
    return batched

def output_shape(spec: ConvSpec, input_shape: Sequence[int]) -> Ints:
    """torch's output shape for this input, batched or unbatched; ConvError where
    every forward pass of torch would fail."""
    batched = check_input(spec, input_shape)
    out_spatial = tuple(e.size_out for e in _explain(spec, tuple(input_shape)))
    head = (input_shape[0], spec.out_channels) if batched else (spec.out_channels,)
    return head + out_spatial

def explain(spec: ConvSpec, input_shape: Sequence[int]) -> list[DimExplanation]:
    """Per spatial dim: the formula with the numbers substituted."""
    check_input(spec, input_shape)
    return _explain(spec, tuple(input_shape))

def _explain(spec: ConvSpec, shape: Ints) -> list[DimExplanation]:
    d = spec.dims
    out = []
    for i, (n, k, s, dl, (pl, pr), op) in enumerate(zip(
            shape[-d:], spec.kernel_size, spec.stride, spec.dilation,
            spec.padding_pairs, spec.output_padding)):
        span = dl * (k - 1) + 1
        if spec.transposed:
            size = (n - 1) * s - 2 * pl + dl * (k - 1) + op + 1
            formula = f"({n}-1)*{s}-2*{pl}+{dl}*({k}-1)+{op}+1"
            if size < 1:
                raise ConvError(
                    f"{spec.kind_name} on spatial dim {i} (size {n}) would give an output "
                    f"size of {size}: {formula} = {size}; reduce padding to at most "
                    f"{max(0, ((n - 1) * s + dl * (k - 1) + op) // 2)} or use a larger "
                    "kernel or stride"
                )
            note = ""
        else:
            padded = n + pl + pr
            if padded < span:
                what = f"kernel {k}" + (f" with dilation {dl} spans {span}" if dl != 1 else "")
                raise ConvError(
                    f"spatial dim {i}: the padded input is {padded} "
                    f"({n} + {pl} + {pr}) but the {what}; the window must fit: "
                    f"use padding >= {-(-(span - n) // 2)}, a smaller kernel"
                    + (" or dilation" if dl != 1 else "") + f", or an input of at least {span - pl - pr}"
                )
            size = (padded - span) // s + 1
            formula = f"floor(({n}+{pl}+{pr}-{dl}*({k}-1)-1)/{s})+1"
            dropped = (padded - span) % s
            note = ""
            if spec.padding == "same" and pl != pr:
                note = f"'same' pads {pl} before and {pr} after (the odd one goes at the end)"
            elif dropped:
                note = f"the last {dropped} padded position(s) are never covered by a window"
        out.append(DimExplanation(i, n, k, s, dl, pl, pr, op, size, formula, note))
    return out

