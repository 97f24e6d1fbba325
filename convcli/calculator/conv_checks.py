"""Where torch refuses a convolution, and the message that says so: the rules a
ConvSpec checks when it is built (torch's constructor: channels and groups, padding,
output_padding) and when it is given an input (torch's forward: rank, channels, the
padding_mode's F.pad, the window fitting the padded input, a transposed conv's output
size and output_padding). Each raises ConvError with the rule in plain words and how to
fix it; spec.py calls them only when a value is unusual, so the common case stays fast.

The rules are torch's, measured with real CPU forward passes (torch-conv-rules.md):
- a non-'zeros' padding_mode pads with F.pad first, so a negative padding crops
  (reflect/replicate must leave at least one element, circular may leave none) and
  reflect/replicate refuse any empty non-batch dim;
- an *empty* input (N = 0, or in_channels = 0) goes to torch's empty backend, which
  runs the shape checks (channels, the window fitting the padded input, a transposed
  output size >= 0) but skips the kernel checks (empty spatial dims, a transposed
  conv's output_padding bound and its exactly-0 output size); with in_channels = 0
  the output has 0 channels (explain.py's ``notes`` says so).

Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from convcli.calculator.ints import MAX_SIZE, check_int64, is_int, per_dim_tuple
from convcli.errors import ConvError
from convcli.formatting import per_dim, shape_x, spatial_names

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

Ints = tuple[int, ...]


# ---- construction (torch's constructor) -------------------------------------------

def check_scalars(spec: ConvSpec) -> None:
    if type(spec.dims) is not int or spec.dims not in (1, 2, 3):
        if not is_int(spec.dims) or spec.dims not in (1, 2, 3):
            raise ConvError(f"dims={spec.dims!r}: convolutions have 1, 2 or 3 spatial dims")
    for name in ("in_channels", "out_channels", "groups"):
        v = getattr(spec, name)
        if type(v) is not int:
            if not is_int(v):
                raise ConvError(f"{name}={v!r}: expected a whole number")
        if v > MAX_SIZE or v < -MAX_SIZE:
            check_int64(name, v)
    if type(spec.bias) is not bool or type(spec.transposed) is not bool:
        for name in ("bias", "transposed"):
            if not isinstance(getattr(spec, name), bool):
                raise ConvError(f"{name}={getattr(spec, name)!r}: expected True or False")


def check_channels(spec: ConvSpec) -> None:
    for name in ("in_channels", "out_channels"):
        v = getattr(spec, name)
        if v < 0 or (v == 0 and (name == "out_channels" or spec.transposed)):
            raise ConvError(
                f"{name}={v}: a {spec.kind_name} needs at least 1 "
                + ("channel (torch fails with 'negative dimension')" if v < 0 else
                   f"{'output' if name == 'out_channels' else 'input'} channel (torch "
                   "builds it, but every forward pass fails: its weight has no rows)"))
    g = spec.groups
    if g <= 0:
        raise ConvError(f"groups={g}: groups must be a positive whole number")
    if spec.in_channels % g or spec.out_channels % g:
        from convcli.calculator.groups import valid_groups_text   # a refusal's only
        name = "in_channels" if spec.in_channels % g else "out_channels"
        raise ConvError(
            f"groups={g}: {name}={getattr(spec, name)} is not divisible by groups; each "
            f"group needs whole channels. Valid groups for "
            f"{spec.in_channels}->{spec.out_channels}: "
            f"{valid_groups_text(spec.in_channels, spec.out_channels)}")


def normalised_padding(spec: ConvSpec) -> str | Ints:
    """'same' stays a word, 'valid' becomes zeros, numbers become a d-tuple. A
    negative padding crops with a non-'zeros' padding_mode (F.pad); torch refuses
    it in 'zeros' mode (and transposed convs have only that)."""
    padding: object = spec.padding
    if isinstance(padding, str):
        text = padding
        object.__setattr__(spec, "padding_text", text)
        if spec.transposed:
            raise ConvError(
                f"padding={text!r}: a transposed conv takes only whole-number padding "
                "(torch fails with a TypeError); to keep the size with stride 1 use "
                "padding=(k-1)//2 for odd kernels")
        if text == "same":
            if any(s != 1 for s in spec.stride):
                raise ConvError(
                    f"padding='same' needs stride 1, got stride={spec.stride}; for "
                    f"ceil(L/s) outputs use padding={same_hint(spec)}")
            return "same"
        if text != "valid":
            raise ConvError(
                f"padding={text!r}: the only padding strings are 'same' and 'valid'; "
                "otherwise give a number or a tuple")
        padding = 0
    pads = per_dim_tuple("padding", padding, spec.dims)
    if min(pads) < 0 or max(pads) > MAX_SIZE:
        check_int64("padding", pads)
        if spec.padding_mode == "zeros":
            i = next(i for i, v in enumerate(pads) if v < 0)
            raise ConvError(
                f"padding={_show(pads)}: dim {i} is {pads[i]}; padding cannot be "
                "negative with padding_mode='zeros' (to crop, slice the input first, "
                "or use padding_mode='reflect', 'replicate' or 'circular', which crop)")
    return pads


def check_output_padding(spec: ConvSpec) -> None:
    """Construction rules only: output_padding < stride or dilation is a forward
    rule (torch skips it for an empty batch), ConvSpec.output_sizes."""
    if not spec.transposed:
        if any(spec.output_padding):
            raise ConvError(
                f"output_padding={_show(spec.output_padding)}: only a transposed conv "
                "takes output_padding; add --transposed or drop it")
        return
    if spec.padding_mode != "zeros":
        raise ConvError(
            f"padding_mode={spec.padding_mode!r}: a transposed conv only supports "
            "'zeros'; pad the input with F.pad first if you need another mode")
    for i, op in enumerate(spec.output_padding):
        if op < 0:
            raise ConvError(f"output_padding={_show(spec.output_padding)}: dim {i} is "
                            f"{op}; it cannot be negative")


def at_least_one(name: str, value: object, d: int) -> Ints:
    """A kernel_size, stride or dilation as a d-tuple of values >= 1 (else the
    message)."""
    t = per_dim_tuple(name, value, d)
    if min(t) < 1 or max(t) > MAX_SIZE:
        check_int64(name, t)
        i = next(i for i, x in enumerate(t) if x < 1)
        raise ConvError(f"{name}={_show(t)}: dim {i} is {t[i]}; every {name} must be at "
                        "least 1 (torch fails every forward pass on a non-empty input with it)")
    return t


def same_hint(spec: ConvSpec) -> str:
    return per_dim(dl * (k - 1) // 2 for k, dl in zip(spec.kernel_size, spec.dilation))


def _show(t: Sequence[int]) -> str:
    return str(tuple(t))


# ---- an input (torch's forward) -------------------------------------------------

def checked_input(spec: ConvSpec, input_shape: Sequence[int]) -> Ints:
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
        unbatched = "" if batched else f", read unbatched as (C, {spatial_names(d)})"
        lower = (f"; for a batched {rank - 2}d input use a {rank - 2}d conv"
                 if not batched and 1 <= rank - 2 and shape[1] == spec.in_channels else "")
        raise ConvError(
            f"input has {channels} channels (dim {1 if batched else 0} of {shape_x(shape)}"
            f"{unbatched}) but in_channels={spec.in_channels}; set in_channels={channels} or "
            f"feed {spec.in_channels} channels{lower}"
        )
    return shape


def check_input(spec: ConvSpec, input_shape: Sequence[int]) -> bool:
    """Validate an input shape (rank, sizes, channels, what its padding_mode needs;
    not yet whether the window fits); return True when it is batched (N, C, *L)."""
    shape = checked_input(spec, input_shape)
    input_rules(spec, shape)
    return len(shape) == spec.dims + 2


def input_rules(spec: ConvSpec, shape: Ints) -> bool:
    """F.pad's rules for the padding_mode, and no empty spatial dim in a non-empty
    input; returns whether the input is empty (N = 0 or C = 0)."""
    d = spec.dims
    spatial = shape[-d:]
    empty = (shape[1] == 0 or shape[0] == 0) if len(shape) == d + 2 else shape[0] == 0
    if spec.padding_mode != "zeros":
        _padding_mode(spec, shape, spatial)
    if not empty and 0 in spatial:
        raise ConvError(
            f"input shape {shape_x(shape)}: spatial dim {spatial.index(0)} is 0; torch "
            "rejects empty spatial dims for a non-empty batch"
        )
    return empty


def window_too_large(i: int, n: int, k: int, dl: int, pl: int, pr: int) -> ConvError:
    """Spatial dim i's padded input is smaller than the (dilated) kernel."""
    span = dl * (k - 1) + 1
    padded = n + pl + pr
    what = f"kernel {k}" + (f" with dilation {dl} spans {span}" if dl != 1 else "")
    return ConvError(
        f"spatial dim {i}: the padded input is {padded} "
        f"({n} {'+' if pl >= 0 else '-'} {abs(pl)} {'+' if pr >= 0 else '-'} "
        f"{abs(pr)}) but the {what}; the window must fit: "
        f"use padding >= {-(-(span - n) // 2)}, a smaller kernel"
        + (" or dilation" if dl != 1 else "")
        + f", or an input of at least {span - pl - pr}"
    )


def output_padding_too_large(spec: ConvSpec, i: int, op: int, s: int, dl: int) -> ConvError:
    return ConvError(
        f"output_padding={tuple(spec.output_padding)}: dim {i} is {op} but it "
        f"must be smaller than stride ({s}) or dilation ({dl}); use "
        f"output_padding <= {max(s, dl) - 1}")


def transposed_too_small(spec: ConvSpec, i: int, n: int, k: int, s: int, dl: int, p: int,
                         op: int, size: int) -> ConvError:
    formula = transposed_formula(n, k, s, dl, p, op)
    return ConvError(
        f"{spec.kind_name} on spatial dim {i} (size {n}) would give an output "
        f"size of {size}: {formula} = {size}; reduce padding to at most "
        f"{max(0, ((n - 1) * s + dl * (k - 1) + op) // 2)} or use a larger "
        "kernel or stride"
    )


def transposed_formula(n: int, k: int, s: int, dl: int, p: int, op: int) -> str:
    return f"({n}-1)*{s}-2*{p}+{dl}*({k}-1)+{op}+1"


def _padding_mode(spec: ConvSpec, shape: Ints, spatial: Ints) -> None:
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
