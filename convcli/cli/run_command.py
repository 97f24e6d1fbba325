"""`convcli run`: execute the conv with torch, check its shape, time it and show
the output; with --sweep, one timed run per combination (engine/run_sweep.py). torch
is imported inside the command (engine world).
"""

from __future__ import annotations

from typing import List, Optional

from convcli.cli.app import app
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.options import ConvArgs, conv_options, table_options
from convcli.errors import ConvError
from convcli.files import only_one_stdin


@app.command()
@errors_to_exit_code
@conv_options("run")
@table_options("run")
def run(input: str, conv: ConvArgs, weight_file: Optional[str], bias_file: Optional[str],
        seed: int, device: str, dtype: Optional[tuple], channels_last: bool, repeat: int,
        warmup: int, save: Optional[str], max_memory, threads: Optional[int], tune: bool,
        sweep: Optional[List[str]], json: bool):
    """Run the convolution with torch, check its shape, time it and show the output.

    Example: convcli run 4x6x64x64 -o 12 -k 3 -g 2 --repeat 20
    """
    from convcli.engine.npy import npy_info, parse_input
    from convcli.engine.conv_run import RunOptions
    from convcli.engine.conv_run import run as execute
    from convcli.views.console import Output, warn
    from convcli.views.conv_view import reading_text
    from convcli.views.progress import RunProgress
    from convcli.views.run_view import run_dict, run_table, tune_table

    only_one_stdin({"INPUT": input, "--weight-file": weight_file, "--bias-file": bias_file})
    source, input_shape = parse_input(input)
    weight = None if weight_file is None else npy_info(weight_file, "--weight-file").shape
    if dtype is not None and len(dtype) > 1 and not tune:
        raise ConvError(f"--dtype: {','.join(dtype)!r} names {len(dtype)} dtypes; give one, "
                        "or add --tune to time each of them")
    options = RunOptions(
        weight=weight_file, bias=bias_file, seed=seed, device=device,
        dtype=dtype[0] if dtype else None, channels_last=channels_last,
        repeat=repeat, warmup=warmup, save=save, max_memory=max_memory,
        tune_dtypes=(dtype or ()) if tune else None, threads=threads)
    if sweep:
        return _swept(conv, sweep, source, input_shape, weight, options, tune, json)
    spec, reading = conv.read(input_shape, weight_shape=weight)
    with RunProgress() as progress:
        result = execute(spec, source, options, progress, notice=warn)
    parts = [run_table(result), reading_text(reading, spec.transposed)]
    if tune:
        parts.append(tune_table(result))
    data = run_dict(result)
    data["interpretation"] = None if reading is None else reading.as_dict(spec.transposed)
    Output(json).emit(data, *parts)


def _swept(conv: ConvArgs, texts: List[str], source, input_shape, weight, options,
           tune: bool, json: bool) -> None:
    """--sweep: everything refused up front, then one run per combination and a row
    each; a row whose output disagreed with the prediction exits 1 after the table."""
    from convcli.engine.run_sweep import MAX_RUNS, RUNS_WHY, check_sweep, plan_sweep, \
        run_sweep
    from convcli.errors import Mismatch
    from convcli.views.console import Output, warn
    from convcli.views.progress import RunProgress
    from convcli.views.run_view import sweep_run_dict, sweep_run_parts

    sweeps = conv.sweeps(texts, input_shape, weight_shape=weight, limit=MAX_RUNS,
                         why=RUNS_WHY)
    check_sweep(sweeps, options, tune)
    planned = plan_sweep(sweeps, lambda changes: conv.read(
        input_shape, weight_shape=weight, **changes), source, options)
    with RunProgress() as progress:
        done = run_sweep(sweeps, planned, progress, notice=warn)
    Output(json).emit(sweep_run_dict(done), *sweep_run_parts(done))
    if done.mismatch is not None:
        raise Mismatch(done.mismatch)
