"""`convcli run`: execute the conv with torch, check its shape, time it and show
the output. torch is imported inside the command (engine world).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from convcli.calculator.parse import parse_int
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import ConvArgs, Json, conv_options

_RUN = "Run"
RunDtype = Annotated[Optional[str], typer.Option(
    "--dtype", metavar="DTYPE", rich_help_panel=_RUN,
    help="Element type of the run: float32, float64, float16 or bfloat16 (default: the "
         "INPUT .npy's, else float32); with --tune a comma list of those to try, as "
         "float32,bfloat16.")]


@app.command()
@funnel
@conv_options()
def run(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="Input shape (4x3x64x64; random normal under --seed) or a "
                              ".npy file.")],
    conv: ConvArgs,
    weight_file: Annotated[Optional[str], typer.Option(
        "--weight-file", metavar="FILE", rich_help_panel=_RUN,
        help="Weight to use, a .npy file (shape checked); default: the module's init under "
             "--seed.")] = None,
    bias_file: Annotated[Optional[str], typer.Option(
        "--bias-file", metavar="FILE", rich_help_panel=_RUN,
        help="Bias to use, a .npy file of shape (C_out,).")] = None,
    seed: Annotated[str, typer.Option(
        "--seed", metavar="INT", rich_help_panel=_RUN,
        help="Seed for the random input and the default init.")] = "0",
    device: Annotated[str, typer.Option(
        "--device", metavar="DEVICE", rich_help_panel=_RUN,
        help="Where to run: auto (cuda if available), cpu, cuda or cuda:N.")] = "auto",
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
        "--save", metavar="FILE", rich_help_panel=_RUN,
        help="Write the output to a .npy file (atomically; never over INPUT, also not "
             "through a hard link; a symbolic link is written through: the file it points "
             "to is replaced).")] = None,
    max_memory: Annotated[Optional[str], typer.Option(
        "--max-memory", metavar="SIZE", rich_help_panel=_RUN,
        help="Refuse runs estimated above this: 8GiB, 512M, 50% (of free memory). Default: "
             "75% of available RAM, 90% of free GPU memory.")] = None,
    threads: Annotated[Optional[str], typer.Option(
        "--threads", metavar="INT", rich_help_panel=_RUN,
        help="torch CPU threads for the run, 1 to the machine's CPU count (default: "
             "torch's; 1 is steadier on a busy machine).")] = None,
    tune: Annotated[bool, typer.Option(
        "--tune", rich_help_panel=_RUN,
        help="Also time contiguous vs channels_last, cudnn.benchmark off/on (CUDA) and "
             "each --dtype; mark the fastest.")] = False,
    json: Json = False,
):
    """Run the convolution with torch, check its shape, time it and show the output.

    Example: convcli run 4x6x64x64 -o 12 -k 3 -g 2 --repeat 20
    """
    from convcli.engine.memory import parse_budget
    from convcli.engine.npy import npy_info, parse_input
    from convcli.engine.run import RunOptions, parse_dtypes
    from convcli.engine.run import run as execute
    from convcli.views.console import Output, warn
    from convcli.views.conv import reading_text
    from convcli.views.progress import RunProgress
    from convcli.views.run import run_dict, run_table, tune_table

    source, input_shape = parse_input(input)
    weight = None if weight_file is None else npy_info(weight_file, "--weight-file").shape
    spec, reading = conv.read(input_shape, weight_shape=weight)
    dtypes = parse_dtypes(dtype, tune) if dtype else None
    options = RunOptions(
        weight=weight_file, bias=bias_file, seed=parse_int(seed, "--seed"), device=device,
        dtype=dtypes[0] if dtypes else None, channels_last=channels_last,
        repeat=parse_int(repeat, "--repeat"), warmup=parse_int(warmup, "--warmup"),
        save=save, max_memory=parse_budget(max_memory),
        tune_dtypes=(dtypes or ()) if tune else None,
        threads=None if threads is None else parse_int(threads, "--threads"))
    with RunProgress() as progress:
        result = execute(spec, source, options, progress, notice=warn)
    parts = [run_table(result), reading_text(reading, spec.transposed)]
    if tune:
        parts.append(tune_table(result))
    data = run_dict(result)
    data["interpretation"] = None if reading is None else reading.as_dict(spec.transposed)
    Output(json).emit(data, *parts)
