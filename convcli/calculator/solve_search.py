"""The inverse problem: which (kernel, stride, padding, dilation) give this output size?

Forward conv, per spatial dim, with T = p_before + p_after and span = dil*(k-1)+1:

    out = floor((L + T - span) / s) + 1   <=>   (out-1)*s <= L + T - span <= (out-1)*s + s-1

so for each (k, s, dil) the admissible totals T form a run of at most s values. An even
T is torch's own symmetric ``padding=T/2``; an odd T needs ``F.pad`` (T//2 before, the
odd one after, as TensorFlow's SAME does). Padding per side is bounded by
``--max-padding``; by default the padding reaches no further than the window does from
its centre: T <= dil*(k-1), what ``padding='same'`` adds, so every output's window is
centred on the input and a forward conv never makes a size larger (more padding only
adds outputs over zeros: upsampling is a transposed conv's job, which the advice names).
A transposed conv's padding crops its output; by default at most dil*(k-1) per side.

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
from dataclasses import dataclass
from itertools import product

from convcli.calculator.solutions import (Bounds, DimSolution, Solution, SolveReport,
                                          combo_key)
from convcli.calculator.ints import MAX_SIZE
from convcli.errors import ConvError

DEFAULT_BOUNDS = {"max_kernel": 7, "max_stride": 4, "max_dilation": 3}
# a search over more (k, s, dil) triples than this is refused with a message
MAX_TRIPLES = 200_000
MAX_COMBINATIONS = 400_000
MAX_PER_DIM = 100_000
MAX_LISTED = 20_000  # --limit 0 (every solution, each rendered): more is a wall
MAX_PINNED = 10_000  # a pinned kernel, stride or dilation


@dataclass(frozen=True)
class Fixed:
    """Values the user pinned (one for every dim, or per dim; None = search)."""

    kernel_size: int | tuple[int, ...] | None = None
    stride: int | tuple[int, ...] | None = None
    padding: int | tuple[int, ...] | None = None
    dilation: int | tuple[int, ...] | None = None


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
        if n > MAX_SIZE:
            raise ConvError(f"{name}: a size beyond {MAX_SIZE:,}; torch sizes are 64-bit "
                            "integers")
    return sizes


def _check_bounds(b: Bounds) -> None:
    for name in ("max_kernel", "max_stride", "max_dilation"):
        v = getattr(b, name)
        if v < 1:
            raise ConvError(f"--{name.replace('_', '-')}={v}: must be at least 1")
    if b.max_padding is not None and b.max_padding < 0:
        raise ConvError(f"--max-padding={b.max_padding}: must be at least 0")
    for name in ("max_kernel", "max_stride", "max_dilation", "max_padding"):
        v = getattr(b, name)
        if v is not None and v > MAX_SIZE:
            raise ConvError(f"--{name.replace('_', '-')}: more than {MAX_SIZE:,} (torch's "
                            "int64 sizes); give a smaller bound")
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
            high = MAX_SIZE if name == "padding" else MAX_PINNED
            for x in v:
                if x < low:
                    raise ConvError(f"--{name.replace('_', '-')}={x}: must be at least {low}")
                if x > high:
                    raise ConvError(f"--{name.replace('_', '-')}: {x:,} is more than solve "
                                    f"pins ({high:,}); no useful layer has it")
        out[name] = v
    return Fixed(**out)


def _values(fixed_value: int | None, bound: int) -> range | tuple[int, ...]:
    return (fixed_value,) if fixed_value is not None else range(1, bound + 1)


def solve_dim(size_in: int, size_out: int, bounds: Bounds, transposed: bool = False,
              kernel: int | None = None, stride: int | None = None,
              dilation: int | None = None, padding: int | None = None) -> list[DimSolution]:
    """Every answer for one spatial dim within the bounds, sorted by simplicity.
    The admissible paddings of each (k, s, dil) are a run found by arithmetic; more
    than MAX_PER_DIM answers on one dim is refused before any is built."""
    runs = []
    total = 0
    for k in _values(kernel, bounds.max_kernel):
        for dl in _values(dilation, bounds.max_dilation):
            if k == 1 and dl > 1 and dilation is None:
                continue  # dilation means nothing for a 1-wide kernel
            span = dl * (k - 1) + 1
            given = bounds.max_padding
            for s in _values(stride, bounds.max_stride):
                run = (_transposed_pads(size_in, size_out, s, dl, span,
                                        span - 1 if given is None else given, padding)
                       if transposed else
                       _forward_totals(size_in, size_out, s, span,
                                       span - 1 if given is None else 2 * given, padding))
                total += len(run)
                if total > MAX_PER_DIM:
                    raise ConvError(
                        f"more than {MAX_PER_DIM:,} settings map {size_in} -> {size_out} on "
                        "one dim; narrow the search with smaller --max-* bounds or pin "
                        "-k/-s/-d/-p")
                runs.append((k, dl, s, run))
    out = []
    for k, dl, s, run in runs:
        for v in run:
            if transposed:
                op = size_out - ((size_in - 1) * s + dl * (k - 1) + 1 - 2 * v)
                out.append(DimSolution(size_in, size_out, k, s, dl, (v, v), op, True))
            else:
                out.append(DimSolution(size_in, size_out, k, s, dl, (v // 2, v - v // 2)))
    out.sort(key=lambda d: d.key)
    return out


def _forward_totals(size_in: int, size_out: int, s: int, span: int, tmax: int,
                    padding: int | None) -> range:
    """Total paddings T (before + after, the odd one after) with
    floor((L + T - span) / s) + 1 == size_out: a run of at most s values, T at most
    tmax, the window fitting the padded input."""
    lo = (size_out - 1) * s + span - size_in
    hi = lo + s - 1
    lo = max(lo, 0, span - size_in)
    if padding is not None:
        return range(2 * padding, 2 * padding + 1) if lo <= 2 * padding <= hi else range(0)
    return range(lo, min(hi, tmax) + 1)


def _transposed_pads(size_in: int, size_out: int, s: int, dl: int, span: int, pmax: int,
                     padding: int | None) -> range:
    """Paddings p with (L-1)*s - 2p + span + op == size_out for an output_padding
    0 <= op < max(s, dl): a run of about max(s, dl)/2 values."""
    base = (size_in - 1) * s + span
    top = max(s, dl) - 1
    lo = max(0, -(-(base - size_out) // 2))          # op >= 0
    hi = (base - size_out + top) // 2                # op <= top
    if padding is not None:
        return range(padding, padding + 1) if lo <= padding <= hi else range(0)
    return range(lo, min(hi, pmax) + 1)


def solve(size_in, size_out, bounds: Bounds = Bounds(), transposed: bool = False,
          fixed: Fixed = Fixed(), limit: int = 12, layer_dims: int | None = None
          ) -> SolveReport:
    """All (kernel, stride, padding, dilation[, output_padding]) within the bounds that
    map size_in to size_out on every dim; the simplest ``limit`` of them (0 = all).

    One size each (ints) means the same on every spatial dim of a ``layer_dims``-d
    layer (default 2): solved once, answered with ints."""
    scalar = isinstance(size_in, int) and isinstance(size_out, int)
    size_in = spatial_sizes("--input-size", size_in)
    size_out = spatial_sizes("--output-size", size_out)
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
        raise ConvError(f"--input-size has {len(size_in)} sizes but --output-size has "
                        f"{len(size_out)}; "
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
    other = _other_kind(size_in, size_out, bounds, transposed, layer_dims, scalar)
    if total == 0:
        raise ConvError(_no_solution(size_in, size_out, bounds, transposed, fixed, counts,
                                     other))
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
    return SolveReport(transposed, size_in, size_out, bounds, shown, total, counts, limit,
                       *other)


def _other_kind(size_in, size_out, bounds, transposed, layer_dims, scalar
                ) -> tuple[str | None, Solution | None]:
    """Advice when the other kind of conv is the natural answer: a size that grows
    is a transposed conv's job (a Conv gets there only by padding), a size that
    shrinks a Conv's; with the other kind's simplest answer, when it has one."""
    grows = any(o > n for n, o in zip(size_in, size_out))
    shrinks = any(o < n for n, o in zip(size_in, size_out))
    if (grows and transposed) or (shrinks and not transposed) or not (grows or shrinks):
        return None, None
    try:
        best = solve(size_in[0] if scalar else size_in, size_out[0] if scalar else size_out,
                     bounds, not transposed, limit=1, layer_dims=layer_dims).solutions[0]
    except ConvError:
        best = None
    sizes = f"{'x'.join(map(str, size_in))} -> {'x'.join(map(str, size_out))}"
    if grows:
        text = (f"{sizes} grows the size: upsampling is a transposed conv's job"
                + (f", e.g. {best.torch_code()}" if best else "")
                + " (solve --transposed lists them); a Conv gets there only by padding past "
                "its window's reach (--max-padding lets it)")
    else:
        text = (f"{sizes} shrinks the size: downsampling is a Conv's job"
                + (f", e.g. {best.torch_code()}" if best else "")
                + " (solve without --transposed lists them); a transposed conv gets there "
                "only by cropping with padding")
    return text, best


def _no_solution(size_in, size_out, bounds, transposed, fixed, counts, other) -> str:
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
    advice, best = other
    if best is not None:
        return msg + advice
    if not transposed and o > n:
        return msg + ("a conv only grows a size through padding: use --transposed to "
                      "upsample, or raise --max-padding")
    if transposed and o < n:
        return msg + "a transposed conv upsamples: drop --transposed to shrink"
    return msg + "raise the bounds (e.g. --max-stride, --max-kernel) or unpin values"
