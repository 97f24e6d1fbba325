"""Random convolution configurations, valid and invalid, for checking the calculator
against torch (the property tests and `convcli verify` draw from here).

A case is raw ConvSpec keyword arguments (the torch layer) plus an input shape, drawn
from a ``random.Random`` so that a seed reproduces it. The draws lean towards the
edges torch cares about: tiny inputs, 'same' with even kernels, reflect/circular
padding close to the input size, output_padding near stride and dilation, unbatched
inputs, empty batches (N = 0) with empty spatial dims, in_channels = 0, negative
padding with every padding mode, and ambiguous ranks: some cases carry ``text``, the
command-line strings a user types for that layer (no --dims where the rank decides,
-i where it picks the reading), which must be read back as that very layer.
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
    text: dict | None = None    # read_spec's strings, when the case tests the reading

    def describe(self) -> str:
        a = {k: v for k, v in self.args.items() if k not in ("dims", "transposed")}
        kind = f"{'ConvTranspose' if self.args['transposed'] else 'Conv'}{self.args['dims']}d"
        inner = ", ".join(f"{k}={v!r}" for k, v in a.items())
        read = "" if self.text is None else " read from `" + " ".join(
            f"--{k.replace('_', '-')} {v}" if not isinstance(v, bool) else
            f"--{k.replace('_', '-')}" if v else f"--no-{k.replace('_', '-')}"
            for k, v in self.text.items() if v is not None) + "`"
        return f"{kind}({inner}) on {'x'.join(map(str, self.input_shape))}{read}"


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
    if not transposed and rng.random() < 0.04:
        in_c = 0  # torch: an output with 0 channels
    elif allow_invalid and rng.random() < 0.05:
        in_c += 1  # not divisible by groups (or in_channels=0 + 1)
    kernel = _per_dim(rng, dims, lambda: rng.randint(1, 4))
    stride = _per_dim(rng, dims, lambda: rng.choice((1, 1, 2, 3)))
    dilation = _per_dim(rng, dims, lambda: rng.choice((1, 1, 2)))
    args = dict(dims=dims, in_channels=in_c, out_channels=out_c, kernel_size=kernel,
                stride=stride, dilation=dilation, groups=groups,
                bias=rng.random() < 0.7, transposed=transposed)
    mode = "zeros"
    if not transposed:
        mode = rng.choice(PADDING_MODES + ("zeros", "zeros"))
        args["padding_mode"] = mode
    elif allow_invalid and rng.random() < 0.05:
        args["padding_mode"] = rng.choice(PADDING_MODES[1:])
    negative = mode != "zeros" and rng.random() < 0.3 or allow_invalid and rng.random() < 0.03
    low = -2 if negative else 0
    r = rng.random()
    if not transposed and r < 0.15:
        args["padding"] = "same"
        if rng.random() < 0.8:
            args["stride"] = 1
    elif not transposed and r < 0.2:
        args["padding"] = "valid"
    else:
        args["padding"] = _per_dim(rng, dims, lambda: rng.randint(low, 3))
    if transposed:
        args["output_padding"] = _per_dim(rng, dims, lambda: rng.randint(0, 2))
    return _with_input(rng, args, max_size, allow_invalid)


def _with_input(rng: random.Random, args: dict, max_size: int, allow_invalid: bool) -> Case:
    """An input for the layer: batched or not, sometimes an empty batch (then often
    an empty spatial dim too), and sometimes the text a user types for it."""
    dims, in_c = args["dims"], args["in_channels"]
    batched = rng.random() < 0.75
    n = rng.choice((0, 1, 1, 1, 1, 2, 2, 2)) if batched else 1
    spatial = [rng.randint(1, max_size) for _ in range(dims)]
    empty = n == 0 or in_c == 0     # torch then allows empty spatial dims
    if rng.random() < (0.3 if empty else 0.03 if allow_invalid else 0):
        spatial[rng.randrange(dims)] = 0
    channels = in_c if not (allow_invalid and rng.random() < 0.04) else in_c + 1
    shape = ((n, channels) if batched else (channels,)) + tuple(spatial)
    if allow_invalid and rng.random() < 0.03:
        return Case(args, shape + (2,))  # wrong rank
    text = None
    if (dims, batched) in ((1, True), (2, True), (2, False), (3, False)) and \
            rng.random() < 0.25:
        text = _text(rng, args, shape, batched)
    return Case(args, shape, text)


def _text(rng: random.Random, args: dict, shape: tuple[int, ...], batched: bool) -> dict:
    """What a user types for this layer on this (rank-ambiguous) input: no --dims
    when the rank's default reading (2 spatial dims) is the layer's and the rank
    decides it (interpret.py), else -i when it fits only the layer's reading and may
    pick it (not a rank-4 shape's Conv3d reading), else --dims."""
    from convcli.calculator.interpret import looks_like_an_image

    def word(v) -> str:
        return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)

    dims = args["dims"]
    text: dict = {name: word(args[name]) for name in (
        "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")}
    text.update(bias=args["bias"], transposed=args["transposed"],
                padding_mode=args.get("padding_mode", "zeros"),
                output_padding=word(args.get("output_padding", 0)))
    channels = shape[1] if batched else shape[0]
    other = shape[0] if batched else shape[1]   # C under the other reading
    rank = len(shape)
    if channels != args["in_channels"]:   # a wrong channel count: say which layer
        text.update(dims=dims, in_channels=str(args["in_channels"]))
    elif dims == 2 and (rank == 4 or looks_like_an_image(shape)):
        text["in_channels"] = rng.choice((None, str(channels)))
    elif other != channels and rank == 3 and rng.random() < (1 if dims == 2 else 0.5):
        text["in_channels"] = str(channels)
    else:
        text["dims"] = dims
    return text


def runnable_case(rng: random.Random, max_size: int = 9):
    """A valid case with at least one output value (no empty batch, channel or
    spatial dim), and its ConvSpec: for checks that look at single values."""
    from convcli.calculator.spec import ConvSpec
    from convcli.errors import ConvError

    while True:
        case = random_case(rng, max_size=max_size, allow_invalid=False)
        try:
            spec = ConvSpec(**case.args)
            out = spec.output_shape(case.input_shape)
        except ConvError:
            continue
        if 0 not in case.input_shape and 0 not in out:
            return spec, case
