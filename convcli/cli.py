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
        "--device", metavar="cpu|cuda", rich_help_panel=_VERIFY,
        help="Where torch runs the convolutions (the numpy reference runs on the CPU).")]
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
        render.check_writable(junit)
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


def main() -> None:  # console script
    app(prog_name="convcli")
