"""Activations, dropout, the local response norms, GLU and Identity: the output is the
input's shape (GLU halves one dim), 0 MACs (PReLU has parameters). One Kind record per
elementwise layer type says what backward keeps; their field is the identity, but for
the softmaxes over a spatial dim (global along it) and GLU over one (two taps)."""

from __future__ import annotations

from math import prod

from convcli.calculator.ints import is_int
from convcli.formatting import spatial_names
from convcli.errors import ConvError
from convcli.network.binding import REQUIRED, bool_arg, int_arg
from convcli.network.layer import Layer, Rule, Saves

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
        if call.name == "Hardtanh":      # min_value/max_value: torch's deprecated names
            low = values["min_val"] if values["min_value"] is None else values["min_value"]
            high = values["max_val"] if values["max_value"] is None else values["max_value"]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in (low, high)) or not high > low:
                raise ConvError(f"{call}: max_val ({high!r}) must be a number greater than "
                                f"min_val ({low!r})")

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
        if self.kind == "LocalResponseNorm" and len(shape) < 3:
            raise ConvError(f"{ctx.at(self.call)}: LocalResponseNorm takes 3 or more dims "
                            "(N, C, *)")
        if self.kind == "CrossMapLRN2d" and len(shape) != 4:
            raise ConvError(f"{ctx.at(self.call)}: CrossMapLRN2d takes 4 dims (N, C, H, W)")
        if self.kind == "Dropout1d" and len(shape) not in (2, 3):
            raise ConvError(f"{ctx.at(self.call)}: Dropout1d takes 3 dims (N, C, L) or 2 "
                            "unbatched (C, L)")
        return tuple(shape)

    def saves(self, shape_in, shape_out, size):
        kind, n = KINDS[self.kind], prod(shape_in)
        inplace = self.values.get("inplace") is True
        if inplace and kind.copies:
            return Saves(extra=n * size, view=True)
        extra = kind.extra * n * size
        if self.kind == "CrossMapLRN2d":       # save_for_backward(input, output)
            return Saves(input=True, output=True)
        if self.kind == "LocalResponseNorm":   # x*x padded over channels and pooled, the
            c, pad = shape_in[1], self.values["size"] - 1     # denominator, its base
            extra = (prod(shape_in) // c * (c + pad) + 2 * n) * size
        if self.values.get("p", 0) > 0:        # dropout's mask, per element or channel
            per_channel = self.kind in ("Dropout1d", "Dropout2d", "Dropout3d",
                                        "FeatureAlphaDropout")
            extra = (prod(shape_in[:2] if len(shape_in) >= 3 else shape_in[:1])
                     if per_channel else n) * size
        return Saves(kind.keeps == "input", kind.keeps == "output", extra, inplace)

    def field(self, shape_in, shape_out, d):
        dim = self.values.get("dim")
        if self.kind in ("Softmax", "LogSoftmax", "Softmin") and dim is not None and \
                dim % len(shape_in) == d + 2:
            return [("global",)]
        return [("same",)]

    def param_tensors(self):
        return 1 if self.params else 0

    def note(self, shape_in):
        if self.kind in ("Dropout2d", "Dropout3d"):
            d = int(self.kind[-2])
            if len(shape_in) not in (d + 1, d + 2):
                return (f"torch warns: {self.kind} expects {d + 2} dims (N, C, "
                        f"{spatial_names(d)}); on {len(shape_in)} dims it zeroes other slices")
        return ""


class Kind:
    """One elementwise layer type: torch's signature and what backward keeps: "input",
    "output" or nothing; ``extra``: further tensors the size of the input (RReLU's
    noise, LogSigmoid's buffer, Softsign's denominator, Tanhshrink's tanh);
    ``copies``: run in place, it first copies its input for backward. A plain class
    (see layer.Saves)."""

    __slots__ = ("signature", "keeps", "extra", "copies")

    def __init__(self, signature: list, keeps: str = "", extra: int = 0,
                 copies: bool = False):
        self.signature, self.keeps, self.extra, self.copies = signature, keeps, extra, copies


_INPLACE = [("inplace", False)]
_DIM = [("dim", None)]
_P = [("p", 0.5), ("inplace", False)]
_LRN = [("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)]
KINDS: dict[str, Kind] = {
    "ReLU": Kind(_INPLACE, "output"), "ReLU6": Kind(_INPLACE, "input", copies=True),
    "SELU": Kind(_INPLACE, "input"), "SiLU": Kind(_INPLACE, "input", copies=True),
    "Mish": Kind(_INPLACE, "input", copies=True),
    "Hardswish": Kind(_INPLACE, "input", copies=True),
    "Hardsigmoid": Kind(_INPLACE, "input", copies=True),
    "LeakyReLU": Kind([("negative_slope", 0.01), ("inplace", False)], "input"),
    "ELU": Kind([("alpha", 1.0), ("inplace", False)], "input"),
    "CELU": Kind([("alpha", 1.0), ("inplace", False)], "input"),
    "GELU": Kind([("approximate", "none")], "input"), "Sigmoid": Kind([], "output"),
    "Tanh": Kind([], "output"), "LogSigmoid": Kind([], "input", extra=1),
    "Softsign": Kind([], "input", extra=1), "Tanhshrink": Kind([], extra=1),
    "Hardtanh": Kind([("min_val", -1.0), ("max_val", 1.0), ("inplace", False),
                      ("min_value", None), ("max_value", None)], "input", copies=True),
    "Softplus": Kind([("beta", 1.0), ("threshold", 20.0)], "input"),
    "Hardshrink": Kind([("lambd", 0.5)], "input"),
    "Softshrink": Kind([("lambd", 0.5)], "input"),
    "Threshold": Kind([("threshold", REQUIRED), ("value", REQUIRED), ("inplace", False)],
                      "input"),
    "Softmax": Kind(_DIM, "output"), "LogSoftmax": Kind(_DIM, "output"),
    "Softmin": Kind(_DIM, "output"), "Softmax2d": Kind([], "output"),
    "PReLU": Kind([("num_parameters", 1), ("init", 0.25), ("device", None),
                   ("dtype", None)], "input"),
    "Dropout": Kind(_P), "Dropout1d": Kind(_P), "Dropout2d": Kind(_P),
    "Dropout3d": Kind(_P), "AlphaDropout": Kind(_P), "FeatureAlphaDropout": Kind(_P),
    "LocalResponseNorm": Kind(_LRN, "input"),   # its own rule below
    "CrossMapLRN2d": Kind([*_LRN[:3], ("k", 1)], "input"),
    "RReLU": Kind([("lower", 0.125), ("upper", 1 / 3), ("inplace", False)], "input",
                  extra=1),
}


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

    def saves(self, shape_in, shape_out, size):
        return Saves(input=True)

    def field(self, shape_in, shape_out, d):
        """out[o] = a[o] * sigmoid(b[o]): along the halved dim, o and o + half."""
        return [("halves",)] if self.values["dim"] % len(shape_in) == d + 2 else \
            [("same",)]


class Identity(Layer):
    kind = "Identity"

    def output(self, shape, ctx):
        return tuple(shape)

    def saves(self, shape_in, shape_out, size):
        return Saves(view=True)

    def field(self, shape_in, shape_out, d):
        return [("same",)]


RULES: dict[str, Rule] = {name: (kind.signature, Same) for name, kind in KINDS.items()}
RULES["GLU"] = ([("dim", -1)], GLU)
