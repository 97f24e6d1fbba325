"""What forward() receives: ``--input`` values, parsed without torch, made with it.

``--input`` may be given several times. Each value is ``SHAPE`` (the next positional
argument), or ``NAME=SHAPE`` (a keyword argument), with an optional ``:DTYPE``::

    --input 1x3x128x128 --input 1x3x128x128       forward(x1, x2)
    --input 1x3x224x224 --input mask=1x1x224x224  forward(x, mask=...)
    --input ids=1x128:int64                       token ids for an nn.Embedding
    --input 1x3x8x8 --input valid=1x8x8:bool      a boolean mask

A value may be a list, tuple or dict of them, nested (a torchvision detection model
takes a list of images of different sizes; a shape of bare integers in brackets stays a
shape)::

    --input '[3x320x320, 3x256x256]'              forward([img1, img2])
    --input '(1x3x8x8, 1x3x8x8)'                  forward((a, b))
    --input '{image: 1x3x8x8, mask: 1x8x8:bool}'  forward({'image': ..., 'mask': ...})
    --input 'images=[3x64x64, 3x32x48]'           forward(images=[...])

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


BRACKETS = {"[": ("]", "list"), "(": (")", "tuple"), "{": ("}", "dict")}


@dataclass(frozen=True)
class InputSpec:
    """One argument of forward(): its name (None: positional), shape and dtype; or a
    list, tuple or dict of such (``kind``, ``items``; a dict's keys are its items'
    names), whose ``shape`` is its first tensor's."""

    shape: tuple[int, ...]
    dtype: str | None = None        # None: the default float dtype
    name: str | None = None
    kind: str = "tensor"            # tensor | list | tuple | dict
    items: tuple = ()               # InputSpecs of a list, tuple or dict

    def resolved(self, default: str) -> str:
        return self.dtype or default

    def leaves(self) -> list[InputSpec]:
        if self.kind == "tensor":
            return [self]
        return [leaf for item in self.items for leaf in item.leaves()]

    def nbytes(self, default: str = "float32") -> int:
        if self.kind != "tensor":
            return sum(leaf.nbytes(default) for leaf in self.leaves())
        return prod(self.shape) * DTYPES[self.resolved(default)]

    def body(self) -> str:
        if self.kind == "tensor":
            return "x".join(map(str, self.shape)) + (":" + self.dtype if self.dtype else "")
        open_ = next(k for k, (_, kind) in BRACKETS.items() if kind == self.kind)
        inner = ", ".join((f"{i.name}: " if self.kind == "dict" else "") + i.body()
                          for i in self.items)
        comma = "," if self.kind == "tuple" and len(self.items) == 1 else ""
        return open_ + inner + comma + BRACKETS[open_][0]

    def text(self) -> str:
        return f"{self.name}={self.body()}" if self.name else self.body()


def container(kind: str, items: Sequence[InputSpec], name: str | None = None) -> InputSpec:
    leaves = [leaf for i in items for leaf in i.leaves()]
    return InputSpec(leaves[0].shape if leaves else (), None, name, kind, tuple(items))


def parse_input(text: str) -> InputSpec:
    """'1x3x8x8', 'mask=1x1x8x8', 'ids=1x128:int64', '[3x64x64, 3x32x32]' -> InputSpec."""
    raw = text.strip()
    name = None
    if "=" in raw and raw.index("=") < min((raw.find(c) for c in "[({" if c in raw),
                                            default=len(raw)):
        name, raw = (p.strip() for p in raw.split("=", 1))
        if not name.isidentifier():
            raise ConvError(f"--input: {one_line(name, 40)!r} in {one_line(text, 60)!r} is "
                            "not an argument name; write e.g. --input mask=1x1x224x224")
    spec = parse_value(raw, text)
    return InputSpec(spec.shape, spec.dtype, name, spec.kind, spec.items)


def parse_value(raw: str, text: str, depth: int = 0) -> InputSpec:
    """A tensor 'SHAPE[:DTYPE]', or a bracketed list / tuple / dict of values."""
    raw = raw.strip()
    if raw[:1] in BRACKETS and not _is_int_shape(raw):
        if depth >= 8:
            raise ConvError(f"--input {one_line(text, 60)!r}: nested deeper than 8 levels")
        close, kind = BRACKETS[raw[0]]
        if not raw.endswith(close):
            raise ConvError(f"--input {one_line(text, 60)!r}: {raw[0]!r} is not closed by "
                            f"{close!r}; write e.g. --input '[3x320x320, 3x256x256]'")
        parts = _split_top(raw[1:-1], text)
        if kind == "dict":
            items = [_dict_item(p, text, depth) for p in parts]
            keys = [i.name for i in items]
            if len(set(keys)) < len(keys):
                raise ConvError(f"--input {one_line(text, 60)!r}: a key is given twice")
        else:
            items = [parse_value(p, text, depth + 1) for p in parts]
        if not items:
            raise ConvError(f"--input {one_line(text, 60)!r}: an empty {kind}; give at "
                            "least one tensor in it")
        return container(kind, items)
    return _tensor(raw, text)


def _is_int_shape(raw: str) -> bool:
    """'[1, 3, 224, 224]' and '(1, 3, 8, 8)' are shapes: bare integers only."""
    inner = raw[1:-1].replace(",", " ").split()
    return raw[0] in "[(" and all(p.isdigit() for p in inner) and bool(inner)


def _split_top(inner: str, text: str) -> list[str]:
    """The comma-separated parts of a bracket's inside, at its own level."""
    if not inner.strip():
        return []
    parts, level, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch in "[({":
            level += 1
        elif ch in "])}":
            level -= 1
            if level < 0:
                raise ConvError(f"--input {one_line(text, 60)!r}: {ch!r} closes nothing")
        elif ch == "," and level == 0:
            parts.append(inner[start:i])
            start = i + 1
    if level:
        raise ConvError(f"--input {one_line(text, 60)!r}: a bracket is not closed")
    last = inner[start:]
    parts = [p.strip() for p in parts + ([last] if last.strip() or parts == [] else [])]
    if any(not p for p in parts):
        raise ConvError(f"--input {one_line(text, 60)!r}: an empty entry between commas")
    return [p for p in parts if p]


def _dict_item(part: str, text: str, depth: int) -> InputSpec:
    """'key: VALUE' (or 'key=VALUE') in a dict."""
    cut = min((part.find(c) for c in ":=" if c in part), default=-1)
    key = part[:cut].strip().strip("'\"") if cut > 0 else ""
    if not key.isidentifier():
        raise ConvError(f"--input {one_line(text, 60)!r}: {one_line(part, 40)!r} is not "
                        "'key: SHAPE'; write e.g. --input '{image: 1x3x8x8, mask: 1x8x8:bool}'")
    spec = parse_value(part[cut + 1:], text, depth + 1)
    return InputSpec(spec.shape, spec.dtype, key, spec.kind, spec.items)


def _tensor(raw: str, text: str) -> InputSpec:
    dtype = None
    if ":" in raw:
        raw, dtype = (p.strip() for p in raw.rsplit(":", 1))
        dtype = dtype.lower().removeprefix("torch.")
        dtype = ALIASES.get(dtype, dtype)
        if dtype not in DTYPES:
            raise ConvError(f"--input: dtype {one_line(dtype, 30)!r} in "
                            f"{one_line(text, 60)!r}: use one of {', '.join(DTYPES)}, e.g. "
                            "--input ids=1x128:int64")
    return InputSpec(parse_shape(raw, "--input"), dtype)


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
    return ", ".join(s.text() if s.kind != "tensor" else
                     (f"{s.name}=" if s.name else "") + shape_list(s.shape)
                     + (f" {s.dtype}" if s.dtype and s.dtype != default else "")
                     for s in specs)


def make(specs: Sequence[InputSpec], device: str, default: str = "float32"):
    """(args, kwargs) of tensors (lists, tuples, dicts of them): empty on meta, zeros
    elsewhere."""
    import torch
    args, kwargs = [], {}
    for s in specs:
        value = _make_one(s, device, default, torch)
        if s.name is None:
            args.append(value)
        else:
            kwargs[s.name] = value
    return tuple(args), kwargs


def _make_one(s: InputSpec, device: str, default: str, torch):
    if s.kind == "list":
        return [_make_one(i, device, default, torch) for i in s.items]
    if s.kind == "tuple":
        return tuple(_make_one(i, device, default, torch) for i in s.items)
    if s.kind == "dict":
        return {i.name: _make_one(i, device, default, torch) for i in s.items}
    dtype = getattr(torch, s.resolved(default))
    if device == "meta":
        return torch.empty(s.shape, dtype=dtype, device="meta")
    return torch.zeros(s.shape, dtype=dtype, device=device)


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


def _one(value, name, torch, depth: int = 0):
    if depth > 8:
        raise ConvError(f"input {name or ''}: nested deeper than 8 levels")
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and value and
                                   not _is_shape(value)):
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise ConvError(f"input {name or ''}: a dict input needs str keys")
            pairs = [_one(v, k, torch, depth + 1) for k, v in value.items()]
        else:
            pairs = [_one(v, None, torch, depth + 1) for v in value]
        kind = "dict" if isinstance(value, dict) else type(value).__name__
        kind = kind if kind in ("list", "tuple", "dict") else "list"
        spec = container(kind, [p[0] for p in pairs], name)
        real = None
        if all(p[1] is not None for p in pairs):
            real = ({p[0].name: p[1] for p in pairs} if kind == "dict" else
                    (tuple if kind == "tuple" else list)(p[1] for p in pairs))
        return spec, real
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise ConvError(f"input {name or ''}: dtype {dtype} is not supported; use one of "
                            f"{', '.join(DTYPES)}")
        return InputSpec(tuple(value.shape), dtype, name), value
    if isinstance(value, str):
        spec = parse_input(value)
        return InputSpec(spec.shape, spec.dtype, name, spec.kind, spec.items), None
    if _is_shape(value):
        if any(v < 0 for v in value):
            raise ConvError(f"input shape {list(value)}: sizes cannot be negative")
        return InputSpec(tuple(value), None, name), None
    raise ConvError(f"input {name or ''}: {type(value).__name__} is not a tensor or a shape; "
                    "give a tensor, a tuple like (1, 3, 224, 224), '1x3x224x224', or a "
                    "list, tuple or dict of those")
