"""The answers of ``convcli solve``: one per-dim solution, a whole answer, the
report, and how they rank and what each leaves unread.

The ranking is the advice an expert gives: first the layouts that read every input
with symmetric padding (a transposed conv: that write every output, with no
output_padding, each output from the same number of taps), no dilation; among them
the common kernels (3, then 1, 5, 7, 2, 4), then the rest; then stride, padding.
What is left unread (unwritten) is counted with arithmetic on progressions, never a
per-position loop, so sizes of any magnitude answer at once. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from functools import cached_property
from math import gcd

from convcli.calculator.spec import ConvSpec


# what --max-padding is when not given (solve_search.py's docstring says why)
DEFAULT_PADDING = "dilation*(kernel-1) in all, as 'same' (transposed: per side)"


@dataclass(frozen=True)
class Bounds:
    max_kernel: int = 7
    max_stride: int = 4
    max_dilation: int = 3
    max_padding: int | None = None   # None: dil*(k-1) in all (transposed: per side)

    def as_dict(self) -> dict:
        return {"max_kernel": self.max_kernel, "max_stride": self.max_stride,
                "max_dilation": self.max_dilation,
                "max_padding": DEFAULT_PADDING if self.max_padding is None
                else self.max_padding}


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

    @property
    def same(self) -> bool:
        """torch's padding='same' gives this dim: stride 1, the size kept, and the
        padding split as torch splits d*(k-1) (the odd one after)."""
        total = self.span - 1
        return (not self.transposed and self.stride == 1 and self.size_in == self.size_out
                and self.pad == (total // 2, total - total // 2))

    @cached_property
    def key(self) -> tuple:
        """Smaller is simpler (see the module doc); ``combo_key`` reads the fields."""
        if self.transposed:
            plain = self.unread == 0 and self.output_padding == 0
            uneven = self.kernel % self.stride != 0 if self.dilation == 1 else True
        else:
            plain, uneven = self.unread == 0, False
        even = self.symmetric or self.same    # padding='same' needs no F.pad either
        return (not (plain and even), self.dilation > 1, uneven,
                kernel_rank(self.kernel), self.unread > 0, not even,
                self.output_padding > 0, self.dilation, self.stride, max(self.pad),
                self.output_padding, not self.same)

    @property
    def ident(self) -> tuple:
        return (self.kernel, self.stride, self.dilation, self.pad, self.output_padding)

    @cached_property
    def unread(self) -> int:
        """Forward conv: real input positions no window reads (stride or dilation
        skipping them, or a tail the last window does not reach). Transposed: output
        positions no input element writes (a kernel shorter than the stride)."""
        if self.transposed:
            return unread_inputs(self.size_out, self.size_in, self.kernel, self.stride,
                                 self.dilation, self.pad[0], 0)
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
    def same(self) -> bool:
        """torch's padding='same' is this answer (every dim keeps its size, stride 1)."""
        return all(d.same for d in self.dims)

    @property
    def uses_same(self) -> bool:
        """padding='same' is how torch writes it: the split is uneven, so a number
        cannot say it (and F.pad is not needed)."""
        return self.same and not self.symmetric

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
        padding: Any = "same" if self.uses_same else v(self.padding) if self.padding else 0
        return ConvSpec(self.layer_dims, in_channels, out_channels, v(self.kernel_size),
                        stride=v(self.stride), padding=padding,
                        dilation=v(self.dilation), transposed=self.transposed,
                        output_padding=v(self.output_padding))

    @property
    def f_pad(self) -> tuple[int, ...] | None:
        if self.symmetric or self.uses_same:
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
                "padding": "same" if self.uses_same else None if self.padding is None
                else v(self.padding),
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
    advice: str | None = None     # when the other kind of conv is the natural answer
    alternative: Solution | None = None   # ... and its simplest answer

    def as_dict(self) -> dict:
        return {"transposed": self.transposed, "input": list(self.size_in),
                "output": list(self.size_out), "bounds": self.bounds.as_dict(),
                "total": self.total, "shown": len(self.solutions),
                "solutions": [s.as_dict() for s in self.solutions],
                "advice": self.advice,
                "alternative": None if self.alternative is None else
                {"transposed": self.alternative.transposed, **self.alternative.as_dict()}}


COMMON_KERNELS = (3, 1, 5, 7, 2, 4)


def kernel_rank(k: int) -> int:
    """3 first, then 1, 5, 7, 2, 4, then the others by size."""
    return COMMON_KERNELS.index(k) if k in COMMON_KERNELS else len(COMMON_KERNELS) + k


def combo_key(keys: list[tuple], idents: list[tuple]) -> tuple:
    """Simplicity of a multi-dim answer from its dims' keys: torch's padding='same'
    first where it applies (every dim), then the worst dim's tier,
    then the same values on every dim, then no dilation, even overlap, the worst
    kernel rank, every input read, symmetric padding, no output_padding on any dim,
    then the sums of dilation, stride, padding and output_padding."""
    return (any(k[11] for k in keys), any(k[0] for k in keys), len(set(idents)) > 1, any(k[1] for k in keys),
            any(k[2] for k in keys), max(k[3] for k in keys), any(k[4] for k in keys),
            any(k[5] for k in keys), any(k[6] for k in keys)) + tuple(
                sum(k[i] for k in keys) for i in (7, 8, 9, 10))


def _join(values, scalar: bool) -> str:
    return str(values[0]) if scalar or len(set(values)) == 1 and len(values) == 1 else \
        ",".join(map(str, values))


def unread_inputs(size: int, out: int, kernel: int, stride: int, dilation: int,
                  before: int, after: int = 0) -> int:
    """How many of the ``size`` real inputs no window of a forward conv reads: tap t
    of window o reads ``o*stride - before + t*dilation``. The taps with the same
    offset modulo the stride read one residue class; within it, their runs of
    ``out`` positions (in steps of the stride) start ``dilation/g`` apart (g =
    gcd(dilation, stride)), so they merge into one run or stay apart: arithmetic,
    O(min(kernel, stride)) work for any size. ``after`` does not change the count."""
    del after
    if size <= 0 or out <= 0:
        return max(size, 0)
    g = gcd(dilation, stride)
    period = stride // g            # taps t and t + period share a residue class
    step = dilation // g            # ... and their runs start this many strides apart
    read = 0
    for t0 in range(min(kernel, period)):
        count = (kernel - 1 - t0) // period + 1      # taps in this class
        off = t0 * dilation - before                 # first tap's first position
        r = off % stride                             # the residue class
        q0 = (off - r) // stride                     # first run starts at q0 (in strides)
        # positions r + q*stride for q in the union of [q0 + j*step, ... + out - 1]
        lo_q = -(-(0 - r) // stride)                 # q with position >= 0
        hi_q = (size - 1 - r) // stride              # q with position <= size - 1
        if hi_q < lo_q:
            continue
        read += _union_in_window(q0, step, count, out, lo_q, hi_q)
    return size - read


def _union_in_window(q0: int, step: int, count: int, length: int, lo: int, hi: int) -> int:
    """|union of [q0 + j*step, q0 + j*step + length - 1] for j < count, within
    [lo, hi]|."""
    if step <= length:  # the runs touch or overlap: one run
        a, b = q0, q0 + (count - 1) * step + length - 1
        return max(0, min(b, hi) - max(a, lo) + 1)
    # disjoint runs: full ones in the middle, partial ones at the ends
    total = 0
    j_first = max(0, -(-(lo - q0 - length + 1) // step))   # first run ending >= lo
    j_last = min(count - 1, (hi - q0) // step)             # last run starting <= hi
    if j_last < j_first:
        return 0
    for j in {j_first, j_last}:
        a = q0 + j * step
        total += max(0, min(a + length - 1, hi) - max(a, lo) + 1)
    middle = j_last - j_first - 1
    if middle > 0:
        total += middle * length
    return total
