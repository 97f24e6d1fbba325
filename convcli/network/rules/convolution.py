"""Conv1d/2d/3d and ConvTranspose1d/2d/3d: ConvSpec does the checking and the
counting (transposed convs counted per input element, costs.py). Backward keeps the
input (and the padded copy under padding_mode reflect/replicate/circular, where the
input itself is kept by reflect and replicate only); the field is
the window (a pad step first for those padding modes)."""

from __future__ import annotations

from math import prod

from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError
from convcli.formatting import plural
from convcli.network.binding import REQUIRED
from convcli.network.layer import Layer, Rule, Saves, spatial_rank_check

_CONV_SIG = [("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
             ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True),
             ("padding_mode", "zeros"), ("device", None), ("dtype", None)]
_CONVT_SIG = [("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
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
            self.spec = ConvSpec(dims=dims, transposed=transposed, **v)
        except ConvError as e:
            raise ConvError(f"{call}: {e}") from None
        self.conv = self.spec
        self.params = self.spec.num_params

    def output(self, shape, ctx):
        d, spec = self.dims, self.spec
        spatial_rank_check(self, shape, ctx, d)
        c = shape[1] if len(shape) == d + 2 else shape[0]
        if c != spec.in_channels:
            try:
                fix = f"; use {spec.replace(in_channels=c).torch_repr()}"
            except ConvError:
                fix = (f"; in_channels must be {c}, and groups={spec.groups} must then "
                       f"divide {c}")
            raise ConvError(
                f"{ctx.receives(self.call, plural(c, 'channel'))} but its "
                f"in_channels is {spec.in_channels}{fix}")
        try:
            return spec.output_shape(shape)
        except ConvError as e:
            raise ConvError(f"{ctx.at(self.call)}: {e}") from None

    def macs(self, shape_in, shape_out):
        return self.spec.macs(shape_in)

    def geometry(self):
        return self.spec.geometry()

    def _pads_first(self) -> bool:
        """padding_mode reflect/replicate/circular: F.pad makes a padded copy first."""
        return self.spec.padding_mode != "zeros" and any(
            a or b for a, b in self.spec.padding_pairs)

    def saves(self, shape_in, shape_out, size):
        if not self._pads_first():
            return Saves(input=True)
        lead = len(shape_in) - self.dims
        padded = list(shape_in[:lead]) + [n + a + b for n, (a, b) in zip(
            shape_in[lead:], self.spec.padding_pairs)]
        # F.pad's backward keeps its input for reflect and replicate (as the Pad layers)
        return Saves(input=self.spec.padding_mode in ("reflect", "replicate"),
                     extra=prod(padded) * size)

    def field(self, shape_in, shape_out, d):
        spec = self.spec
        k, s, dl = spec.kernel_size[d], spec.stride[d], spec.dilation[d]
        left, right = spec.padding_pairs[d]
        if spec.transposed:
            return [("convT", k, s, spec.padding[d], dl)]
        if self._pads_first():
            return [("pad", left, spec.padding_mode, right), ("window", k, s, 0, dl)]
        return [("window", k, s, left, dl)]


RULES: dict[str, Rule] = {}
for _d in (1, 2, 3):
    RULES[f"Conv{_d}d"] = (_CONV_SIG, lambda c, v, d=_d: Conv(c, v, d, False))
    RULES[f"ConvTranspose{_d}d"] = (_CONVT_SIG, lambda c, v, d=_d: Conv(c, v, d, True))
