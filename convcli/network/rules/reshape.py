"""Flatten, Unflatten, PixelShuffle, PixelUnshuffle and ChannelShuffle: shapes move,
values do not; 0 MACs; backward keeps nothing (Flatten and Unflatten are views). The
field: pixel (un)shuffles map positions; Flatten and Unflatten end the spatial dims
unless they leave them alone."""

from __future__ import annotations

from math import prod

from convcli.calculator.ints import is_int
from convcli.errors import ConvError
from convcli.formatting import plural
from convcli.network.binding import REQUIRED, int_arg
from convcli.network.layer import Layer, Rule, Saves

class View(Layer):
    """A view of its input: nothing saved; the field goes on only where the shape
    stays the same."""

    def saves(self, shape_in, shape_out, size):
        return Saves(view=True)

    def field(self, shape_in, shape_out, d):
        return [("same",)] if tuple(shape_in) == tuple(shape_out) else None


class Flatten(View):
    kind = "Flatten"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.start = int_arg(call, "start_dim", values["start_dim"])
        self.end = int_arg(call, "end_dim", values["end_dim"])

    def output(self, shape, ctx):
        r = max(len(shape), 1)       # torch takes a scalar's dims as one dim's: -1, 0
        s, e = self.start, self.end
        for name, v in (("start_dim", s), ("end_dim", e)):
            if not -r <= v < r:
                raise ConvError(f"{ctx.at(self.call)}: {name}={v} is out "
                                f"of range for {len(shape)} dims (use {-r} to {r - 1})")
        if not shape:
            return (1,)
        s, e = s % r, e % r
        if s > e:
            raise ConvError(f"{ctx.at(self.call)}: start_dim={self.start} "
                            f"comes after end_dim={self.end} (dims {s} > {e})")
        return tuple(shape[:s]) + (prod(shape[s:e + 1]),) + tuple(shape[e + 1:])


class Unflatten(View):
    kind = "Unflatten"

    def __init__(self, call, values):
        super().__init__(call, values)
        self.dim = int_arg(call, "dim", values["dim"])
        size = values["unflattened_size"]
        if not (isinstance(size, tuple) and size and all(is_int(v) for v in size)):
            raise ConvError(f"{call}: unflattened_size={size!r} must be a tuple of whole "
                            "numbers")
        if sum(v == -1 for v in size) > 1 or any(v < -1 for v in size):
            raise ConvError(f"{call}: unflattened_size={size}: at most one -1, other sizes "
                            ">= 0")
        self.size = size

    def output(self, shape, ctx):
        r = len(shape)
        if not -r <= self.dim < r:
            raise ConvError(f"{ctx.at(self.call)}: dim={self.dim} is out "
                            f"of range for {r} dims")
        d = self.dim % r
        n = shape[d]
        known = prod(v for v in self.size if v != -1)
        size = self.size
        if -1 in size:
            if known == 0 or n % known:
                raise ConvError(f"{ctx.at(self.call)}: dim {d} has {n} "
                                f"elements, which {list(size)} cannot split")
            size = tuple(n // known if v == -1 else v for v in size)
        elif known != n:
            raise ConvError(f"{ctx.at(self.call)}: dim {d} has {n} "
                            f"elements but unflattened_size {list(size)} holds {known}")
        return tuple(shape[:d]) + tuple(size) + tuple(shape[d + 1:])


class PixelShuffle(Layer):
    def __init__(self, call, values, down):
        super().__init__(call, values)
        self.kind, self.down = call.name, down
        key = "downscale_factor" if down else "upscale_factor"
        self.r = int_arg(call, key, values[key], 1)

    def output(self, shape, ctx):
        r = self.r
        if len(shape) < 3:
            raise ConvError(f"{ctx.at(self.call)}; {self.kind} needs "
                            "(*, C, H, W)")
        *lead, c, h, w = shape
        if self.down:
            if h % r or w % r:
                raise ConvError(f"{ctx.at(self.call)}: H={h} and W={w} "
                                f"must be divisible by downscale_factor={r}")
            return (*lead, c * r * r, h // r, w // r)
        if c % (r * r):
            raise ConvError(f"{ctx.receives(self.call, plural(c, 'channel'))}, which is not "
                            f"divisible by upscale_factor**2 = {r * r}")
        return (*lead, c // (r * r), h * r, w * r)

    def saves(self, shape_in, shape_out, size):
        return Saves()

    def field(self, shape_in, shape_out, d):
        if len(shape_in) != 4:       # (N, C, H, W): else a lead dim is not spatial
            return None
        return [("unshuffle" if self.down else "shuffle", self.r)]


class ChannelShuffle(Layer):
    """(N, C, *) with C divisible by groups, more than 2 dims; the shape is kept."""

    kind = "ChannelShuffle"

    def __init__(self, call, values):
        super().__init__(call, values)
        g = values["groups"]
        if not is_int(g) or g < 1:
            raise ConvError(f"{call}: groups={g!r} must be a positive whole number")
        self.g = g

    def output(self, shape, ctx):
        if len(shape) <= 2:
            raise ConvError(f"{ctx.at(self.call)}: ChannelShuffle needs more than 2 dims "
                            "(N, C, *)")
        c = shape[1]
        if c % self.g:
            raise ConvError(f"{ctx.receives(self.call, plural(c, 'channel'))}, which "
                            f"groups={self.g} does not divide")
        return tuple(shape)

    def saves(self, shape_in, shape_out, size):
        return Saves()

    def field(self, shape_in, shape_out, d):
        return [("same",)]


RULES: dict[str, Rule] = {
    "ChannelShuffle": ([("groups", REQUIRED)], ChannelShuffle),
    "Flatten": ([("start_dim", 1), ("end_dim", -1)], Flatten),
    "Unflatten": ([("dim", REQUIRED), ("unflattened_size", REQUIRED)], Unflatten),
    "PixelShuffle": ([("upscale_factor", REQUIRED)], lambda c, v: PixelShuffle(c, v, False)),
    "PixelUnshuffle": ([("downscale_factor", REQUIRED)],
                       lambda c, v: PixelShuffle(c, v, True)),
}
