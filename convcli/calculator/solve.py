"""The inverse problem: which (kernel, stride, padding, dilation) give this output size?

Forward conv, per spatial dim, with T = p_before + p_after and span = dil*(k-1)+1:

    out = floor((L + T - span) / s) + 1   <=>   (out-1)*s <= L + T - span <= (out-1)*s + s-1

so for each (k, s, dil) the admissible totals T form a run of at most s values. An even
T is torch's own symmetric ``padding=T/2``; an odd T needs ``F.pad`` (T//2 before, the
odd one after, as TensorFlow's SAME does). Padding per side is bounded by
``--max-padding``, or by default by dil*(k-1) (more would make windows of pure padding).

Transposed conv: out = (L-1)*s - 2p + dil*(k-1) + output_padding + 1 with
output_padding < stride or < dilation. A conv with stride s maps s input sizes to one
output size (floor), so its decoder needs output_padding to say which one it restores:
decoder.py lists them.

Sorted by simplicity: smallest kernel, no dilation, symmetric padding (and for
transposed convs no output_padding) first, then smaller dilation, stride and padding.
Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product

from convcli.calculator.solutions import (Bounds, DimSolution, Solution, SolveReport,
                                          combo_key)
from convcli.errors import ConvError

DEFAULT_BOUNDS = {"max_kernel": 7, "max_stride": 4, "max_dilation": 3}
# a search over more (k, s, dil) triples than this is refused with a message
MAX_TRIPLES = 200_000
MAX_COMBINATIONS = 400_000
MAX_LISTED = 20_000  # --limit 0 (every solution, each rendered): more is a wall


@dataclass(frozen=True)
class Fixed:
    """Values the user pinned (per dim; None = search)."""

    kernel_size: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    padding: tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None


def broadcast_sizes(name: str, value, dims: int) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value,) * dims
    if len(value) != dims:
        raise ConvError(f"{name}={value} has {len(value)} entries but the sizes have {dims} "
                        f"dims; give one number or {dims}")
    return tuple(value)


def spatial_sizes(name: str, value) -> tuple[int, ...]:
    sizes = (value,) if isinstance(value, int) else tuple(value)
    if not 1 <= len(sizes) <= 3:
        raise ConvError(f"{name}: {len(sizes)} sizes; give 1 to 3 spatial sizes like 32 or "
                        "32x24 (no batch or channel dims)")
    for n in sizes:
        if n < 1:
            raise ConvError(f"{name}: size {n} in {'x'.join(map(str, sizes))}; every spatial "
                            "size must be at least 1")
    return sizes


def _check_bounds(b: Bounds) -> None:
    for name in ("max_kernel", "max_stride", "max_dilation"):
        v = getattr(b, name)
        if v < 1:
            raise ConvError(f"--{name.replace('_', '-')}={v}: must be at least 1")
    if b.max_padding is not None and b.max_padding < 0:
        raise ConvError(f"--max-padding={b.max_padding}: must be at least 0")
    triples = b.max_kernel * b.max_stride * b.max_dilation
    if triples > MAX_TRIPLES:
        raise ConvError(
            f"--max-kernel {b.max_kernel} x --max-stride {b.max_stride} x --max-dilation "
            f"{b.max_dilation} = {triples:,} combinations to search; keep it under "
            f"{MAX_TRIPLES:,} (or pin a value with -k/-s/-d)")


def _fixed_check(fixed: Fixed, dims: int, transposed: bool) -> Fixed:
    out = {}
    for name in ("kernel_size", "stride", "dilation", "padding"):
        v = broadcast_sizes(f"--{name.replace('_', '-')}", getattr(fixed, name), dims)
        if v is not None:
            low = 0 if name == "padding" else 1
            for x in v:
                if x < low:
                    raise ConvError(f"--{name.replace('_', '-')}={x}: must be at least {low}")
        out[name] = v
    return Fixed(**out)


def _values(fixed_value: int | None, bound: int) -> range | tuple[int, ...]:
    return (fixed_value,) if fixed_value is not None else range(1, bound + 1)


def solve_dim(size_in: int, size_out: int, bounds: Bounds, transposed: bool = False,
              kernel: int | None = None, stride: int | None = None,
              dilation: int | None = None, padding: int | None = None) -> list[DimSolution]:
    """Every answer for one spatial dim within the bounds, sorted by simplicity."""
    out = []
    for k in _values(kernel, bounds.max_kernel):
        for dl in _values(dilation, bounds.max_dilation):
            if k == 1 and dl > 1 and dilation is None:
                continue  # dilation means nothing for a 1-wide kernel
            span = dl * (k - 1) + 1
            pmax = bounds.max_padding if bounds.max_padding is not None else span - 1
            for s in _values(stride, bounds.max_stride):
                if transposed:
                    base = (size_in - 1) * s + span  # output before -2p and + op
                    pads = (padding,) if padding is not None else range(0, pmax + 1)
                    for p in pads:
                        op = size_out - (base - 2 * p)
                        if 0 <= op < max(s, dl):
                            out.append(DimSolution(size_in, size_out, k, s, dl, (p, p), op,
                                                   True))
                    continue
                lo = (size_out - 1) * s + span - size_in
                hi = lo + s - 1
                if padding is not None:
                    totals: Iterable[int] = [2 * padding] if lo <= 2 * padding <= hi else []
                else:
                    totals = range(max(lo, 0), min(hi, 2 * pmax) + 1)
                for total in totals:
                    pair = (total // 2, total - total // 2)
                    if pair[1] > pmax and padding is None:
                        continue
                    if size_in + total < span:
                        continue
                    out.append(DimSolution(size_in, size_out, k, s, dl, pair))
    out.sort(key=lambda d: d.key)
    return out


def solve(size_in, size_out, bounds: Bounds = Bounds(), transposed: bool = False,
          fixed: Fixed = Fixed(), limit: int = 12, layer_dims: int | None = None
          ) -> SolveReport:
    """All (kernel, stride, padding, dilation[, output_padding]) within the bounds that
    map size_in to size_out on every dim; the simplest ``limit`` of them (0 = all).

    One size each (ints) means the same on every spatial dim of a ``layer_dims``-d
    layer (default 2): solved once, answered with ints."""
    scalar = isinstance(size_in, int) and isinstance(size_out, int)
    size_in, size_out = spatial_sizes("--input", size_in), spatial_sizes("--output", size_out)
    dims = max(len(size_in), len(size_out))
    if scalar:
        layer_dims = layer_dims or 2
    elif layer_dims is not None and layer_dims != dims:
        raise ConvError(f"--dims {layer_dims} but the sizes have {dims} dims; give "
                        f"{layer_dims} sizes or one")
    else:
        layer_dims = dims
    for name, v in (("kernel_size", fixed.kernel_size), ("stride", fixed.stride),
                    ("padding", fixed.padding), ("dilation", fixed.dilation)):
        if scalar and isinstance(v, tuple) and len(set(v)) > 1:
            raise ConvError(f"--{name.replace('_', '-')}={v} differs per dim but the sizes "
                            "are one number; give per-dim sizes like 32x32")
        if scalar and isinstance(v, tuple):
            fixed = Fixed(**{**fixed.__dict__, name: v[0]})
    if len(size_in) != len(size_out) and 1 not in (len(size_in), len(size_out)):
        raise ConvError(f"--input has {len(size_in)} sizes but --output has {len(size_out)}; "
                        "give the same number (or one, for every dim)")
    size_in = size_in * dims if len(size_in) == 1 else size_in
    size_out = size_out * dims if len(size_out) == 1 else size_out
    _check_bounds(bounds)
    if limit < 0:
        raise ConvError(f"--limit={limit}: give 0 for every solution or a positive number")
    fixed = _fixed_check(fixed, dims, transposed)
    per_dim = []
    for i in range(dims):
        def pick(name):
            v = getattr(fixed, name)
            return None if v is None else v[i]
        per_dim.append(solve_dim(size_in[i], size_out[i], bounds, transposed,
                                 pick("kernel_size"), pick("stride"), pick("dilation"),
                                 pick("padding")))
    counts = tuple(len(p) for p in per_dim)
    total = 1
    for c in counts:
        total *= c
    if total == 0:
        raise ConvError(_no_solution(size_in, size_out, bounds, transposed, fixed, counts))
    if total > MAX_COMBINATIONS:
        raise ConvError(
            f"{total:,} combinations across {dims} dims ({' x '.join(map(str, counts))} per "
            f"dim); narrow the search with smaller --max-* bounds or pin -k/-s/-d/-p")
    if limit == 0 and total > MAX_LISTED:
        raise ConvError(
            f"--limit 0 would list {total:,} solutions ({' x '.join(map(str, counts))} per "
            f"dim); list at most {MAX_LISTED:,}: give --limit N for the simplest N, or "
            "narrow the --max-* bounds")
    keys = [[d.key for d in dim] for dim in per_dim]
    idents = [[d.ident for d in dim] for dim in per_dim]

    def key(index: tuple[int, ...]) -> tuple:
        return combo_key([keys[i][j] for i, j in enumerate(index)],
                         [idents[i][j] for i, j in enumerate(index)])

    indices = product(*(range(c) for c in counts))
    best = sorted(indices, key=key) if limit == 0 else heapq.nsmallest(limit, indices, key=key)
    shown = [Solution(tuple(per_dim[i][j] for i, j in enumerate(index)), layer_dims, scalar)
             for index in best]
    return SolveReport(transposed, size_in, size_out, bounds, shown, total, counts, limit)


def _no_solution(size_in, size_out, bounds, transposed, fixed, counts) -> str:
    dim = counts.index(0)
    n, o = size_in[dim], size_out[dim]
    kind = "ConvTranspose" if transposed else "Conv"
    where = f" on dim {dim}" if len(size_in) > 1 else ""
    pinned = [f"{name}={getattr(fixed, name)[dim]}" for name in
              ("kernel_size", "stride", "padding", "dilation") if getattr(fixed, name)]
    msg = (f"no {kind} within --max-kernel {bounds.max_kernel}, --max-stride "
           f"{bounds.max_stride}, --max-dilation {bounds.max_dilation}"
           + (f", {', '.join(pinned)}" if pinned else "")
           + f" maps {n} -> {o}{where}; ")
    if not transposed and o > n:
        return msg + ("a conv only grows a size through padding: use --transposed to "
                      "upsample, or raise --max-padding")
    if transposed and o < n:
        return msg + "a transposed conv upsamples: drop --transposed to shrink"
    return msg + "raise the bounds (e.g. --max-stride, --max-kernel) or unpin values"
