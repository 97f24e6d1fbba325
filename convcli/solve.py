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
``decoder()`` lists them.

Sorted by simplicity: smallest kernel, no dilation, symmetric padding (and for
transposed convs no output_padding) first, then smaller dilation, stride and padding.
Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

from convcli.errors import ConvError
from convcli.spec import ConvSpec

DEFAULT_BOUNDS = {"max_kernel": 7, "max_stride": 4, "max_dilation": 3}
# a search over more (k, s, dil) triples than this is refused with a message
MAX_TRIPLES = 200_000
MAX_COMBINATIONS = 400_000
MAX_LISTED = 20_000  # --limit 0 (every solution, each rendered): more is a wall


@dataclass(frozen=True)
class Bounds:
    max_kernel: int = 7
    max_stride: int = 4
    max_dilation: int = 3
    max_padding: int | None = None   # None: dil*(k-1) per solution

    def as_dict(self) -> dict:
        return {"max_kernel": self.max_kernel, "max_stride": self.max_stride,
                "max_dilation": self.max_dilation,
                "max_padding": "dilation*(kernel-1)" if self.max_padding is None
                else self.max_padding}


@dataclass(frozen=True)
class Fixed:
    """Values the user pinned (per dim; None = search)."""

    kernel_size: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    padding: tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None


@dataclass(frozen=True)
class DimSolution:
    """One spatial dim's answer."""

    size_in: int
    size_out: int
    kernel: int
    stride: int
    dilation: int
    pad: tuple[int, int]       # (before, after)
    output_padding: int = 0
    transposed: bool = False

    @property
    def symmetric(self) -> bool:
        return self.pad[0] == self.pad[1]

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @cached_property
    def key(self) -> tuple:
        return (self.kernel, self.dilation > 1, not self.symmetric, self.output_padding > 0,
                self.unread > 0, self.dilation, self.stride, max(self.pad),
                self.output_padding)

    @property
    def ident(self) -> tuple:
        return (self.kernel, self.stride, self.dilation, self.pad, self.output_padding)

    @cached_property
    def unread(self) -> int:
        """Forward conv: real input positions no window reads (stride or dilation
        skipping them, or a tail the last window does not reach)."""
        if self.transposed:
            return 0
        return unread_inputs(self.size_in, self.size_out, self.kernel, self.stride,
                             self.dilation, self.pad[0], self.pad[1])

    def preimage(self) -> tuple[int, int] | None:
        """Transposed: the input sizes [lo, hi] a Conv with the same k, s, p, dil maps
        to this transposed conv's input size (None when there are none)."""
        p, s = self.pad[0], self.stride
        lo = max((self.size_in - 1) * s + self.span - 2 * p, self.span - 2 * p, 1)
        hi = (self.size_in - 1) * s + self.span - 2 * p + s - 1
        return (lo, hi) if lo <= hi else None


@dataclass(frozen=True)
class Solution:
    """One answer. ``scalar``: the user gave one size, meaning every spatial dim of a
    ``layer_dims``-d layer (values print as ints, as torch accepts them)."""

    dims: tuple[DimSolution, ...]
    layer_dims: int = 1
    scalar: bool = False

    @property
    def transposed(self) -> bool:
        return self.dims[0].transposed

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(d.kernel for d in self.dims)

    @property
    def stride(self) -> tuple[int, ...]:
        return tuple(d.stride for d in self.dims)

    @property
    def dilation(self) -> tuple[int, ...]:
        return tuple(d.dilation for d in self.dims)

    @property
    def output_padding(self) -> tuple[int, ...]:
        return tuple(d.output_padding for d in self.dims)

    @property
    def padding_pairs(self) -> tuple[tuple[int, int], ...]:
        return tuple(d.pad for d in self.dims)

    @property
    def symmetric(self) -> bool:
        return all(d.symmetric for d in self.dims)

    @property
    def padding(self) -> tuple[int, ...] | None:
        """torch's padding argument; None when some dim needs F.pad (asymmetric)."""
        return tuple(d.pad[0] for d in self.dims) if self.symmetric else None

    @property
    def key(self) -> tuple:
        return combo_key([d.key for d in self.dims], [d.ident for d in self.dims])

    def _v(self, t: tuple):
        return t[0] if self.scalar else list(t)

    def spec(self, in_channels: int = 1, out_channels: int = 1) -> ConvSpec:
        """The torch layer (padding 0 when asymmetric: F.pad goes first)."""
        def v(t):
            return t[0] if self.scalar else t
        return ConvSpec(self.layer_dims, in_channels, out_channels, v(self.kernel_size),
                        stride=v(self.stride), padding=v(self.padding) if self.padding
                        else 0,
                        dilation=v(self.dilation), transposed=self.transposed,
                        output_padding=v(self.output_padding))

    @property
    def f_pad(self) -> tuple[int, ...] | None:
        if self.symmetric:
            return None
        pairs = self.padding_pairs * (self.layer_dims if self.scalar else 1)
        out: list[int] = []
        for before, after in reversed(pairs):
            out += [before, after]
        return tuple(out)

    def torch_code(self) -> str:
        layer = "nn." + self.spec().torch_repr().replace("(1, 1, ", "(C_in, C_out, ", 1)
        if self.f_pad is not None:
            return f"{layer} on F.pad(x, {self.f_pad})"
        return layer

    @property
    def conv_from(self) -> list[tuple[int, int] | None]:
        """Transposed: per dim, the sizes the Conv with the same k, s, p, dil maps to
        this layer's input (the ambiguity its output_padding resolves)."""
        return [d.preimage() if d.output_padding < d.stride else None for d in self.dims]

    @property
    def notes(self) -> list[str]:
        if self.transposed:
            bad = [i for i, d in enumerate(self.dims) if d.output_padding >= d.stride]
            return [f"op >= stride{'' if len(self.dims) == 1 else f' on dim {bad}'}"
                    ": no Conv inverse"] if bad else []
        unread = [d.unread for d in self.dims]
        if not any(unread):
            return []
        return [f"{_join(unread, self.scalar)} input{'s' if max(unread) > 1 else ''} never read"]

    def as_dict(self) -> dict:
        v = self._v
        return {"kernel_size": v(self.kernel_size), "stride": v(self.stride),
                "padding": None if self.padding is None else v(self.padding),
                "dilation": v(self.dilation),
                "output_padding": v(self.output_padding),
                "padding_pairs": [list(p) for p in self.padding_pairs],
                "symmetric": self.symmetric,
                "f_pad": None if self.f_pad is None else list(self.f_pad),
                "torch": self.torch_code(), "notes": self.notes,
                "conv_from": [None if p is None else list(p) for p in self.conv_from]
                if self.transposed else None}


@dataclass(frozen=True)
class SolveReport:
    transposed: bool
    size_in: tuple[int, ...]
    size_out: tuple[int, ...]
    bounds: Bounds
    solutions: list[Solution]     # the first `limit`, sorted
    total: int
    per_dim: tuple[int, ...]      # how many answers each dim has on its own
    limit: int

    def as_dict(self) -> dict:
        return {"transposed": self.transposed, "input": list(self.size_in),
                "output": list(self.size_out), "bounds": self.bounds.as_dict(),
                "total": self.total, "shown": len(self.solutions),
                "solutions": [s.as_dict() for s in self.solutions]}


def combo_key(keys: list[tuple], idents: list[tuple]) -> tuple:
    """Simplicity of a multi-dim answer from its dims' keys: the largest kernel, then
    the same values on every dim, then no dilation / symmetric padding / no
    output_padding / every input read on any dim, then the sums."""
    return (max(k[0] for k in keys), len(set(idents)) > 1, any(k[1] for k in keys),
            any(k[2] for k in keys), any(k[3] for k in keys), any(k[4] for k in keys)) + tuple(
                sum(k[i] for k in keys) for i in (0, 5, 6, 7, 8))


def _join(values, scalar: bool) -> str:
    return str(values[0]) if scalar or len(set(values)) == 1 and len(values) == 1 else \
        ",".join(map(str, values))


def unread_inputs(size: int, out: int, kernel: int, stride: int, dilation: int,
                  before: int, after: int) -> int:
    """How many of the ``size`` real inputs no window of a forward conv reads."""
    mark = bytearray(before + size + after)
    last = (out - 1) * stride
    for t in range(kernel):
        off = t * dilation
        mark[off:off + last + 1:stride] = b"\x01" * out
    return size - mark[before:before + size].count(1)


def _broadcast(name: str, value, dims: int) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value,) * dims
    if len(value) != dims:
        raise ConvError(f"{name}={value} has {len(value)} entries but the sizes have {dims} "
                        f"dims; give one number or {dims}")
    return tuple(value)


def _sizes(name: str, value) -> tuple[int, ...]:
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
        v = _broadcast(f"--{name.replace('_', '-')}", getattr(fixed, name), dims)
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
                    totals = [2 * padding] if lo <= 2 * padding <= hi else []
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
    size_in, size_out = _sizes("--input", size_in), _sizes("--output", size_out)
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


# ---- the decoder of a given conv --------------------------------------------------

@dataclass(frozen=True)
class DecoderDim:
    size_in: int          # the encoder's input size (what the decoder must restore)
    size_code: int        # the encoder's output = the decoder's input
    kernel: int
    stride: int
    padding: int
    dilation: int
    output_padding: int | None     # None: no valid output_padding restores size_in
    preimage: tuple[int, ...]      # every input size the encoder maps to size_code
    choices: tuple[tuple[int, int | None], ...] = field(default=())  # (size, output_padding)

    def as_dict(self) -> dict:
        return {"size_in": self.size_in, "size_code": self.size_code,
                "output_padding": self.output_padding, "preimage": list(self.preimage),
                "choices": [{"size": s, "output_padding": op} for s, op in self.choices]}


@dataclass(frozen=True)
class DecoderReport:
    encoder: ConvSpec
    decoder: ConvSpec | None
    dims: list[DecoderDim]
    placeholders: bool = False   # channels not given: print C_in / C_out

    def layer(self, which: str) -> str | None:
        """The encoder's or decoder's constructor, with C_in/C_out when the channel
        counts were not given."""
        spec = self.encoder if which == "encoder" else self.decoder
        if spec is None:
            return None
        text = spec.torch_repr()
        if self.placeholders:
            names = "C_in, C_out" if which == "encoder" else "C_out, C_in"
            text = text.replace(f"({spec.in_channels}, {spec.out_channels}, ", f"({names}, ", 1)
        return text

    @property
    def ambiguous(self) -> bool:
        return any(len(d.preimage) > 1 for d in self.dims)

    def as_dict(self) -> dict:
        return {"encoder": self.layer("encoder"), "decoder": self.layer("decoder"),
                "output_padding": None if self.decoder is None else list(
                    self.decoder.output_padding),
                "ambiguous": self.ambiguous, "dims": [d.as_dict() for d in self.dims]}


def decoder(encoder: ConvSpec, size_in, placeholders: bool = False) -> DecoderReport:
    """The ConvTranspose with the encoder's k, s, p, dil and the output_padding that
    maps the encoder's output back to exactly ``size_in``; every other input size the
    encoder maps to the same output, with the output_padding that would restore it."""
    d = encoder.dims
    if isinstance(size_in, int):
        size_in = (size_in,) * d
    size_in = _broadcast("--input", _sizes("--input", size_in), d)
    pairs = encoder.padding_pairs
    for i, (a, b) in enumerate(pairs):
        if a != b:
            raise ConvError(
                f"padding='same' pads dim {i} asymmetrically ({a} before, {b} after); a "
                "ConvTranspose crops both sides equally, so no output_padding inverts it "
                f"exactly: give the encoder symmetric padding (e.g. -p {a}) or an odd kernel")
    shape = (1, encoder.in_channels) + tuple(size_in)
    code = encoder.output_shape(shape)[2:]
    dims, ops = [], []
    for i, (n, o) in enumerate(zip(size_in, code)):
        k, s, dl, p = (encoder.kernel_size[i], encoder.stride[i], encoder.dilation[i],
                       pairs[i][0])
        base = (o - 1) * s - 2 * p + dl * (k - 1) + 1
        lo = max((o - 1) * s + dl * (k - 1) + 1 - 2 * p, 1)
        pre = tuple(range(lo, (o - 1) * s + dl * (k - 1) + 1 - 2 * p + s))
        choices = tuple((m, m - base if 0 <= m - base < max(s, dl) else None) for m in pre)
        op = n - base
        valid = 0 <= op < max(s, dl)
        ops.append(op if valid else None)
        dims.append(DecoderDim(n, o, k, s, p, dl, op if valid else None, pre, choices))
    dec = None
    if all(op is not None for op in ops):
        dec = ConvSpec(d, encoder.out_channels, encoder.in_channels, encoder.kernel_size,
                       stride=encoder.stride, padding=tuple(a for a, _ in pairs),
                       dilation=encoder.dilation, groups=encoder.groups, bias=encoder.bias,
                       transposed=True, output_padding=tuple(ops))
    return DecoderReport(encoder, dec, dims, placeholders)
