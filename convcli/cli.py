"""The Typer app. Each command is parse -> core -> render; one funnel turns
ConvError / EnvironmentProblem / Mismatch into `Error: <message>` and the exit code.

Start-up matters: this module imports neither torch nor numpy (a test pins it);
commands that need them import their core module inside the function.
"""

from __future__ import annotations

import functools
import os
from typing import Annotated, Optional

import typer

from convcli import __version__
from convcli.errors import EXIT_INTERRUPTED, ConvError, EnvironmentProblem, Mismatch
from convcli.parse import parse_ints, parse_padding, parse_shape
from convcli.spec import ConvSpec

DEBUG_ENV = "CONVCLI_DEBUG"
EXIT_INTERNAL = 70

app = typer.Typer(
    name="convcli",
    help="Shapes, weights, costs and numerical proof for PyTorch convolutions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def funnel(fn):
    """Turn library exceptions into one `Error:` line and the documented exit code.
    Unknown exceptions are bugs: with CONVCLI_DEBUG=1 (set in the tests) they are
    re-raised with their traceback; otherwise one line and exit 70."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from convcli import render
        try:
            return fn(*args, **kwargs)
        except (ConvError, EnvironmentProblem, Mismatch) as e:
            render.error(str(e))
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            render.error("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except typer.Exit:
            raise
        except Exception as e:  # a bug
            if os.environ.get(DEBUG_ENV):
                raise
            render.error(f"internal error ({type(e).__name__}: {e}); this is a bug in "
                         f"convcli {__version__}, please report it "
                         f"(set {DEBUG_ENV}=1 for the traceback)")
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def _version(value: bool):
    if value:
        typer.echo(f"convcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
):
    """Shapes, weights, costs and numerical proof for PyTorch convolutions.

    Exit codes: 0 done, 1 a check found a mismatch, 2 bad usage or an impossible
    convolution, 3 environment (torch missing, device unavailable, over budget),
    130 interrupted.
    """


# ---- shared options: declared once, reused by every command ------------------------
_CONV = "Convolution"
InChannels = Annotated[Optional[str], typer.Option(
    "--in-channels", "-i", metavar="INT", rich_help_panel=_CONV,
    help="Input channels (default: read from INPUT; if given it must match).")]
OutChannels = Annotated[str, typer.Option(
    "--out-channels", "-o", metavar="INT", rich_help_panel=_CONV, help="Output channels.")]
KernelSize = Annotated[str, typer.Option(
    "--kernel-size", "-k", metavar="INT|TUPLE", rich_help_panel=_CONV,
    help="Kernel size: 3, or one per spatial dim as 3,5 or 3x5.")]
Stride = Annotated[str, typer.Option(
    "--stride", "-s", metavar="INT|TUPLE", rich_help_panel=_CONV, help="Stride.")]
Padding = Annotated[str, typer.Option(
    "--padding", "-p", metavar="INT|TUPLE|same|valid", rich_help_panel=_CONV,
    help="Padding per side: 1, 1,2, 'same' (stride 1 only) or 'valid' (= 0).")]
Dilation = Annotated[str, typer.Option(
    "--dilation", "-d", metavar="INT|TUPLE", rich_help_panel=_CONV, help="Dilation.")]
Groups = Annotated[str, typer.Option(
    "--groups", "-g", metavar="INT", rich_help_panel=_CONV,
    help="Groups: must divide both channel counts; groups = in_channels is depthwise.")]
Bias = Annotated[bool, typer.Option(
    "--bias/--no-bias", rich_help_panel=_CONV, help="Learnable bias (torch's default: on).")]
PaddingMode = Annotated[str, typer.Option(
    "--padding-mode", metavar="zeros|reflect|replicate|circular", rich_help_panel=_CONV,
    help="How padding is filled (transposed convs: zeros only).")]
Transposed = Annotated[bool, typer.Option(
    "--transposed", "-t", rich_help_panel=_CONV, help="ConvTranspose instead of Conv.")]
OutputPadding = Annotated[str, typer.Option(
    "--output-padding", metavar="INT|TUPLE", rich_help_panel=_CONV,
    help="Extra size on one side of a transposed conv's output (< stride or dilation).")]
Dims = Annotated[Optional[int], typer.Option(
    "--dims", min=1, max=3, rich_help_panel=_CONV,
    help="Spatial dims 1/2/3 (default: from a tuple option's length, else from INPUT's "
         "rank as batched, else 2).")]
Dtype = Annotated[str, typer.Option(
    "--dtype", metavar="float32|float64|float16|bfloat16", help="Element type for byte counts.")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object on stdout (keys in README).")]


def build_spec(*, input_shape=None, in_channels, out_channels, kernel_size, stride, padding,
               dilation, groups, bias, padding_mode, transposed, output_padding,
               dims) -> ConvSpec:
    """CLI strings -> a validated ConvSpec (inferring dims and in_channels)."""
    values = {
        "kernel_size": parse_ints(kernel_size, "--kernel-size"),
        "stride": parse_ints(stride, "--stride"),
        "padding": parse_padding(padding, "--padding"),
        "dilation": parse_ints(dilation, "--dilation"),
        "output_padding": parse_ints(output_padding, "--output-padding"),
    }
    if dims is None:
        lengths = {name: len(v) for name, v in values.items() if isinstance(v, tuple)}
        if len(set(lengths.values())) > 1:
            raise ConvError("tuple options disagree on the number of spatial dims: " + ", ".join(
                f"--{n.replace('_', '-')} has {k}" for n, k in lengths.items()))
        if lengths:
            dims = next(iter(lengths.values()))
        elif input_shape is not None:
            dims = len(input_shape) - 2
            if dims not in (1, 2, 3):
                raise ConvError(
                    f"INPUT {'x'.join(map(str, input_shape))} has {len(input_shape)} dims; a "
                    f"batched conv input has 3 to 5 (N, C, *spatial). For an unbatched input "
                    f"give --dims")
        else:
            dims = 2
    if input_shape is not None and len(input_shape) in (dims + 1, dims + 2):
        channels = input_shape[1] if len(input_shape) == dims + 2 else input_shape[0]
    else:
        channels = None
    if in_channels is not None:
        in_c = _int_option(in_channels, "--in-channels")
    elif channels is not None:
        in_c = channels
    elif input_shape is None:
        raise ConvError("--in-channels is required without an input shape, e.g. -i 64")
    else:
        in_c = 1  # the rank is wrong; ConvSpec.check_input says how
    return ConvSpec(dims=dims, in_channels=in_c,
                    out_channels=_int_option(out_channels, "--out-channels"),
                    groups=_int_option(groups, "--groups"), bias=bias,
                    padding_mode=padding_mode.strip().lower(), transposed=transposed, **values)


def _int_option(text: str, option: str) -> int:
    value = parse_ints(text, option)
    if isinstance(value, tuple):
        raise ConvError(f"{option}: {text!r} must be a single whole number")
    return value


# ---- shape ----------------------------------------------------------------------
@app.command()
@funnel
def shape(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="Input shape: 4x3x64x64, 4,3,64,64 or '(4, 3, 64, 64)'; "
                              "N may be left out (unbatched).")],
    out_channels: OutChannels,
    kernel_size: KernelSize,
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    groups: Groups = "1",
    bias: Bias = True,
    padding_mode: PaddingMode = "zeros",
    transposed: Transposed = False,
    output_padding: OutputPadding = "0",
    dims: Dims = None,
    in_channels: InChannels = None,
    dtype: Dtype = "float32",
    explain: Annotated[bool, typer.Option(
        "--explain", "-e", help="Show the formula per spatial dim with the numbers in.")] = False,
    json: Json = False,
):
    """Output shape, weight shape, params, MACs/FLOPs and bytes of one conv layer.

    Example: convcli shape 4x3x64x64 -o 16 -k 3 -p 1 --explain
    """
    from convcli import render
    from convcli.counts import analyse

    input_shape = parse_shape(input)
    spec = build_spec(input_shape=input_shape, in_channels=in_channels,
                      out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups, bias=bias,
                      padding_mode=padding_mode, transposed=transposed,
                      output_padding=output_padding, dims=dims)
    counts = analyse(spec, input_shape, dtype)
    explanation = spec.explain(input_shape)
    data = render.counts_dict(counts)
    data["explain"] = [
        {"dim": e.dim, "size_in": e.size_in, "size_out": e.size_out, "formula": e.formula,
         "padding": [e.pad_left, e.pad_right], "note": e.note} for e in explanation]
    parts = [render.counts_table(counts)]
    if explain:
        parts.append(render.explain_table(spec, explanation))
    render.Output(json).emit(data, *parts)


# ---- params ---------------------------------------------------------------------
@app.command()
@funnel
def params(
    out_channels: OutChannels,
    kernel_size: KernelSize,
    in_channels: InChannels = None,
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    groups: Groups = "1",
    bias: Bias = True,
    padding_mode: PaddingMode = "zeros",
    transposed: Transposed = False,
    output_padding: OutputPadding = "0",
    dims: Dims = None,
    input: Annotated[Optional[str], typer.Option(
        "--input", metavar="SHAPE", help="Input shape, to add MACs/FLOPs/bytes.")] = None,
    compare_groups: Annotated[bool, typer.Option(
        "--compare-groups", help="One row per valid groups value, plus depthwise and "
                                 "depthwise-separable.")] = False,
    dtype: Dtype = "float32",
    json: Json = False,
):
    """Weight and bias shapes, parameter counts and how groups change them.

    Example: convcli params -i 64 -o 128 -k 3 --groups 4 --compare-groups
    """
    from convcli import render
    from convcli.counts import analyse, compare_groups as compare

    input_shape = None if input is None else parse_shape(input, "--input")
    spec = build_spec(input_shape=input_shape, in_channels=in_channels,
                      out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups, bias=bias,
                      padding_mode=padding_mode, transposed=transposed,
                      output_padding=output_padding, dims=dims)
    counts = analyse(spec, input_shape, dtype)
    data = render.counts_dict(counts)
    parts = [render.counts_table(counts)]
    if spec.groups > 1:
        parts.append(render.layout_table(spec))
    if compare_groups:
        rows = compare(spec, input_shape)
        data["compare_groups"] = render.groups_rows_dict(rows)
        parts.append(render.groups_table(rows))
    render.Output(json).emit(data, *parts)


# ---- net ------------------------------------------------------------------------
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
    from convcli import render
    from convcli.counts import dtype_size
    from convcli.layers import parse_layers, read_layers_file
    from convcli.net import analyse_net

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
    render.Output(json).emit(render.net_dict(report, dtype), render.net_table(report, dtype),
                             render.net_totals(report, dtype))


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

    from convcli import render
    from convcli.counts import dtype_size
    from convcli.summary import load_model, parse_args, summarise

    dtype_size(dtype)
    input_shape = parse_shape(input, "--input")
    pos, kw = parse_args(args)
    # the user's code may print: keep stdout for the table / the one JSON object
    with contextlib.redirect_stdout(sys.stderr):
        model, label = load_model(target, pos, kw)
        report = summarise(model, input_shape)
    data = render.net_dict(report, dtype)
    data["model"] = label
    render.Output(json).emit(data, render.net_table(report, dtype, label),
                             render.net_totals(report, dtype))


def main() -> None:  # console script
    app(prog_name="convcli")
