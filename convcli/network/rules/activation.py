"""Activations, dropout and Identity: the output is the input's shape, 0 MACs
(PReLU has parameters)."""

from __future__ import annotations

from convcli.calculator.ints import is_int
from convcli.calculator.shapes import spatial_names
from convcli.errors import ConvError
from convcli.network.binding import REQUIRED, bool_arg, int_arg
from convcli.network.layer import Layer, Rule

class Same(Layer):
    """Activations, dropout, Identity: the output is the input's shape."""

    def __init__(self, call, values):
        super().__init__(call, values)
        self.kind = call.name
        for key in ("inplace",):
            if key in values:
                bool_arg(call, key, values[key])
        if "p" in values:
            p = values["p"]
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ConvError(f"{call}: p={p!r} is a probability; use 0 <= p <= 1")
        if call.name == "PReLU":
            self.n = int_arg(call, "num_parameters", values["num_parameters"], 1)
            self.params = self.n

    def output(self, shape, ctx):
        dim = self.values.get("dim")
        if dim is not None and "dim" in self.values and self.kind.endswith(("max", "min")):
            if not is_int(dim) or not -len(shape) <= dim < max(len(shape), 1):
                raise ConvError(f"{ctx.at(self.call)}: dim={dim!r} is out "
                                f"of range for {len(shape)} dims (use {-len(shape)} to "
                                f"{len(shape) - 1})")
        if self.kind == "PReLU" and self.n > 1:
            c = shape[1] if len(shape) >= 2 else None
            if c != self.n:
                raise ConvError(f"{ctx.at(self.call)} but num_parameters="
                                f"{self.n} must equal the channels (dim 1); use "
                                f"PReLU({c if c is not None else 1})")
        if self.kind == "CrossMapLRN2d" and len(shape) != 4:
            raise ConvError(f"{ctx.at(self.call)}: CrossMapLRN2d takes 4 dims (N, C, H, W)")
        if self.kind == "Dropout1d" and len(shape) not in (2, 3):
            raise ConvError(f"{ctx.at(self.call)}: Dropout1d takes 3 dims (N, C, L) or 2 "
                            "unbatched (C, L)")
        return tuple(shape)

    def note(self, shape_in):
        if self.kind in ("Dropout2d", "Dropout3d"):
            d = int(self.kind[-2])
            if len(shape_in) not in (d + 1, d + 2):
                return (f"torch warns: {self.kind} expects {d + 2} dims (N, C, "
                        f"{spatial_names(d)}); on {len(shape_in)} dims it zeroes other slices")
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
    "Threshold": [("threshold", REQUIRED), ("value", REQUIRED), ("inplace", False)],
    "GLU_": [],
    "Softmax": _DIM, "LogSoftmax": _DIM, "Softmin": _DIM, "Softmax2d": [],
    "PReLU": [("num_parameters", 1), ("init", 0.25), ("device", None), ("dtype", None)],
    "Dropout": [("p", 0.5), ("inplace", False)], "Dropout1d": [("p", 0.5), ("inplace", False)],
    "Dropout2d": [("p", 0.5), ("inplace", False)], "Dropout3d": [("p", 0.5), ("inplace", False)],
    "AlphaDropout": [("p", 0.5), ("inplace", False)],
    "FeatureAlphaDropout": [("p", 0.5), ("inplace", False)],
    "LocalResponseNorm": [("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)],
    "CrossMapLRN2d": [("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1)],
    "RReLU": [("lower", 0.125), ("upper", 1 / 3), ("inplace", False)],
}
del _SAME_SIGS["GLU_"]


class GLU(Layer):
    """Splits ``dim`` in halves a, b and returns a * sigmoid(b): that dim halves."""

    kind = "GLU"

    def output(self, shape, ctx):
        dim = self.values["dim"]
        if not is_int(dim) or not -len(shape) <= dim < len(shape):
            raise ConvError(f"{ctx.at(self.call)}: dim={dim!r} is out of range for "
                            f"{len(shape)} dims")
        d = dim % len(shape)
        if shape[d] % 2:
            raise ConvError(f"{ctx.at(self.call)}: GLU halves dim {d}, which has "
                            f"{shape[d]} elements, an odd number")
        return tuple(shape[:d]) + (shape[d] // 2,) + tuple(shape[d + 1:])


class Identity(Layer):
    kind = "Identity"

    def output(self, shape, ctx):
        return tuple(shape)


RULES: dict[str, Rule] = {name: (sig, Same) for name, sig in _SAME_SIGS.items()}
RULES["GLU"] = ([("dim", -1)], GLU)
