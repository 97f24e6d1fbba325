"""ConvSpec: one convolution layer as torch builds it, validated once, and everything
that follows from it alone: its weight, its output shape for an input, and the work of
one forward pass.

The arithmetic, per spatial dim, with p_left + p_right the padding (``padding_pairs``)
and span = dil*(k-1) + 1 the dilated window:

    conv:        L_out = floor((L + p_left + p_right - span) / s) + 1
    transposed:  L_out = (L-1)*s - 2p + span + output_padding

The counting convention, the one every command, the README and ``--json`` use:

* MACs: multiply-accumulates of the dense convolution, bias excluded.
    conv:        N * prod(out spatial) * C_out * (C_in / g) * prod(k)
    transposed:  N * prod(in spatial)  * C_in  * (C_out / g) * prod(k)
  A transposed conv is counted per *input* element: each input value is multiplied
  by C_out/g * prod(k) weights and scattered. (Counting per output element, as thop,
  torchinfo, torchscan and torchprofile do, overcounts by about stride^d.)
* FLOPs = 2 * MACs, the torch.utils.flop_counter convention.
* Bias adds are reported on their own: N * C_out * prod(out spatial).
* Params = weight + bias elements (the same for conv and transposed).
Unbatched inputs count as N = 1.

A ConvSpec raises ConvError exactly where torch would reject the module (construction)
or every forward pass (``output_shape``); the rules and their messages are
conv_checks.py, called only when a value is unusual. Bytes and dtypes: costs.py; the
formulas written out for people: explain.py. Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any, Union, cast

from convcli.calculator import conv_checks as checks
from convcli.calculator.ints import MAX_SIZE, check_int64, per_dim_tuple
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
            checks.check_scalars(self)
            checks.check_channels(self)
        for name, t in (("kernel_size", kernel_size), ("stride", stride),
                        ("dilation", dilation)):
            if type(t) is int and 0 < t <= MAX_SIZE:
                v[name] = (t,) * d
            elif type(t) is tuple and len(t) == d and all(type(x) is int for x in t) \
                    and min(t) > 0 and max(t) <= MAX_SIZE:
                pass
            else:
                v[name] = checks.at_least_one(name, t, d)
        if output_padding == 0 and type(output_padding) is int:
            v["output_padding"] = (0,) * d
        else:
            op = per_dim_tuple("output_padding", output_padding, d)
            check_int64("output_padding", op)
            v["output_padding"] = op
            checks.check_output_padding(self)
        if padding_mode not in PADDING_MODES:
            raise ConvError(
                f"padding_mode={padding_mode!r}: use one of {', '.join(PADDING_MODES)}")
        if transposed and padding_mode != "zeros":
            checks.check_output_padding(self)
        if type(padding) is int and 0 <= padding <= MAX_SIZE:
            v["padding"] = (padding,) * d
            v["_pairs"] = ((padding, padding),) * d
        else:
            v["padding"] = checks.normalised_padding(self)
            v["_pairs"] = self._pairs_of_padding()

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

    # ---- the output shape -------------------------------------------------------
    def output_shape(self, input_shape: Sequence[int]) -> Ints:
        """torch's output shape for this input, batched or unbatched; ConvError where
        every forward pass of torch would fail."""
        shape = checks.checked_input(self, input_shape)
        sizes = self.output_sizes(shape)
        if len(shape) == self.dims + 2:
            return (shape[0], self.out_channels if shape[1] else 0) + sizes
        return (self.out_channels if shape[0] else 0,) + sizes

    def output_sizes(self, shape: Ints) -> Ints:
        """The output's spatial sizes for a checked input shape (the formulas above);
        ConvError where torch's forward fails."""
        empty = checks.input_rules(self, shape)
        out = []
        for i, (n, k, s, dl, (pl, pr), op) in enumerate(zip(
                shape[-self.dims:], self.kernel_size, self.stride, self.dilation,
                self.padding_pairs, self.output_padding)):
            span = dl * (k - 1) + 1
            if self.transposed:      # p is symmetric: a transposed conv takes no 'same'
                if not empty and not (op < s or op < dl):
                    raise checks.output_padding_too_large(self, i, op, s, dl)
                size = (n - 1) * s - 2 * pl + span + op
                if size < 0 or (size == 0 and not empty):
                    raise checks.transposed_too_small(self, i, n, k, s, dl, pl, op, size)
            else:
                if n + pl + pr < span:
                    raise checks.window_too_large(i, n, k, dl, pl, pr)
                size = (n + pl + pr - span) // s + 1
            out.append(size)
        return tuple(out)

    # ---- the work of one forward pass -------------------------------------------
    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-accumulates of one forward pass, bias excluded (see above)."""
        out = self.output_shape(input_shape)
        n = input_shape[0] if len(input_shape) == self.dims + 2 else 1
        k = prod(self.kernel_size)
        if self.transposed:
            return n * prod(input_shape[-self.dims:]) * self.in_channels * (
                self.out_channels // self.groups) * k
        return n * prod(out[-self.dims:]) * self.out_channels * (
            self.in_channels // self.groups) * k

    def flops(self, input_shape: Sequence[int]) -> int:
        """2 * MACs (torch.utils.flop_counter's convention); bias not included."""
        return 2 * self.macs(input_shape)

    def bias_adds(self, input_shape: Sequence[int]) -> int:
        """One add per output element when the layer has a bias, else 0."""
        return prod(self.output_shape(input_shape)) if self.bias else 0

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
