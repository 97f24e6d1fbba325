"""The answers of ``convcli solve``: one per-dim solution, a whole answer, the
report, and how they rank (simplest first) and what each leaves unread.

Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from convcli.calculator.spec import ConvSpec


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
