"""`convcli apply`: a hand-written (or named) kernel on a pattern, an image or given
values, and the values to look at: the numbers, the dot product behind one output, a
picture. `run` measures speed and memory; `apply` shows what the conv does to values.
torch is imported inside the command (engine world).
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from convcli.calculator.parse import parse_bytes, parse_int, parse_ints
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import ConvArgs, Json, conv_options, parse_dims
from convcli.errors import ConvError

_PANEL = "Values"


def _opt(*decls: str, metavar: str | None = None, help: str) -> Any:
    # (the first name goes where typer.Option's signature has its default: inside
    # Annotated, typer reads a leading '--name' there as a name)
    return typer.Option(decls[0], *decls[1:], metavar=metavar, rich_help_panel=_PANEL,
                        help=help)


Kernel = Annotated[Optional[str], _opt(
    "--kernel", metavar="KERNEL",
    help="A name: edge-vertical, edge-horizontal, sobel-x, sobel-y, laplacian, box, "
         "gaussian, identity, sharpen (sized by -k); or a nested list such as "
         "'[[1, 0, -1], [1, 0, -1], [1, 0, -1]]' (read, never run): used for every (out, "
         "in) channel pair, or the whole weight when it has its shape. Default: the "
         "module's init under --seed.")]
InitOption = Annotated[Optional[str], _opt(
    "--init", metavar="NAME",
    help="Initialise the weight as torch.nn.init does, under --seed: normal[:MEAN,STD], "
         "uniform[:A,B], kaiming[:A] (kaiming_normal), kaiming_uniform, xavier[:GAIN] "
         "(xavier_uniform), xavier_normal, constant[:VALUE], zeros or ones.")]
BiasValue = Annotated[Optional[str], _opt(
    "--bias-value", metavar="VALUE",
    help="Every output channel's bias (default: 0 with --kernel, else the init).")]
Pattern = Annotated[Optional[str], _opt(
    "--pattern", metavar="NAME",
    help="Fill the INPUT shape with a pattern: square, impulse, checker, ramp or stripes "
         "(default: standard normal under --seed).")]
Gray = Annotated[bool, _opt("--gray", help="Read an image INPUT as one grey channel.")]
Resize = Annotated[Optional[str], _opt(
    "--resize", metavar="HxW", help="Resize an image INPUT (default: its own size).")]
Seed = Annotated[str, _opt("--seed", metavar="INT",
                           help="Seed of the random input and the default init.")]
ApplyDtype = Annotated[str, _opt("--dtype", metavar="DTYPE",
                                 help="Element type torch computes in: float32 or float64.")]
Values = Annotated[bool, _opt(
    "--values", help="Print input, weight, bias and output: numbers up to 16x16 per "
                     "channel, a heatmap above; with --json, every value as nested lists.")]
Dot = Annotated[bool, _opt(
    "--dot", help="The dot product behind one output value: patch, kernel, products, "
                  "their sum plus bias, and torch's value.")]
At = Annotated[Optional[str], _opt(
    "--at", metavar="INDEX",
    help="The output position for --dot, one index per spatial dim as 3 or 3,4 (default: "
         "the middle).")]
Channel = Annotated[Optional[str], _opt(
    "--channel", metavar="INT", help="The output channel for --dot (default 0).")]
Png = Annotated[Optional[str], _opt(
    "--png", metavar="FILE",
    help="Draw input, kernel and output side by side per channel (up to 8; needs "
         "matplotlib: pip install 'convcli\\[plot]').")]
MaxMemory = Annotated[Optional[str], _opt(
    "--max-memory", metavar="SIZE",
    help="Refuse inputs estimated above this, as 8GiB or 50% (default: 75% of available "
         "RAM).")]


@app.command()
@funnel
@conv_options(required=False, help={
    "out_channels": "Output channels (default 1; a whole-weight literal sets it).",
    "kernel_size": "Kernel size (default 3; a --kernel literal sets it)."})
def apply(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="A shape (1x1x8x8) filled by --pattern or seeded random "
                              "values, an image (PNG, JPEG) or a .npy file.")],
    conv: ConvArgs,
    kernel: Kernel = None,
    init: InitOption = None,
    bias_value: BiasValue = None,
    pattern: Pattern = None,
    gray: Gray = False,
    resize: Resize = None,
    seed: Seed = "0",
    dtype: ApplyDtype = "float32",
    values: Values = False,
    dot: Dot = False,
    at: At = None,
    channel: Channel = None,
    png: Png = None,
    max_memory: MaxMemory = None,
    json: Json = False,
):
    """Apply a kernel to values and look at them: a named or hand-written kernel on a
    pattern, an image or given values; the numbers, one output's dot product, a
    picture. Every value is what torch.nn.functional computes.

    Example: convcli apply 1x1x8x8 --pattern square --kernel edge-vertical --values
    """
    if not dot and (at is not None or channel is not None):
        raise ConvError(f"{'--at' if at is not None else '--channel'} picks the output "
                        "--dot breaks down; add --dot")
    if init is not None and kernel is not None:
        raise ConvError("--init sets the weight at random, --kernel to given values; "
                        "give one of them")
    _apply(input, conv, kernel, bias_value, pattern, gray, resize, seed, dtype, values,
           (at, channel) if dot else None, png, max_memory, json, init)


def _apply(input, conv: ConvArgs, kernel, bias_value, pattern, gray, resize, seed, dtype,
           values, dot, png, max_memory, json, init=None) -> None:
    """parse -> core -> view; ``dot`` is (--at, --channel) or None."""
    import os

    from convcli.calculator.costs import canonical_dtype
    from convcli.calculator.dot import dot_layout
    from convcli.calculator.kernels import kernel_changes, parse_init, read_kernel
    from convcli.engine.sources import plan_input
    from convcli.engine.values import ApplyOptions, apply as execute, values_dict
    from convcli.views.console import Output, console, info

    kern = None if kernel is None else read_kernel(kernel)
    plan = plan_input(input, pattern, gray, resize)
    fit = kernel_changes(kern, kernel_size=conv.kernel_size, dims=parse_dims(conv.dims),
                         out_channels=conv.out_channels, input_rank=len(plan.shape),
                         transposed=conv.transposed,
                         groups=parse_int(conv.groups or "1", "--groups"))
    spec, reading = conv.read(plan.shape, **fit.changes)
    if plan.image is not None and (spec.dims != 2 or len(plan.shape) != 4):
        raise ConvError(f"INPUT {input!r} is an image, read as 1x{plan.shape[1]}x"
                        f"{plan.shape[2]}x{plan.shape[3]} for a 2d conv; drop --dims")
    layout = None
    if dot is not None:
        at, channel = dot
        layout = dot_layout(spec, plan.shape, None if at is None else parse_ints(at, "--at"),
                            0 if channel is None else parse_int(channel, "--channel"))
    if png:
        from convcli.views.plot_values import check_target
        check_target(png)
    opts = ApplyOptions(
        kernel=kern, whole=fit.whole, bias_value=_bias(bias_value), seed=parse_int(seed, "--seed"),
        dtype=canonical_dtype(dtype), max_memory=None if max_memory is None else parse_bytes(max_memory),
        json_values=values and json, init=None if init is None else parse_init(init))
    applied = execute(spec, plan, opts)
    data, parts = _views(applied, reading, values, layout, console().width)
    if values and json:
        data.update(values_dict(applied))
    if png:
        from convcli.views.plot_values import draw_values
        draw_values(applied, png)
        data["files"] = [os.path.abspath(png)]
    Output(json).emit(data, *parts)
    if png and not json:
        info(f"wrote {png}")


def _views(applied, reading, values: bool, layout, width: int):
    """The JSON object and the renderables (summary, values, dot product)."""
    from rich.text import Text

    from convcli.engine.dot import dot_product
    from convcli.engine.values import tensor_planes
    from convcli.views.dot import dot_view
    from convcli.views.values import HINT, apply_dict, summary_view, values_view

    spec = applied.spec
    infos = applied.infos()
    data = apply_dict(applied, infos, None if reading is None else
                      reading.as_dict(spec.transposed))
    parts = [summary_view(applied, infos, None if reading is None else
                          reading.note(spec.transposed))]
    if values:
        planes = [tensor_planes(applied, n) for n in ("input", "weight", "bias", "output")]
        parts.append(values_view(applied, [p for p in planes if p is not None], width))
    if layout is not None:
        result = dot_product(applied, layout)
        data["dot"] = result.as_dict()
        # the summary table ends in a blank line of its own; the values do not
        parts += ([Text("")] if values else []) + [dot_view(result, width)]
    if not values and layout is None:
        parts.append(Text(HINT, style="dim"))
    return data, parts


def _bias(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise ConvError(f"--bias-value {text!r} is not a finite number; write e.g. 0.5")
    return value
