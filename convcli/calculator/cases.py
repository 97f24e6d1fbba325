"""Random convolution configurations, valid and invalid, for checking the calculator
against torch (the property tests and `convcli verify` draw from here).

A case is raw ConvSpec keyword arguments plus an input shape, drawn from a
``random.Random`` so that a seed reproduces it. The draws lean towards the edges
torch cares about: tiny inputs, 'same' with even kernels, reflect/circular padding
close to the input size, output_padding near stride and dilation, unbatched inputs.
Pure Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from convcli.calculator.spec import PADDING_MODES


@dataclass(frozen=True)
class Case:
    args: dict
    input_shape: tuple[int, ...]

    def describe(self) -> str:
        a = {k: v for k, v in self.args.items() if k not in ("dims", "transposed")}
        kind = f"{'ConvTranspose' if self.args['transposed'] else 'Conv'}{self.args['dims']}d"
        inner = ", ".join(f"{k}={v!r}" for k, v in a.items())
        return f"{kind}({inner}) on {'x'.join(map(str, self.input_shape))}"


def _per_dim(rng: random.Random, dims: int, draw):
    """An int or a dims-tuple of draws."""
    if rng.random() < 0.5:
        return draw()
    return tuple(draw() for _ in range(dims))


def random_case(rng: random.Random, *, max_size: int = 9, allow_invalid: bool = True) -> Case:
    dims = rng.choice((1, 2, 3))
    transposed = rng.random() < 0.35
    groups = rng.choice((1, 1, 1, 2, 3, 4))
    in_c = groups * rng.randint(1, 3)
    out_c = groups * rng.randint(1, 3)
    if allow_invalid and rng.random() < 0.05:
        in_c += 1  # not divisible by groups
    kernel = _per_dim(rng, dims, lambda: rng.randint(1, 4))
    stride = _per_dim(rng, dims, lambda: rng.choice((1, 1, 2, 3)))
    dilation = _per_dim(rng, dims, lambda: rng.choice((1, 1, 2)))
    args = dict(dims=dims, in_channels=in_c, out_channels=out_c, kernel_size=kernel,
                stride=stride, dilation=dilation, groups=groups,
                bias=rng.random() < 0.7, transposed=transposed)
    r = rng.random()
    if not transposed and r < 0.15:
        args["padding"] = "same"
        if rng.random() < 0.8:
            args["stride"] = 1
    elif not transposed and r < 0.2:
        args["padding"] = "valid"
    else:
        args["padding"] = _per_dim(rng, dims, lambda: rng.randint(0, 3))
    if not transposed:
        args["padding_mode"] = rng.choice(PADDING_MODES + ("zeros", "zeros"))
    elif allow_invalid and rng.random() < 0.05:
        args["padding_mode"] = rng.choice(PADDING_MODES[1:])
    if transposed:
        args["output_padding"] = _per_dim(rng, dims, lambda: rng.randint(0, 2))
    batched = rng.random() < 0.75
    spatial = tuple(rng.randint(1, max_size) for _ in range(dims))
    channels = in_c if not (allow_invalid and rng.random() < 0.04) else in_c + 1
    shape = ((rng.randint(1, 2), channels) if batched else (channels,)) + spatial
    if allow_invalid and rng.random() < 0.03:
        shape = shape + (2,)  # wrong rank
    return Case(args, shape)
