"""The decoder of an encoder conv: the ConvTranspose with the same kernel, stride,
padding and dilation, and the output_padding that restores the encoder's input size.

A conv with stride s maps s input sizes to one output size (floor), so the decoder
cannot know which one it came from; output_padding says which one it restores, and
``decoder()`` lists every choice (``solve --transposed --input-size N -k K -s S``).
Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass, field

from convcli.calculator.solve_search import MAX_PINNED, broadcast_sizes, spatial_sizes
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError


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


def decoder(encoder: ConvSpec, size_in: int | Sequence[int],
            placeholders: bool = False) -> DecoderReport:
    """The ConvTranspose with the encoder's k, s, p, dil and the output_padding that
    maps the encoder's output back to exactly ``size_in``; every other input size the
    encoder maps to the same output, with the output_padding that would restore it."""
    d = encoder.dims
    sizes = broadcast_sizes("--input-size", spatial_sizes(
        "--input-size", (size_in,) * d if isinstance(size_in, int) else size_in), d)
    assert sizes is not None
    size_in = sizes
    pairs = encoder.padding_pairs
    for i, (a, b) in enumerate(pairs):
        if a != b:
            raise ConvError(
                f"padding='same' pads dim {i} asymmetrically ({a} before, {b} after); a "
                "ConvTranspose crops both sides equally, so no output_padding inverts it "
                f"exactly: give the encoder symmetric padding (e.g. -p {a}) or an odd kernel")
    for i, st in enumerate(encoder.stride):
        if st > MAX_PINNED:
            raise ConvError(f"--stride: {st:,} on dim {i}; the decoder lists the {st:,} input "
                            f"sizes such a stride maps to one output, and solve pins strides "
                            f"up to {MAX_PINNED:,}")
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
    chosen = [op for op in ops if op is not None]
    if len(chosen) == len(ops):
        dec = ConvSpec(d, encoder.out_channels, encoder.in_channels, encoder.kernel_size,
                       stride=encoder.stride, padding=tuple(a for a, _ in pairs),
                       dilation=encoder.dilation, groups=encoder.groups, bias=encoder.bias,
                       transposed=True, output_padding=tuple(chosen))
    return DecoderReport(encoder, dec, dims, placeholders)
