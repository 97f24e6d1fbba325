"""`convcli shape` and `convcli params`: one conv layer's shapes and costs.

Parse -> calculator -> views. Neither imports torch nor numpy (a test pins it).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from convcli.calculator.parse import parse_shape
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import BytesDtype, ConvArgs, Json, conv_options


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
        "--padding-from", metavar="tf|keras|onnx",
        help="Read --padding as that framework's word (tf/keras SAME|VALID, keras causal, "
             "onnx SAME_UPPER|SAME_LOWER|VALID) and print the explicit padding and the "
             "PyTorch code (F.pad + conv) that reproduce it.")] = None,
):
    """Output shape, weight shape, params, MACs/FLOPs and bytes of one conv layer.

    Example: convcli shape 4x3x64x64 -o 16 -k 3 -p 1 --explain

    Porting: convcli shape 1x3x7x7 -o 8 -k 3 -s 2 --padding SAME --padding-from tf
    """
    from convcli.calculator.costs import analyse
    from convcli.views import conv as view
    from convcli.views.console import Output

    input_shape = parse_shape(input)
    if padding_from is not None:
        return _shape_ported(input_shape, padding_from, conv, json, explain, dtype)
    spec, reading = conv.read(input_shape)
    counts = analyse(spec, input_shape, dtype)
    explanation = spec.explain(input_shape)
    data = view.counts_dict(counts, reading)
    data["explain"] = view.explain_dicts(explanation)
    parts = [view.counts_table(counts), view.notes_text(counts, reading)]
    if explain:
        parts.append(view.explain_table(spec, explanation))
    Output(json).emit(data, *parts)


def _shape_ported(input_shape, framework: str, conv: ConvArgs, json: bool, explain: bool,
                  dtype: str) -> None:
    """`shape --padding-from`: the foreign padding word -> explicit pairs, then the
    counts of the conv torch runs after F.pad (input bytes are the user's input)."""
    from convcli.calculator.porting import normalise_word, port_padding, ported_counts
    from convcli.views import conv as view
    from convcli.views.console import Output

    framework, word = normalise_word(framework, conv.padding or "0")
    spec, reading = conv.read(input_shape, padding="0")
    ported = port_padding(spec, input_shape, framework, word)
    counts = ported_counts(ported, dtype)
    data = view.counts_dict(counts, reading)
    data["explain"] = view.explain_dicts(ported.explanation)
    data.update(ported.as_dict())
    parts = [view.ported_counts_table(counts, ported), view.notes_text(counts, reading),
             view.ported_table(ported)]
    if explain:
        parts.append(view.explain_table(ported.spec, ported.explanation))
    Output(json).emit(data, *parts)


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
        "--conventions", help="What torch.utils.flop_counter, fvcore, ptflops, thop, "
                              "ultralytics-thop, torchinfo, calflops/DeepSpeed, torchscan "
                              "and torchprofile would report for this layer (needs --input)."
                              )] = False,
):
    """Weight and bias shapes, parameter counts and how groups change them.

    Example: convcli params -i 64 -o 128 -k 3 --groups 4 --compare-groups

    Other tools: convcli params -o 32 -k 4 -s 2 -p 1 -g 4 -t --input 1x16x8x8 --conventions
    """
    from convcli.calculator.costs import analyse
    from convcli.calculator.groups import compare_groups as compare
    from convcli.views import conv as view
    from convcli.views.console import Output

    input_shape = None if input is None else parse_shape(input, "--input")
    spec, reading = conv.read(input_shape)
    counts = analyse(spec, input_shape, dtype)
    data = view.counts_dict(counts, reading)
    parts = [view.counts_table(counts), view.notes_text(counts, reading)]
    if spec.groups > 1:
        parts.append(view.layout_table(spec))
    if compare_groups:
        rows = compare(spec, input_shape)
        data["compare_groups"] = view.groups_rows_dict(rows)
        data["compare_groups_omitted"] = view.compare_groups_omitted(rows)
        parts.append(view.groups_table(rows))
    if conventions:
        from convcli.calculator.peers import peer_counts
        report = peer_counts(spec, input_shape)
        data["conventions"] = report.as_dict()
        parts.append(view.peers_table(report))
    Output(json).emit(data, *parts)
