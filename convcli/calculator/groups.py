"""Groups: which channels and weight rows each group uses, the valid groups values,
and what each one costs (``params --compare-groups``).

The weight of a grouped conv is ONE tensor; group i reads input channels
[i*C_in/g, (i+1)*C_in/g) and owns weight rows [i*C_out/g, (i+1)*C_out/g)
(transposed: rows [i*C_in/g, ...) of the (C_in, C_out/g, *k) weight).

Every answer here is instant for any channel count torch can hold (int64): the valid
groups are the divisors of gcd(C_in, C_out), found by factorising it (trial division,
then Pollard's rho), and long lists of groups come back summarised (the first ones,
the last ones and how many were left out), never one object per group. Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from functools import lru_cache
from math import gcd, isqrt
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

MAX_COMPARED = 24   # --compare-groups rows (groups values) before the list is summarised


# ---- divisors ----------------------------------------------------------------------

def _is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24 (every int64)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _rho(n: int) -> int:
    """A non-trivial factor of the odd composite n (Pollard-Brent)."""
    for c in range(1, n):
        y, m, g, r, q = 2, 128, 1, 1, 1
        x = ys = y
        while g == 1:
            x = y
            for _ in range(r):
                y = (y * y + c) % n
            k = 0
            while k < r and g == 1:
                ys = y
                for _ in range(min(m, r - k)):
                    y = (y * y + c) % n
                    q = q * abs(x - y) % n
                g = gcd(q, n)
                k += m
            r *= 2
        if g == n:
            g = 1
            while g == 1:
                ys = (ys * ys + c) % n
                g = gcd(abs(x - ys), n)
        if g != n:
            return g
    raise AssertionError("unreachable for a composite n")  # pragma: no cover


def _factor(n: int, out: dict[int, int]) -> None:
    for p in (2, 3, 5, 7, 11, 13):
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
    stack = [n] if n > 1 else []
    while stack:
        m = stack.pop()
        if _is_prime(m):
            out[m] = out.get(m, 0) + 1
        else:
            f = _rho(m)
            stack += [f, m // f]


@lru_cache(maxsize=64)
def _divisors(n: int) -> tuple[int, ...]:
    if n <= 0:
        return ()
    if n < 1 << 20:      # small: pairs up to the square root
        small, large = [], []
        for d in range(1, isqrt(n) + 1):
            if n % d == 0:
                small.append(d)
                if d != n // d:
                    large.append(n // d)
        return tuple(small + large[::-1])
    factors: dict[int, int] = {}
    _factor(n, factors)
    divs = [1]
    for p, e in factors.items():
        divs = [d * p ** i for d in divs for i in range(e + 1)]
    return tuple(sorted(divs))


def divisors_of_both(a: int, b: int) -> list[int]:
    """Every groups value that divides both channel counts: the divisors of their gcd
    (a highly composite int64 has about 100,000, so callers summarise)."""
    return list(_divisors(gcd(a, b)))


def valid_groups_text(a: int, b: int, most: int = 12) -> str:
    """'1, 2, 4, 8' or, for a long list, its first and last values and how many."""
    divs = _divisors(gcd(a, b))
    if len(divs) <= most:
        return ", ".join(map(str, divs))
    head, tail = divs[:most - 3], divs[-2:]
    return (", ".join(map(str, head)) + ", ..., " + ", ".join(map(str, tail))
            + f" ({len(divs):,} values: every divisor of {gcd(a, b):,})")


def summarised(count: int, head: int, tail: int) -> tuple[list[int], int]:
    """Which of ``count`` items to list: all of them, or the first ``head`` and the last
    ``tail``; and how many were left out."""
    if count <= head + tail + 1:
        return list(range(count)), 0
    return list(range(head)) + list(range(count - tail, count)), count - head - tail


# ---- the layout ----------------------------------------------------------------------

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


def group_slice(spec: ConvSpec, i: int) -> GroupSlice:
    """Group i reads input channels [i*C_in/g, (i+1)*C_in/g) and owns weight rows
    [i*C_out/g, (i+1)*C_out/g) (transposed: rows [i*C_in/g, ...) of the
    (C_in, C_out/g, *k) weight)."""
    g = spec.groups
    ci, co = spec.in_channels // g, spec.out_channels // g
    rows_per = ci if spec.transposed else co
    return GroupSlice(i, (i * ci, (i + 1) * ci), (i * co, (i + 1) * co),
                      (i * rows_per, (i + 1) * rows_per), (rows_per, *spec.weight_shape[1:]))


def group_layout(spec: ConvSpec) -> list[GroupSlice]:
    """Every group's slice (one object per group: for code that runs each group;
    what is shown uses ``layout_summary``)."""
    return [group_slice(spec, i) for i in range(spec.groups)]


def layout_summary(spec: ConvSpec, head: int, tail: int) -> tuple[list[GroupSlice], int]:
    """The first ``head`` and last ``tail`` groups' slices (all of them when there are
    few), and how many groups were left out between them."""
    shown, omitted = summarised(spec.groups, head, tail)
    return [group_slice(spec, i) for i in shown], omitted


# ---- --compare-groups ------------------------------------------------------------------

@dataclass(frozen=True)
class GroupsRow:
    label: str
    spec: ConvSpec | None      # None for the depthwise-separable pair and a gap
    groups: int | None
    params: int
    macs: int | None
    note: str = ""
    yours: bool = False        # the groups value the user gave
    omitted: int = 0           # a gap: this many groups values are not listed here

    def saving(self, base: "GroupsRow") -> float:
        return 1 - self.params / base.params if base.params else 0.0

    def saved(self, base: "GroupsRow") -> int:
        """Parameters saved against ``base`` (negative: more parameters)."""
        return base.params - self.params


def groups_values(spec: ConvSpec, most: int = MAX_COMPARED) -> list[tuple[int, int]]:
    """The groups values --compare-groups shows, ascending, each with how many valid
    values were left out just before it: every valid value (nothing left out), or,
    when there are more than ``most``, the smallest and largest ones and the user's
    own."""
    divs = _divisors(gcd(spec.in_channels, spec.out_channels))
    keep = set(range(len(divs)))
    if len(divs) > most:
        keep = set(range(most * 2 // 3)) | set(range(len(divs) - most // 3, len(divs)))
        keep.add(divs.index(spec.groups))
    out, prev = [], -1
    for i in sorted(keep):
        out.append((divs[i], i - prev - 1))
        prev = i
    return out


def compare_groups(spec: ConvSpec,
                   input_shape: Sequence[int] | None = None) -> list[GroupsRow]:
    """One row per valid groups value (every divisor of both channel counts; when
    there are many, the smallest, the largest and the user's own, with a gap row
    saying how many were left out), then a depthwise conv (C_in -> C_in,
    groups=C_in) and the depthwise-separable pair (that depthwise k x k followed by a
    pointwise 1x1 C_in -> C_out)."""
    rows = []
    for g, skipped in groups_values(spec):
        if skipped:
            rows.append(GroupsRow("...", None, None, 0, None,
                                  f"{skipped:,} more groups values", omitted=skipped))
        s = spec.replace(groups=g)
        note = ("standard" if g == 1 else
                "depthwise" if g == spec.in_channels == spec.out_channels else
                f"depthwise x{spec.out_channels // g}" if g == spec.in_channels else "grouped")
        rows.append(GroupsRow(f"groups={g}", s, g, s.num_params,
                              None if input_shape is None else s.macs(input_shape), note,
                              g == spec.groups))
    c = spec.in_channels
    if spec.transposed or c == 0:
        return rows
    dw = spec.replace(out_channels=c, groups=c)
    if spec.out_channels != c:
        rows.append(GroupsRow(f"depthwise {c}->{c}", dw, c, dw.num_params,
                              None if input_shape is None else dw.macs(input_shape),
                              "depthwise only"))
    pw = spec.replace(in_channels=c, groups=1, kernel_size=1, stride=1, padding=0,
                      dilation=1, padding_mode="zeros")
    dw_macs = pw_macs = None
    if input_shape is not None:
        dw_macs = dw.macs(input_shape)
        mid = dw.output_shape(input_shape)
        pw_macs = pw.macs(mid)
    rows.append(GroupsRow(
        "depthwise-separable", None, None, dw.num_params + pw.num_params,
        None if dw_macs is None or pw_macs is None else dw_macs + pw_macs,
        f"{dw.num_params:,} dw + {pw.num_params:,} pw 1x1"))
    return rows
