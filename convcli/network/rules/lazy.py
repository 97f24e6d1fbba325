"""LazyLinear, LazyConv/ConvTranspose 1d-3d, LazyBatchNorm/InstanceNorm 1d-3d: the
size torch infers from the first input, then the concrete layer's rule."""

from __future__ import annotations

from typing import Callable

from convcli.errors import ConvError
from convcli.network.binding import REQUIRED
from convcli.network.layer import Ctx, Layer, Rule
from convcli.network.rules.convolution import _CONV_SIG, _CONVT_SIG
from convcli.network.rules.normalization import _BN_SIG, _IN_SIG
from convcli.network.text import LayerCall

class Lazy(Layer):
    """LazyLinear, LazyConvNd, LazyConvTransposeNd, LazyBatchNormNd, LazyInstanceNormNd:
    torch infers in_features / in_channels / num_features from the first input."""

    def __init__(self, call, values, target: str, key: str, dims: int | None,
                 build: Callable[[LayerCall], Layer]):
        super().__init__(call, values)
        self.kind, self.target, self.key, self.dims = call.name, target, key, dims
        self.build = build
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
            self.inner = self.build(call)
        except ConvError as e:
            raise ConvError(f"{ctx.at(self.call)}: with {self.key}={n} from the input, "
                            f"{str(e).split(': ', 1)[-1]}") from None
        self.params, self.conv = self.inner.params, self.inner.conv
        return self.inner.output(shape, ctx)

    def _built(self) -> Layer:
        if self.inner is None:
            raise ConvError(f"{self.call}: its size is known only after its first input")
        return self.inner

    def macs(self, shape_in, shape_out):
        return self._built().macs(shape_in, shape_out)

    def geometry(self):
        return self._built().geometry()

    def note(self, shape_in):
        return f"{self.key}={self.n} (inferred)"

    def _for(self, shape_in) -> Layer:
        """The concrete layer, built from ``shape_in`` if no input reached it yet."""
        if self.inner is None:
            self.output(shape_in, Ctx("its input", True))
        return self._built()

    def saves(self, shape_in, shape_out, size):
        return self._for(shape_in).saves(shape_in, shape_out, size)

    def field(self, shape_in, shape_out, d):
        return self._for(shape_in).field(shape_in, shape_out, d)

    def buffer_bytes(self, shape_in, size):
        return self._for(shape_in).buffer_bytes(shape_in, size)

    def param_tensors(self):
        return self._built().param_tensors()


_LAZY_IN_SIG = [(n, True if n in ("affine", "track_running_stats") else v) for n, v in _IN_SIG]


def _lazy_sig(sig: list, key: str) -> list:
    return [(n, d) for n, d in sig if n != key]


def rules(build: Callable[[LayerCall], Layer]) -> dict[str, Rule]:
    """The lazy layers; ``build`` builds the concrete layer once the size is known."""
    reg: dict[str, Rule] = {}
    for d in (1, 2, 3):
        reg[f"LazyConv{d}d"] = (_lazy_sig(_CONV_SIG, "in_channels"), lambda c, v, d=d: Lazy(
            c, v, f"Conv{d}d", "in_channels", d, build))
        reg[f"LazyConvTranspose{d}d"] = (
            _lazy_sig(_CONVT_SIG, "in_channels"),
            lambda c, v, d=d: Lazy(c, v, f"ConvTranspose{d}d", "in_channels", d, build))
        reg[f"LazyBatchNorm{d}d"] = (_lazy_sig(_BN_SIG, "num_features"), lambda c, v, d=d: Lazy(
            c, v, f"BatchNorm{d}d", "num_features", None, build))
        # torch's lazy norms read dim 1 even from an unbatched input (and then fail);
        # LazyInstanceNorm defaults to affine=True, track_running_stats=True
        reg[f"LazyInstanceNorm{d}d"] = (_lazy_sig(_LAZY_IN_SIG, "num_features"),
                                        lambda c, v, d=d: Lazy(c, v, f"InstanceNorm{d}d",
                                                               "num_features", None, build))
    reg["LazyLinear"] = (_lazy_sig([("in_features", REQUIRED), ("out_features", REQUIRED),
                                    ("bias", True), ("device", None), ("dtype", None)],
                                   "in_features"),
                         lambda c, v: Lazy(c, v, "Linear", "in_features", None, build))
    return reg
