"""What one conv layer's answer holds (``analyse``: shapes, MACs, bias adds, params and
bytes, ``ConvCounts``) and the dtypes bytes are counted in. The counting convention
(MACs, FLOPs, bias adds, params) is ConvSpec's, stated in spec.py; bytes = elements *
dtype size, for input, output, weight and bias. ``CONVENTION`` is the sentence the
tables and ``--json`` print. Pure integer math on shapes; no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from math import prod

from typing import TYPE_CHECKING

from convcli.errors import ConvError

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

CONVENTION = (
    "MACs = multiply-accumulates of the dense conv, bias excluded (transposed convs "
    "counted per input element); FLOPs = 2 * MACs (torch.utils.flop_counter); bias adds "
    "= N * C_out * prod(out spatial), reported on their own; params = weight + bias "
    "elements; bytes = elements * dtype size"
)

DTYPE_SIZES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}
# what people write for them (torch.half, fp16 in mixed-precision recipes, ...)
FLOAT_ALIASES = {"float": "float32", "fp32": "float32", "f32": "float32",
                 "double": "float64", "fp64": "float64", "f64": "float64",
                 "half": "float16", "fp16": "float16", "f16": "float16",
                 "bf16": "bfloat16"}


def canonical_dtype(text: str) -> str:
    """A dtype name as torch spells it: 'fp16', 'half', 'torch.float16' -> 'float16'."""
    name = text.strip().lower().removeprefix("torch.")
    name = FLOAT_ALIASES.get(name, name)
    if name not in DTYPE_SIZES:
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise ConvError(f"--dtype {shown!r}: use one of {', '.join(DTYPE_SIZES)} (or fp32, "
                        "fp64, fp16/half, bf16)")
    return name


def dtype_size(dtype: str) -> int:
    try:
        return DTYPE_SIZES[dtype]
    except KeyError:
        raise ConvError(
            f"dtype={dtype!r}: use one of {', '.join(DTYPE_SIZES)}"
        ) from None


@dataclass(frozen=True)
class Bytes:
    """Bytes of one forward pass; input and output are None without an input shape."""

    input: int | None
    output: int | None
    weight: int
    bias: int

    @property
    def parameters(self) -> int:
        return self.weight + self.bias

    @property
    def total(self) -> int | None:
        if self.input is None or self.output is None:
            return None
        return self.input + self.output + self.weight + self.bias

    def as_dict(self) -> dict:
        return {"input": self.input, "output": self.output, "weight": self.weight,
                "bias": self.bias, "parameters": self.parameters, "total": self.total}


@dataclass(frozen=True)
class ConvCounts:
    """Everything `convcli shape` and `convcli params --input` report."""

    spec: ConvSpec
    dtype: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    macs: int | None
    bias_adds: int | None
    bytes: Bytes
    notes: tuple[str, ...] = ()    # what torch does differently for this input

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    @property
    def params(self) -> int:
        return self.spec.num_params


def analyse(spec: ConvSpec, input_shape: Sequence[int] | None = None,
            dtype: str = "float32") -> ConvCounts:
    """Shapes and costs of one layer; without an input, only what the weights tell."""
    size = dtype_size(dtype)
    weight_b = spec.num_weight * size
    bias_b = (spec.out_channels if spec.bias else 0) * size
    if input_shape is None:
        return ConvCounts(spec, dtype, None, None, None, None,
                          Bytes(None, None, weight_b, bias_b))
    from convcli.calculator.explain import notes   # not on net's path, which needs none
    input_shape = tuple(input_shape)
    out = spec.output_shape(input_shape)
    return ConvCounts(
        spec, dtype, input_shape, out, spec.macs(input_shape), spec.bias_adds(input_shape),
        Bytes(prod(input_shape) * size, prod(out) * size, weight_b, bias_b),
        tuple(notes(spec, input_shape)))
