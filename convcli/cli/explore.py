"""`convcli show` (pictures of what a conv does) and `convcli solve` (the inverse
problem). Pure calculator: neither imports torch nor numpy (a test pins it).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from convcli.calculator.parse import parse_int, parse_ints, parse_padding, parse_shape
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import ConvArgs, Json, conv_options, parse_dims
from convcli.errors import ConvError


@app.command()
@funnel
@conv_options(exclude=("bias", "padding_mode"), help={
    "in_channels": "Input channels (default: read from INPUT; required without it)."})
def show(
    conv: ConvArgs,
    input: Annotated[Optional[str], typer.Argument(
        metavar="INPUT", help="Input shape, e.g. 1x16x8x8 (without it: the channel map "
                              "only, and --in-channels is needed).")] = None,
    dim: Annotated[Optional[str], typer.Option(
        "--dim", metavar="INT",
        help="Spatial dim the window slides along (default: the last, W).")] = None,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="INDEX",
        help="Output position for the receptive field: one index per spatial dim, as 3 or "
             "3,4 (default: the middle).")] = None,
    channel: Annotated[str, typer.Option(
        "--channel", metavar="INT", help="Output channel for the receptive field.")] = "0",
    png: Annotated[Optional[str], typer.Option(
        "--png", metavar="FILE",
        help="Also draw it to a PNG (needs matplotlib, from the plot extra: pip install "
             "'convcli\\[plot]').")] = None,
    svg: Annotated[Optional[str], typer.Option(
        "--svg", metavar="FILE",
        help="Also draw it to an SVG (needs matplotlib, as --png).")] = None,
    json: Json = False,
):
    """Pictures of what a conv does: the group connectivity map, the sliding window
    along one spatial dim (padding and, for transposed convs, the zero-stuffed view)
    and the receptive field of one output position.

    Example: convcli show 1x4x7x7 -o 4 -k 3 -s 2 -p 1 --groups 2
    """
    import os

    from convcli.calculator.pictures import picture
    from convcli.views.console import JSON_VERSION, Output, console, info
    from convcli.views.pictures import show_view

    for option, path in (("--png", png), ("--svg", svg)):
        if path is not None and not path.strip():
            raise ConvError(f"{option} {path!r}: give a file name, e.g. {option} conv.{option[2:]}")
    input_shape = None if input is None else parse_shape(input)
    spec, reading = conv.read(input_shape)
    position = None if at is None else parse_ints(at, "--at")
    pic = picture(spec, input_shape, None if dim is None else parse_int(dim, "--dim"),
                  position, parse_int(channel, "--channel"))
    targets = [(path, kind) for path, kind in ((png, "png"), (svg, "svg")) if path]
    data = {"version": JSON_VERSION, **pic.as_dict(),
            "interpretation": None if reading is None else reading.as_dict(spec.transposed)}
    if targets:
        from convcli.views.plot import draw
        for path, kind in targets:
            draw(pic, path, kind)
        data["files"] = [os.path.abspath(p) for p, _ in targets]
    Output(json).emit(data, show_view(pic, console().width,
                                      None if reading is None else reading.note(spec.transposed)))
    if targets and not json:
        for path, _ in targets:
            info(f"wrote {path}")


_CHANNELS_ONLY = "Channels, only to fill in the printed layers."


@app.command()
@funnel
@conv_options(required=False, code=False,
              exclude=("groups", "bias", "padding_mode", "output_padding"),
              defaults={"stride": None, "padding": None, "dilation": None},
              help={"in_channels": _CHANNELS_ONLY, "out_channels": _CHANNELS_ONLY})
def solve(
    input: Annotated[str, typer.Option(
        "--input", metavar="SIZES", help="Spatial input size(s): 32, or one per dim as 32x24 "
                                         "(no batch or channel dims).")],
    conv: ConvArgs,
    output: Annotated[Optional[str], typer.Option(
        "--output", metavar="SIZES", help="Wanted spatial output size(s): 16 or 16x12. "
                                          "Leave out with --transposed and -k to get the "
                                          "decoder of that conv.")] = None,
    max_kernel: Annotated[str, typer.Option(
        "--max-kernel", metavar="INT", help="Largest kernel size to try.")] = "7",
    max_stride: Annotated[str, typer.Option(
        "--max-stride", metavar="INT", help="Largest stride.")] = "4",
    max_dilation: Annotated[str, typer.Option(
        "--max-dilation", metavar="INT", help="Largest dilation.")] = "3",
    max_padding: Annotated[Optional[str], typer.Option(
        "--max-padding", metavar="INT",
        help="Largest padding per side (default: dilation*(kernel-1), so no window is all "
             "padding).")] = None,
    limit: Annotated[str, typer.Option(
        "--limit", "-n", metavar="INT", help="Show the simplest N solutions (0: all).")] = "12",
    json: Json = False,
):
    """The inverse problem: which kernel, stride, padding and dilation give this size.

    Example: convcli solve --input 32 --output 16

    Decoder of an encoder: convcli solve --transposed --input 32 -k 3 -s 2 -p 1
    """
    from convcli.calculator import solve as core
    from convcli.views.console import JSON_VERSION, Output
    from convcli.views.solve import solve_view

    sizes_in = parse_ints(input, "--input")
    if output is None:
        return _decoder(conv, sizes_in, json)
    fixed = core.Fixed(**{
        name: None if text is None else parse_ints(text, option)
        for name, text, option in (("kernel_size", conv.kernel_size, "--kernel-size"),
                                   ("stride", conv.stride, "--stride"),
                                   ("dilation", conv.dilation, "--dilation"),
                                   ("padding", _solve_padding(conv.padding), "--padding"))})
    bounds = core.Bounds(parse_int(max_kernel, "--max-kernel"),
                         parse_int(max_stride, "--max-stride"),
                         parse_int(max_dilation, "--max-dilation"),
                         None if max_padding is None else parse_int(max_padding, "--max-padding"))
    report = core.solve(sizes_in, parse_ints(output, "--output"), bounds, conv.transposed,
                        fixed, parse_int(limit, "--limit"), parse_dims(conv.dims))
    Output(json).emit({"version": JSON_VERSION, **report.as_dict()}, solve_view(report))


def _decoder(conv: ConvArgs, sizes_in, json: bool) -> None:
    """`solve --transposed -k ... --input N` without --output: the encoder's decoder."""
    from convcli.calculator.decoder import decoder
    from convcli.views.console import JSON_VERSION, Output
    from convcli.views.solve import decoder_view

    if not conv.transposed or conv.kernel_size is None:
        raise ConvError(
            "--output is required (the size you want, e.g. --output 16); without it, "
            "--transposed with -k/-s/-p gives the decoder that restores --input")
    if (conv.in_channels is None) != (conv.out_channels is None):
        raise ConvError("give both --in-channels and --out-channels (they only fill in "
                        "the printed layers), or neither for C_in / C_out")
    dims = parse_dims(conv.dims) or (None if isinstance(sizes_in, int) else len(sizes_in))
    spec = conv.spec(in_channels=conv.in_channels or "1",
                     out_channels=conv.out_channels or "1", transposed=False, dims=dims)
    if not isinstance(sizes_in, int) and spec.dims != len(sizes_in):
        raise ConvError(f"--input has {len(sizes_in)} sizes but the conv options have "
                        f"{spec.dims} dims; give the same number")
    report = decoder(spec, sizes_in, conv.in_channels is None and conv.out_channels is None)
    Output(json).emit({"version": JSON_VERSION, **report.as_dict()}, decoder_view(report))


def _solve_padding(text):
    if text is not None and parse_padding(text) in ("same", "valid"):
        raise ConvError(f"--padding {text!r}: solve pins padding to a number (per side); "
                        "'same' is an output size, ask for it with --output instead")
    return text
