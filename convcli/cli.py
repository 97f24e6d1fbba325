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
from typer.core import TyperGroup

from convcli import __version__
from convcli.errors import EXIT_INTERRUPTED, ConvError, EnvironmentProblem, Mismatch
from convcli.parse import parse_ints, parse_padding, parse_shape
from convcli.spec import ConvSpec

DEBUG_ENV = "CONVCLI_DEBUG"
EXIT_INTERNAL = 70

class _OneLineErrors(TyperGroup):
    """Usage errors found while parsing argv (unknown option, missing argument) come
    out as one `Error:` line with exit 2, like every other error, instead of a panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except Exception as e:
            if type(e).__name__ == "NoArgsIsHelpError":
                typer.echo(e.format_message())
                raise SystemExit(e.exit_code) from None
            if not (hasattr(e, "format_message") and isinstance(getattr(e, "exit_code", None), int)):
                raise
            from convcli import render
            message = e.format_message()
            ctx = getattr(e, "ctx", None)
            if "No such option: -" in message and message.split(": ", 1)[1][1:2].isdigit():
                message += " (a shape or number cannot start with '-': sizes and strides are >= 0)"
            if ctx is not None:
                message += f" (see '{ctx.command_path} --help')"
            render.error(message)
            raise SystemExit(e.exit_code) from None
        raise SystemExit(code or 0)


app = typer.Typer(
    name="convcli",
    cls=_OneLineErrors,
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
    "--dtype", metavar="float32|float64|float16|bfloat16",
    help="Element type: of the tensors (verify), or for byte counts (shape, params).")]
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
            if dims not in (1, 2, 3):
                name, n = next(iter(lengths.items()))
                raise ConvError(f"--{name.replace('_', '-')} has {n} entries; convolutions "
                                "have 1, 2 or 3 spatial dims, one entry each")
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
    from convcli import render
    from convcli.counts import analyse

    input_shape = parse_shape(input)
    if padding_from is not None:
        return _shape_ported(input_shape, padding_from, padding, json, explain, dtype, dict(
            in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
            stride=stride, dilation=dilation, groups=groups, bias=bias,
            padding_mode=padding_mode, transposed=transposed,
            output_padding=output_padding, dims=dims))
    spec = build_spec(input_shape=input_shape, in_channels=in_channels,
                      out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups, bias=bias,
                      padding_mode=padding_mode, transposed=transposed,
                      output_padding=output_padding, dims=dims)
    counts = analyse(spec, input_shape, dtype)
    explanation = spec.explain(input_shape)
    data = render.counts_dict(counts)
    data["explain"] = render.explain_dicts(explanation)
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
    if conventions:
        from convcli.peers import peer_counts
        report = peer_counts(spec, input_shape)
        data["conventions"] = report.as_dict()
        parts.append(render.peers_table(report))
    render.Output(json).emit(data, *parts)


# ---- show -----------------------------------------------------------------------
@app.command()
@funnel
def show(
    out_channels: OutChannels,
    kernel_size: KernelSize,
    input: Annotated[Optional[str], typer.Argument(
        metavar="[INPUT]", help="Input shape, e.g. 1x16x8x8 (without it: the channel map "
                                "only, and --in-channels is needed).")] = None,
    stride: Stride = "1",
    padding: Padding = "0",
    dilation: Dilation = "1",
    groups: Groups = "1",
    transposed: Transposed = False,
    output_padding: OutputPadding = "0",
    dims: Dims = None,
    in_channels: InChannels = None,
    dim: Annotated[Optional[int], typer.Option(
        "--dim", help="Spatial dim the window slides along (default: the last, W).")] = None,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="INDEX|TUPLE",
        help="Output position for the receptive field, one index per spatial dim "
             "(default: the middle).")] = None,
    channel: Annotated[int, typer.Option(
        "--channel", help="Output channel for the receptive field.")] = 0,
    png: Annotated[Optional[str], typer.Option(
        "--png", metavar="FILE",
        help="Also draw it to a PNG (needs matplotlib: pip install 'convcli\\[plot]').")] = None,
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

    from convcli import render
    from convcli.show import picture

    input_shape = None if input is None else parse_shape(input)
    spec = build_spec(input_shape=input_shape, in_channels=in_channels,
                      out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups, bias=True,
                      padding_mode="zeros", transposed=transposed,
                      output_padding=output_padding, dims=dims)
    position = None if at is None else parse_ints(at, "--at")
    pic = picture(spec, input_shape, dim, position, channel)
    targets = [(path, kind) for path, kind in ((png, "png"), (svg, "svg")) if path]
    data = {"version": render.JSON_VERSION, **pic.as_dict()}
    if targets:
        from convcli.plot import draw
        for path, kind in targets:
            draw(pic, path, kind)
        data["files"] = [os.path.abspath(p) for p, _ in targets]
    width = render.console().width
    render.Output(json).emit(data, render.show_view(pic, width))
    if targets and not json:
        for path, _ in targets:
            render.info(f"wrote {path}")


# ---- solve ----------------------------------------------------------------------
@app.command()
@funnel
def solve(
    input: Annotated[str, typer.Option(
        "--input", metavar="SIZES", help="Spatial input size(s): 32, or one per dim as 32x24 "
                                         "(no batch or channel dims).")],
    output: Annotated[Optional[str], typer.Option(
        "--output", metavar="SIZES", help="Wanted spatial output size(s): 16 or 16x12. "
                                          "Leave out with --transposed and -k to get the "
                                          "decoder of that conv.")] = None,
    transposed: Transposed = False,
    kernel_size: KernelSize = None,
    stride: Stride = None,
    padding: Padding = None,
    dilation: Dilation = None,
    max_kernel: Annotated[int, typer.Option(
        "--max-kernel", help="Largest kernel size to try.")] = 7,
    max_stride: Annotated[int, typer.Option("--max-stride", help="Largest stride.")] = 4,
    max_dilation: Annotated[int, typer.Option(
        "--max-dilation", help="Largest dilation.")] = 3,
    max_padding: Annotated[Optional[int], typer.Option(
        "--max-padding", help="Largest padding per side (default: dilation*(kernel-1), so "
                              "no window is all padding).")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", "-n", help="Show the simplest N solutions (0: all).")] = 12,
    dims: Dims = None,
    in_channels: InChannels = None,
    out_channels: Annotated[Optional[str], typer.Option(
        "--out-channels", "-o", metavar="INT",
        help="Channels, only to fill in the printed layers.")] = None,
    json: Json = False,
):
    """The inverse problem: which kernel, stride, padding and dilation give this size.

    Example: convcli solve --input 32 --output 16

    Decoder of an encoder: convcli solve --transposed --input 32 -k 3 -s 2 -p 1
    """
    from convcli import render
    from convcli import solve as core

    sizes_in = parse_ints(input, "--input")
    if output is None:
        if not transposed or kernel_size is None:
            raise ConvError(
                "--output is required (the size you want, e.g. --output 16); without it, "
                "--transposed with -k/-s/-p gives the decoder that restores --input")
        if (in_channels is None) != (out_channels is None):
            raise ConvError("give both --in-channels and --out-channels (they only fill in "
                            "the printed layers), or neither for C_in / C_out")
        spec = build_spec(in_channels=in_channels or "1", out_channels=out_channels or "1",
                          kernel_size=kernel_size, stride=stride or "1",
                          padding=padding or "0", dilation=dilation or "1", groups="1",
                          bias=True, padding_mode="zeros", transposed=False,
                          output_padding="0", dims=dims if dims else None
                          if isinstance(sizes_in, int) else len(sizes_in))
        if not isinstance(sizes_in, int) and spec.dims != len(sizes_in):
            raise ConvError(f"--input has {len(sizes_in)} sizes but the conv options have "
                            f"{spec.dims} dims; give the same number")
        report = core.decoder(spec, sizes_in, in_channels is None and out_channels is None)
        render.Output(json).emit({"version": render.JSON_VERSION, **report.as_dict()},
                                 render.decoder_view(report))
        return
    fixed = core.Fixed(**{
        name: None if text is None else parse_ints(text, option)
        for name, text, option in (("kernel_size", kernel_size, "--kernel-size"),
                                   ("stride", stride, "--stride"),
                                   ("dilation", dilation, "--dilation"),
                                   ("padding", _solve_padding(padding), "--padding"))})
    report = core.solve(sizes_in, parse_ints(output, "--output"),
                        core.Bounds(max_kernel, max_stride, max_dilation, max_padding),
                        transposed, fixed, limit, dims)
    render.Output(json).emit({"version": render.JSON_VERSION, **report.as_dict()},
                             render.solve_view(report))


def _solve_padding(text):
    if text is not None and parse_padding(text) in ("same", "valid"):
        raise ConvError(f"--padding {text!r}: solve pins padding to a number (per side); "
                        "'same' is an output size, ask for it with --output instead")
    return text


def _shape_ported(input_shape, framework, padding, json, explain, dtype, options) -> None:
    """`shape --padding-from`: the foreign padding word -> explicit pairs, then the
    counts of the conv torch runs after F.pad (input bytes are the user's input)."""
    from convcli import render
    from convcli.conventions import normalise_word, port_padding, ported_counts

    framework, word = normalise_word(framework, padding)
    spec = build_spec(input_shape=input_shape, padding="0", **options)
    ported = port_padding(spec, input_shape, framework, word)
    counts = ported_counts(ported, dtype)
    data = render.counts_dict(counts)
    data["explain"] = render.explain_dicts(ported.explanation)
    data.update(ported.as_dict())
    parts = [render.ported_counts_table(counts, ported), render.ported_table(ported)]
    if explain:
        parts.append(render.explain_table(ported.spec, ported.explanation))
    render.Output(json).emit(data, *parts)


# ---- run ------------------------------------------------------------------------
_RUN = "Run"
RunDtype = Annotated[Optional[str], typer.Option(
    "--dtype", metavar="float32|float64|float16|bfloat16", rich_help_panel=_RUN,
    help="Element type of the run (default: the INPUT .npy's, else float32); with --tune "
         "a comma list of the dtypes to try, e.g. float32,bfloat16.")]


@app.command()
@funnel
def run(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="Input shape (4x3x64x64; random normal under --seed) or a "
                              ".npy file.")],
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
    weight_file: Annotated[Optional[str], typer.Option(
        "--weight-file", metavar="FILE.npy", rich_help_panel=_RUN,
        help="Weight to use (shape checked); default: the module's init under --seed.")] = None,
    bias_file: Annotated[Optional[str], typer.Option(
        "--bias-file", metavar="FILE.npy", rich_help_panel=_RUN,
        help="Bias to use, shape (C_out,).")] = None,
    seed: Annotated[str, typer.Option(
        "--seed", metavar="INT", rich_help_panel=_RUN,
        help="Seed for the random input and the default init.")] = "0",
    device: Annotated[str, typer.Option(
        "--device", metavar="auto|cpu|cuda|cuda:N", rich_help_panel=_RUN,
        help="Where to run (auto: cuda if available).")] = "auto",
    dtype: RunDtype = None,
    channels_last: Annotated[bool, typer.Option(
        "--channels-last", rich_help_panel=_RUN,
        help="channels_last memory format for input and weight (2d/3d, batched).")] = False,
    repeat: Annotated[str, typer.Option(
        "--repeat", "-r", metavar="INT", rich_help_panel=_RUN,
        help="Timed calls.")] = "10",
    warmup: Annotated[str, typer.Option(
        "--warmup", metavar="INT", rich_help_panel=_RUN,
        help="Untimed calls first.")] = "2",
    save: Annotated[Optional[str], typer.Option(
        "--save", metavar="FILE.npy", rich_help_panel=_RUN,
        help="Write the output (atomically; never over INPUT).")] = None,
    max_memory: Annotated[Optional[str], typer.Option(
        "--max-memory", metavar="SIZE|N%", rich_help_panel=_RUN,
        help="Refuse runs estimated above this: 8GiB, 512M, 50% (of free memory). Default: "
             "75% of available RAM, 90% of free GPU memory.")] = None,
    threads: Annotated[Optional[str], typer.Option(
        "--threads", metavar="INT", rich_help_panel=_RUN,
        help="torch CPU threads for the run (default: torch's; 1 is steadier on a busy "
             "machine).")] = None,
    tune: Annotated[bool, typer.Option(
        "--tune", rich_help_panel=_RUN,
        help="Also time contiguous vs channels_last, cudnn.benchmark off/on (CUDA) and "
             "each --dtype; mark the fastest.")] = False,
    json: Json = False,
):
    """Run the convolution with torch, check its shape, time it and show the output.

    Example: convcli run 4x6x64x64 -o 12 -k 3 -g 2 --repeat 20
    """
    from convcli import render, runner
    from convcli.parse import parse_bytes

    source, input_shape = runner.parse_input(input)
    spec = build_spec(input_shape=input_shape, in_channels=in_channels,
                      out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups, bias=bias,
                      padding_mode=padding_mode, transposed=transposed,
                      output_padding=output_padding, dims=dims)
    dtypes = runner.parse_dtypes(dtype, tune) if dtype else None
    with render.RunProgress() as progress:
        result = runner.run(
            spec, source, weight=weight_file, bias=bias_file,
            seed=_int_option(seed, "--seed"), device=device,
            dtype=dtypes[0] if dtypes else None, channels_last=channels_last,
            repeat=_int_option(repeat, "--repeat"), warmup=_int_option(warmup, "--warmup"),
            save=save, max_memory=None if max_memory is None else parse_bytes(max_memory),
            tune_dtypes=(dtypes or ()) if tune else None, progress=progress,
            threads=None if threads is None else _int_option(threads, "--threads"))
    parts = [render.run_table(result)]
    if tune:
        parts.append(render.tune_table(result))
    render.Output(json).emit(render.run_dict(result), *parts)


# ---- verify ---------------------------------------------------------------------
_VERIFY = "Verification"


@app.command()
@funnel
def verify(
    out_channels: OutChannels = None,
    kernel_size: KernelSize = None,
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
        "--input", metavar="SHAPE", rich_help_panel=_CONV,
        help="Input shape for one configuration (default 2 x C_in x 12 per dim, or "
             "larger for wide kernels).")] = None,
    cases: Annotated[Optional[int], typer.Option(
        "--cases", metavar="N", rich_help_panel=_VERIFY,
        help="Random configurations (valid and invalid) for the built-in suite "
             "(default 1000).")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", rich_help_panel=_VERIFY,
        help="Seed for the random configurations and tensors.")] = 0,
    device: Annotated[str, typer.Option(
        "--device", metavar="auto|cpu|cuda|cuda:N", rich_help_panel=_VERIFY,
        help="Where torch runs the convolutions, as for run (auto: cuda if available); "
             "the numpy reference runs on the CPU.")]
        = "cpu",
    dtype: Dtype = "float32",
    atol: Annotated[Optional[float], typer.Option(
        "--atol", rich_help_panel=_VERIFY,
        help="Absolute tolerance (default per dtype: float64 1e-10, float32 1e-4, "
             "float16 1e-2, bfloat16 5e-2).")] = None,
    rtol: Annotated[Optional[float], typer.Option(
        "--rtol", rich_help_panel=_VERIFY,
        help="Relative tolerance (default per dtype: float64 1e-8, float32 1e-4, "
             "float16 1e-2, bfloat16 2e-2).")] = None,
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", "-x", rich_help_panel=_VERIFY,
        help="Stop at the first failing configuration.")] = False,
    junit: Annotated[Optional[str], typer.Option(
        "--junit", metavar="FILE", rich_help_panel=_VERIFY,
        help="Also write JUnit XML (one testcase per check) for CI.")] = None,
    json: Json = False,
):
    """Prove that grouped conv == split-and-concat, that depthwise and
    depthwise-separable convs are what they claim, that the calculator agrees with
    torch, and that a numpy reference agrees with torch. Exit 0 all passed, 1 a
    mismatch, 2 bad usage, 3 environment.

    --dtype: torch computes in it; the float64 reference allows its tolerance.

    Example: convcli verify -i 16 -o 16 -k 1 -g 2 --input 8x16x32x32
    """
    import os

    from convcli import render
    from convcli import verify as core

    opts = core.Options(device=device.strip().lower(), dtype=dtype.strip().lower(),
                        atol=atol, rtol=rtol, seed=seed,
                        cases=core.DEFAULT_CASES if cases is None else cases,
                        fail_fast=fail_fast)
    if junit is not None and (not junit.strip() or os.path.isdir(junit)):
        raise ConvError(f"--junit {junit!r}: give a file path such as report.xml"
                        + (", not a folder" if junit.strip() else ""))
    if junit is not None:
        from convcli.files import check_writable
        check_writable(junit, "--junit")
    conv_options = {"--stride": stride != "1", "--padding": padding != "0",
                    "--dilation": dilation != "1", "--groups": groups != "1",
                    "--no-bias": not bias, "--padding-mode": padding_mode != "zeros",
                    "--transposed": transposed, "--output-padding": output_padding != "0",
                    "--dims": dims is not None, "--in-channels": in_channels is not None,
                    "--input": input is not None}
    if out_channels is None and kernel_size is None:
        given = [name for name, on in conv_options.items() if on]
        if given:
            raise ConvError(
                f"{', '.join(given)} {'describe' if len(given) > 1 else 'describes'} one "
                "configuration: add --out-channels and --kernel-size to verify it "
                "(e.g. -i 16 -o 16 -k 1 -g 2), or drop "
                f"{'them' if len(given) > 1 else 'it'} to run the built-in suite")
        core.check_options(opts)
        with render.verify_progress() as progress:
            report = core.run_suite(opts, progress)
    else:
        if out_channels is None or kernel_size is None:
            missing = "--out-channels" if out_channels is None else "--kernel-size"
            raise ConvError(f"{missing} is needed to verify one configuration (e.g. "
                            "-i 16 -o 16 -k 1); without -o and -k verify runs the "
                            "built-in suite")
        if cases is not None:
            raise ConvError(f"--cases {cases}: random configurations belong to the built-in "
                            "suite; with -o/-k verify checks that one configuration, so "
                            "drop --cases or the configuration")
        input_shape = None if input is None else parse_shape(input, "--input")
        spec = build_spec(input_shape=input_shape, in_channels=in_channels,
                          out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                          padding=padding, dilation=dilation, groups=groups, bias=bias,
                          padding_mode=padding_mode, transposed=transposed,
                          output_padding=output_padding, dims=dims)
        if input_shape is None:
            input_shape = core.default_input(spec)
        spec.output_shape(input_shape)
        core.check_options(opts)
        with render.verify_progress() as progress:
            report = core.run_config(spec, input_shape, opts, progress)
    if junit is not None:
        render.write_atomic(junit, render.junit_xml(report))
    render.Output(json).emit(render.verify_dict(report), *render.verify_renderables(report))
    if not report.passed:
        raise Mismatch(render.verify_summary(report))


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
