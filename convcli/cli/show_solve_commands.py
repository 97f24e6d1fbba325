"""`convcli show` (pictures of what a conv does) and `convcli solve` (the inverse
problem). Pure calculator: neither imports torch nor numpy (a test pins it).
"""

from __future__ import annotations

from typing import Optional

from convcli.calculator.parse import parse_ints, parse_padding, parse_shape
from convcli.cli.app import app
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.options import ConvArgs, conv_options, parse_dims, table_options
from convcli.errors import ConvError


@app.command()
@errors_to_exit_code
@conv_options("show")
@table_options("show")
def show(conv: ConvArgs, input: Optional[str], along: Optional[int], at, channel: Optional[int],
         png: Optional[str], svg: Optional[str], json: bool):
    """Pictures of what a conv does: the group connectivity map, the sliding window
    along one spatial dim (padding and, for transposed convs, the zero-stuffed view)
    and the receptive field of one output position.

    Example: convcli show 1x4x7x7 -o 4 -k 3 -s 2 -p 1 --groups 2
    """
    import os

    from convcli.calculator.picture_data import picture
    from convcli.views.console import JSON_VERSION, Output, console, info
    from convcli.views.show_view import show_view

    input_shape = None if input is None else parse_shape(input)
    spec, reading = conv.read(input_shape)
    pic = picture(spec, input_shape, along, at, 0 if channel is None else channel)
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


@app.command()
@errors_to_exit_code
@conv_options("solve")
@table_options("solve")
def solve(input_size, conv: ConvArgs, output_size, max_kernel: int, max_stride: int,
          max_dilation: int, max_padding: Optional[int], limit: int, json: bool):
    """The inverse problem: which kernel, stride, padding and dilation give this size.

    Example: convcli solve --input-size 32 --output-size 16

    Decoder of an encoder: convcli solve --transposed --input-size 32 -k 3 -s 2 -p 1
    """
    from convcli.calculator import solve_search as core
    from convcli.views.console import JSON_VERSION, Output
    from convcli.views.solve_view import solve_view

    sizes_in = input_size
    if output_size is None:
        return _decoder(conv, sizes_in, json)
    if conv.in_channels is not None or conv.out_channels is not None:
        raise ConvError("--in-channels/--out-channels only fill in the printed layers of "
                        "the decoder (--transposed -k ... without --output-size); solve "
                        "--output-size finds kernel, stride, padding and dilation for any "
                        "channels: drop them")
    fixed = core.Fixed(**{
        name: None if text is None else parse_ints(text, option)
        for name, text, option in (("kernel_size", conv.kernel_size, "--kernel-size"),
                                   ("stride", conv.stride, "--stride"),
                                   ("dilation", conv.dilation, "--dilation"),
                                   ("padding", _solve_padding(conv.padding), "--padding"))})
    bounds = core.Bounds(max_kernel, max_stride, max_dilation, max_padding)
    report = core.solve(sizes_in, output_size, bounds, conv.transposed, fixed, limit,
                        parse_dims(conv.dims))
    Output(json).emit({"version": JSON_VERSION, **report.as_dict()}, solve_view(report))


def _decoder(conv: ConvArgs, sizes_in, json: bool) -> None:
    """`solve --transposed -k ... --input-size N` without --output-size: the encoder's
    decoder."""
    from convcli.calculator.decoder import decoder
    from convcli.views.console import JSON_VERSION, Output
    from convcli.views.solve_view import decoder_view

    if not conv.transposed or conv.kernel_size is None:
        raise ConvError(
            "--output-size is required (the size you want, e.g. --output-size 16); without "
            "it, --transposed with -k/-s/-p gives the decoder that restores --input-size")
    if (conv.in_channels is None) != (conv.out_channels is None):
        raise ConvError("give both --in-channels and --out-channels (they only fill in "
                        "the printed layers), or neither for C_in / C_out")
    dims = parse_dims(conv.dims) or (None if isinstance(sizes_in, int) else len(sizes_in))
    spec = conv.spec(in_channels=conv.in_channels or "1",
                     out_channels=conv.out_channels or "1", transposed=False, dims=dims)
    if not isinstance(sizes_in, int) and spec.dims != len(sizes_in):
        raise ConvError(f"--input-size has {len(sizes_in)} sizes but the conv options have "
                        f"{spec.dims} dims; give the same number")
    report = decoder(spec, sizes_in, conv.in_channels is None and conv.out_channels is None)
    Output(json).emit({"version": JSON_VERSION, **report.as_dict()}, decoder_view(report))


def _solve_padding(text):
    if text is not None and parse_padding(text) in ("same", "valid"):
        raise ConvError(f"--padding {text!r}: solve pins padding to a number (per side); "
                        "'same' is an output size, ask for it with --output instead")
    return text
