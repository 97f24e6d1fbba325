"""Other frameworks' padding words -> the explicit padding PyTorch needs.

TensorFlow / Keras ``padding='SAME'`` and ONNX ``auto_pad='SAME_UPPER'`` choose the
output size first, ``ceil(L / s)``, and then pad just enough for it:

    total  = max((ceil(L / s) - 1) * s + dil * (k - 1) + 1 - L, 0)
    before = total // 2,  after = total - before        (TF SAME, ONNX SAME_UPPER)
    before = total - total // 2, after = total // 2     (ONNX SAME_LOWER)

so with stride 2 the odd pixel goes at the end (or, for SAME_LOWER, the start).
PyTorch's ``padding='same'`` refuses any stride but 1 and its padding is symmetric per
side otherwise, so the port is ``F.pad(x, (left, right, top, bottom))`` followed by the
conv with ``padding=0``. ``VALID`` is no padding; Keras ``'causal'`` (Conv1D) pads
``dil * (k - 1)`` before and nothing after.

Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass, replace
from math import prod

from convcli.calculator.costs import ConvCounts, analyse, dtype_size
from convcli.calculator.conv_checks import check_input
from convcli.calculator.explain import DimExplanation
from convcli.errors import ConvError
from convcli.calculator.spec import ConvSpec

FRAMEWORKS = ("tf", "keras", "onnx")
FRAMEWORK_NAMES = {"tf": "TensorFlow", "keras": "Keras", "onnx": "ONNX"}
# the padding words each framework has (upper case; matching ignores case)
WORDS = {
    "tf": ("SAME", "VALID"),
    "keras": ("SAME", "VALID", "CAUSAL"),
    "onnx": ("SAME_UPPER", "SAME_LOWER", "VALID"),
}


def same_total(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Total padding TF SAME / ONNX SAME_* add on one dim (never negative)."""
    out = -(-size // stride)
    return max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)


def pad_pair(word: str, size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) for one spatial dim; ``word`` is one of WORDS' entries."""
    if word == "VALID":
        return (0, 0)
    if word == "CAUSAL":
        return (dilation * (kernel - 1), 0)
    total = same_total(size, kernel, stride, dilation)
    small = total // 2
    if word == "SAME_LOWER":
        return (total - small, small)
    return (small, total - small)  # SAME, SAME_UPPER: the odd one at the end


def normalise_word(framework: str, padding: str) -> tuple[str, str]:
    """Validate ``--padding-from`` and ``--padding``; return (framework, WORD)."""
    fw = framework.strip().lower()
    if fw not in FRAMEWORKS:
        raise ConvError(
            f"--padding-from={framework!r}: use one of {', '.join(FRAMEWORKS)}")
    word = padding.strip().upper()
    words = WORDS[fw]
    if word in words:
        return fw, word
    if fw == "onnx" and word == "SAME":
        raise ConvError(
            "--padding SAME with --padding-from onnx is ambiguous: ONNX auto_pad has "
            "SAME_UPPER (the odd pixel at the end, as TensorFlow) and SAME_LOWER (at the "
            "start); give one of them")
    if word == "NOTSET" and fw == "onnx":
        raise ConvError(
            "--padding NOTSET: ONNX then uses the explicit 'pads' attribute; give those "
            "numbers to --padding without --padding-from (symmetric pads only)")
    raise ConvError(
        f"--padding {padding!r} is not a {FRAMEWORK_NAMES[fw]} padding for "
        f"--padding-from {fw}; use one of {', '.join(words)}")


@dataclass(frozen=True)
class PortedPadding:
    """A foreign padding word resolved for one input: the conv after ``F.pad``."""

    framework: str
    word: str
    spec: ConvSpec                 # the conv torch runs after F.pad (padding=0)
    input_shape: tuple[int, ...]   # the user's input
    padded_shape: tuple[int, ...]  # after F.pad
    pairs: tuple[tuple[int, int], ...]  # (before, after) per spatial dim
    explanation: list[DimExplanation]

    @property
    def symmetric(self) -> bool:
        return all(a == b for a, b in self.pairs)

    @property
    def f_pad(self) -> tuple[int, ...]:
        """F.pad's argument: last dim first, (left, right, top, bottom, front, back)."""
        out: list[int] = []
        for before, after in reversed(self.pairs):
            out += [before, after]
        return tuple(out)

    @property
    def native(self) -> ConvSpec:
        """The torch layer with its own padding (only meaningful when symmetric)."""
        return self.spec.replace(padding=tuple(a for a, _ in self.pairs))

    def torch_code(self) -> str:
        """Python lines that reproduce the foreign layer in PyTorch."""
        label = f"{FRAMEWORK_NAMES[self.framework]} padding='{self.word}'"
        shape = "x".join(map(str, self.input_shape[-self.spec.dims:]))
        if self.symmetric:
            layer = self.native
            return (f"import torch.nn as nn\n\n"
                    f"conv = nn.{layer.torch_repr()}\n"
                    f"y = conv(x)  # = {label} on {shape}: symmetric, no F.pad needed")
        return (f"import torch.nn as nn\nimport torch.nn.functional as F\n\n"
                f"conv = nn.{self.spec.torch_repr()}  # padding=0: F.pad does it\n"
                f"y = conv(F.pad(x, {self.f_pad}))  # = {label} on {shape}")

    def as_dict(self) -> dict:
        return {"framework": self.framework, "padding": self.word,
                "explicit_padding": [list(p) for p in self.pairs],
                "f_pad": list(self.f_pad), "symmetric": self.symmetric,
                "padded_input_shape": list(self.padded_shape),
                "torch_code": self.torch_code()}


def port_padding(spec: ConvSpec, input_shape: Sequence[int], framework: str,
                 word: str) -> PortedPadding:
    """Resolve ``word`` (already normalised) for this input. ``spec`` carries kernel,
    stride and dilation; its own padding must be 0 (the caller builds it that way)."""
    if spec.transposed:
        raise ConvError(
            f"--padding-from {framework} is for a forward conv; a transposed conv's 'same' "
            "is an output size, not an input padding: use `convcli solve --transposed` "
            "for its padding and output_padding")
    if spec.padding_mode != "zeros":
        raise ConvError(
            f"--padding-mode {spec.padding_mode}: {FRAMEWORK_NAMES[framework]} "
            f"'{word}' pads with zeros; drop --padding-mode (or pad with F.pad yourself)")
    if word == "CAUSAL" and spec.dims != 1:
        raise ConvError(
            f"--padding causal: Keras only has it for Conv1D, got a {spec.dims}d conv; "
            "use --dims 1")
    input_shape = tuple(input_shape)
    check_input(spec, input_shape)
    d = spec.dims
    spatial = input_shape[-d:]
    pairs = tuple(pad_pair(word, n, k, s, dl) for n, k, s, dl in zip(
        spatial, spec.kernel_size, spec.stride, spec.dilation))
    padded = input_shape[:-d] + tuple(n + a + b for n, (a, b) in zip(spatial, pairs))
    explanation = []
    for i, (n, k, s, dl, (a, b)) in enumerate(zip(
            spatial, spec.kernel_size, spec.stride, spec.dilation, pairs)):
        padded_n = n + a + b
        span = dl * (k - 1) + 1
        if padded_n < span:
            raise ConvError(
                f"spatial dim {i}: {FRAMEWORK_NAMES[framework]} '{word}' leaves {padded_n} "
                f"({n} + {a} + {b}) but the kernel spans {span}; the framework itself "
                f"rejects this: use a smaller kernel or an input of at least {span}")
        size = (padded_n - span) // s + 1
        note = ""
        if word in ("SAME", "SAME_UPPER", "SAME_LOWER"):
            note = f"out = ceil({n}/{s}) = {size}; pad {a + b} = {a} before + {b} after"
            if a != b:
                note += f" (odd one at the {'start' if word == 'SAME_LOWER' else 'end'})"
        elif word == "CAUSAL":
            note = f"causal: {a} before, none after"
        explanation.append(DimExplanation(
            i, n, k, s, dl, a, b, 0, size,
            f"floor(({n}+{a}+{b}-{dl}*({k}-1)-1)/{s})+1", note))
    return PortedPadding(framework, word, spec, input_shape, padded, pairs, explanation)


def ported_counts(ported: PortedPadding, dtype: str) -> ConvCounts:
    """Shapes and costs of the conv torch runs after ``F.pad``; the input (and its
    bytes) are the user's unpadded input, which is what the port is fed."""
    counts = analyse(ported.spec, ported.padded_shape, dtype)
    return replace(counts, input_shape=ported.input_shape, bytes=replace(
        counts.bytes, input=prod(ported.input_shape) * dtype_size(dtype)))

