"""The forward rules of a ConvSpec: which inputs torch accepts, and the output size
per spatial dim (with the formula written out, for ``explain``).

    conv:        L_out = floor((L + p_left + p_right - dil*(k-1) - 1) / s) + 1
    transposed:  L_out = (L-1)*s - 2p + dil*(k-1) + output_padding + 1

The rules are torch's, measured with real CPU forward passes (torch-conv-rules.md):
- a non-'zeros' padding_mode pads with F.pad first, so a negative padding crops
  (reflect/replicate must leave at least one element, circular may leave none) and
  reflect/replicate refuse any empty non-batch dim;
- an *empty* input (N = 0, or in_channels = 0) goes to torch's empty backend, which
  runs the shape checks (channels, the window fitting the padded input, a transposed
  output size >= 0) but skips the kernel checks (empty spatial dims, a transposed
  conv's output_padding bound and its exactly-0 output size); with in_channels = 0
  the output has 0 channels. ``notes`` says so where it changes the answer.

``output_shape`` is the sizes-only path (no formula strings, no per-dim objects);
``explain`` runs the same checks, then writes the formulas. Both raise the same
ConvError. Functions of a ConvSpec (its methods call them). Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcli.calculator.ints import MAX_SIZE, is_int
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
    """Validate an input shape (rank, sizes, channels, what its padding_mode needs;
    not yet whether the window fits); return True when it is batched (N, C, *L)."""
    shape = _checked(spec, input_shape)
    _input_rules(spec, shape)
    return len(shape) == spec.dims + 2


def output_shape(spec: ConvSpec, input_shape: Sequence[int]) -> Ints:
    """torch's output shape for this input, batched or unbatched; ConvError where
    every forward pass of torch would fail."""
    shape = _checked(spec, input_shape)
    sizes = _sizes(spec, shape)
    if len(shape) == spec.dims + 2:
        return (shape[0], spec.out_channels if shape[1] else 0) + sizes
    return (spec.out_channels if shape[0] else 0,) + sizes


def explain(spec: ConvSpec, input_shape: Sequence[int]) -> list[DimExplanation]:
    """Per spatial dim: the formula with the numbers substituted."""
    shape = _checked(spec, input_shape)
    sizes = _sizes(spec, shape)
    d = spec.dims
    out = []
    for i, (n, k, s, dl, (pl, pr), op, size) in enumerate(zip(
            shape[-d:], spec.kernel_size, spec.stride, spec.dilation,
            spec.padding_pairs, spec.output_padding, sizes)):
        note = ""
        if spec.transposed:
            formula = _transposed_formula(n, k, s, dl, pl, op)
        else:
            formula = f"floor(({n}{pl:+d}{pr:+d}-{dl}*({k}-1)-1)/{s})+1"
            dropped = (n + pl + pr - dl * (k - 1) - 1) % s
            if spec.padding == "same" and pl != pr:
                note = f"'same' pads {pl} before and {pr} after (the odd one goes at the end)"
            elif pl < 0 or pr < 0:
                note = (f"padding_mode={spec.padding_mode!r} pads with F.pad: a negative "
                        f"padding crops ({n} -> {n + pl + pr})")
            elif dropped:
                note = f"the last {dropped} padded position(s) are never covered by a window"
        out.append(DimExplanation(i, n, k, s, dl, pl, pr, op, size, formula, note))
    return out


def notes(spec: ConvSpec, input_shape: Sequence[int]) -> list[str]:
    """What torch does differently for this input than for an ordinary one: an
    empty batch or no input channels (its checks skipped), a negative padding that
    crops. Empty for an ordinary input."""
    shape = _checked(spec, input_shape)
    batched = len(shape) == spec.dims + 2
    channels = shape[1] if batched else shape[0]
    out = []
    if channels == 0:
        out.append(f"in_channels=0: torch returns 0 output channels, not "
                   f"out_channels={spec.out_channels} (no input channel is convolved, no "
                   "bias added)")
    elif batched and shape[0] == 0:
        try:
            output_shape(spec, (1,) + shape[1:])
        except ConvError as e:
            out.append("empty batch: torch skips its kernel checks for N=0 and answers this "
                       f"shape; with N >= 1 this conv fails: {e}")
    if spec.padding_mode != "zeros" and any(min(p) < 0 for p in spec.padding_pairs):
        out.append(f"negative padding crops: padding_mode={spec.padding_mode!r} pads with "
                   "F.pad, which removes elements where the padding is negative")
    return out


# ---- the checks, in torch's order ------------------------------------------------

def _checked(spec: ConvSpec, input_shape: Sequence[int]) -> Ints:
    """The input as a tuple of sizes of the right rank whose channels match."""
    shape = input_shape if type(input_shape) is tuple else tuple(input_shape)
    for n in shape:
        if type(n) is not int and not is_int(n):
            raise ConvError(f"input shape {shape}: every size must be a whole number")
    d = spec.dims
    rank = len(shape)
    if rank != d + 2 and rank != d + 1:
        raise ConvError(
            f"input shape {shape_x(shape)} has {rank} dims but {spec.kind_name} takes "
            f"{d + 2} (N, C, {spatial_names(d)}) or {d + 1} unbatched "
            f"(C, {spatial_names(d)}); "
            + (f"for a {rank - 2}d conv use --dims {rank - 2}"
               if 3 <= rank <= 5 else "check the input shape")
        )
    if min(shape) < 0:
        raise ConvError(f"input shape {shape_x(shape)}: sizes cannot be negative")
    if max(shape) > MAX_SIZE:
        raise ConvError(f"input shape: a size of about 2**{max(shape).bit_length() - 1}; torch "
                        f"sizes are 64-bit integers, at most {MAX_SIZE:,}")
    batched = rank == d + 2
    channels = shape[1] if batched else shape[0]
    if channels != spec.in_channels:
        raise ConvError(
            f"input has {channels} channels (dim {1 if batched else 0} of {shape_x(shape)}) but "
            f"in_channels={spec.in_channels}; set in_channels={channels} or feed "
            f"{spec.in_channels} channels"
        )
    return shape


def _input_rules(spec: ConvSpec, shape: Ints) -> bool:
    """F.pad's rules for the padding_mode, and no empty spatial dim in a non-empty
    input; returns whether the input is empty (N = 0 or C = 0)."""
    d = spec.dims
    spatial = shape[-d:]
    empty = (shape[1] == 0 or shape[0] == 0) if len(shape) == d + 2 else shape[0] == 0
    if spec.padding_mode != "zeros":
        _check_padding_mode(spec, shape, spatial)
    if not empty and 0 in spatial:
        raise ConvError(
            f"input shape {shape_x(shape)}: spatial dim {spatial.index(0)} is 0; torch "
            "rejects empty spatial dims for a non-empty batch"
        )
    return empty


def _sizes(spec: ConvSpec, shape: Ints) -> Ints:
    """The output's spatial sizes; ConvError where torch's forward fails."""
    empty = _input_rules(spec, shape)
    spatial = shape[-spec.dims:]
    if spec.transposed:
        return _transposed_sizes(spec, spatial, empty)
    out = []
    for i, (n, k, s, dl, (pl, pr)) in enumerate(zip(
            spatial, spec.kernel_size, spec.stride, spec.dilation, spec.padding_pairs)):
        span = dl * (k - 1) + 1
        padded = n + pl + pr
        if padded < span:
            what = f"kernel {k}" + (f" with dilation {dl} spans {span}" if dl != 1 else "")
            raise ConvError(
                f"spatial dim {i}: the padded input is {padded} "
                f"({n} {'+' if pl >= 0 else '-'} {abs(pl)} {'+' if pr >= 0 else '-'} "
                f"{abs(pr)}) but the {what}; the window must fit: "
                f"use padding >= {-(-(span - n) // 2)}, a smaller kernel"
                + (" or dilation" if dl != 1 else "")
                + f", or an input of at least {span - pl - pr}"
            )
        out.append((padded - span) // s + 1)
    return tuple(out)


def _transposed_sizes(spec: ConvSpec, spatial: Ints, empty: bool) -> Ints:
    out = []
    for i, (n, k, s, dl, (p, _), op) in enumerate(zip(
            spatial, spec.kernel_size, spec.stride, spec.dilation, spec.padding_pairs,
            spec.output_padding)):
        if not empty and not (op < s or op < dl):
            raise ConvError(
                f"output_padding={tuple(spec.output_padding)}: dim {i} is {op} but it "
                f"must be smaller than stride ({s}) or dilation ({dl}); use "
                f"output_padding <= {max(s, dl) - 1}")
        size = (n - 1) * s - 2 * p + dl * (k - 1) + op + 1
        if size < 0 or (size == 0 and not empty):
            formula = _transposed_formula(n, k, s, dl, p, op)
            raise ConvError(
                f"{spec.kind_name} on spatial dim {i} (size {n}) would give an output "
                f"size of {size}: {formula} = {size}; reduce padding to at most "
                f"{max(0, ((n - 1) * s + dl * (k - 1) + op) // 2)} or use a larger "
                "kernel or stride"
            )
        out.append(size)
    return tuple(out)


def _transposed_formula(n: int, k: int, s: int, dl: int, p: int, op: int) -> str:
    return f"({n}-1)*{s}-2*{p}+{dl}*({k}-1)+{op}+1"


def _check_padding_mode(spec: ConvSpec, shape: Ints, spatial: Ints) -> None:
    """F.pad's rules for reflect, replicate and circular (non-transposed convs)."""
    mode = spec.padding_mode
    if mode != "circular":
        nonbatch = shape[1:] if len(shape) == spec.dims + 2 else shape
        if 0 in nonbatch:
            what = ("in_channels=0" if nonbatch[0] == 0 else
                    f"spatial dim {spatial.index(0)} is 0")
            raise ConvError(
                f"padding_mode={mode!r}: {what} in {shape_x(shape)}; F.pad's {mode} mode "
                "needs every dim but the batch to be at least 1: use padding_mode='zeros' "
                "or a non-empty input")
    for i, (n, (pl, pr)) in enumerate(zip(spatial, spec.padding_pairs)):
        most = max(pl, pr)
        if mode == "reflect" and most >= n:
            raise ConvError(
                f"padding_mode='reflect': padding {most} on spatial dim {i} "
                f"must be smaller than its size {n}; reflect mirrors the inside, "
                f"so use padding <= {n - 1} or padding_mode='replicate'"
            )
        if mode == "circular" and most > n:
            raise ConvError(
                f"padding_mode='circular': padding {most} on spatial dim {i} "
                f"is larger than its size {n}; it can wrap around at most once, "
                f"so use padding <= {n}"
            )
        least = 0 if mode == "circular" else 1
        if n + pl + pr < least:
            raise ConvError(
                f"padding_mode={mode!r}: padding {pl},{pr} on spatial dim {i} crops its "
                f"{n} element(s) to {n + pl + pr}; F.pad must leave at least {least}: use "
                f"padding >= {-((n - least) // 2)}")
