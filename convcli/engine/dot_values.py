"""`convcli apply --dot --at`: the numbers behind one output value. The layout
(calculator/dot_indices.py) says which input element each tap reads; here the values are
fetched from the tensors torch ran on, multiplied by the kernel in float64 and summed,
beside the value torch computed. torch is imported inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

from convcli.engine.torch_adapter import import_torch

if TYPE_CHECKING:
    from convcli.calculator.dot_indices import DotLayout
    from convcli.engine.apply_values import Applied

MAX_DOT_CHANNELS = 8      # input channels listed one by one; the rest as one sum


@dataclass(frozen=True)
class DotChannel:
    """One input channel's share: the patch under the kernel (None where no input
    element reaches the output: a transposed conv's gaps), the kernel, the products."""

    in_channel: int
    weight_index: tuple[int, int]
    patch: list
    kernel: list
    products: list
    total: float

    def as_dict(self) -> dict:
        return {"in_channel": self.in_channel, "weight_index": list(self.weight_index),
                "patch": self.patch, "kernel": self.kernel, "products": self.products,
                "sum": self.total}


@dataclass(frozen=True)
class DotResult:
    layout: DotLayout
    channels: list[DotChannel]
    omitted: int              # channels of the group not listed
    omitted_sum: float        # their products' sum
    total: float              # every product of every channel, summed in float64
    bias: float | None
    value: float              # total + bias
    torch_value: float        # what torch computed at that output
    dtype: str

    @property
    def difference(self) -> float:
        return abs(self.value - self.torch_value)

    def as_dict(self) -> dict:
        return {**self.layout.as_dict(),
                "output_index": list(self.layout.output_index),
                "channels": [c.as_dict() for c in self.channels],
                "channels_omitted": self.omitted, "omitted_sum": self.omitted_sum,
                "sum": self.total, "bias": self.bias, "value": self.value,
                "torch_value": self.torch_value, "difference": self.difference}


def dot_product(applied: Applied, layout: DotLayout) -> DotResult:
    """The patch, kernel and products of every input channel of the group, their sum
    plus bias, and torch's value at the same output."""
    torch = import_torch()
    spec = applied.spec
    x = applied.x[layout.sample] if layout.sample is not None else applied.x
    c0, c1 = layout.group.in_channels
    patch = x[c0:c1]
    mask = torch.ones((), dtype=torch.bool)
    d = spec.dims
    for i, dd in enumerate(layout.dims):
        idx = torch.tensor([0 if t.source is None else t.source for t in dd.taps])
        patch = patch.index_select(1 + i, idx)
        shape = [1] * d
        shape[i] = len(dd.taps)
        reach = torch.tensor([t.kind != "none" for t in dd.taps]).reshape(shape)
        mask = mask & reach
        zero = torch.tensor([t.source is not None for t in dd.taps]).reshape(shape)
        patch = patch * zero.reshape([1] + shape)
    patch = patch.to(torch.float64)
    if spec.transposed:
        kernel = applied.w[c0:c1, layout.weight_index(c0)[1]]
    else:
        kernel = applied.w[layout.out_channel]
    kernel = kernel.to(torch.float64)
    products = patch * kernel * mask
    sums = products.flatten(1).sum(1)
    total = float(sums.sum())
    bias = None if applied.b is None else float(applied.b[layout.out_channel])
    shown = min(c1 - c0, MAX_DOT_CHANNELS)
    mask_list = mask.expand(kernel.shape[1:]).tolist()
    channels = [DotChannel(c0 + i, layout.weight_index(c0 + i),
                           _masked(patch[i].tolist(), mask_list), kernel[i].tolist(),
                           _masked(products[i].tolist(), mask_list), float(sums[i]))
                for i in range(shown)]
    return DotResult(layout, channels, c1 - c0 - shown, float(sums[shown:].sum()), total,
                     bias, total + (bias or 0.0),
                     float(applied.y[layout.output_index]), applied.options.dtype)


def _masked(values, mask):
    """``values`` with None where ``mask`` is False (nested lists of the same shape)."""
    if isinstance(values, list):
        return [_masked(v, m) for v, m in zip(values, mask)]
    return values if mask else None
