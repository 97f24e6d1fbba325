"""Linear: MACs = prod(input dims but the last) * in_features * out_features; backward
keeps the input; it ends the spatial dims (no field after it)."""

from __future__ import annotations

from math import prod

from convcli.errors import ConvError
from convcli.formatting import plural, shape_list
from convcli.network.binding import REQUIRED, bool_arg, int_arg
from convcli.network.layer import Layer, Rule, Saves

class Linear(Layer):
    kind = "Linear"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.fin = int_arg(call, "in_features", values["in_features"], 0)
        self.fout = int_arg(call, "out_features", values["out_features"], 0)
        self.bias = bool_arg(call, "bias", values["bias"])
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
                where = (f" (the last dim of {shape_list(shape)}; to use all "
                         f"{prod(shape[1:]):,} values per sample put Flatten() before it)")
            raise ConvError(f"{ctx.receives(self.call, plural(f, 'feature'))}{where}; use {fix}")
        return tuple(shape[:-1]) + (self.fout,)

    def macs(self, shape_in, shape_out):
        return prod(shape_in[:-1]) * self.fin * self.fout

    def saves(self, shape_in, shape_out, size):
        return Saves(input=True)

    def field(self, shape_in, shape_out, d):
        return None


RULES: dict[str, Rule] = {"Linear": ([("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True),
                     ("device", None), ("dtype", None)], Linear)}
