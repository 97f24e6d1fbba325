"""MaxPool/AvgPool/LPPool 1d-3d (torch's pooling_output_shape, ceil_mode included) and
the adaptive pools. Pools do no multiply-accumulates: 0 MACs. Backward keeps the input
(and the max pools their int64 indices; LPPool, pow -> avg_pool -> sign * relu(abs)
-> pow, its intermediates); the field is the window, or the adaptive bins."""

from __future__ import annotations

from math import isfinite, prod

from convcli.calculator.ints import is_int
from convcli.errors import ConvError
from convcli.formatting import per_dim
from convcli.network.binding import REQUIRED, bool_arg, ints_arg
from convcli.network.layer import Layer, Rule, Saves, spatial_rank_check

def pool_output_size(size: int, k: int, s: int, pad: int, dil: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape: with ceil_mode the last window must start inside
    the input or the left padding."""
    span = dil * (k - 1) + 1
    num = size + 2 * pad - span + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + pad:
        out -= 1
    return out


class Pool(Layer):
    def __init__(self, call, values, dims, op):
        super().__init__(call, values)
        self.kind, self.dims, self.op = call.name, dims, op
        d = dims
        self.kernel = ints_arg(call, "kernel_size", values["kernel_size"], d)
        stride = values["stride"]
        if stride is None or stride == ():
            self.stride = self.kernel
            self.stride_default = True
        else:
            self.stride = ints_arg(call, "stride", stride, d)
            self.stride_default = False
        self.padding = ints_arg(call, "padding", values["padding"], d)
        self.dilation = ints_arg(call, "dilation", values.get("dilation", 1), d)
        self.ceil_mode = bool_arg(call, "ceil_mode", values["ceil_mode"])
        for name in ("kernel", "stride", "dilation"):
            for v in getattr(self, name):
                if v <= 0:
                    label = "kernel_size" if name == "kernel" else name
                    raise ConvError(f"{call}: {label}={per_dim(getattr(self, name), 'x')} must be "
                                    "at least 1")
        for p, k in zip(self.padding, self.kernel):
            if p < 0:
                raise ConvError(f"{call}: padding={per_dim(self.padding, 'x')} cannot be negative")
            if p > k // 2:
                raise ConvError(
                    f"{call}: padding={per_dim(self.padding, 'x')} is more than half the kernel "
                    f"({per_dim(self.kernel, 'x')}); torch allows padding <= kernel_size // 2, "
                    f"so use padding <= {per_dim(tuple(k // 2 for k in self.kernel), 'x')}")
        if values.get("return_indices"):
            raise ConvError(
                f"{call}: return_indices=True makes it return (output, indices), which the "
                "next layer cannot take; drop return_indices for a shape walk")
        if "divisor_override" in values and values["divisor_override"] is not None:
            dv = values["divisor_override"]
            if not is_int(dv) or dv == 0:
                raise ConvError(f"{call}: divisor_override={dv!r} must be a non-zero whole "
                                "number or None")

    def output(self, shape, ctx):
        d = self.dims
        spatial_rank_check(self, shape, ctx, d, non_empty=True)
        out = []
        for i, (n, k, s, p, dl) in enumerate(zip(shape[-d:], self.kernel, self.stride,
                                                self.padding, self.dilation)):
            if self.op == "avg" and d == 3 and n < k:
                raise ConvError(
                    f"{ctx.at(self.call)}: spatial dim {i} is {n}, smaller than the kernel "
                    f"{k}; AvgPool3d needs every input dim >= its kernel even with padding "
                    f"(torch's avg_pool3d check), so use kernel_size <= {n}")
            size = pool_output_size(n, k, s, p, dl, self.ceil_mode)
            if size < 1:
                span = dl * (k - 1) + 1
                raise ConvError(
                    f"{ctx.at(self.call)}: spatial dim {i} is {n} but the "
                    f"window spans {span}" + (f" (with padding {p} each side)" if p else "")
                    + f", so the output would be {size}; use a kernel <= {n + 2 * p}"
                    + (" (or less dilation)" if dl > 1 else "") + " or a larger input")
            out.append(size)
        return tuple(shape[:-d]) + tuple(out)

    def saves(self, shape_in, shape_out, size):
        if self.op == "max":
            return Saves(input=True, extra=prod(shape_out) * 8)      # int64 indices
        if self.op == "lp":   # x**p and the pooled value, its abs, sign, relu, product
            if not isfinite(self.values["norm_type"]):
                raise ConvError(f"{self.call}: with norm_type={self.values['norm_type']} "
                                "what autograd keeps depends on the values (x ** inf); run "
                                "`convcli summary --train` on a model file to measure it")
            return Saves(input=True, extra=(prod(shape_in) + 4 * prod(shape_out)) * size)
        return Saves(input=True)

    def field(self, shape_in, shape_out, d):
        return [("window", self.kernel[d], self.stride[d], self.padding[d],
                 self.dilation[d])]

    def geometry(self):
        return {"kernel_size": list(self.kernel), "stride": list(self.stride),
                "padding": [[p, p] for p in self.padding], "dilation": list(self.dilation),
                "groups": None}

    def note(self, shape_in):
        d = self.dims
        notes = []
        if self.ceil_mode:
            floor = tuple(pool_output_size(n, k, s, p, dl, False) for n, k, s, p, dl in zip(
                shape_in[-d:], self.kernel, self.stride, self.padding, self.dilation))
            ceil = tuple(pool_output_size(n, k, s, p, dl, True) for n, k, s, p, dl in zip(
                shape_in[-d:], self.kernel, self.stride, self.padding, self.dilation))
            if floor != ceil:
                notes.append(f"ceil_mode adds a partial window ({per_dim(floor, 'x')} -> "
                             f"{per_dim(ceil, 'x')})")
        return "; ".join(notes)


_MAXPOOL_SIG = [("kernel_size", REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1),
                ("return_indices", False), ("ceil_mode", False)]
_AVGPOOL1_SIG = [("kernel_size", REQUIRED), ("stride", None), ("padding", 0),
                 ("ceil_mode", False), ("count_include_pad", True)]
_AVGPOOL_SIG = _AVGPOOL1_SIG + [("divisor_override", None)]


class Adaptive(Layer):
    def __init__(self, call, values, dims):
        super().__init__(call, values)
        self.kind, self.dims = call.name, dims
        size = values["output_size"]
        if is_int(size):
            size = (size,) * dims
        if dims == 1 and isinstance(size, tuple) and None in size:
            raise ConvError(f"{call}: output_size={size!r}: the 1d adaptive pools take "
                            "whole numbers only (None works for 2d and 3d)")
        if not (isinstance(size, tuple) and len(size) in (1, dims)
                and all(v is None or is_int(v) for v in size)):
            raise ConvError(f"{call}: output_size={size!r} must be a whole number or a "
                            f"tuple of {dims} (None keeps that dim)")
        if len(size) == 1:
            size = size * dims
        for v in size:
            if v is not None and v < 1:
                raise ConvError(f"{call}: output_size={size} must be at least 1 per dim")
        self.size = size
        if values.get("return_indices"):
            raise ConvError(f"{call}: return_indices=True makes it return (output, indices), "
                            "which the next layer cannot take")

    def output(self, shape, ctx):
        d = self.dims
        spatial_rank_check(self, shape, ctx, d, non_empty=True)
        return tuple(shape[:-d]) + tuple(n if s is None else s
                                         for n, s in zip(shape[-d:], self.size))

    def saves(self, shape_in, shape_out, size):
        if self.kind.startswith("AdaptiveMax"):
            return Saves(input=True, extra=prod(shape_out) * 8)      # int64 indices
        # a 1x1 output is a mean, whose backward needs only the shape
        return Saves(input=not all(n == 1 for n in shape_out[-self.dims:]))

    def field(self, shape_in, shape_out, d):
        return [("adaptive",)]


RULES: dict[str, Rule] = {}
for _d in (1, 2, 3):
    RULES[f"MaxPool{_d}d"] = (_MAXPOOL_SIG, lambda c, v, d=_d: Pool(c, v, d, "max"))
    RULES[f"AvgPool{_d}d"] = (_AVGPOOL1_SIG if _d == 1 else _AVGPOOL_SIG,
                              lambda c, v, d=_d: Pool(c, v, d, "avg"))
    RULES[f"AdaptiveAvgPool{_d}d"] = ([("output_size", REQUIRED)],
                                      lambda c, v, d=_d: Adaptive(c, v, d))
    RULES[f"AdaptiveMaxPool{_d}d"] = ([("output_size", REQUIRED), ("return_indices", False)],
                                      lambda c, v, d=_d: Adaptive(c, v, d))
    # LPPool: (sum x^p)^(1/p) over the window; no padding, no dilation
    RULES[f"LPPool{_d}d"] = ([("norm_type", REQUIRED), ("kernel_size", REQUIRED),
                              ("stride", None), ("ceil_mode", False)],
                             lambda c, v, d=_d: Pool(c, {**v, "padding": 0}, d, "lp"))
