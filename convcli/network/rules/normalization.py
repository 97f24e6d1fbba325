"""BatchNorm/InstanceNorm 1d-3d, SyncBatchNorm, GroupNorm, LayerNorm and RMSNorm: the
output is the input's shape; params are the affine elements; 0 MACs. Backward keeps
the input and the statistics (RMSNorm computes in float32 at least and keeps that
copy); BatchNorm's field is the per-channel map of eval mode, the others' statistics
over spatial dims make the field global along them."""

from __future__ import annotations

from math import prod

from convcli.calculator.ints import is_int
from convcli.formatting import spatial_names
from convcli.errors import ConvError
from convcli.formatting import plural
from convcli.network.binding import REQUIRED, STAR, bool_arg, int_arg
from convcli.network.layer import Layer, Rule, Saves, rank_check

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

    def _channels(self, shape_in) -> int:
        """Statistics per channel (BatchNorm), per sample and channel (InstanceNorm)."""
        if not self.instance:
            return shape_in[1]
        return prod(shape_in[:2]) if len(shape_in) == self.dims + 2 else shape_in[0]

    def saves(self, shape_in, shape_out, size):
        n = 2
        if self.instance:   # with affine the weight, with running stats both, per sample
            n += self.affine + 2 * bool(self.values["track_running_stats"])
        return Saves(input=True, extra=n * self._channels(shape_in) * size)

    def buffer_bytes(self, shape_in, size):
        """Running mean and var, and a 0-d int64 count."""
        return 2 * self.c * size + 8 if self.values["track_running_stats"] else 0

    def field(self, shape_in, shape_out, d):
        """Eval mode: BatchNorm, and InstanceNorm with running stats, are a per-channel
        map; InstanceNorm without them normalises over the spatial dims."""
        if self.instance and not self.values["track_running_stats"]:
            return [("global",)]
        return [("same",)]

    def note(self, shape_in):
        d = self.dims
        c = shape_in[0] if self.instance and len(shape_in) == d + 1 else shape_in[1]
        if self.instance and c != self.c:
            return f"torch warns: num_features={self.c} but the input has {c} channels"
        return ""


# `bias` (keyword-only since torch 2.11: after STAR): affine=True keeps a weight, and a
# bias unless False
_BN_SIG = [("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
           ("track_running_stats", True), ("device", None), ("dtype", None), (STAR, None),
           ("bias", True)]
_IN_SIG = [("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", False),
           ("track_running_stats", False), ("device", None), ("dtype", None),
           (STAR, None), ("bias", True)]


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

    def saves(self, shape_in, shape_out, size):
        return Saves(input=True, extra=2 * shape_in[0] * self.g * size)

    def field(self, shape_in, shape_out, d):
        return [("global",)]


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

    def rows(self, shape_in) -> int:
        return prod(shape_in[:len(shape_in) - len(self.ns)])

    def saves(self, shape_in, shape_out, size):
        return Saves(input=True, extra=2 * self.rows(shape_in) * size)   # mean, rstd

    def field(self, shape_in, shape_out, d):
        # spatial dim d is tensor dim d + 2; the last len(ns) dims are normalised
        return [("global",)] if d + 2 >= len(shape_in) - len(self.ns) else [("same",)]


class RMSNorm(LayerNorm):
    """x * rsqrt(mean(x**2) + eps) (* weight), computed in float32 at least: backward
    keeps the input in that dtype (a copy for half types), rstd per row, and with a
    weight the normalised value."""

    def saves(self, shape_in, shape_out, size):
        c = max(size, 4)
        n = prod(shape_in)
        extra = self.rows(shape_in) * c + (n * c if self.params else 0)
        return Saves(input=size == c, extra=extra + (0 if size == c else n * c))

    def param_tensors(self):
        return 1 if self.params else 0


RULES: dict[str, Rule] = {}
for _d in (1, 2, 3):
    RULES[f"BatchNorm{_d}d"] = (_BN_SIG, lambda c, v, d=_d: BatchNorm(c, v, d))
    RULES[f"InstanceNorm{_d}d"] = (_IN_SIG, lambda c, v, d=_d: BatchNorm(c, v, d, True))
RULES["GroupNorm"] = ([("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5),
                       ("affine", True), ("device", None), ("dtype", None), (STAR, None),
                       ("bias", True)], GroupNorm)
RULES["RMSNorm"] = ([("normalized_shape", REQUIRED), ("eps", None), ("elementwise_affine", True),
                     ("device", None), ("dtype", None)],
                    lambda c, v: RMSNorm(c, {**v, "bias": False}))
RULES["SyncBatchNorm"] = ([*_BN_SIG[:5], ("process_group", None), *_BN_SIG[5:]],
                          lambda c, v: BatchNorm(c, v, 0))   # dims 0: any (N, C, *)
RULES["LayerNorm"] = ([("normalized_shape", REQUIRED), ("eps", 1e-5),
                       ("elementwise_affine", True), ("bias", True), ("device", None),
                       ("dtype", None)], LayerNorm)
