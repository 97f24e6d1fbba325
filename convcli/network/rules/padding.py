"""ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad 1d-3d, with
torch's size limits per mode; 0 MACs. Backward of reflect and replicate keeps the
input; the field is the pad step of receptive_fields.py (the input index behind each padded
position, none for a constant)."""

from __future__ import annotations

from convcli.calculator.ints import is_int
from convcli.errors import ConvError
from convcli.network.binding import REQUIRED
from convcli.network.layer import Layer, Rule, Saves, spatial_rank_check

class Pad(Layer):
    def __init__(self, call, values, dims, mode):
        super().__init__(call, values)
        self.kind, self.dims, self.mode = call.name, dims, mode
        p = values["padding"]
        if is_int(p):
            p = (p,) * (2 * dims)
        if not (isinstance(p, tuple) and len(p) == 2 * dims and all(is_int(v) for v in p)):
            raise ConvError(f"{call}: padding={values['padding']!r} must be a whole number or "
                            f"{2 * dims} numbers (left, right"
                            + (", top, bottom" if dims > 1 else "")
                            + (", front, back" if dims > 2 else "") + ")")
        self.pad = p

    def output(self, shape, ctx):
        d = self.dims
        spatial_rank_check(self, shape, ctx, d)
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
            # a crop to exactly nothing is a 0-size dim in torch, except where F.pad
            # reflects or replicates (it needs an element to copy)
            if out[axis] < 0:
                raise ConvError(f"{ctx.at(self.call)}: padding ({left}, {right}) crops "
                                f"{-left - right} from a dim of size {n}")
            if out[axis] == 0 and self.mode in ("reflect", "replicate"):
                raise ConvError(f"{ctx.at(self.call)}: padding ({left}, {right}) leaves "
                                f"nothing of size {n} to {self.mode}")
        return tuple(out)

    def saves(self, shape_in, shape_out, size):
        return Saves(input=self.mode in ("reflect", "replicate"))

    def field(self, shape_in, shape_out, d):
        i = 2 * (len(shape_in) - 3 - d)         # padding runs from the last dim
        mode = "zeros" if self.mode == "constant" else self.mode
        return [("pad", self.pad[i], mode, self.pad[i + 1])]


RULES: dict[str, Rule] = {}
for _d in (1, 2, 3):
    RULES[f"ZeroPad{_d}d"] = ([("padding", REQUIRED)], lambda c, v, d=_d: Pad(c, v, d, "zeros"))
    RULES[f"ConstantPad{_d}d"] = ([("padding", REQUIRED), ("value", REQUIRED)],
                                  lambda c, v, d=_d: Pad(c, v, d, "constant"))
    RULES[f"ReflectionPad{_d}d"] = ([("padding", REQUIRED)],
                                    lambda c, v, d=_d: Pad(c, v, d, "reflect"))
    RULES[f"ReplicationPad{_d}d"] = ([("padding", REQUIRED)],
                                     lambda c, v, d=_d: Pad(c, v, d, "replicate"))
    RULES[f"CircularPad{_d}d"] = ([("padding", REQUIRED)],
                                  lambda c, v, d=_d: Pad(c, v, d, "circular"))
