"""Groups: which channels and weight rows each group uses, the valid groups values,
and what each one costs (``params --compare-groups``).

The weight of a grouped conv is ONE tensor; group i reads input channels
[i*C_in/g, (i+1)*C_in/g) and owns weight rows [i*C_out/g, (i+1)*C_out/g)
(transposed: rows [i*C_in/g, ...) of the (C_in, C_out/g, *k) weight). Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from math import gcd, isqrt
from typing import TYPE_CHECKING

from convcli.calculator.costs import macs

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec


def divisors_of_both(a: int, b: int) -> list[int]:
    """Every groups value that divides both channel counts: the divisors of their
    gcd, found in pairs up to its square root (instant for any channel count)."""
    g = gcd(a, b)
    if g <= 0:
        return []
    small, large = [], []
    for d in range(1, isqrt(g) + 1):
        if g % d == 0:
            small.append(d)
            if d != g // d:
                large.append(g // d)
    return small + large[::-1]


@dataclass(frozen=True)
class GroupSlice:
    """Which input channels and which weight rows one group uses."""

    group: int
    in_channels: tuple[int, int]   # [start, stop)
    out_channels: tuple[int, int]  # [start, stop)
    weight_rows: tuple[int, int]   # rows of weight dim 0
    weight_slice_shape: tuple[int, ...]

    def as_dict(self) -> dict:
        return {"group": self.group, "in_channels": list(self.in_channels),
                "out_channels": list(self.out_channels),
                "weight_rows": list(self.weight_rows),
                "weight_slice_shape": list(self.weight_slice_shape)}


def group_layout(spec: ConvSpec) -> list[GroupSlice]:
    """The weight is ONE tensor; group i reads input channels
    [i*C_in/g, (i+1)*C_in/g) and owns weight rows [i*C_out/g, (i+1)*C_out/g)
    (transposed: rows [i*C_in/g, ...) of the (C_in, C_out/g, *k) weight)."""
    g = spec.groups
    ci, co = spec.in_channels // g, spec.out_channels // g
    rows_per = ci if spec.transposed else co
    slices = []
    for i in range(g):
        rows = (i * rows_per, (i + 1) * rows_per)
        slices.append(GroupSlice(
            i, (i * ci, (i + 1) * ci), (i * co, (i + 1) * co), rows,
            (rows_per, *spec.weight_shape[1:])))
    return slices


@dataclass(frozen=True)
class GroupsRow:
    label: str
    spec: ConvSpec | None      # None for the depthwise-separable pair
    groups: int | None
    params: int
    macs: int | None
    note: str = ""

    def saving(self, base: "GroupsRow") -> float:
        return 1 - self.params / base.params


def compare_groups(spec: ConvSpec,
                   input_shape: Sequence[int] | None = None) -> list[GroupsRow]:
    """One row per valid groups value (every divisor of both channel counts), then a
    depthwise conv (C_in -> C_in, groups=C_in) and the depthwise-separable pair
    (that depthwise k x k followed by a pointwise 1x1 C_in -> C_out)."""
    rows = []
    for g in divisors_of_both(spec.in_channels, spec.out_channels):
        s = spec.replace(groups=g)
        note = ("standard" if g == 1 else
                "depthwise" if g == spec.in_channels == spec.out_channels else
                f"depthwise x{spec.out_channels // g}" if g == spec.in_channels else "grouped")
        rows.append(GroupsRow(f"groups={g}", s, g, s.num_params,
                              None if input_shape is None else macs(s, input_shape), note))
    if spec.transposed:
        return rows
    c = spec.in_channels
    dw = spec.replace(out_channels=c, groups=c)
    if spec.out_channels != c:
        rows.append(GroupsRow(f"depthwise {c}->{c}", dw, c, dw.num_params,
                              None if input_shape is None else macs(dw, input_shape),
                              "depthwise only"))
    pw = spec.replace(in_channels=c, groups=1, kernel_size=1, stride=1, padding=0,
                      dilation=1, padding_mode="zeros")
    dw_macs = pw_macs = None
    if input_shape is not None:
        dw_macs = macs(dw, input_shape)
        mid = dw.output_shape(input_shape)
        pw_macs = macs(pw, mid)
    rows.append(GroupsRow(
        "depthwise-separable", None, None, dw.num_params + pw.num_params,
        None if dw_macs is None or pw_macs is None else dw_macs + pw_macs,
        f"{dw.num_params:,} dw + {pw.num_params:,} pw 1x1"))
    return rows
