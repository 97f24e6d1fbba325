"""`net --rf` and `net --field`: the receptive field of every row of a layer stack, per
layer in closed form, so time and memory do not grow with the spatial sizes.

Each layer states its steps along each spatial dim (``Layer.field``, the rule's field
facet; receptive_fields.py names the steps). A row's field along a dim is the composition of its
layers' maps from output positions back to input intervals: a run of steps that are
affine on intervals (windows, zero padding, unshuffles, identities, global mixes)
collapses into one ``Affine`` (an output interval [a, b] reads [c + J a, c + J b + e],
clipped to what the tensors hold), so a deep stack of convs costs one map per row;
the other steps (transposed convs, shuffles, upsampling, adaptive bins, reflect,
replicate and circular padding) stay as ``Moves`` evaluated from their taps at the
interval's ends. The row's size is the largest clipped hull over its output positions:
in closed form for one Affine, else over bounded probes (both ends and the middle,
a period of the map wide). ``positions`` gives the exact input set of one output
position (for pictures) by walking the layers back from it. After a layer that ends
the spatial dims (Flatten, Linear) rows have no field. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from math import prod

from convcli.network.receptive_fields import RowField, propagate, seed, taps
from convcli.network.receptive_fields import largest_hull as widest
from convcli.network.net_report import NetReport

PROBES = 64          # positions probed at each end and in the middle of a row
MAX_PERIOD = 256     # a nominal size is given over at most this many phases
EXACT_LENGTH = 4096  # exact sets are kept while every length is at most this ...
EXACT_WORK = 10 ** 6  # ... and the taps visited stay under this, per stack


@dataclass(frozen=True)
class Affine:
    """Output interval [a, b] -> input [c + J a, c + J b + e] within [lo, hi]."""

    J: int
    c: int
    e: int
    lo: int
    hi: int

    def back(self, a: int, b: int, clip: bool = True) -> tuple[int, int] | None:
        x, y = self.c + self.J * a, self.c + self.J * b + self.e
        if clip:
            x, y = max(x, self.lo), min(y, self.hi)
        return (x, y) if x <= y else None

    def after(self, first: Affine) -> Affine:
        """This map applied to what ``first`` (nearer the output) gives."""
        J, c, e = self.J, self.c, self.e
        return Affine(J * first.J, c + J * first.c, J * first.e + e,
                      max(self.lo, c + J * first.lo), min(self.hi, c + J * first.hi + e))


@dataclass(frozen=True)
class Moves:
    """A step that is not affine on intervals, with its lengths."""

    step: tuple
    L_in: int
    L_out: int

    def back(self, a: int, b: int, clip: bool = True) -> tuple[int, int] | None:
        kind = self.step[0]
        if kind == "pad":
            return _fold(self.step, a, b, self.L_in) if clip else (a - self.step[1],
                                                                   b - self.step[1])
        scan = min(b - a + 1, 2 * self.step[2] + self.step[1] * self.step[4]) \
            if kind == "convT" else 1
        lows = [i for o in range(a, a + scan) for i in self._taps(o, clip)]
        highs = [i for o in range(b - scan + 1, b + 1) for i in self._taps(o, clip)]
        return (min(lows), max(highs)) if lows and highs else None

    def _taps(self, o: int, clip: bool) -> list[int]:
        return taps(self.step, o, self.L_in, self.L_out, clip)

    def period(self) -> int | None:
        kind = self.step[0]
        if kind == "convT":
            return self.step[2]
        if kind == "shuffle":
            return self.step[1]
        if kind in ("nearest", "nearest-exact", "adaptive", "linear", "cubic"):
            return self.L_out // _gcd(self.L_in, self.L_out)
        return 1


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _fold(step: tuple, a: int, b: int, L: int) -> tuple[int, int] | None:
    """The input indices behind padded positions [a, b] (reflect, replicate,
    circular): the hull of the part inside and of the parts folded back in."""
    left, mode = step[1], step[2]
    lo, hi = a - left, b - left
    parts = []
    if lo <= L - 1 and hi >= 0:
        parts.append((max(lo, 0), min(hi, L - 1)))
    if lo < 0:            # before the input: positions lo .. min(hi, -1)
        end = min(hi, -1)
        parts.append({"reflect": (-end, -lo), "replicate": (0, 0),
                      "circular": (lo + L, end + L)}[mode])
    if hi > L - 1:        # after it: max(lo, L) .. hi
        start = max(lo, L)
        parts.append({"reflect": (2 * (L - 1) - hi, 2 * (L - 1) - start),
                      "replicate": (L - 1, L - 1),
                      "circular": (start - L, hi - L)}[mode])
    parts = [(max(x, 0), min(y, L - 1)) for x, y in parts if x <= y]
    return (min(x for x, _ in parts), max(y for _, y in parts)) if parts else None


def _segment(step: tuple, L_in: int, L_out: int) -> Affine | Moves:
    kind, top = step[0], L_in - 1
    if kind == "window":
        _, k, s, p, d = step
        return Affine(s, -p, (k - 1) * d, 0, top)
    if kind == "same":
        return Affine(1, 0, 0, 0, top)
    if kind == "pad" and step[2] in ("zeros", "constant"):
        return Affine(1, -step[1], 0, 0, top)
    if kind == "unshuffle":
        return Affine(step[1], 0, step[1] - 1, 0, top)
    if kind == "global":
        return Affine(0, 0, top, 0, top)
    if kind == "halves":                        # GLU: o and o + half
        return Affine(1, 0, L_out, 0, top)
    return Moves(step, L_in, L_out)


@dataclass(frozen=True)
class Chain:
    """A row's map along one dim, nearest the output first: its segments (affine runs
    merged) and its layers' steps with their lengths (for exact positions)."""

    segment: Affine | Moves
    rest: Chain | None
    steps: tuple            # ((step, L_in, L_out), ...) of the newest layer
    below: Chain | None     # the chain before the newest layer (for the steps)

    def then(self, steps: list[tuple]) -> Chain:
        """This chain followed by one layer's steps [(step, L_in, L_out), ...]."""
        head, rest = self.segment, self.rest
        for step, L_in, L_out in steps:
            seg = _segment(step, L_in, L_out)
            if isinstance(seg, Affine) and isinstance(head, Affine):
                head = head.after(seg)
            else:
                rest = Chain(head, rest, (), None)
                head = seg
        return Chain(head, rest, tuple(steps), self)

    def segments(self):
        node: Chain | None = self
        while node is not None:
            yield node.segment
            node = node.rest

    def back(self, a: int, b: int, clip: bool = True) -> tuple[int, int] | None:
        span: tuple[int, int] | None = (a, b)
        for seg in self.segments():
            if span is None:
                return None
            span = seg.back(*span, clip=clip)
        return span

    def exact(self, o: int) -> list[int]:
        return positions(self, o)

    def window(self, o: int) -> tuple[int, int] | None:
        """Output o's window on an unbounded input (None where nominal numbers do not
        hold)."""
        return self.back(o, o, clip=False) if nominal(self)[1] is not None else None


def start(L: int) -> Chain:
    """The input itself: identity within [0, L - 1]."""
    return Chain(Affine(1, 0, 0, 0, L - 1), None, (), None)


def positions(chain: Chain, o: int) -> list[int]:
    """The exact input indices behind output position ``o`` (walking back every layer:
    dilation holes and transposed convs' phases included)."""
    cur = {o}
    node: Chain | None = chain
    while node is not None and node.below is not None:
        for step, L_in, L_out in reversed(node.steps):
            cur = {i for q in cur for i in taps(step, q, L_in, L_out)}
        node = node.below
    return sorted(cur)


def largest_hull(chain: Chain, L_out: int) -> int:
    if chain.rest is None and isinstance(chain.segment, Affine):
        return _affine_largest(chain.segment, L_out)
    segs = list(chain.segments())
    period = prod(s.period() or 1 for s in segs if isinstance(s, Moves))
    k = max(PROBES, min(period, 4 * PROBES))
    mid = L_out // 2
    probes = set(range(min(L_out, k))) | set(range(max(0, L_out - k), L_out)) | \
        set(range(max(0, mid - k), min(L_out, mid + k)))
    best = 0
    for o in probes:
        span = chain.back(o, o)
        if span is not None:
            best = max(best, span[1] - span[0] + 1)
    return best


def _affine_largest(m: Affine, L_out: int) -> int:
    """max over o in [0, L_out) of |[c + J o, c + J o + e] & [lo, hi]|: a concave
    piecewise-linear function of o, so its ends and its kinks are enough."""
    cands = {0, L_out - 1}
    if m.J:
        for edge in (m.lo - m.c, m.hi - m.c - m.e):
            q = edge // m.J
            cands.update((q, q + 1))
    best = 0
    for o in cands:
        if 0 <= o < L_out:
            span = m.back(o, o)
            if span is not None:
                best = max(best, span[1] - span[0] + 1)
    return best


def nominal(chain: Chain) -> tuple[Fraction | None, Fraction | None, int | None]:
    """(jump, start, size) on an unbounded input: input positions per output step, the
    first input index of output 0's window (negative: in the padding) and the size,
    the largest over one period of phases; None where they do not hold."""
    one = chain.segment
    if chain.rest is None and isinstance(one, Affine):      # the common case, at once
        return (Fraction(one.J), Fraction(one.c), one.e + 1) if one.J else (None,) * 3
    jump = Fraction(1)
    period = 1
    for seg in chain.segments():
        if isinstance(seg, Affine):
            if seg.J == 0:
                return None, None, None                  # global: every position
            jump *= seg.J
        elif seg.step[0] in ("convT", "shuffle"):
            r = seg.step[2] if seg.step[0] == "convT" else seg.step[1]
            jump, period = jump / r, period * r
        elif not (seg.step[0] == "pad" and len(seg.step) > 2 and
                  seg.step[2] in ("zeros", "constant")):
            return None, None, None
    if period > MAX_PERIOD:
        return jump, None, None
    spans = [chain.back(o, o, clip=False) for o in range(period)]
    if any(s is None for s in spans):
        return jump, None, None
    size = max(s[1] - s[0] + 1 for s in spans if s is not None)
    first = spans[0]
    return jump, (Fraction(first[0]) if first else None), size


class Exact:
    """Exact per-position sets (receptive_fields.py's bitsets) while they are cheap: at small
    sizes the closed form's hull can include dilation holes at the border, which the
    sets leave out. Past EXACT_LENGTH or EXACT_WORK the stack goes on in closed form,
    so the work stays bounded whatever the sizes and the depth."""

    def __init__(self, lengths):
        small = max(lengths) <= EXACT_LENGTH
        self.bits = [seed(L) for L in lengths] if small else None
        self.spent = 0

    def then(self, steps: list[list[tuple]]) -> tuple[int, ...] | None:
        """Each dim's widest exact hull after one layer's steps, or None."""
        if self.bits is None:
            return None
        cost = sum(_cost(*s) for dim in steps for s in dim)
        if self.spent + cost > EXACT_WORK or \
                any(L > EXACT_LENGTH for dim in steps for _, _, L in dim):
            self.bits = None
            return None
        self.spent += cost
        for d, dim in enumerate(steps):
            for step, L_in, L_out in dim:
                self.bits[d] = propagate(self.bits[d], step, L_in, L_out)
        return tuple(widest(b) for b in self.bits)


def _cost(step: tuple, L_in: int, L_out: int) -> int:
    """Taps visited to propagate one step."""
    if step[0] in ("window", "convT"):
        return L_out * step[1]
    if step[0] == "adaptive":
        return L_out * (L_in // L_out + 2)
    return L_in + L_out * 4


def layer_steps(layer, row, d: int, dims: int) -> list | None:
    """One layer's steps along spatial dim ``d`` with their lengths (None: the spatial
    dims end here)."""
    if len(row.output_shape) != dims + 2 or len(row.input_shape) != dims + 2:
        return None
    steps = layer.field(row.input_shape, row.output_shape, d)
    if steps is None:
        return None
    L_in, L_out = row.input_shape[2 + d], row.output_shape[2 + d]
    out, L = [], L_in
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        nxt = L_out if last else L + step[1] + (step[3] if len(step) > 3 else 0)
        out.append((step, L, nxt))
        L = nxt
    return out


def net_fields(report: NetReport, layers: list) -> tuple[NetReport, list[str]]:
    """The report with each row's receptive field (None after the spatial dims end),
    and notes."""
    shape = report.input_shape
    dims = len(shape) - 2
    if dims < 1:
        return report, ["receptive fields: the input has no spatial dims"]
    chains = [start(L) for L in shape[2:]]
    exact = Exact(shape[2:])
    rows, notes, ended = [], [], False
    for row, layer in zip(report.rows, layers):
        found = [] if ended else [layer_steps(layer, row, d, dims) for d in range(dims)]
        steps = [s for s in found if s is not None]
        if ended or len(steps) != dims:
            ended = True
            rows.append(row)
            continue
        chains = [c.then(s) for c, s in zip(chains, steps)]
        sizes = exact.then(steps)
        if any(step[0] == "global" for s in steps for step, _, _ in s):
            notes.append(f"layer {row.index} {row.layer}: every output reads every position "
                         "(statistics over the spatial dims)")
        rows.append(replace(row, rf=_row_field(chains, row.output_shape[2:], sizes)))
    return replace(report, rows=rows), notes


def _row_field(chains: list[Chain], lengths, sizes: tuple | None) -> RowField:
    noms = [nominal(c) for c in chains]
    if sizes is None:
        sizes = tuple(largest_hull(c, L) for c, L in zip(chains, lengths))
    return RowField(sizes,
                    tuple(n[0] for n in noms), tuple(n[1] for n in noms),
                    tuple(n[2] for n in noms), maps=tuple(chains))


def select(report: NetReport, spec: str) -> tuple[int, tuple[int, ...]]:
    """--field LAYER[@POS]: LAYER a row number or a module name, POS one index per
    spatial dim ('3,5'; default: the centre). Returns (row position, output position)."""
    from convcli.errors import ConvError
    layer, _, pos = spec.partition("@")
    layer = layer.strip()
    match = [i for i, r in enumerate(report.rows)
             if str(r.index) == layer or r.name == layer or r.layer == layer]
    if not match and any((r.name or "").startswith(layer + ".") for r in report.rows):
        raise ConvError(f"--field {spec!r}: {layer!r} is a block, which has no row of its "
                        f"own here: add --depth {layer.count('.') + 1} to give blocks rows")
    if not match:
        names = ", ".join(r.name or str(r.index) for r in report.rows if r.rf is not None)
        raise ConvError(f"--field {spec!r}: no row {layer!r}; rows with a field: "
                        f"{names[:300] or 'none'}")
    row = report.rows[match[0]]
    if row.rf is None:
        raise ConvError(f"--field {spec!r}: row {layer} has no spatial field (after a "
                        "Flatten or Linear, or a shape change convcli does not follow)")
    sizes = row.output_shape[2:]
    if not pos.strip():
        return match[0], tuple(n // 2 for n in sizes)
    try:
        values = tuple(int(v) for v in pos.replace("x", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != len(sizes) or any(not 0 <= v < n for v, n in zip(values, sizes)):
        raise ConvError(f"--field {spec!r}: POS must be {len(sizes)} whole numbers within "
                        f"the output {list(sizes)}, e.g. @"
                        + ",".join(str(n // 2) for n in sizes))
    return match[0], values
