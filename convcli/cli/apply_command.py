"""`convcli apply`: a hand-written (or named) kernel on a pattern, an image or given
values, and the values to look at: the numbers, the dot product behind one output, a
picture. `run` measures speed and memory; `apply` shows what the conv does to values.
torch is imported inside the command (engine world).
"""

from __future__ import annotations

from typing import Optional

from convcli.calculator.parse import parse_int
from convcli.cli.app import app
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.options import ConvArgs, conv_options, parse_dims, table_options
from convcli.errors import ConvError


@app.command()
@errors_to_exit_code
@conv_options("apply")
@table_options("apply")
def apply(input: str, conv: ConvArgs, weight: Optional[str], init: Optional[str],
          bias_value: Optional[str],
          pattern: Optional[str], gray: bool, resize: Optional[str], seed: int, dtype: str,
          values: bool, dot: bool, at, channel: Optional[int], png: Optional[str],
          svg: Optional[str], max_memory, json: bool):
    """Apply a kernel to values and look at them: a named or hand-written kernel on a
    pattern, an image or given values; the numbers, one output's dot product, a
    picture. Every value is what torch.nn.functional computes.

    Example: convcli apply 1x1x8x8 --pattern square --weight edge-vertical --values
    """
    if not dot and (at is not None or channel is not None):
        raise ConvError(f"{'--at' if at is not None else '--channel'} picks the output "
                        "--dot breaks down; add --dot")
    if init is not None and weight is not None:
        raise ConvError("--init sets the weight at random, --weight to given values; "
                        "give one of them")
    _apply(input, conv, weight, bias_value, pattern, gray, resize, seed, dtype, values,
           (at, channel) if dot else None, {"png": png, "svg": svg}, max_memory, json,
           init)


def _apply(input, conv: ConvArgs, kernel, bias_value, pattern, gray, resize, seed, dtype,
           values, dot, pictures, max_memory, json, init=None) -> None:
    """parse -> core -> view; ``dot`` is (--at, --channel) or None; ``pictures`` the
    --png and --svg targets."""
    import os

    from convcli.calculator.dot_indices import dot_layout
    from convcli.calculator.kernels import kernel_changes, parse_init, read_kernel
    from convcli.engine.apply_inputs import plan_input
    from convcli.engine.apply_values import ApplyOptions, apply as execute, values_dict
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
        layout = dot_layout(spec, plan.shape, at, 0 if channel is None else channel)
    targets = [(path, kind) for kind, path in pictures.items() if path]
    if targets:
        from convcli.views.plot_values import check_target
        for path, kind in targets:
            check_target(path, kind)
    opts = ApplyOptions(
        kernel=kern, whole=fit.whole, bias_value=_bias(bias_value), seed=seed, dtype=dtype,
        max_memory=max_memory, json_values=values and json,
        init=None if init is None else parse_init(init))
    applied = execute(spec, plan, opts)
    data, parts = _views(applied, reading, values, layout, console().width)
    if values and json:
        data.update(values_dict(applied))
    if targets:
        from convcli.views.plot_values import draw_values
        for path, kind in targets:
            draw_values(applied, path, kind)
        data["files"] = [os.path.abspath(path) for path, _ in targets]
    Output(json).emit(data, *parts)
    for path, _ in [] if json else targets:
        info(f"wrote {path}")


def _views(applied, reading, values: bool, layout, width: int):
    """The JSON object and the renderables (summary, values, dot product)."""
    from rich.text import Text

    from convcli.engine.dot_values import dot_product
    from convcli.engine.apply_values import tensor_planes
    from convcli.views.dot_view import dot_view
    from convcli.views.apply_view import HINT, apply_dict, summary_view, values_view

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
