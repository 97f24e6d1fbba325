"""What forward() receives: ``--input`` values, parsed without torch, made with it.

``--input`` may be given several times. Each value is ``SHAPE`` (the next positional
argument), or ``NAME=SHAPE`` (a keyword argument), with an optional ``:DTYPE``::

    --input 1x3x128x128 --input 1x3x128x128       forward(x1, x2)
    --input 1x3x224x224 --input mask=1x1x224x224  forward(x, mask=...)
    --input ids=1x128:int64                       token ids for an nn.Embedding
    --input 1x3x8x8 --input valid=1x8x8:bool      a boolean mask

Floating inputs without a dtype take ``default_dtype`` (float32 unless ``--train
--dtype`` says otherwise). ``make`` builds them on a device: empty on meta (no
memory), zeros (False, 0) on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Sequence

from convcli.calculator.costs import FLOAT_ALIASES
from convcli.calculator.parse import parse_shape
from convcli.errors import ConvError
from convcli.formatting import one_line, shape_list

DTYPES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
          "int16": 2, "int8": 1, "uint8": 1, "bool": 1}
ALIASES = {**FLOAT_ALIASES, "long": "int64", "int": "int32"}   # --dtype's, and ints
FLOATS = ("float32", "float64", "float16", "bfloat16")


@dataclass(frozen=True)
class InputSpec:
    """One argument of forward(): its name (None: positional), shape and dtype."""

    shape: tuple[int, ...]
    dtype: str | None = None        # None: the default float dtype
    name: str | None = None

    def resolved(self, default: str) -> str:
        return self.dtype or default

    def nbytes(self, default: str = "float32") -> int:
        return prod(self.shape) * DTYPES[self.resolved(default)]

    def text(self) -> str:
        s = "x".join(map(str, self.shape))
        if self.dtype:
            s += ":" + self.dtype
        return f"{self.name}={s}" if self.name else s


def parse_input(text: str) -> InputSpec:
    """'1x3x8x8', 'mask=1x1x8x8', 'ids=1x128:int64' -> InputSpec."""
    raw = text.strip()
    name = None
    if "=" in raw:
        name, raw = (p.strip() for p in raw.split("=", 1))
        if not name.isidentifier():
            raise ConvError(f"--input: {one_line(name, 40)!r} in {one_line(text, 60)!r} is "
                            "not an argument name; write e.g. --input mask=1x1x224x224")
    dtype = None
    if ":" in raw:
        raw, dtype = (p.strip() for p in raw.rsplit(":", 1))
        dtype = dtype.lower().removeprefix("torch.")
        dtype = ALIASES.get(dtype, dtype)
        if dtype not in DTYPES:
            raise ConvError(f"--input: dtype {one_line(dtype, 30)!r} in "
                            f"{one_line(text, 60)!r}: use one of {', '.join(DTYPES)}, e.g. "
                            "--input ids=1x128:int64")
    return InputSpec(parse_shape(raw, "--input"), dtype, name)


def parse_inputs(texts: Sequence[str]) -> list[InputSpec]:
    """Positional inputs first (in order), then keywords; a name may appear once."""
    if not texts:
        raise ConvError("--input is required: the shape forward() receives, e.g. "
                        "--input 1x3x224x224 (repeat it for more arguments)")
    specs = [parse_input(t) for t in texts]
    seen: set[str] = set()
    keyword = False
    for s in specs:
        if s.name is None and keyword:
            raise ConvError(f"--input {s.text()}: a positional input after a keyword input; "
                            "give the positional ones first, as in a Python call")
        if s.name is not None:
            keyword = True
            if s.name in seen:
                raise ConvError(f"--input: {s.name}= is given twice")
            seen.add(s.name)
    return specs


def describe(specs: Sequence[InputSpec], default: str = "float32") -> str:
    return ", ".join((f"{s.name}=" if s.name else "") + shape_list(s.shape)
                     + (f" {s.dtype}" if s.dtype and s.dtype != default else "")
                     for s in specs)


def make(specs: Sequence[InputSpec], device: str, default: str = "float32"):
    """(args, kwargs) of tensors: empty on meta, zeros elsewhere."""
    import torch
    args, kwargs = [], {}
    for s in specs:
        dtype = getattr(torch, s.resolved(default))
        if device == "meta":
            t = torch.empty(s.shape, dtype=dtype, device="meta")
        else:
            t = torch.zeros(s.shape, dtype=dtype, device=device)
        if s.name is None:
            args.append(t)
        else:
            kwargs[s.name] = t
    return tuple(args), kwargs


def from_values(inputs, kwargs=None) -> tuple[list[InputSpec], tuple, dict]:
    """The Python API's inputs: a tensor, a shape (tuple or '1x3x8x8'), or a list of
    those (positional); ``kwargs`` maps names to the same. Returns the specs and the
    real tensors given (None where only a shape was)."""
    import torch
    if inputs is None:
        items: list = []
    elif isinstance(inputs, (torch.Tensor, str)) or _is_shape(inputs):
        items = [inputs]
    else:
        items = list(inputs)
    specs, real_args, real_kw = [], [], {}
    for name, value in [(None, v) for v in items] + list((kwargs or {}).items()):
        spec, tensor = _one(value, name, torch)
        specs.append(spec)
        if name is None:
            real_args.append(tensor)
        else:
            real_kw[name] = tensor
    return specs, tuple(real_args), real_kw


def _is_shape(value) -> bool:
    return isinstance(value, (tuple, list)) and all(isinstance(v, int) and
                                                    not isinstance(v, bool) for v in value)


def _one(value, name, torch):
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise ConvError(f"input {name or ''}: dtype {dtype} is not supported; use one of "
                            f"{', '.join(DTYPES)}")
        return InputSpec(tuple(value.shape), dtype, name), value
    if isinstance(value, str):
        spec = parse_input(value)
        return InputSpec(spec.shape, spec.dtype, name), None
    if _is_shape(value):
        if any(v < 0 for v in value):
            raise ConvError(f"input shape {list(value)}: sizes cannot be negative")
        return InputSpec(tuple(value), None, name), None
    raise ConvError(f"input {name or ''}: {type(value).__name__} is not a tensor or a shape; "
                    "give a tensor, a tuple like (1, 3, 224, 224) or '1x3x224x224'")
