"""BatchNorm/InstanceNorm 1d-3d, GroupNorm and LayerNorm: the output is the input's
shape; params are the affine elements; 0 MACs."""

from __future__ import annotations

from math import prod

from convcli.calculator.ints import is_int
from convcli.calculator.shapes import spatial_names
from convcli.errors import ConvError
from convcli.formatting import plural
from convcli.network.binding import REQUIRED, bool_arg, int_arg
from convcli.network.layer import Layer, Rule, rank_check

class BatchNorm(Layer):
    def __init__(self, call, values, dims, instance=False):
        super().__init__(call, values)
        self.kind, self.dims, self.instance = call.name, dims, instance
        self.c = int_arg(call, "num_features", values["num_features"], 1)
        self.affine = bool_arg(call, "affine", values["affine"])
        bias = bool_arg(call, "bias", values["bias"])
        self.params = self.c * (1 + bias) if self.affine else 0

    def output(self, shape, ctx):
        d = self.dims
        ranks: tuple[int, ...]
        if self.instance:
            ranks = (d + 1, d + 2)
            names = f"N, C, {spatial_names(d)}, or unbatched C, {spatial_names(d)}"
        else:
            ranks = (2, 3) if d == 1 else (2, 3, 4, 5) if d == 0 else (d + 2,)
            names = "N, C or N, C, L" if d == 1 else "N, C, *" if d == 0 else \
                f"N, C, {spatial_names(d)}"
        rank_check(self, shape, ctx, ranks, names)
        c = shape[0] if self.instance and len(shape) == d + 1 else shape[1]
        if c != self.c and (not self.instance or self.affine):
            fix = self.call.text.replace(str(self.c), str(c), 1) if str(
                self.c) in self.call.text else f"{self.kind}({c})"
            raise ConvError(f"{ctx.receives(self.call, plural(c, 'channel'))} "
                            f"but num_features is {self.c}; use {fix}")
        return tuple(shape)

    def note(self, shape_in):
        d = self.dims
        c = shape_in[0] if self.instance and len(shape_in) == d + 1 else shape_in[1]
        if self.instance and c != self.c:
            return f"torch warns: num_features={self.c} but the input has {c} channels"
        return ""


# `bias` (keyword-only, torch >= 2.11): affine=True keeps a weight, and a bias unless False
_BN_SIG = [("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
           ("track_running_stats", True), ("device", None), ("dtype", None), ("bias", True)]
_IN_SIG = [("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", False),
           ("track_running_stats", False), ("device", None), ("dtype", None),
           ("bias", True)]


class GroupNorm(Layer):
    kind = "GroupNorm"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.g = int_arg(call, "num_groups", values["num_groups"], 1)
        self.c = int_arg(call, "num_channels", values["num_channels"], 1)
        if self.c % self.g:
            raise ConvError(f"{call}: num_channels={self.c} is not divisible by "
                            f"num_groups={self.g}; valid num_groups: {_divisors(self.c)}")
        bias = bool_arg(call, "bias", values["bias"])
        self.params = self.c * (1 + bias) if bool_arg(call, "affine", values["affine"]) else 0

    def output(self, shape, ctx):
        if len(shape) < 2:
            raise ConvError(f"{ctx.at(self.call)}; GroupNorm needs "
                            "(N, C, *) with at least 2 dims")
        if shape[1] != self.c:
            raise ConvError(f"{ctx.receives(self.call, plural(shape[1], 'channel'))} "
                            f"but num_channels is {self.c}; use "
                            f"GroupNorm(g, {shape[1]}) with g dividing {shape[1]}")
        return tuple(shape)


def _divisors(n: int, most: int = 12) -> str:
    """The divisors of n, by pairs up to its square root (fast for n = 10**12); a long
    list is shortened to its first and last few."""
    small: list[object] = []
    large: list[object] = []
    d = 1
    while d * d <= n and d <= 10 ** 6:
        if n % d == 0:
            small.append(d)
            if d * d != n:
                large.append(n // d)
        d += 1
    values: list[object] = small + large[::-1] if d * d > n else \
        small + ["..."] + large[::-1]
    if len(values) > most:
        values = values[:most // 2] + ["..."] + values[-(most // 2):]
    return ", ".join(map(str, values))


class LayerNorm(Layer):
    kind = "LayerNorm"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.kind = call.name
        ns = values["normalized_shape"]
        ns = (ns,) if is_int(ns) else ns
        if not (isinstance(ns, tuple) and ns and all(is_int(v) and v >= 1 for v in ns)):
            raise ConvError(f"{call}: normalized_shape={values['normalized_shape']!r} must "
                            "be a whole number or a tuple of them (the trailing dims)")
        self.ns = ns
        affine = bool_arg(call, "elementwise_affine", values["elementwise_affine"])
        bias = bool_arg(call, "bias", values["bias"])
        self.params = prod(ns) * (1 + bias) if affine else 0

    def output(self, shape, ctx):
        k = len(self.ns)
        if tuple(shape[-k:]) != self.ns or len(shape) < k:
            last = tuple(shape[-k:])
            fix = (f"{self.kind}({last[0]})" if k == 1 else f"{self.kind}({list(last)})")
            raise ConvError(
                f"{ctx.at(self.call)}: normalized_shape {list(self.ns)} must "
                f"equal the last {k} dim(s), which are {list(last)}; use {fix}"
                + (" (for channels of an image use GroupNorm(1, C) or permute first)"
                   if len(shape) >= 3 else ""))
        return tuple(shape)


RULES: dict[str, Rule] = {}
for _d in (1, 2, 3):
    RULES[f"BatchNorm{_d}d"] = (_BN_SIG, lambda c, v, d=_d: BatchNorm(c, v, d))
    RULES[f"InstanceNorm{_d}d"] = (_IN_SIG, lambda c, v, d=_d: BatchNorm(c, v, d, True))
RULES["GroupNorm"] = ([("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5),
                       ("affine", True), ("device", None), ("dtype", None), ("bias", True)],
                      GroupNorm)
RULES["RMSNorm"] = ([("normalized_shape", REQUIRED), ("eps", None), ("elementwise_affine", True),
                     ("device", None), ("dtype", None)],
                    lambda c, v: LayerNorm(c, {**v, "bias": False}))
RULES["SyncBatchNorm"] = ([*_BN_SIG[:5], ("process_group", None), *_BN_SIG[5:]],
                          lambda c, v: BatchNorm(c, v, 0))   # dims 0: any (N, C, *)
RULES["LayerNorm"] = ([("normalized_shape", REQUIRED), ("eps", 1e-5),
                       ("elementwise_affine", True), ("bias", True), ("device", None),
                       ("dtype", None)], LayerNorm)
