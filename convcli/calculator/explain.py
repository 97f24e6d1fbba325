"""A conv's answer written out for people: per spatial dim the formula with the numbers
substituted and what is unusual about it (``explain``), and what torch does differently
for this input than for an ordinary one (``notes``). The arithmetic itself is
ConvSpec's (spec.py); the rules that refuse an input are conv_checks.py's, so
``explain`` raises the same ConvError as ``ConvSpec.output_shape``. Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convcli.calculator import conv_checks as checks
from convcli.errors import ConvError

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

Ints = tuple[int, ...]


@dataclass(frozen=True)
class DimExplanation:
    """How one spatial dim's output size is computed, numbers substituted."""

    dim: int
    size_in: int
    kernel: int
    stride: int
    dilation: int
    pad_left: int
    pad_right: int
    output_padding: int
    size_out: int
    formula: str
    note: str = ""


def explain(spec: ConvSpec, input_shape: Sequence[int]) -> list[DimExplanation]:
    """Per spatial dim: the formula with the numbers substituted."""
    shape = checks.checked_input(spec, input_shape)
    sizes = spec.output_sizes(shape)
    d = spec.dims
    out = []
    for i, (n, k, s, dl, (pl, pr), op, size) in enumerate(zip(
            shape[-d:], spec.kernel_size, spec.stride, spec.dilation,
            spec.padding_pairs, spec.output_padding, sizes)):
        note = ""
        if spec.transposed:
            formula = checks.transposed_formula(n, k, s, dl, pl, op)
        else:
            formula = f"floor(({n}{pl:+d}{pr:+d}-{dl}*({k}-1)-1)/{s})+1"
            dropped = (n + pl + pr - dl * (k - 1) - 1) % s
            if spec.padding == "same" and pl != pr:
                note = f"'same' pads {pl} before and {pr} after (the odd one goes at the end)"
            elif pl < 0 or pr < 0:
                note = (f"padding_mode={spec.padding_mode!r} pads with F.pad: a negative "
                        f"padding crops ({n} -> {n + pl + pr})")
            elif dropped:
                note = f"the last {dropped} padded position(s) are never covered by a window"
        out.append(DimExplanation(i, n, k, s, dl, pl, pr, op, size, formula, note))
    return out


def notes(spec: ConvSpec, input_shape: Sequence[int]) -> list[str]:
    """What torch does differently for this input than for an ordinary one: an
    empty batch or no input channels (its checks skipped), a negative padding that
    crops. Empty for an ordinary input."""
    shape = checks.checked_input(spec, input_shape)
    batched = len(shape) == spec.dims + 2
    channels = shape[1] if batched else shape[0]
    out = []
    if channels == 0:
        out.append(f"in_channels=0: torch returns 0 output channels, not "
                   f"out_channels={spec.out_channels} (no input channel is convolved, no "
                   "bias added)")
    elif batched and shape[0] == 0:
        try:
            spec.output_shape((1,) + shape[1:])
        except ConvError as e:
            out.append("empty batch: torch skips its kernel checks for N=0 and answers this "
                       f"shape; with N >= 1 this conv fails: {e}")
    if spec.padding_mode != "zeros" and any(min(p) < 0 for p in spec.padding_pairs):
        out.append(f"negative padding crops: padding_mode={spec.padding_mode!r} pads with "
                   "F.pad, which removes elements where the padding is negative")
    return out


# ---- the checks, in torch's order ------------------------------------------------
