"""Receptive fields: which input positions can change an output position, per spatial
dim (a layer's window is a product over dims, and so is every field of a chain, so the
per-dim sets are exact; through residual branches they are the projections of the
union over paths).

Two answers per row:

* **exact, at this input size**: the set of input indices behind each output position,
  propagated forward as Python-int bitsets and clipped to every tensor's real length,
  so padding, floor-dropped tails, dilation holes and transposed convs' phases all fall
  out of it. ``size`` is the largest hull over the row's positions: what the nonzero
  input gradient of one output element spans on a real forward (tests check it).
* **nominal**, on an unbounded input (the textbook numbers): ``jump`` (input positions
  per output step, a Fraction for transposed convs and upsampling) and ``start`` (the
  first input index of output 0's window; negative: it begins in the padding), by the
  recurrence size += (k_eff - 1) * jump; start -= p * jump; jump *= s for convs and
  pools, and by unclipped set propagation where there is no closed form.

A layer is a per-dim step: ("window", k, s, p, d) for convs and pools, ("convT", k, s, p,
d), ("adaptive",), ("nearest",), ("linear", align_corners), ("pad", left, mode),
("shuffle", r) / ("unshuffle", r), ("same",) for elementwise layers, ("global",) for
norms that mix all positions. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor
from typing import Any

Step = tuple


@dataclass(frozen=True)
class RowField:
    """Per spatial dim: the largest exact hull, and the nominal jump and start."""

    size: tuple[int, ...]
    jump: tuple[Fraction | None, ...]
    start: tuple[Fraction | None, ...]
    nominal_size: tuple[int | None, ...]
    fields: tuple[list[int], ...] = ()      # bitsets per output position (summary)
    chains: tuple[tuple, ...] = ()          # the steps per dim (for the padding part)
    maps: tuple = ()                        # per dim, a field_walk.Chain (net)


@dataclass(frozen=True)
class FieldPicture:
    """The input region behind one output position of one row."""

    row: str
    position: tuple[int, ...]
    lengths: tuple[int, ...]                      # the input's spatial sizes
    sets: tuple[tuple[int, ...], ...]             # exact input indices, per dim
    nominal: tuple[tuple[int, int] | None, ...]   # unclipped window (padding beyond)

    @property
    def hulls(self) -> tuple[tuple[int, int] | None, ...]:
        return tuple((min(s), max(s)) if s else None for s in self.sets)

    def padding(self, d: int) -> tuple[int, int]:
        """Positions of the window outside the input, before and after it."""
        n = self.nominal[d]
        if n is None:
            return 0, 0
        return max(0, -n[0]), max(0, n[1] - (self.lengths[d] - 1))


def picture(label: str, rf: RowField, position: tuple[int, ...],
            lengths: tuple[int, ...]) -> FieldPicture:
    sets: list[tuple[int, ...]] = []
    nominal: list[tuple[int, int] | None] = []
    for d, o in enumerate(position):
        if rf.maps:
            sets.append(tuple(rf.maps[d].exact(o)))
            nominal.append(rf.maps[d].window(o))
            continue
        sets.append(tuple(indices(rf.fields[d][o])))
        nominal.append(_window(rf, d, o))
    return FieldPicture(label, tuple(position), tuple(lengths), tuple(sets), tuple(nominal))


def _window(rf: RowField, d: int, o: int) -> tuple[int, int] | None:
    """Output o's window on an unbounded input: by unclipped propagation along the
    chain (net), else from the nominal numbers when they hold (summary)."""
    chain = rf.chains[d] if rf.chains else None
    if chain is not None and _unclipped_ok(chain):
        return _back(chain, o)
    start, jump, size = rf.start[d], rf.jump[d], rf.nominal_size[d]
    if start is None or jump is None or size is None:
        return None
    lo = start + o * jump
    if lo.denominator != 1:
        return None
    return int(lo), int(lo) + size - 1


def _unclipped_ok(chain: tuple) -> bool:
    return all(s[0] in ("window", "convT", "same", "shuffle", "unshuffle") or
               s[0] == "pad" and s[2] in ("zeros", "constant") for s in chain)


def taps(step: Step, o: int, L_in: int, L_out: int, clip: bool = True) -> list[int]:
    """Input indices output ``o`` of one step reads (unclipped when ``clip`` is False:
    then out-of-range indices are the padding)."""
    kind = step[0]
    if kind == "window":
        _, k, s, p, d = step
        t = [o * s - p + j * d for j in range(k)]
    elif kind == "convT":                    # out[i*s - p + j*d] += w[j] * in[i]
        _, k, s, p, d = step
        t = [(o + p - j * d) // s for j in range(k) if (o + p - j * d) % s == 0]
    elif kind == "adaptive":                 # torch's start/end index, in integers
        t = list(range(o * L_in // L_out, -(-(o + 1) * L_in // L_out)))
    elif kind == "nearest":
        t = [min(o * L_in // L_out, L_in - 1)]
    elif kind == "nearest-exact":
        t = [min((2 * o + 1) * L_in // (2 * L_out), L_in - 1)]
    elif kind == "linear":
        t = _linear(o, L_in, L_out, step[1])
    elif kind == "cubic":
        t = _cubic(o, L_in, L_out, step[1])
    elif kind == "halves":                   # GLU: a[o] * sigmoid(b[o])
        t = [o, o + L_out]
    elif kind == "pad":
        t = [_padded(o - step[1], L_in, step[2])]
    elif kind == "shuffle":
        t = [o // step[1]]
    elif kind == "unshuffle":
        t = [o * step[1] + j for j in range(step[1])]
    elif kind == "global":
        t = list(range(L_in))
    else:                                    # same
        t = [o]
    return [i for i in t if i is not None and 0 <= i < L_in] if clip else \
        [i for i in t if i is not None]


def _linear(o: int, L_in: int, L_out: int, align: bool) -> list[int]:
    if align:
        src = o * (L_in - 1) / (L_out - 1) if L_out > 1 else 0.0
    else:
        src = max((o + 0.5) * L_in / L_out - 0.5, 0.0)
    lo = min(int(floor(src)), L_in - 1)
    return [lo, min(lo + 1, L_in - 1)] if src > lo else [lo]


def _cubic(o: int, L_in: int, L_out: int, align: bool) -> list[int]:
    """Bicubic: four taps around the source, clamped to the border (one where the
    source is a whole index: the other weights are 0)."""
    if align:
        src = o * (L_in - 1) / (L_out - 1) if L_out > 1 else 0.0
    else:
        src = (o + 0.5) * L_in / L_out - 0.5
    f = floor(src)
    if src == f:
        return [min(max(f, 0), L_in - 1)]
    return sorted({min(max(f + j, 0), L_in - 1) for j in (-1, 0, 1, 2)})


def _padded(i: int, L: int, mode: str) -> int | None:
    """The input index behind padded position i (None: a constant)."""
    if 0 <= i < L:
        return i
    if mode == "reflect":
        i = -i if i < 0 else 2 * (L - 1) - i
        return i if 0 <= i < L else None
    if mode == "replicate":
        return min(max(i, 0), L - 1)
    if mode == "circular":
        return i % L
    return None


def propagate(fields: list[int], step: Step, L_in: int, L_out: int) -> list[int]:
    """One step forward: the field (bitset) of each output position."""
    if step[0] == "same" and L_in == L_out:
        return list(fields)
    if step[0] == "global":
        full = 0
        for b in fields:
            full |= b
        return [full] * L_out
    out = []
    for o in range(L_out):
        b = 0
        for i in taps(step, o, L_in, L_out):
            b |= fields[i]
        out.append(b)
    return out


def seed(L: int) -> list[int]:
    return [1 << i for i in range(L)]


def hull(bits: int) -> tuple[int, int] | None:
    if not bits:
        return None
    return (bits & -bits).bit_length() - 1, bits.bit_length() - 1


def indices(bits: int) -> list[int]:
    out, i = [], 0
    while bits:
        if bits & 1:
            out.append(i)
        bits >>= 1
        i += 1
    return out


def largest_hull(fields: list[int]) -> int:
    best = 0
    for b in fields:
        h = hull(b)
        if h is not None:
            best = max(best, h[1] - h[0] + 1)
    return best


@dataclass
class Nominal:
    """The textbook numbers of one dim along a chain (None once they vary)."""

    size: int | None = 1
    jump: Fraction | None = Fraction(1)
    start: Fraction | None = Fraction(0)
    chain: tuple = ()                 # the steps so far, for unclipped propagation

    def then(self, step: Step) -> "Nominal":
        chain = self.chain + (step,)
        kind = step[0]
        if self.size is None or kind in ("adaptive", "global", "linear", "nearest"):
            return Nominal(None, None, None, chain)
        if kind == "same":
            return Nominal(self.size, self.jump, self.start, chain)
        if kind == "window" and all(s[0] in ("window", "same", "pad") for s in self.chain):
            _, k, s, p, d = step
            assert self.jump is not None and self.start is not None
            return Nominal(self.size + d * (k - 1) * int(self.jump), self.jump * s,
                           self.start - p * self.jump, chain)
        if kind == "pad" and step[2] in ("zeros", "constant"):
            assert self.jump is not None and self.start is not None
            return Nominal(self.size, self.jump, self.start - step[1] * self.jump, chain)
        return _unclipped(chain)


def _unclipped(chain: tuple) -> Nominal:
    """Size (largest hull over one period of outputs), jump and start of output 0, by
    propagating output positions back through the chain without clipping."""
    period, jump = 1, Fraction(1)
    for step in chain:
        if step[0] in ("convT", "shuffle"):
            r = step[2] if step[0] == "convT" else step[1]
            period, jump = period * r, jump / r
        elif step[0] in ("window", "unshuffle"):
            jump *= step[2] if step[0] == "window" else step[1]
        elif step[0] not in ("same",) and not (step[0] == "pad" and step[2] in
                                                ("zeros", "constant")):
            return Nominal(None, None, None, chain)
    if period > 256:
        return Nominal(None, jump, None, chain)
    spans = [_back(chain, o) for o in range(period)]
    size = max(hi - lo + 1 for lo, hi in spans)
    return Nominal(size, jump, Fraction(spans[0][0]), chain)


def _back(chain: tuple, o: int) -> tuple[int, int]:
    cur = {o}
    for step in reversed(chain):
        if step[0] == "pad":
            cur = {i - step[1] for i in cur}
        else:
            cur = {i for q in cur for i in taps(step, q, 0, 0, clip=False)}
    return min(cur), max(cur)


def row_field(fields: list[list[int]], nominal: list[Nominal],
              keep: bool = False) -> RowField:
    return RowField(tuple(largest_hull(f) for f in fields),
                    tuple(n.jump for n in nominal), tuple(n.start for n in nominal),
                    tuple(n.size for n in nominal),
                    tuple(fields) if keep else (),
                    tuple(n.chain for n in nominal) if keep else ())


def as_json(value: Any) -> Any:
    """Fractions as ints where whole, else 'p/q' strings."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return value
