"""ConvSpec: one convolution layer as torch would build it, validated once.

A ConvSpec raises ConvError exactly where torch would reject the module
(construction) or every forward pass (``output_shape``), with a message that says
the rule in plain words and how to fix it. Construction rules are here; the forward
rules (input checks, output sizes, formulas) are in shapes.py and the counting
conventions in costs.py, which ConvSpec's methods call.

Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any, Union, cast

from convcli.calculator import costs, shapes
from convcli.calculator.groups import valid_groups_text
from convcli.calculator.ints import MAX_SIZE, check_int64, is_int, per_dim_tuple
from convcli.calculator.shapes import DimExplanation
from convcli.errors import ConvError
from convcli.formatting import per_dim

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
KIND_NAMES = {False: "Conv", True: "ConvTranspose"}

Ints = tuple[int, ...]
IntOrInts = Union[int, Sequence[int]]
Padding = Union[Ints, str]     # a d-tuple, or 'same'


@dataclass(frozen=True, init=False)
class ConvSpec:
    """A Conv{1,2,3}d or ConvTranspose{1,2,3}d with torch's argument names.

    Ints broadcast to d-tuples; after construction every tuple-valued field is a
    d-tuple (``padding`` may also be the string 'same'; 'valid' becomes zeros).
    """

    dims: int
    in_channels: int
    out_channels: int
    kernel_size: Ints
    # the defaults are torch's ints; __init__ makes every one a d-tuple
    stride: Ints = cast(Ints, 1)
    padding: Padding = cast(Ints, 0)
    dilation: Ints = cast(Ints, 1)
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"
    transposed: bool = False
    output_padding: Ints = cast(Ints, 0)
    # the user's own padding string, kept for messages ('valid' normalises to 0)
    padding_text: str | None = field(default=None, compare=False, repr=False)

    def __init__(self, dims: int, in_channels: int, out_channels: int,
                 kernel_size: IntOrInts, stride: IntOrInts = 1,
                 padding: int | str | Sequence[int] = 0, dilation: IntOrInts = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 transposed: bool = False, output_padding: IntOrInts = 0,
                 padding_text: str | None = None) -> None:
        # Construction is in every answer's hot path: the common case costs a few
        # comparisons and one dict write per field (the dataclass is frozen, so its
        # fields are set in __dict__); anything unusual takes the slow checks, which
        # raise the message.
        v = self.__dict__
        v.update(dims=dims, in_channels=in_channels, out_channels=out_channels,
                 kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                 groups=groups, bias=bias, padding_mode=padding_mode, transposed=transposed,
                 output_padding=output_padding, padding_text=padding_text)
        d, ci, co, g = dims, in_channels, out_channels, groups
        if (type(d) is not int or type(ci) is not int or type(co) is not int
                or type(g) is not int or type(bias) is not bool
                or type(transposed) is not bool or not 1 <= d <= 3
                or not 0 < co <= MAX_SIZE or not 0 < ci <= MAX_SIZE or not 0 < g <= ci
                or ci % g or co % g):
            self._check_scalars()
            self._check_channels()
        for name, t in (("kernel_size", kernel_size), ("stride", stride),
                        ("dilation", dilation)):
            if type(t) is int and 0 < t <= MAX_SIZE:
                v[name] = (t,) * d
            elif type(t) is tuple and len(t) == d and all(type(x) is int for x in t) \
                    and min(t) > 0 and max(t) <= MAX_SIZE:
                pass
            else:
                v[name] = _at_least_one(name, t, d)
        if output_padding == 0 and type(output_padding) is int:
            v["output_padding"] = (0,) * d
        else:
            op = per_dim_tuple("output_padding", output_padding, d)
            check_int64("output_padding", op)
            v["output_padding"] = op
            self._check_output_padding()
        if padding_mode not in PADDING_MODES:
            raise ConvError(
                f"padding_mode={padding_mode!r}: use one of {', '.join(PADDING_MODES)}")
        if transposed and padding_mode != "zeros":
            self._check_output_padding()
        if type(padding) is int and 0 <= padding <= MAX_SIZE:
            v["padding"] = (padding,) * d
            v["_pairs"] = ((padding, padding),) * d
        else:
            v["padding"] = self._normalised_padding()
            v["_pairs"] = self._pairs_of_padding()

    def _check_scalars(self) -> None:
        if type(self.dims) is not int or self.dims not in (1, 2, 3):
            if not is_int(self.dims) or self.dims not in (1, 2, 3):
                raise ConvError(f"dims={self.dims!r}: convolutions have 1, 2 or 3 spatial dims")
        for name in ("in_channels", "out_channels", "groups"):
            v = getattr(self, name)
            if type(v) is not int:
                if not is_int(v):
                    raise ConvError(f"{name}={v!r}: expected a whole number")
            if v > MAX_SIZE or v < -MAX_SIZE:
                check_int64(name, v)
        if type(self.bias) is not bool or type(self.transposed) is not bool:
            for name in ("bias", "transposed"):
                if not isinstance(getattr(self, name), bool):
                    raise ConvError(f"{name}={getattr(self, name)!r}: expected True or False")

    def _check_channels(self) -> None:
        for name in ("in_channels", "out_channels"):
            v = getattr(self, name)
            if v < 0 or (v == 0 and (name == "out_channels" or self.transposed)):
                raise ConvError(
                    f"{name}={v}: a {self.kind_name} needs at least 1 "
                    + ("channel (torch fails with 'negative dimension')" if v < 0 else
                       f"{'output' if name == 'out_channels' else 'input'} channel (torch "
                       "builds it, but every forward pass fails: its weight has no rows)"))
        g = self.groups
        if g <= 0:
            raise ConvError(f"groups={g}: groups must be a positive whole number")
        if self.in_channels % g or self.out_channels % g:
            name = "in_channels" if self.in_channels % g else "out_channels"
            raise ConvError(
                f"groups={g}: {name}={getattr(self, name)} is not divisible by groups; each "
                f"group needs whole channels. Valid groups for "
                f"{self.in_channels}->{self.out_channels}: "
                f"{valid_groups_text(self.in_channels, self.out_channels)}")

    def _normalised_padding(self) -> str | Ints:
        """'same' stays a word, 'valid' becomes zeros, numbers become a d-tuple. A
        negative padding crops with a non-'zeros' padding_mode (F.pad); torch refuses
        it in 'zeros' mode (and transposed convs have only that)."""
        padding: object = self.padding
        if isinstance(padding, str):
            text = padding
            object.__setattr__(self, "padding_text", text)
            if self.transposed:
                raise ConvError(
                    f"padding={text!r}: a transposed conv takes only whole-number padding "
                    "(torch fails with a TypeError); to keep the size with stride 1 use "
                    "padding=(k-1)//2 for odd kernels")
            if text == "same":
                if any(s != 1 for s in self.stride):
                    raise ConvError(
                        f"padding='same' needs stride 1, got stride={self.stride}; for "
                        f"ceil(L/s) outputs use padding={_same_hint(self)}")
                return "same"
            if text != "valid":
                raise ConvError(
                    f"padding={text!r}: the only padding strings are 'same' and 'valid'; "
                    "otherwise give a number or a tuple")
            padding = 0
        pads = per_dim_tuple("padding", padding, self.dims)
        if min(pads) < 0 or max(pads) > MAX_SIZE:
            check_int64("padding", pads)
            if self.padding_mode == "zeros":
                i = next(i for i, v in enumerate(pads) if v < 0)
                raise ConvError(
                    f"padding={_show(pads)}: dim {i} is {pads[i]}; padding cannot be "
                    "negative with padding_mode='zeros' (to crop, slice the input first, "
                    "or use padding_mode='reflect', 'replicate' or 'circular', which crop)")
        return pads

    def _check_output_padding(self) -> None:
        """Construction rules only: output_padding < stride or dilation is a forward
        rule (torch skips it for an empty batch), in shapes.py."""
        if not self.transposed:
            if any(self.output_padding):
                raise ConvError(
                    f"output_padding={_show(self.output_padding)}: only a transposed conv "
                    "takes output_padding; add --transposed or drop it")
            return
        if self.padding_mode != "zeros":
            raise ConvError(
                f"padding_mode={self.padding_mode!r}: a transposed conv only supports "
                "'zeros'; pad the input with F.pad first if you need another mode")
        for i, op in enumerate(self.output_padding):
            if op < 0:
                raise ConvError(f"output_padding={_show(self.output_padding)}: dim {i} is "
                                f"{op}; it cannot be negative")

    def _pairs_of_padding(self) -> tuple[tuple[int, int], ...]:
        if type(self.padding) is tuple:
            return tuple([(p, p) for p in self.padding])
        if isinstance(self.padding, str):   # 'same'
            pairs = []
            for k, dl in zip(self.kernel_size, self.dilation):
                total = dl * (k - 1)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        return tuple((p, p) for p in self.padding)

    # ---- names ---------------------------------------------------------------
    @property
    def kind_name(self) -> str:
        return f"{KIND_NAMES[bool(self.transposed)]}{self.dims}d"

    def torch_repr(self) -> str:
        """The constructor call that builds this layer in torch."""
        k = self.kernel_size
        args = [str(self.in_channels), str(self.out_channels), per_dim(k)]
        if any(s != 1 for s in self.stride):
            args.append(f"stride={per_dim(self.stride)}")
        if isinstance(self.padding, str):
            args.append("padding='same'")
        elif any(self.padding):
            args.append(f"padding={per_dim(self.padding)}")
        if self.transposed and any(self.output_padding):
            args.append(f"output_padding={per_dim(self.output_padding)}")
        if self.groups != 1:
            args.append(f"groups={self.groups}")
        if not self.bias:
            args.append("bias=False")
        if any(dl != 1 for dl in self.dilation):
            args.append(f"dilation={per_dim(self.dilation)}")
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
        return self._pairs  # type: ignore[attr-defined]

    # ---- shapes (the forward rules live in shapes.py) -------------------------
    def check_input(self, input_shape: Sequence[int]) -> bool:
        """Validate an input shape; return True when it is batched (N, C, *L)."""
        return shapes.check_input(self, input_shape)

    def output_shape(self, input_shape: Sequence[int]) -> Ints:
        """torch's output shape for this input, batched or unbatched; ConvError where
        every forward pass of torch would fail."""
        return shapes.output_shape(self, input_shape)

    def explain(self, input_shape: Sequence[int]) -> list[DimExplanation]:
        """Per spatial dim: the formula with the numbers substituted."""
        return shapes.explain(self, input_shape)

    def notes(self, input_shape: Sequence[int]) -> list[str]:
        """What torch does differently for this input than for an ordinary one (an
        empty batch, in_channels=0, a cropping negative padding)."""
        return shapes.notes(self, input_shape)

    # ---- counts (the conventions live in costs.py) -----------------------------
    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-accumulates of one forward pass on this input (costs.macs)."""
        return costs.macs(self, input_shape)

    def flops(self, input_shape: Sequence[int]) -> int:
        """2 * MACs (costs.flops)."""
        return costs.flops(self, input_shape)

    def replace(self, **changes: Any) -> ConvSpec:
        """A copy with some fields changed (validated again)."""
        fields: dict[str, Any] = {
            "dims": self.dims, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "kernel_size": self.kernel_size,
            "stride": self.stride, "padding": self.padding, "dilation": self.dilation,
            "groups": self.groups, "bias": self.bias, "padding_mode": self.padding_mode,
            "transposed": self.transposed, "output_padding": self.output_padding,
        }
        fields.update(changes)
        return ConvSpec(**fields)

    def geometry(self) -> dict:
        """k/s/p/d/g as the net and summary tables show them (padding as (before,
        after) pairs; a transposed conv's output_padding too)."""
        g: dict = {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                   "padding": [list(p) for p in self.padding_pairs],
                   "dilation": list(self.dilation), "groups": self.groups}
        if self.transposed:
            g["output_padding"] = list(self.output_padding)
        return g

    def as_dict(self) -> dict:
        """Stable JSON form of the normalised layer."""
        return {
            "kind": self.kind_name, "dims": self.dims, "in_channels": self.in_channels,
            "out_channels": self.out_channels, "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "padding_pairs": [list(p) for p in self.padding_pairs],
            "dilation": list(self.dilation), "groups": self.groups, "bias": self.bias,
            "padding_mode": self.padding_mode, "transposed": self.transposed,
            "output_padding": list(self.output_padding), "torch": self.torch_repr(),
        }


def _at_least_one(name: str, value: object, d: int) -> Ints:
    """A kernel_size, stride or dilation as a d-tuple of values >= 1 (else the
    message)."""
    t = per_dim_tuple(name, value, d)
    if min(t) < 1 or max(t) > MAX_SIZE:
        check_int64(name, t)
        i = next(i for i, x in enumerate(t) if x < 1)
        raise ConvError(f"{name}={_show(t)}: dim {i} is {t[i]}; every {name} must be at "
                        "least 1 (torch fails every forward pass on a non-empty input with it)")
    return t


def _same_hint(spec: ConvSpec) -> str:
    return per_dim(dl * (k - 1) // 2 for k, dl in zip(spec.kernel_size, spec.dilation))


def _show(t: Sequence[int]) -> str:
    return str(tuple(t))
