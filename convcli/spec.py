"""ConvSpec: one convolution layer as torch would build it, validated once.

A ConvSpec raises ConvError exactly where torch would reject the module
(construction) or every forward pass (``output_shape``), with a message that says
the rule in plain words and how to fix it. The shape formulas are torch's:

    conv:        L_out = floor((L + p_left + p_right - dil*(k-1) - 1) / s) + 1
    transposed:  L_out = (L-1)*s - 2p + dil*(k-1) + output_padding + 1

Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from convcli.errors import ConvError

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
KIND_NAMES = {False: "Conv", True: "ConvTranspose"}

Ints = tuple[int, ...]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _tuple(name: str, value, dims: int) -> Ints:
    """Broadcast an int to a dims-tuple; a sequence must have exactly dims entries."""
    if _is_int(value):
        return (value,) * dims
    if isinstance(value, (tuple, list)):
        if not all(_is_int(v) for v in value):
            raise ConvError(f"{name}={value!r}: every entry must be a whole number")
        if len(value) != dims:
            _wrong_length(name, value, dims)
        return tuple(value)
    raise ConvError(f"{name}={value!r}: expected a whole number or a tuple of {dims}")


def _wrong_length(name: str, value, dims: int):
    raise ConvError(
        f"{name}={tuple(value)} has {len(value)} entries but a {dims}d conv needs "
        f"{dims}; give one number for all spatial dims or a {dims}-tuple"
    )


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


@dataclass(frozen=True)
class ConvSpec:
    """A Conv{1,2,3}d or ConvTranspose{1,2,3}d with torch's argument names.

    Ints broadcast to d-tuples; after construction every tuple-valued field is a
    d-tuple (``padding`` may also be the string 'same'; 'valid' becomes zeros).
    """

    dims: int
    in_channels: int
    out_channels: int
    kernel_size: int | Ints
    stride: int | Ints = 1
    padding: int | str | Ints = 0
    dilation: int | Ints = 1
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"
    transposed: bool = False
    output_padding: int | Ints = 0
    # the user's own padding string, kept for messages ('valid' normalises to 0)
    padding_text: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        set_ = object.__setattr__
        if not _is_int(self.dims) or self.dims not in (1, 2, 3):
            raise ConvError(f"dims={self.dims!r}: convolutions have 1, 2 or 3 spatial dims")
        d = self.dims
        for name in ("in_channels", "out_channels", "groups"):
            if not _is_int(getattr(self, name)):
                raise ConvError(f"{name}={getattr(self, name)!r}: expected a whole number")
        if not isinstance(self.bias, bool):
            raise ConvError(f"bias={self.bias!r}: expected True or False")
        if not isinstance(self.transposed, bool):
            raise ConvError(f"transposed={self.transposed!r}: expected True or False")
        kind = self.kind_name
        for name in ("in_channels", "out_channels"):
            v = getattr(self, name)
            if v <= 0:
                raise ConvError(
                    f"{name}={v}: a {kind} needs at least 1 channel "
                    + ("(torch fails with 'negative dimension')" if v < 0 else
                       "(torch would build a layer that produces or reads nothing)")
                )
        if self.groups <= 0:
            raise ConvError(f"groups={self.groups}: groups must be a positive whole number")
        for name in ("in_channels", "out_channels"):
            v = getattr(self, name)
            if v % self.groups:
                valid = ", ".join(map(str, divisors_of_both(self.in_channels, self.out_channels)))
                raise ConvError(
                    f"groups={self.groups}: {name}={v} is not divisible by groups; each "
                    f"group needs whole channels. Valid groups for "
                    f"{self.in_channels}->{self.out_channels}: {valid}"
                )

        set_(self, "kernel_size", _tuple("kernel_size", self.kernel_size, d))
        set_(self, "stride", _tuple("stride", self.stride, d))
        set_(self, "dilation", _tuple("dilation", self.dilation, d))
        set_(self, "output_padding", _tuple("output_padding", self.output_padding, d))
        for name, low, what in (("kernel_size", 1, "at least 1"), ("stride", 1, "at least 1"),
                                ("dilation", 1, "at least 1")):
            for i, v in enumerate(getattr(self, name)):
                if v < low:
                    raise ConvError(
                        f"{name}={_show(getattr(self, name))}: dim {i} is {v}; "
                        f"every {name} must be {what}"
                    )

        if self.padding_mode not in PADDING_MODES:
            raise ConvError(
                f"padding_mode={self.padding_mode!r}: use one of {', '.join(PADDING_MODES)}"
            )

        padding = self.padding
        if isinstance(padding, str):
            text = padding
            set_(self, "padding_text", text)
            if self.transposed:
                raise ConvError(
                    f"padding={text!r}: a transposed conv takes only whole-number padding "
                    "(torch fails with a TypeError); to keep the size with stride 1 use "
                    "padding=(k-1)//2 for odd kernels"
                )
            if text == "valid":
                padding = 0
            elif text == "same":
                if any(s != 1 for s in self.stride):
                    raise ConvError(
                        f"padding='same' needs stride 1, got stride={self.stride}; for "
                        f"ceil(L/s) outputs use padding={_same_hint(self)}"
                    )
            else:
                raise ConvError(
                    f"padding={text!r}: the only padding strings are 'same' and 'valid'; "
                    "otherwise give a number or a tuple"
                )
        if padding != "same":
            padding = _tuple("padding", padding, d)
            for i, v in enumerate(padding):
                if v < 0:
                    raise ConvError(
                        f"padding={_show(padding)}: dim {i} is {v}; padding cannot be "
                        "negative (to crop, slice the input first)"
                    )
        set_(self, "padding", padding)

        if self.transposed:
            if self.padding_mode != "zeros":
                raise ConvError(
                    f"padding_mode={self.padding_mode!r}: a transposed conv only supports "
                    "'zeros'; pad the input with F.pad first if you need another mode"
                )
            for i, (op, s, dl) in enumerate(zip(self.output_padding, self.stride, self.dilation)):
                if op < 0:
                    raise ConvError(
                        f"output_padding={_show(self.output_padding)}: dim {i} is {op}; "
                        "it cannot be negative"
                    )
                if not (op < s or op < dl):
                    raise ConvError(
                        f"output_padding={_show(self.output_padding)}: dim {i} is {op} but it "
                        f"must be smaller than stride ({s}) or dilation ({dl}); use "
                        f"output_padding <= {max(s, dl) - 1}"
                    )
        elif any(self.output_padding):
            raise ConvError(
                f"output_padding={_show(self.output_padding)}: only a transposed conv takes "
                "output_padding; add --transposed or drop it"
            )

    # ---- names ---------------------------------------------------------------
    @property
    def kind_name(self) -> str:
        return f"{KIND_NAMES[bool(self.transposed)]}{self.dims}d"

    def torch_repr(self) -> str:
        """The constructor call that builds this layer in torch."""
        k = self.kernel_size
        args = [str(self.in_channels), str(self.out_channels), _short(k)]
        if any(s != 1 for s in self.stride):
            args.append(f"stride={_short(self.stride)}")
        if self.padding == "same":
            args.append("padding='same'")
        elif any(self.padding):
            args.append(f"padding={_short(self.padding)}")
        if self.transposed and any(self.output_padding):
            args.append(f"output_padding={_short(self.output_padding)}")
        if self.groups != 1:
            args.append(f"groups={self.groups}")
        if not self.bias:
            args.append("bias=False")
        if any(dl != 1 for dl in self.dilation):
            args.append(f"dilation={_short(self.dilation)}")
        if self.padding_mode != "zeros":
            args.append(f"padding_mode={self.padding_mode!r}")
        return f"{self.kind_name}({', '.join(args)})"

    # ---- weights -------------------------------------------------------------
    @property
    def weight_shape(self) -> Ints:
        """conv (C_out, C_in/g, *k); transposed (C_in, C_out/g, *k)."""
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @property
    def bias_shape(self) -> Ints | None:
        return (self.out_channels,) if self.bias else None

    @property
    def num_weight(self) -> int:
        return prod(self.weight_shape)

    @property
    def num_params(self) -> int:
        return self.num_weight + (self.out_channels if self.bias else 0)

    @property
    def padding_pairs(self) -> tuple[tuple[int, int], ...]:
        """(left, right) padding per spatial dim. For 'same' the total is
        dil*(k-1); left = total//2 and the odd extra goes right (torch's split)."""
        if self.padding == "same":
            pairs = []
            for k, dl in zip(self.kernel_size, self.dilation):
                total = dl * (k - 1)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        return tuple((p, p) for p in self.padding)

    # ---- shapes --------------------------------------------------------------
    def check_input(self, input_shape) -> bool:
        """Validate an input shape; return True when it is batched (N, C, *L)."""
        shape = tuple(input_shape)
        if not all(_is_int(n) for n in shape):
            raise ConvError(f"input shape {shape}: every size must be a whole number")
        d = self.dims
        if len(shape) not in (d + 1, d + 2):
            raise ConvError(
                f"input shape {_x(shape)} has {len(shape)} dims but {self.kind_name} takes "
                f"{d + 2} (N, C, {_spatial_names(d)}) or {d + 1} unbatched "
                f"(C, {_spatial_names(d)}); "
                + (f"for a {len(shape) - 2}d conv use --dims {len(shape) - 2}"
                   if 3 <= len(shape) <= 5 else "check the input shape")
            )
        batched = len(shape) == d + 2
        if any(n < 0 for n in shape):
            raise ConvError(f"input shape {_x(shape)}: sizes cannot be negative")
        channels = shape[1] if batched else shape[0]
        if channels != self.in_channels:
            raise ConvError(
                f"input has {channels} channels (dim {1 if batched else 0} of {_x(shape)}) but "
                f"in_channels={self.in_channels}; set in_channels={channels} or feed "
                f"{self.in_channels} channels"
            )
        if batched and shape[0] == 0:
            raise ConvError(
                f"input shape {_x(shape)} has an empty batch (N=0); torch skips most "
                "checks for it, so convcli treats it as undefined: use N >= 1"
            )
        spatial = shape[-d:]
        for i, n in enumerate(spatial):
            if n == 0:
                raise ConvError(
                    f"input shape {_x(shape)}: spatial dim {i} is 0; torch rejects empty "
                    "spatial dims for a non-empty batch"
                )
        if not self.transposed and self.padding_mode != "zeros":
            for i, (n, (pl, pr)) in enumerate(zip(spatial, self.padding_pairs)):
                if self.padding_mode == "reflect" and max(pl, pr) >= n:
                    raise ConvError(
                        f"padding_mode='reflect': padding {max(pl, pr)} on spatial dim {i} "
                        f"must be smaller than its size {n}; reflect mirrors the inside, "
                        f"so use padding <= {n - 1} or padding_mode='replicate'"
                    )
                if self.padding_mode == "circular" and max(pl, pr) > n:
                    raise ConvError(
                        f"padding_mode='circular': padding {max(pl, pr)} on spatial dim {i} "
                        f"is larger than its size {n}; it can wrap around at most once, "
                        f"so use padding <= {n}"
                    )
        return batched

    def output_shape(self, input_shape) -> Ints:
        """torch's output shape for this input, batched or unbatched; ConvError where
        every forward pass of torch would fail."""
        batched = self.check_input(input_shape)
        out_spatial = tuple(e.size_out for e in self._explain(tuple(input_shape)))
        head = (input_shape[0], self.out_channels) if batched else (self.out_channels,)
        return head + out_spatial

    def explain(self, input_shape) -> list[DimExplanation]:
        """Per spatial dim: the formula with the numbers substituted."""
        self.check_input(input_shape)
        return self._explain(tuple(input_shape))

    def _explain(self, shape: Ints) -> list[DimExplanation]:
        d = self.dims
        out = []
        for i, (n, k, s, dl, (pl, pr), op) in enumerate(zip(
                shape[-d:], self.kernel_size, self.stride, self.dilation,
                self.padding_pairs, self.output_padding)):
            span = dl * (k - 1) + 1
            if self.transposed:
                size = (n - 1) * s - 2 * pl + dl * (k - 1) + op + 1
                formula = f"({n}-1)*{s}-2*{pl}+{dl}*({k}-1)+{op}+1"
                if size < 1:
                    raise ConvError(
                        f"{self.kind_name} on spatial dim {i} (size {n}) would give an output "
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
                if self.padding == "same" and pl != pr:
                    note = f"'same' pads {pl} before and {pr} after (the odd one goes at the end)"
                elif dropped:
                    note = f"the last {dropped} padded position(s) are never covered by a window"
            out.append(DimExplanation(i, n, k, s, dl, pl, pr, op, size, formula, note))
        return out

    # ---- counts (conventions live in counts.py) -------------------------------
    def macs(self, input_shape) -> int:
        from convcli.counts import macs
        return macs(self, input_shape)

    def flops(self, input_shape) -> int:
        from convcli.counts import flops
        return flops(self, input_shape)

    def replace(self, **changes) -> "ConvSpec":
        """A copy with some fields changed (validated again)."""
        fields = {
            "dims": self.dims, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "kernel_size": self.kernel_size,
            "stride": self.stride, "padding": self.padding, "dilation": self.dilation,
            "groups": self.groups, "bias": self.bias, "padding_mode": self.padding_mode,
            "transposed": self.transposed, "output_padding": self.output_padding,
        }
        fields.update(changes)
        return ConvSpec(**fields)

    def as_dict(self) -> dict:
        """Stable JSON form of the normalised layer."""
        return {
            "kind": self.kind_name, "dims": self.dims, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if self.padding == "same" else list(self.padding),
            "padding_pairs": [list(p) for p in self.padding_pairs],
            "dilation": list(self.dilation), "groups": self.groups, "bias": self.bias,
            "padding_mode": self.padding_mode, "transposed": self.transposed,
            "output_padding": list(self.output_padding), "torch": self.torch_repr(),
        }


def divisors_of_both(a: int, b: int) -> list[int]:
    """Every groups value that divides both channel counts."""
    return [g for g in range(1, min(a, b) + 1) if a % g == 0 and b % g == 0]


def _same_hint(spec: "ConvSpec") -> str:
    pads = [dl * (k - 1) // 2 for k, dl in zip(spec.kernel_size, spec.dilation)]
    return _short(tuple(pads))


def _short(t) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else str(t)


def _show(t) -> str:
    return str(tuple(t))


def _x(shape) -> str:
    return "x".join(str(n) for n in shape)


def _spatial_names(d: int) -> str:
    return ", ".join(("L",) if d == 1 else ("H", "W") if d == 2 else ("D", "H", "W"))
