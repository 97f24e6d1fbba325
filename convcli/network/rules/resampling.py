"""Upsample, UpsamplingNearest2d and UpsamplingBilinear2d (size or scale_factor,
modes and their ranks); 0 MACs; backward keeps nothing but shapes (mode 'area', an
adaptive average pool, keeps its input). The field: the
nearest source, the interpolation taps, or (mode 'area') the adaptive bins."""

from __future__ import annotations

import math

from convcli.calculator.ints import is_int
from convcli.errors import ConvError
from convcli.formatting import shape_list
from convcli.network.layer import Layer, Rule, Saves, rank_check

MAX_SIZE = 2 ** 63 - 1     # torch sizes are int64
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
                if not is_int(v) or v < 1:
                    raise ConvError(f"{call}: size={self.size!r} must be whole numbers >= 1")
        if self.scale is not None:
            for v in (self.scale if isinstance(self.scale, tuple) else (self.scale,)):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                        not math.isfinite(v) or v <= 0:
                    raise ConvError(f"{call}: scale_factor={self.scale!r} must be positive "
                                    "finite numbers")

    def output(self, shape, ctx):
        # the Upsampling*2d classes are Upsample with a fixed mode: nearest takes any
        # rank (despite the 2d in the name), bilinear 4d only, as torch's
        rank_check(self, shape, ctx, (3, 4, 5), "N, C and 1 to 3 spatial dims; "
                                                "interpolation has no unbatched form")
        d = len(shape) - 2
        need = _MODES_RANK.get(self.mode)
        if need and need != len(shape):
            mode = {1: "'linear'", 2: "'bilinear'", 3: "'trilinear'"}[d]
            raise ConvError(f"{ctx.at(self.call)}: mode={self.mode!r} "
                            f"needs a {need}d input ({need - 2} spatial dims); for {d} "
                            f"spatial dims use " + (mode if self.kind == "Upsample" else
                                                    f"Upsample(mode={mode}, "
                                                    "align_corners=True)"))
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
            try:
                out = tuple(math.floor(float(n) * float(s)) for n, s in zip(shape[2:], sc))
            except OverflowError:
                out = (MAX_SIZE + 1,)
            if any(o > MAX_SIZE for o in out):
                raise ConvError(f"{ctx.at(self.call)}: scale_factor {self.scale} gives sizes "
                                f"beyond torch's limit of 2**63 - 1 elements per dim; use a "
                                "smaller scale_factor")
            if any(o < 1 for o in out):
                raise ConvError(f"{ctx.at(self.call)}: scale_factor "
                                f"{self.scale} gives an empty output {shape_list(out)}")
        return tuple(shape[:2]) + out

    def saves(self, shape_in, shape_out, size):
        # mode 'area' is an adaptive average pool, whose backward keeps its input
        return Saves(input=self.mode == "area")

    def field(self, shape_in, shape_out, d):
        if self.mode == "nearest":
            return [("nearest",)]
        if self.mode == "nearest-exact":
            return [("nearest-exact",)]
        if self.mode == "area":
            return [("adaptive",)]
        return [("cubic" if self.mode == "bicubic" else "linear", bool(self.align))]


_UPSAMPLE_SIG = [("size", None), ("scale_factor", None), ("mode", "nearest"),
                 ("align_corners", None), ("recompute_scale_factor", None)]


RULES: dict[str, Rule] = {
    "Upsample": (_UPSAMPLE_SIG, Upsample),
    "UpsamplingNearest2d": ([("size", None), ("scale_factor", None)],
                            lambda c, v: Upsample(c, v, "nearest")),
    "UpsamplingBilinear2d": ([("size", None), ("scale_factor", None)],
                             lambda c, v: Upsample(c, v, "bilinear", True)),
}
