"""`convcli net` (a pasted stack of layers, pure Python) and `convcli summary` (a
user's nn.Module, counted op by op on the meta device, engine world).

net's Typer side is options and help; its body is calculator_commands.net (typer-free, shared with
the fast path).
"""

from __future__ import annotations

from typing import List, Optional

from convcli.cli import calculator_commands
from convcli.cli import budget_options
from convcli.cli.app import app
from convcli.cli.command_errors import errors_to_exit_code
from convcli.cli.options import table_options
from convcli.errors import ConvError


@app.command()
@errors_to_exit_code
@table_options("net")
def net(input: str, layers: Optional[str], file: Optional[str], set_: Optional[List[str]],
        train: bool, optimizer: str, rf: bool, field: Optional[str], at, png: Optional[str],
        svg: Optional[str], max_params: Optional[str], max_macs: Optional[str],
        max_activations: Optional[str], max_train_memory: Optional[str], format: str,
        junit: Optional[str], dtype: str, json: bool):
    """Layer-by-layer output shapes, params and MACs of a stack of torch layers, \
without torch. A layer that does not fit its input is reported with the fix.

    Layers: Conv/ConvTranspose 1d-3d, MaxPool/AvgPool/LPPool/AdaptiveAvgPool/\
AdaptiveMaxPool 1d-3d, BatchNorm/InstanceNorm 1d-3d, SyncBatchNorm, GroupNorm, LayerNorm, \
RMSNorm, Linear, Flatten, Unflatten, Upsample, PixelShuffle, ChannelShuffle, \
Zero/Constant/Reflection/Replication/CircularPad, the Lazy layers, Dropout variants, \
Identity and the activations (ReLU, GELU, SiLU, GLU, Softmax, ...).

    Example: convcli net 1x3x32x32 "Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2), \
Flatten(), Linear(4096, 10)"
    """
    fmt = budget_options.output_format(format, json)
    budgets = budget_options.limits(max_params, max_macs, max_activations, max_train_memory, junit)
    answer = calculator_commands.net(input, layers, file, set_, train or max_train_memory is not None,
                      optimizer, rf, with_at(field, at), png, svg, dtype)
    budget_options.finish(answer.data, answer.tables, lambda r: budget_options.markdown(answer.data, r, "net"),
              budgets, fmt, junit, budget_options.report_properties("net", answer.data))


def with_at(field: str | None, at) -> str | None:
    """--field ROW with --at POS is ROW@POS (--at alone: '@POS', the last row's)."""
    if at is None:
        return field
    if "@" in (field or ""):
        raise ConvError(f"--field {field!r} already names a position; give it as ROW@POS "
                        "or as --at, not both")
    return f"{field or ''}@{','.join(map(str, at)) if isinstance(at, tuple) else at}"


# ---- summary --------------------------------------------------------------------
@app.command()
@errors_to_exit_code
@table_options("summary")
def summary(model: str, inputs: List[str], args: Optional[str], set_: Optional[List[str]],
            depth: Optional[int], rf: bool, field: Optional[str], at, png: Optional[str],
            svg: Optional[str], train: bool, freeze: Optional[List[str]],
            unfreeze: Optional[List[str]], optimizer: str, amp: Optional[str],
            budget: Optional[int], measure: bool, device: str, gpus: Optional[int],
            strategy: Optional[str], shard_unit: Optional[str], checkpoint: Optional[str],
            offload: Optional[str], max_memory, max_params: Optional[str],
            max_macs: Optional[str], max_activations: Optional[str],
            max_train_memory: Optional[str], format: str, junit: Optional[str], dtype: str,
            json: bool):
    """Layer-by-layer output shapes, params and MACs of your own nn.Module (needs torch).

    WARNING: this imports and runs the model's code (the file's top level, the \
constructor and forward()), like `python FILE.py`; only use it on code you trust.

    Every convolution, matrix product and attention op in forward() is counted (equal \
to torch's FlopCounterMode / 2) and shown in the row of the module that ran it, from \
one forward pass on the meta device (no memory, no arithmetic, fine for 64x3x1024x1024). \
A forward() that needs real data (nonzero, .item(), boolean masks) runs once on the CPU \
instead, under a memory limit; the notes say so. When forward() fails it names the \
module, its input shape and, for a Linear, the in_features that would fit.

    Example: convcli summary examples/models/cifar_cnn.py:CifarCNN --input 1x3x32x32
    """
    from convcli.engine.summary.inputs import parse_inputs
    from convcli.engine.summary.isolation import user_code
    from convcli.engine.summary.loading import parse_args
    from convcli.engine.summary.freeze import frozen_source
    from convcli.engine.summary.model_sources import resolve
    from convcli.engine.summary.trace import Options, summarise_source

    from convcli.network.reading import parse_names

    fmt, budgets = budget_options.prepare(format, json, junit, max_params, max_macs, max_activations,
                              max_train_memory)
    specs = parse_inputs(inputs)
    pos, kw = parse_args(args)
    kw = {**kw, **parse_names(set_ or [])}
    field = with_at(field, at)
    dist = dist_options(gpus, strategy, shard_unit, checkpoint, offload, measure)
    train = train or dist is not None or max_train_memory is not None
    options = Options(depth=depth, max_memory=max_memory,
                      train=train_options(train or budget is not None or measure, optimizer,
                                          amp, dtype, budget, measure, device),
                      fields=bool(rf or field or png or svg))
    if options.train is not None and dist is not None:
        # each rank builds the model again: from the same target, --args, --set and
        # --freeze/--unfreeze as this process
        options.train.dist = dist
        options.train.source = (model, args, list(set_ or []), list(freeze or []),
                                list(unfreeze or []))
    with user_code():  # the user's prints, even to file descriptor 1, go to stderr
        source = frozen_source(resolve(model, pos, kw), freeze or [], unfreeze or [])
        report = summarise_source(source, specs, options)
    report = calculator_commands.with_picture(report, field, png, svg)
    budget_options.end_summary(report, dtype, budgets, fmt, junit)


def dist_options(gpus, strategy, shard_unit, checkpoint, offload, measure):
    """--gpus/--strategy/--shard-unit/--checkpoint/--offload, checked; None without."""
    if gpus is None and strategy is None and checkpoint is None and offload is None \
            and shard_unit is None:
        return None
    from convcli.network.sharding import DistOptions, check
    strategy = None if strategy is None else strategy.lower()
    dist = DistOptions(gpus, strategy, shard_unit, checkpoint,
                       None if offload is None else offload.lower(), measure=measure)
    check(dist)
    return dist


def train_options(on: bool, optimizer: str, amp: str | None, dtype: str,
                  budget: int | None, measure: bool, device: str):
    """--train's options (read by the option table); None without --train."""
    if not on:
        return None
    from convcli.engine.summary.train_memory import TrainOptions
    return TrainOptions(optimizer, amp, dtype, budget, measure, device)
