"""`convcli net` (a pasted stack of layers, pure Python) and `convcli summary` (a
user's nn.Module traced on the meta device, engine world).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from convcli.calculator.parse import parse_shape
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import Dtype, Json
from convcli.errors import ConvError


@app.command()
@funnel
def net(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="Input shape of the first layer, e.g. 1x3x32x32.")],
    layers: Annotated[Optional[str], typer.Argument(
        metavar="LAYERS", show_default=False,
        help="torch layer constructors separated by commas or newlines, as in an "
             "nn.Sequential: \"Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)\". "
             "nn. and torch.nn. prefixes, comments and arithmetic (64 * 4 * 4) are fine; "
             "nothing is executed.")] = None,
    file: Annotated[Optional[str], typer.Option(
        "--file", "-f", metavar="PATH",
        help="Read LAYERS from a text file (e.g. the body of an nn.Sequential); "
             "- reads standard input.")] = None,
    dtype: Dtype = "float32",
    json: Json = False,
):
    """Layer-by-layer output shapes, params and MACs of a stack of torch layers, \
without torch. A layer that does not fit its input is reported with the fix.

    Layers: Conv/ConvTranspose 1d-3d, MaxPool/AvgPool/AdaptiveAvgPool/AdaptiveMaxPool \
1d-3d, BatchNorm/InstanceNorm 1d-3d, GroupNorm, LayerNorm, Linear, Flatten, Unflatten, \
Upsample, PixelShuffle, Zero/Constant/Reflection/Replication/CircularPad, the Lazy \
layers, Dropout variants, Identity and the activations (ReLU, GELU, SiLU, Softmax, ...).

    Example: convcli net 1x3x32x32 "Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2), \
Flatten(), Linear(4096, 10)"
    """
    from convcli.calculator.costs import dtype_size
    from convcli.network.text import parse_layers, read_layers_file
    from convcli.network.walk import analyse_net
    from convcli.views.console import Output
    from convcli.views.net import net_dict, net_table, net_totals

    dtype_size(dtype)
    input_shape = parse_shape(input)
    if (layers is None) == (file is None):
        raise ConvError("give the layers either as LAYERS or with --file PATH (not both), "
                        "e.g. convcli net 1x3x32x32 \"Conv2d(3, 16, 3), ReLU()\"")
    if file is not None:
        if file == "-":
            import sys
            text, source = sys.stdin.read(), "stdin"
        else:
            text, source = read_layers_file(file), file
    else:
        text, source = layers, "LAYERS"
    report = analyse_net(input_shape, parse_layers(text, source))
    Output(json).emit(net_dict(report, dtype), net_table(report, dtype),
                      net_totals(report, dtype))


# ---- summary --------------------------------------------------------------------
@app.command()
@funnel
def summary(
    target: Annotated[str, typer.Argument(
        metavar="FILE.py:NAME",
        help="A Python file and, after the colon, an nn.Module class or a function that "
             "returns a module (NAME may be left out when the file defines one module "
             "class). The file is RUN, as `python FILE.py` would run it.")],
    input: Annotated[str, typer.Option(
        "--input", metavar="SHAPE", help="Input shape of forward(), e.g. 1x3x224x224.")],
    args: Annotated[Optional[str], typer.Option(
        "--args", metavar="LITERAL",
        help="Constructor arguments as a Python literal: a tuple is positional, a dict "
             "keyword, anything else one argument: --args \"{'num_classes': 10}\".")] = None,
    dtype: Dtype = "float32",
    json: Json = False,
):
    """Layer-by-layer output shapes, params and MACs of your own nn.Module (needs torch).

    WARNING: this imports and runs FILE.py (its top level, and the constructor and \
forward() of NAME), like `python FILE.py`; only use it on code you trust.

    Shapes come from one forward pass on the meta device (no memory, no arithmetic, \
fine for 1x3x224x224), with hooks on every leaf module; convs are checked and \
annotated by convcli's own rules. When forward() fails it names the module, its \
input shape and, for a Linear, the in_features that would fit.

    Example: convcli summary examples/models/cifar_cnn.py:CifarCNN --input 1x3x32x32
    """
    import contextlib
    import sys

    from convcli.calculator.costs import dtype_size
    from convcli.engine.summary.loading import load_model, parse_args
    from convcli.engine.summary.trace import summarise
    from convcli.views.console import Output
    from convcli.views.net import net_dict, net_table, net_totals

    dtype_size(dtype)
    input_shape = parse_shape(input, "--input")
    pos, kw = parse_args(args)
    # the user's code may print: keep stdout for the table / the one JSON object
    with contextlib.redirect_stdout(sys.stderr):
        model, label = load_model(target, pos, kw)
        report = summarise(model, input_shape)
    data = net_dict(report, dtype)
    data["model"] = label
    Output(json).emit(data, net_table(report, dtype, label), net_totals(report, dtype))
