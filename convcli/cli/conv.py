"""`convcli shape` and `convcli params`: one conv layer's shapes and costs.

The Typer side: options and help. The bodies are in calc.py (typer-free, shared with
the fast path). Neither imports torch nor numpy (a test pins it).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from convcli.cli import calc
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import BytesDtype, ConvArgs, Json, Sweep, conv_options


@app.command()
@funnel
@conv_options()
def shape(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="Input shape: 4x3x64x64, 4,3,64,64 or '(4, 3, 64, 64)'; "
                              "N may be left out (unbatched).")],
    conv: ConvArgs,
    dtype: BytesDtype = "float32",
    explain: Annotated[bool, typer.Option(
        "--explain", "-e", help="Show the formula per spatial dim with the numbers in.")] = False,
    json: Json = False,
    padding_from: Annotated[Optional[str], typer.Option(
        "--padding-from", metavar="NAME",
        help="tf, keras or onnx: read --padding as that framework's word (tf and keras: "
             "SAME or VALID; keras: causal; onnx: SAME_UPPER, SAME_LOWER or VALID) and print "
             "the explicit padding and the PyTorch code (F.pad + conv) that reproduce it.")
    ] = None,
    sweep: Sweep = None,
):
    """Output shape, weight shape, params, MACs/FLOPs and bytes of one conv layer.

    Example: convcli shape 4x3x64x64 -o 16 -k 3 -p 1 --explain

    Porting: convcli shape 1x3x7x7 -o 8 -k 3 -s 2 --padding SAME --padding-from tf
    """
    calc.shape(conv, input, dtype, explain, padding_from, sweep).emit(json)


@app.command()
@funnel
@conv_options(help={"in_channels": "Input channels (default: read from --input; required "
                                   "without it)."})
def params(
    conv: ConvArgs,
    input: Annotated[Optional[str], typer.Option(
        "--input", metavar="SHAPE",
        help="Input shape as INPUT is elsewhere (N may be left out, e.g. 1x64x56x56), to add "
             "the output shape, MACs/FLOPs and bytes.")] = None,
    compare_groups: Annotated[bool, typer.Option(
        "--compare-groups", help="One row per valid groups value, plus depthwise and "
                                 "depthwise-separable.")] = False,
    dtype: BytesDtype = "float32",
    json: Json = False,
    conventions: Annotated[bool, typer.Option(
        "--conventions", help="What other counting tools would report for this layer "
                              "(needs --input): torch's flop_counter, fvcore, ptflops, thop, "
                              "ultralytics-thop, torchinfo, calflops (DeepSpeed), torchscan "
                              "and torchprofile.")] = False,
    sweep: Sweep = None,
):
    """Weight and bias shapes, parameter counts and how groups change them.

    Example: convcli params -i 64 -o 128 -k 3 --groups 4 --compare-groups

    Other tools: convcli params -o 32 -k 4 -s 2 -p 1 -g 4 -t --input 1x16x8x8 --conventions
    """
    calc.params(conv, input, compare_groups, dtype, conventions, sweep).emit(json)
