"""Whole networks: shapes, params and MACs layer by layer, from layer calls.

``analyse_net(input_shape, calls)`` binds each LayerCall (layers.py) to the torch
constructor's signature, checks it where torch would reject it, and propagates the
shape: one ``NetRow`` per layer, totals in a ``NetReport``. A layer that does not fit
its input raises ConvError at that layer, with the fix.

Counting follows counts.py: MACs are the dense multiply-accumulates of convs
(transposed convs per input element) and Linear layers, bias excluded. Pooling,
normalisation, activations, dropout, resampling and reshaping layers do no
multiply-accumulates and count 0 MACs; params are weight + bias (+ affine) elements.

Every layer torch builds has its rules here; a layer convcli does not know is an
error that names it, never a silent zero. Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import prod

from convcli.counts import DTYPE_SIZES
from convcli.errors import ConvError
from convcli.layers import LayerCall
from convcli.spec import ConvSpec, _is_int

Shape = tuple[int, ...]

@dataclass(frozen=True)
class NetRow:
    """One layer: what it receives, what it gives, what it costs."""

    index: int
    layer: str                 # as written (or the module's repr, in `summary`)
    kind: str                  # torch class name
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int | None           # None: not counted (a module convcli has no rule for)
    conv: ConvSpec | None = None
    geometry: dict | None = None   # k/s/p/d/g actually used (convs and pools)
    name: str | None = None        # qualified module name (summary only)
    note: str = ""

    @property
    def output_elements(self) -> int:
        return prod(self.output_shape)


@dataclass(frozen=True)
class NetReport:
    input_shape: Shape
    rows: list[NetRow]
    total_params: int
    notes: list[str] = field(default_factory=list)
    # False when some computation was seen but not counted (summary: modules without a
    # rule, parameters owned by modules with children); the notes say which
    macs_complete: bool = True
    final_shape: Shape | None = None   # summary: what forward() returned

    @property
    def output_shape(self) -> Shape:
        if self.final_shape is not None:
            return self.final_shape
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows if r.macs is not None)

    @property
    def uncounted(self) -> list[str]:
        """Rows whose MACs convcli could not count (summary: unknown modules)."""
        return [r.name or r.layer for r in self.rows if r.macs is None]

    @property
    def activation_elements(self) -> int:
        """Every layer's output, summed: roughly what training keeps for backward
        (in-place activations and views counted as if they were copies)."""
        return sum(r.output_elements for r in self.rows)

    def activation_bytes(self, dtype: str) -> int:
        return self.activation_elements * DTYPE_SIZES[dtype]

    def param_bytes(self, dtype: str) -> int:
        return self.total_params * DTYPE_SIZES[dtype]


# ---- binding a call to a torch signature -------------------------------------------

_REQUIRED = object()


def bind(call: LayerCall, signature: list[tuple[str, object]]) -> dict:
    """Positional and keyword arguments -> {name: value} as Python would bind them to
    ``torch.nn.<name>(...)``; messages name the layer and list its arguments."""
    names = [n for n, _ in signature]
    if len(call.args) > len(names):
        raise ConvError(
            f"{call}: {call.name} takes at most {len(names)} positional arguments "
            f"({', '.join(names)}), got {len(call.args)}")
    values = dict(zip(names, call.args))
    for key, value in call.kwargs.items():
        if key not in names:
            close = [n for n in names if n.replace("_", "") == key.replace("_", "")
                     or _near(n, key)]
            hint = f"; did you mean {close[0]}=" if close else ""
            raise ConvError(
                f"{call}: {call.name} has no argument {key!r}{hint} (its arguments: "
                f"{', '.join(names)})")
        if key in values:
            raise ConvError(f"{call}: {key} is given twice (by position and by name)")
        values[key] = value
    for n, default in signature:
        if n not in values:
            if default is _REQUIRED:
                raise ConvError(f"{call}: {call.name} needs {n} (its arguments: "
                                f"{', '.join(names)})")
            values[n] = default
    return values


def _near(a: str, b: str) -> bool:
    """One edit apart (typos like inplce, kernal_size is two, checked by prefix)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _int_arg(call, name, value, low=None) -> int:
    if not _is_int(value):
        raise ConvError(f"{call}: {name}={value!r} must be a whole number")
    if low is not None and value < low:
        raise ConvError(f"{call}: {name}={value} must be at least {low}")
    return value


def _bool_arg(call, name, value) -> bool:
    if not isinstance(value, bool):
        raise ConvError(f"{call}: {name}={value!r} must be True or False")
    return value


def _ints(call, name, value, dims, low=None, allow_one=True) -> tuple[int, ...]:
    """An int broadcast to dims, or a tuple of dims (or 1) ints."""
    if _is_int(value):
        t = (value,) * dims
    elif isinstance(value, tuple) and value and all(_is_int(v) for v in value):
        if len(value) == dims:
            t = value
        elif len(value) == 1 and allow_one:
            t = value * dims
        else:
            raise ConvError(
                f"{call}: {name}={value} has {len(value)} entries; a {dims}d layer needs "
                f"one number or {dims}")
    else:
        raise ConvError(f"{call}: {name}={value!r} must be a whole number or a tuple of "
                        f"{dims}")
    if low is not None:
        for v in t:
            if v < low:
                raise ConvError(f"{call}: {name}={value}: every entry must be at least {low}")
    return t


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _sx(shape) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _short(t) -> str:
    t = tuple(t)
    return str(t[0]) if len(set(t)) == 1 else "x".join(map(str, t))


# ---- the layer models ----------------------------------------------------------------

class Layer:
    """A bound layer: ``output(shape, ctx)`` -> shape (ConvError where torch fails);
    ``params``; ``macs(in, out)``."""

    kind = ""
    params = 0
    conv: ConvSpec | None = None

    def __init__(self, call: LayerCall, values: dict):
        self.call = call
        self.values = values

    def output(self, shape: Shape, ctx: "Ctx") -> Shape:
        raise NotImplementedError

    def macs(self, shape_in: Shape, shape_out: Shape) -> int:
        return 0

    def geometry(self) -> dict | None:
        return None

    def note(self, shape_in: Shape) -> str:
        return ""


@dataclass(frozen=True)
class Ctx:
    """Where the input of a layer comes from, for messages."""

    source: str        # "the input [1, 3, 32, 32]" or "Flatten() (layer 10, output [1, 1024])"
    first: bool

    def receives(self, call, what: str) -> str:
        return f"{call} receives {what} {'from' if self.first else 'after'} {self.source}"

    def at(self, call) -> str:
        return f"{call} {'on' if self.first else 'after'} {self.source}"


def _rank_check(layer: Layer, shape: Shape, ctx: Ctx, ranks: tuple[int, ...], names: str):
    if len(shape) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ConvError(
            f"{ctx.receives(layer.call, f'a {len(shape)}d tensor {_sx(shape)}')}; "
            f"{layer.kind} takes {want} dims ({names})"
            + ("; insert Flatten() or reshape before it" if len(shape) > max(ranks) else ""))


def _spatial(d: int) -> str:
    return "L" if d == 1 else "H, W" if d == 2 else "D, H, W"


def _no_empty(layer: Layer, shape: Shape, ctx: Ctx, batched: bool):
    """Pools take an empty batch (N=0) but no other empty dim. (AdaptiveAvgPool2d alone
    accepts empty dims and returns NaN means; convcli rejects that too.)"""
    for i, n in enumerate(shape[1:] if batched else shape):
        if n == 0:
            raise ConvError(f"{ctx.at(layer.call)}: dim {i + (1 if batched else 0)} is 0; "
                            f"{layer.kind} needs every non-batch dim >= 1")


# -- convolutions --

_CONV_SIG = [("in_channels", _REQUIRED), ("out_channels", _REQUIRED), ("kernel_size", _REQUIRED),
             ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True),
             ("padding_mode", "zeros"), ("device", None), ("dtype", None)]
_CONVT_SIG = [("in_channels", _REQUIRED), ("out_channels", _REQUIRED), ("kernel_size", _REQUIRED),
              ("stride", 1), ("padding", 0), ("output_padding", 0), ("groups", 1),
              ("bias", True), ("dilation", 1), ("padding_mode", "zeros"), ("device", None),
              ("dtype", None)]


class Conv(Layer):
    def __init__(self, call, values, dims, transposed):
        super().__init__(call, values)
        self.kind = call.name
        self.dims = dims
        v = dict(values)
        v.pop("device"), v.pop("dtype")
        try:
            self.conv = ConvSpec(dims=dims, transposed=transposed, **v)
        except ConvError as e:
            raise ConvError(f"{call}: {e}") from None
        self.params = self.conv.num_params

    def output(self, shape, ctx):
        d, spec = self.dims, self.conv
        _rank_check(self, shape, ctx, (d + 1, d + 2), f"N, C, {_spatial(d)}, or unbatched "
                                                       f"C, {_spatial(d)}")
        c = shape[1] if len(shape) == d + 2 else shape[0]
        if c != spec.in_channels:
            try:
                fix = f"; use {spec.replace(in_channels=c).torch_repr()}"
            except ConvError:
                fix = (f"; in_channels must be {c}, and groups={spec.groups} must then "
                       f"divide {c}")
            raise ConvError(
                f"{ctx.receives(self.call, _n(c, 'channel'))} but its "
                f"in_channels is {spec.in_channels}{fix}")
        try:
            return spec.output_shape(shape)
        except ConvError as e:
            raise ConvError(f"{ctx.at(self.call)}: {e}") from None

    def macs(self, shape_in, shape_out):
        from convcli.counts import macs
        return macs(self.conv, shape_in)

    def geometry(self):
        s = self.conv
        return {"kernel_size": list(s.kernel_size), "stride": list(s.stride),
                "padding": [list(p) for p in s.padding_pairs], "dilation": list(s.dilation),
                "groups": s.groups}


# -- pooling --

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
        self.kernel = _ints(call, "kernel_size", values["kernel_size"], d)
        stride = values["stride"]
        if stride is None or stride == ():
            self.stride = self.kernel
            self.stride_default = True
        else:
            self.stride = _ints(call, "stride", stride, d)
            self.stride_default = False
        self.padding = _ints(call, "padding", values["padding"], d)
        self.dilation = _ints(call, "dilation", values.get("dilation", 1), d)
        self.ceil_mode = _bool_arg(call, "ceil_mode", values["ceil_mode"])
        for name in ("kernel", "stride", "dilation"):
            for v in getattr(self, name):
                if v <= 0:
                    label = "kernel_size" if name == "kernel" else name
                    raise ConvError(f"{call}: {label}={_short(getattr(self, name))} must be "
                                    "at least 1")
        for p, k in zip(self.padding, self.kernel):
            if p < 0:
                raise ConvError(f"{call}: padding={_short(self.padding)} cannot be negative")
            if p > k // 2:
                raise ConvError(
                    f"{call}: padding={_short(self.padding)} is more than half the kernel "
                    f"({_short(self.kernel)}); torch allows padding <= kernel_size // 2, "
                    f"so use padding <= {_short(tuple(k // 2 for k in self.kernel))}")
        if values.get("return_indices"):
            raise ConvError(
                f"{call}: return_indices=True makes it return (output, indices), which the "
                "next layer cannot take; drop return_indices for a shape walk")
        if "divisor_override" in values and values["divisor_override"] is not None:
            dv = values["divisor_override"]
            if not _is_int(dv) or dv == 0:
                raise ConvError(f"{call}: divisor_override={dv!r} must be a non-zero whole "
                                "number or None")

    def output(self, shape, ctx):
        d = self.dims
        _rank_check(self, shape, ctx, (d + 1, d + 2),
                    f"N, C, {_spatial(d)}, or unbatched C, {_spatial(d)}")
        _no_empty(self, shape, ctx, len(shape) == d + 2)
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
                notes.append(f"ceil_mode adds a partial window ({_short(floor)} -> "
                             f"{_short(ceil)})")
        return "; ".join(notes)


_MAXPOOL_SIG = [("kernel_size", _REQUIRED), ("stride", None), ("padding", 0), ("dilation", 1),
                ("return_indices", False), ("ceil_mode", False)]
_AVGPOOL1_SIG = [("kernel_size", _REQUIRED), ("stride", None), ("padding", 0),
                 ("ceil_mode", False), ("count_include_pad", True)]
_AVGPOOL_SIG = _AVGPOOL1_SIG + [("divisor_override", None)]


class Adaptive(Layer):
    def __init__(self, call, values, dims):
        super().__init__(call, values)
        self.kind, self.dims = call.name, dims
        size = values["output_size"]
        if _is_int(size):
            size = (size,) * dims
        if dims == 1 and isinstance(size, tuple) and None in size:
            raise ConvError(f"{call}: output_size={size!r}: the 1d adaptive pools take "
                            "whole numbers only (None works for 2d and 3d)")
        if not (isinstance(size, tuple) and len(size) in (1, dims)
                and all(v is None or _is_int(v) for v in size)):
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
        _rank_check(self, shape, ctx, (d + 1, d + 2),
                    f"N, C, {_spatial(d)}, or unbatched C, {_spatial(d)}")
        _no_empty(self, shape, ctx, len(shape) == d + 2)
        return tuple(shape[:-d]) + tuple(n if s is None else s
                                         for n, s in zip(shape[-d:], self.size))


# -- normalisation --

class BatchNorm(Layer):
    def __init__(self, call, values, dims, instance=False):
        super().__init__(call, values)
        self.kind, self.dims, self.instance = call.name, dims, instance
        self.c = _int_arg(call, "num_features", values["num_features"], 1)
        self.affine = _bool_arg(call, "affine", values["affine"])
        self.params = 2 * self.c if self.affine else 0

    def output(self, shape, ctx):
        d = self.dims
        if self.instance:
            ranks = (d + 1, d + 2)
            names = f"N, C, {_spatial(d)}, or unbatched C, {_spatial(d)}"
        else:
            ranks = (2, 3) if d == 1 else (d + 2,)
            names = "N, C or N, C, L" if d == 1 else f"N, C, {_spatial(d)}"
        _rank_check(self, shape, ctx, ranks, names)
        c = shape[0] if self.instance and len(shape) == d + 1 else shape[1]
        if c != self.c and (not self.instance or self.affine):
            fix = self.call.text.replace(str(self.c), str(c), 1) if str(
                self.c) in self.call.text else f"{self.kind}({c})"
            raise ConvError(f"{ctx.receives(self.call, _n(c, 'channel'))} "
                            f"but num_features is {self.c}; use {fix}")
        return tuple(shape)

    def note(self, shape_in):
        d = self.dims
        c = shape_in[0] if self.instance and len(shape_in) == d + 1 else shape_in[1]
        if self.instance and c != self.c:
            return f"torch warns: num_features={self.c} but the input has {c} channels"
        return ""


_BN_SIG = [("num_features", _REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
           ("track_running_stats", True), ("device", None), ("dtype", None)]
_IN_SIG = [("num_features", _REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", False),
           ("track_running_stats", False), ("device", None), ("dtype", None)]


class GroupNorm(Layer):
    kind = "GroupNorm"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.g = _int_arg(call, "num_groups", values["num_groups"], 1)
        self.c = _int_arg(call, "num_channels", values["num_channels"], 1)
        if self.c % self.g:
            ok = [g for g in range(1, self.c + 1) if self.c % g == 0]
            raise ConvError(f"{call}: num_channels={self.c} is not divisible by "
                            f"num_groups={self.g}; valid num_groups: "
                            f"{', '.join(map(str, ok))}")
        self.params = 2 * self.c if _bool_arg(call, "affine", values["affine"]) else 0

    def output(self, shape, ctx):
        if len(shape) < 2:
            raise ConvError(f"{ctx.at(self.call)}; GroupNorm needs "
                            "(N, C, *) with at least 2 dims")
        if shape[1] != self.c:
            raise ConvError(f"{ctx.receives(self.call, _n(shape[1], 'channel'))} "
                            f"but num_channels is {self.c}; use "
                            f"GroupNorm(g, {shape[1]}) with g dividing {shape[1]}")
        return tuple(shape)


class LayerNorm(Layer):
    kind = "LayerNorm"

    def __init__(self, call, values):
        super().__init__(call, values)
        ns = values["normalized_shape"]
        ns = (ns,) if _is_int(ns) else ns
        if not (isinstance(ns, tuple) and ns and all(_is_int(v) and v >= 1 for v in ns)):
            raise ConvError(f"{call}: normalized_shape={values['normalized_shape']!r} must "
                            "be a whole number or a tuple of them (the trailing dims)")
        self.ns = ns
        affine = _bool_arg(call, "elementwise_affine", values["elementwise_affine"])
        bias = _bool_arg(call, "bias", values["bias"])
        self.params = prod(ns) * (1 + bias) if affine else 0

    def output(self, shape, ctx):
        k = len(self.ns)
        if tuple(shape[-k:]) != self.ns or len(shape) < k:
            last = tuple(shape[-k:])
            fix = (f"LayerNorm({last[0]})" if k == 1 else f"LayerNorm({list(last)})")
            raise ConvError(
                f"{ctx.at(self.call)}: normalized_shape {list(self.ns)} must "
                f"equal the last {k} dim(s), which are {list(last)}; use {fix}"
                + (" (for channels of an image use GroupNorm(1, C) or permute first)"
                   if len(shape) >= 3 else ""))
        return tuple(shape)


# -- elementwise / shape-preserving --

class Same(Layer):
    """Activations, dropout, Identity: the output is the input's shape."""

    def __init__(self, call, values):
        super().__init__(call, values)
        self.kind = call.name
        for key in ("inplace",):
            if key in values:
                _bool_arg(call, key, values[key])
        if "p" in values:
            p = values["p"]
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ConvError(f"{call}: p={p!r} is a probability; use 0 <= p <= 1")
        if call.name == "PReLU":
            self.n = _int_arg(call, "num_parameters", values["num_parameters"], 1)
            self.params = self.n

    def output(self, shape, ctx):
        dim = self.values.get("dim")
        if dim is not None and "dim" in self.values and self.kind.endswith(("max", "min")):
            if not _is_int(dim) or not -len(shape) <= dim < max(len(shape), 1):
                raise ConvError(f"{ctx.at(self.call)}: dim={dim!r} is out "
                                f"of range for {len(shape)} dims (use {-len(shape)} to "
                                f"{len(shape) - 1})")
        if self.kind == "PReLU" and self.n > 1:
            c = shape[1] if len(shape) >= 2 else None
            if c != self.n:
                raise ConvError(f"{ctx.at(self.call)} but num_parameters="
                                f"{self.n} must equal the channels (dim 1); use "
                                f"PReLU({c if c is not None else 1})")
        if self.kind == "Dropout1d" and len(shape) not in (2, 3):
            raise ConvError(f"{ctx.at(self.call)}: Dropout1d takes 3 dims (N, C, L) or 2 "
                            "unbatched (C, L)")
        return tuple(shape)

    def note(self, shape_in):
        if self.kind in ("Dropout2d", "Dropout3d"):
            d = int(self.kind[-2])
            if len(shape_in) not in (d + 1, d + 2):
                return (f"torch warns: {self.kind} expects {d + 2} dims (N, C, "
                        f"{_spatial(d)}); on {len(shape_in)} dims it zeroes other slices")
        return ""


_INPLACE = [("inplace", False)]
_DIM = [("dim", None)]
_SAME_SIGS: dict[str, list] = {
    "ReLU": _INPLACE, "ReLU6": _INPLACE, "SELU": _INPLACE, "SiLU": _INPLACE,
    "Mish": _INPLACE, "Hardswish": _INPLACE, "Hardsigmoid": _INPLACE,
    "LeakyReLU": [("negative_slope", 0.01), ("inplace", False)],
    "ELU": [("alpha", 1.0), ("inplace", False)], "CELU": [("alpha", 1.0), ("inplace", False)],
    "GELU": [("approximate", "none")], "Sigmoid": [], "Tanh": [], "LogSigmoid": [],
    "Softsign": [], "Tanhshrink": [],
    "Hardtanh": [("min_val", -1.0), ("max_val", 1.0), ("inplace", False)],
    "Softplus": [("beta", 1.0), ("threshold", 20.0)],
    "Hardshrink": [("lambd", 0.5)], "Softshrink": [("lambd", 0.5)],
    "Threshold": [("threshold", _REQUIRED), ("value", _REQUIRED), ("inplace", False)],
    "GLU_": [],
    "Softmax": _DIM, "LogSoftmax": _DIM, "Softmin": _DIM, "Softmax2d": [],
    "PReLU": [("num_parameters", 1), ("init", 0.25), ("device", None), ("dtype", None)],
    "Dropout": [("p", 0.5), ("inplace", False)], "Dropout1d": [("p", 0.5), ("inplace", False)],
    "Dropout2d": [("p", 0.5), ("inplace", False)], "Dropout3d": [("p", 0.5), ("inplace", False)],
    "AlphaDropout": [("p", 0.5), ("inplace", False)],
    "FeatureAlphaDropout": [("p", 0.5), ("inplace", False)],
    "LocalResponseNorm": [("size", _REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)],
}
del _SAME_SIGS["GLU_"]


class Identity(Layer):
    kind = "Identity"

    def output(self, shape, ctx):
        return tuple(shape)


# -- reshaping --

class Flatten(Layer):
    kind = "Flatten"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.start = _int_arg(call, "start_dim", values["start_dim"])
        self.end = _int_arg(call, "end_dim", values["end_dim"])

    def output(self, shape, ctx):
        r = len(shape)
        if r == 0:
            return (1,)
        s, e = self.start, self.end
        for name, v in (("start_dim", s), ("end_dim", e)):
            if not -r <= v < r:
                raise ConvError(f"{ctx.at(self.call)}: {name}={v} is out "
                                f"of range for {r} dims (use {-r} to {r - 1})")
        s, e = s % r, e % r
        if s > e:
            raise ConvError(f"{ctx.at(self.call)}: start_dim={self.start} "
                            f"comes after end_dim={self.end} (dims {s} > {e})")
        return tuple(shape[:s]) + (prod(shape[s:e + 1]),) + tuple(shape[e + 1:])


class Unflatten(Layer):
    kind = "Unflatten"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.dim = _int_arg(call, "dim", values["dim"])
        size = values["unflattened_size"]
        if not (isinstance(size, tuple) and size and all(_is_int(v) for v in size)):
            raise ConvError(f"{call}: unflattened_size={size!r} must be a tuple of whole "
                            "numbers")
        if sum(v == -1 for v in size) > 1 or any(v < -1 for v in size):
            raise ConvError(f"{call}: unflattened_size={size}: at most one -1, other sizes "
                            ">= 0")
        self.size = size

    def output(self, shape, ctx):
        r = len(shape)
        if not -r <= self.dim < r:
            raise ConvError(f"{ctx.at(self.call)}: dim={self.dim} is out "
                            f"of range for {r} dims")
        d = self.dim % r
        n = shape[d]
        known = prod(v for v in self.size if v != -1)
        size = self.size
        if -1 in size:
            if known == 0 or n % known:
                raise ConvError(f"{ctx.at(self.call)}: dim {d} has {n} "
                                f"elements, which {list(size)} cannot split")
            size = tuple(n // known if v == -1 else v for v in size)
        elif known != n:
            raise ConvError(f"{ctx.at(self.call)}: dim {d} has {n} "
                            f"elements but unflattened_size {list(size)} holds {known}")
        return tuple(shape[:d]) + tuple(size) + tuple(shape[d + 1:])


class Linear(Layer):
    kind = "Linear"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.fin = _int_arg(call, "in_features", values["in_features"], 0)
        self.fout = _int_arg(call, "out_features", values["out_features"], 0)
        self.bias = _bool_arg(call, "bias", values["bias"])
        self.params = self.fin * self.fout + (self.fout if self.bias else 0)

    def output(self, shape, ctx):
        if len(shape) == 0:
            raise ConvError(f"{ctx.receives(self.call, 'a scalar')}; Linear needs at least "
                            "1 dim")
        f = shape[-1]
        if f != self.fin:
            fix = f"Linear({f}, {self.fout}" + ("" if self.bias else ", bias=False") + ")"
            where = ""
            if len(shape) > 2:
                where = (f" (the last dim of {_sx(shape)}; to use all "
                         f"{prod(shape[1:]):,} values per sample put Flatten() before it)")
            raise ConvError(f"{ctx.receives(self.call, _n(f, 'feature'))}{where}; use {fix}")
        return tuple(shape[:-1]) + (self.fout,)

    def macs(self, shape_in, shape_out):
        return prod(shape_in[:-1]) * self.fin * self.fout


# -- resampling --

_MODES_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_MODES = ("nearest", "nearest-exact", "area", *_MODES_RANK)


class Upsample(Layer):
    def __init__(self, call, values, mode=None, align=None):
        super().__init__(call, values)
        self.kind = call.name
        self.size = values["size"]
        self.scale = values["scale_factor"]
        self.mode = mode or values.get("mode", "nearest")
        self.align = align if align is not None else values.get("align_corners")
        if (self.size is None) == (self.scale is None):
            raise ConvError(f"{call}: give exactly one of size and scale_factor")
        if self.mode not in _MODES:
            raise ConvError(f"{call}: mode={self.mode!r}: use one of {', '.join(_MODES)}")
        if self.align is not None and self.mode not in _MODES_RANK:
            raise ConvError(f"{call}: align_corners can only be set with the interpolating "
                            "modes (linear, bilinear, bicubic, trilinear)")
        if self.size is not None:
            for v in (self.size if isinstance(self.size, tuple) else (self.size,)):
                if not _is_int(v) or v < 1:
                    raise ConvError(f"{call}: size={self.size!r} must be whole numbers >= 1")
        if self.scale is not None:
            for v in (self.scale if isinstance(self.scale, tuple) else (self.scale,)):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                    raise ConvError(f"{call}: scale_factor={self.scale!r} must be positive "
                                    "numbers")

    def output(self, shape, ctx):
        fixed = 4 if self.kind.startswith("Upsampling") else None
        ranks = (fixed,) if fixed else (3, 4, 5)
        _rank_check(self, shape, ctx, ranks, "N, C and 1 to 3 spatial dims; interpolation "
                                             "has no unbatched form")
        d = len(shape) - 2
        need = _MODES_RANK.get(self.mode)
        if need and need != len(shape):
            raise ConvError(f"{ctx.at(self.call)}: mode={self.mode!r} "
                            f"needs a {need}d input ({need - 2} spatial dims); for {d} "
                            f"spatial dims use "
                            + {1: "'linear'", 2: "'bilinear'", 3: "'trilinear'"}[d])
        if self.size is not None:
            size = self.size if isinstance(self.size, tuple) else (self.size,) * d
            if len(size) != d:
                raise ConvError(f"{ctx.at(self.call)}: size={self.size} "
                                f"has {len(size)} entries for {d} spatial dims")
            out = tuple(size)
        else:
            sc = self.scale if isinstance(self.scale, tuple) else (self.scale,) * d
            if len(sc) != d:
                raise ConvError(f"{ctx.at(self.call)}: scale_factor="
                                f"{self.scale} has {len(sc)} entries for {d} spatial dims")
            out = tuple(math.floor(float(n) * float(s)) for n, s in zip(shape[2:], sc))
            if any(o < 1 for o in out):
                raise ConvError(f"{ctx.at(self.call)}: scale_factor "
                                f"{self.scale} gives an empty output {_sx(out)}")
        return tuple(shape[:2]) + out


_UPSAMPLE_SIG = [("size", None), ("scale_factor", None), ("mode", "nearest"),
                 ("align_corners", None), ("recompute_scale_factor", None)]


class PixelShuffle(Layer):
    def __init__(self, call, values, down):
        super().__init__(call, values)
        self.kind, self.down = call.name, down
        key = "downscale_factor" if down else "upscale_factor"
        self.r = _int_arg(call, key, values[key], 1)

    def output(self, shape, ctx):
        r = self.r
        if len(shape) < 3:
            raise ConvError(f"{ctx.at(self.call)}; {self.kind} needs "
                            "(*, C, H, W)")
        *lead, c, h, w = shape
        if self.down:
            if h % r or w % r:
                raise ConvError(f"{ctx.at(self.call)}: H={h} and W={w} "
                                f"must be divisible by downscale_factor={r}")
            return (*lead, c * r * r, h // r, w // r)
        if c % (r * r):
            raise ConvError(f"{ctx.receives(self.call, _n(c, 'channel'))}, which is not "
                            f"divisible by upscale_factor**2 = {r * r}")
        return (*lead, c // (r * r), h * r, w * r)


class Pad(Layer):
    def __init__(self, call, values, dims, mode):
        super().__init__(call, values)
        self.kind, self.dims, self.mode = call.name, dims, mode
        p = values["padding"]
        if _is_int(p):
            p = (p,) * (2 * dims)
        if not (isinstance(p, tuple) and len(p) == 2 * dims and all(_is_int(v) for v in p)):
            raise ConvError(f"{call}: padding={values['padding']!r} must be a whole number or "
                            f"{2 * dims} numbers (left, right"
                            + (", top, bottom" if dims > 1 else "")
                            + (", front, back" if dims > 2 else "") + ")")
        self.pad = p

    def output(self, shape, ctx):
        d = self.dims
        _rank_check(self, shape, ctx, (d + 1, d + 2),
                    f"N, C, {_spatial(d)}, or unbatched C, {_spatial(d)}")
        out = list(shape)
        for i in range(d):
            left, right = self.pad[2 * i], self.pad[2 * i + 1]
            axis = len(shape) - 1 - i
            n = shape[axis]
            if self.mode == "reflect" and (left >= n or right >= n):
                raise ConvError(f"{ctx.at(self.call)}: reflection padding "
                                f"{max(left, right)} must be smaller than the dim's size {n}")
            if self.mode in ("reflect", "replicate") and n == 0:
                raise ConvError(f"{ctx.at(self.call)}: empty dim")
            if self.mode == "circular" and (left > n or right > n):
                raise ConvError(f"{ctx.at(self.call)}: circular padding "
                                f"{max(left, right)} is larger than the dim's size {n}")
            out[axis] = n + left + right
            if out[axis] < 1:
                raise ConvError(f"{ctx.at(self.call)}: padding "
                                f"({left}, {right}) leaves nothing of size {n}")
        return tuple(out)


# -- lazy layers: the input size is read from the first input --

class Lazy(Layer):
    """LazyLinear, LazyConvNd, LazyConvTransposeNd, LazyBatchNormNd, LazyInstanceNormNd:
    torch infers in_features / in_channels / num_features from the first input."""

    def __init__(self, call, values, target: str, key: str, dims: int | None):
        super().__init__(call, values)
        self.kind, self.target, self.key, self.dims = call.name, target, key, dims
        self.inner: Layer | None = None

    def output(self, shape, ctx):
        if not shape:
            raise ConvError(f"{ctx.at(self.call)}: {self.kind} needs at least 1 dim")
        if self.key == "in_features":
            n = shape[-1]
        elif self.dims is not None and len(shape) == self.dims + 1:
            n = shape[0]  # a conv's unbatched input (C, *spatial)
        else:
            n = shape[1] if len(shape) > 1 else shape[0]
        self.n = n
        call = LayerCall(self.target, (), {self.key: n, **self.values},
                         f"{self.call} -> {self.target}({n}, ...)")
        try:
            self.inner = build_layer(call)
        except ConvError as e:
            raise ConvError(f"{ctx.at(self.call)}: with {self.key}={n} from the input, "
                            f"{str(e).split(': ', 1)[-1]}") from None
        self.params, self.conv = self.inner.params, self.inner.conv
        return self.inner.output(shape, ctx)

    def macs(self, shape_in, shape_out):
        return self.inner.macs(shape_in, shape_out)

    def geometry(self):
        return self.inner.geometry()

    def note(self, shape_in):
        return f"{self.key}={self.n} (inferred)"


def _lazy_sig(sig: list, key: str) -> list:
    return [(n, d) for n, d in sig if n != key]


# ---- the registry: torch class name -> builder ---------------------------------------

def _registry() -> dict:
    reg = {}
    for d in (1, 2, 3):
        reg[f"Conv{d}d"] = (_CONV_SIG, lambda c, v, d=d: Conv(c, v, d, False))
        reg[f"ConvTranspose{d}d"] = (_CONVT_SIG, lambda c, v, d=d: Conv(c, v, d, True))
        reg[f"MaxPool{d}d"] = (_MAXPOOL_SIG, lambda c, v, d=d: Pool(c, v, d, "max"))
        reg[f"AvgPool{d}d"] = (_AVGPOOL1_SIG if d == 1 else _AVGPOOL_SIG,
                               lambda c, v, d=d: Pool(c, v, d, "avg"))
        reg[f"AdaptiveAvgPool{d}d"] = ([("output_size", _REQUIRED)],
                                       lambda c, v, d=d: Adaptive(c, v, d))
        reg[f"AdaptiveMaxPool{d}d"] = ([("output_size", _REQUIRED), ("return_indices", False)],
                                       lambda c, v, d=d: Adaptive(c, v, d))
        reg[f"BatchNorm{d}d"] = (_BN_SIG, lambda c, v, d=d: BatchNorm(c, v, d))
        reg[f"InstanceNorm{d}d"] = (_IN_SIG, lambda c, v, d=d: BatchNorm(c, v, d, True))
        reg[f"ZeroPad{d}d"] = ([("padding", _REQUIRED)], lambda c, v, d=d: Pad(c, v, d, "zeros"))
        reg[f"ConstantPad{d}d"] = ([("padding", _REQUIRED), ("value", _REQUIRED)],
                                   lambda c, v, d=d: Pad(c, v, d, "constant"))
        reg[f"ReflectionPad{d}d"] = ([("padding", _REQUIRED)],
                                     lambda c, v, d=d: Pad(c, v, d, "reflect"))
        reg[f"ReplicationPad{d}d"] = ([("padding", _REQUIRED)],
                                      lambda c, v, d=d: Pad(c, v, d, "replicate"))
        reg[f"CircularPad{d}d"] = ([("padding", _REQUIRED)],
                                   lambda c, v, d=d: Pad(c, v, d, "circular"))
    for d in (1, 2, 3):
        reg[f"LazyConv{d}d"] = (_lazy_sig(_CONV_SIG, "in_channels"),
                                lambda c, v, d=d: Lazy(c, v, f"Conv{d}d", "in_channels", d))
        reg[f"LazyConvTranspose{d}d"] = (
            _lazy_sig(_CONVT_SIG, "in_channels"),
            lambda c, v, d=d: Lazy(c, v, f"ConvTranspose{d}d", "in_channels", d))
        reg[f"LazyBatchNorm{d}d"] = (_lazy_sig(_BN_SIG, "num_features"), lambda c, v, d=d: Lazy(
            c, v, f"BatchNorm{d}d", "num_features", None))
        # torch's lazy norms read dim 1 even from an unbatched input (and then fail)
        reg[f"LazyInstanceNorm{d}d"] = (_lazy_sig(_IN_SIG, "num_features"),
                                        lambda c, v, d=d: Lazy(c, v, f"InstanceNorm{d}d",
                                                               "num_features", None))
    reg["LazyLinear"] = (_lazy_sig([("in_features", _REQUIRED), ("out_features", _REQUIRED),
                                    ("bias", True), ("device", None), ("dtype", None)],
                                   "in_features"),
                         lambda c, v: Lazy(c, v, "Linear", "in_features", None))
    reg["GroupNorm"] = ([("num_groups", _REQUIRED), ("num_channels", _REQUIRED), ("eps", 1e-5),
                         ("affine", True), ("device", None), ("dtype", None)], GroupNorm)
    reg["LayerNorm"] = ([("normalized_shape", _REQUIRED), ("eps", 1e-5),
                         ("elementwise_affine", True), ("bias", True), ("device", None),
                         ("dtype", None)], LayerNorm)
    for name, sig in _SAME_SIGS.items():
        reg[name] = (sig, Same)
    reg["Flatten"] = ([("start_dim", 1), ("end_dim", -1)], Flatten)
    reg["Unflatten"] = ([("dim", _REQUIRED), ("unflattened_size", _REQUIRED)], Unflatten)
    reg["Linear"] = ([("in_features", _REQUIRED), ("out_features", _REQUIRED), ("bias", True),
                      ("device", None), ("dtype", None)], Linear)
    reg["Upsample"] = (_UPSAMPLE_SIG, Upsample)
    reg["UpsamplingNearest2d"] = ([("size", None), ("scale_factor", None)],
                                  lambda c, v: Upsample(c, v, "nearest"))
    reg["UpsamplingBilinear2d"] = ([("size", None), ("scale_factor", None)],
                                   lambda c, v: Upsample(c, v, "bilinear", True))
    reg["PixelShuffle"] = ([("upscale_factor", _REQUIRED)],
                           lambda c, v: PixelShuffle(c, v, False))
    reg["PixelUnshuffle"] = ([("downscale_factor", _REQUIRED)],
                             lambda c, v: PixelShuffle(c, v, True))
    return reg


REGISTRY = _registry()
KNOWN_LAYERS = tuple(sorted(REGISTRY) + ["Identity"])


def build_layer(call: LayerCall) -> Layer:
    """A LayerCall bound and checked as torch's constructor would; ConvError for an
    unknown layer (naming it) or arguments torch rejects."""
    if call.name == "Identity":  # nn.Identity(*args, **kwargs) ignores everything
        return Identity(call, {})
    entry = REGISTRY.get(call.name)
    if entry is None:
        lower = {k.lower(): k for k in KNOWN_LAYERS}
        guess = lower.get(call.name.lower()) or next(
            (k for k in KNOWN_LAYERS if _near(k.lower(), call.name.lower())), None)
        hint = f" (did you mean {guess}?)" if guess else ""
        raise ConvError(
            f"{call}: convcli has no rule for the layer {call.name!r}{hint}, so it cannot "
            "give its shape or cost. It knows: "
            "Conv/ConvTranspose/MaxPool/AvgPool/AdaptiveAvgPool/AdaptiveMaxPool/BatchNorm/"
            "InstanceNorm 1d-3d, GroupNorm, LayerNorm, Linear, Flatten, Unflatten, Upsample, "
            "PixelShuffle, padding layers, Lazy layers, Dropout variants, Identity and the "
            "activations (see `convcli net --help`); for any other module run `convcli "
            "summary` on a model file")
    signature, builder = entry
    return builder(call, bind(call, signature))


def analyse_net(input_shape, calls: list[LayerCall]) -> NetReport:
    """Propagate ``input_shape`` through the layers; ConvError at the first layer that
    torch would reject, saying which layer, what it received and the fix."""
    shape = tuple(input_shape)
    if not shape:
        raise ConvError("INPUT: give a tensor shape like 1x3x32x32")
    layers = []
    for i, call in enumerate(calls, 1):
        try:
            layers.append(build_layer(call))
        except ConvError as e:
            raise ConvError(f"layer {i}: {e}") from None
    rows = []
    ctx = Ctx(f"the input {_sx(shape)}", True)
    for i, layer in enumerate(layers, 1):
        try:
            out = layer.output(shape, ctx)
        except ConvError as e:
            raise ConvError(f"layer {i}: {e}") from None
        rows.append(NetRow(i, str(layer.call), layer.kind, shape, out, layer.params,
                           layer.macs(shape, out), layer.conv, layer.geometry(),
                           note=layer.note(shape)))
        ctx = Ctx(f"{layer.call} (layer {i}, output {_sx(out)})", False)
        shape = out
    return NetReport(tuple(input_shape), rows, sum(r.params for r in rows))
