"""`convcli net` (a pasted stack of layers, pure Python) and `convcli summary` (a
user's nn.Module, counted op by op on the meta device, engine world).

net's Typer side is options and help; its body is calc.net (typer-free, shared with
the fast path).
"""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from convcli.cli import calc
from convcli.cli import ci
from convcli.cli.app import app
from convcli.cli.funnel import funnel
from convcli.cli.options import Dtype, Json
from convcli.errors import ConvError

_TRAIN = "Training memory (--train)"
Train = Annotated[bool, typer.Option(
    "--train", rich_help_panel=_TRAIN,
    help="Per row and in total: parameter, gradient and optimizer-state bytes, and the "
         "activations autograd saves for backward, for one step at the input's batch.")]
Freeze = Annotated[Optional[List[str]], typer.Option(
    "--freeze", metavar="PREFIX", rich_help_panel=_TRAIN,
    help="Freeze the parameters of this module (a name from named_modules, e.g. layer1, "
         "or all); repeatable. Frozen parameters count as frozen, get no gradient and no "
         "optimizer state.")]
Unfreeze = Annotated[Optional[List[str]], typer.Option(
    "--unfreeze", metavar="PREFIX", rich_help_panel=_TRAIN,
    help="Train this module again after --freeze: --freeze all --unfreeze fc fine-tunes "
         "the head; repeatable.")]
Optimizer = Annotated[str, typer.Option(
    "--optimizer", metavar="NAME", rich_help_panel=_TRAIN,
    help="The optimizer whose state is counted (what it really keeps per trainable "
         "parameter): sgd, sgd-momentum, adam, adamw or none.")]
_FIELD = "Receptive field (--rf, --field)"
Rf = Annotated[bool, typer.Option(
    "--rf", rich_help_panel=_FIELD,
    help="Per row and spatial dim: the receptive field's size (the largest over the "
         "row's positions at this input), jump (input positions per output step) and "
         "start (output 0's first input index; negative: in the padding).")]
Field = Annotated[Optional[str], typer.Option(
    "--field", metavar="ROW", rich_help_panel=_FIELD,
    help="Draw the input region behind one output position of a row: ROW, a row number "
         "or a module name, or ROW@POS with POS one index per spatial dim (default: the "
         "centre); the part of the window in the padding is marked.")]
Png = Annotated[Optional[str], typer.Option(
    "--png", metavar="FILE", rich_help_panel=_FIELD,
    help="Also draw --field's picture to a PNG (needs matplotlib).")]
Svg = Annotated[Optional[str], typer.Option(
    "--svg", metavar="FILE", rich_help_panel=_FIELD,
    help="Also draw --field's picture to an SVG (needs matplotlib).")]
Amp = Annotated[Optional[str], typer.Option(
    "--amp", metavar="DTYPE", rich_help_panel=_TRAIN,
    help="Autocast to bf16 or fp16 (low-precision activations, fp32 master weights).")]
BudgetOption = Annotated[Optional[str], typer.Option(
    "--budget", metavar="SIZE", rich_help_panel=_TRAIN,
    help="The largest batch whose training step fits SIZE (e.g. 16GiB), and what "
         "dominates. Implies --train.")]
Measure = Annotated[bool, typer.Option(
    "--measure", rich_help_panel=_TRAIN,
    help="Also run one real step: with --device cuda, its peak of torch.cuda's "
         "max_memory_allocated; on the CPU, the saved-tensor bytes of a real forward. "
         "Implies --train.")]
_DIST = "Several GPUs (--gpus, --strategy)"
Gpus = Annotated[Optional[int], typer.Option(
    "--gpus", metavar="N", rich_help_panel=_DIST,
    help="Per GPU of N data-parallel ranks (--input is one GPU's batch); with --measure, "
         "launch N local processes on torch.distributed. Implies --train.")]
Strategy = Annotated[Optional[str], typer.Option(
    "--strategy", metavar="NAME", rich_help_panel=_DIST,
    help="ddp (default), zero1, zero2, zero3 or fsdp (FSDP2 fully_shard). With --budget "
         "and no --gpus: the fewest GPUs each strategy needs. Implies --train.")]
ShardUnit = Annotated[Optional[str], typer.Option(
    "--shard-unit", metavar="NAME", rich_help_panel=_DIST,
    help="fsdp/zero3: the modules wrapped as units, a class name or a module-name prefix "
         "(comma-separated); default: every top-level block.")]
Checkpoint = Annotated[Optional[str], typer.Option(
    "--checkpoint", metavar="NAME", rich_help_panel=_DIST,
    help="Activation checkpointing on these modules (class name or name prefix): only "
         "their inputs are kept, one block is recomputed at a time. Implies --train.")]
Offload = Annotated[Optional[str], typer.Option(
    "--offload", metavar="WHAT", rich_help_panel=_DIST,
    help="optimizer (zero1-3) or params (zero3, fsdp): moved to host memory, shown "
         "as host bytes.")]
Device = Annotated[str, typer.Option(
    "--device", metavar="DEVICE", rich_help_panel=_TRAIN,
    help="Where --measure runs its step: cpu or cuda.")]
MaxMemory = Annotated[Optional[str], typer.Option(
    "--max-memory", metavar="SIZE",
    help="For a model that must run for real on the CPU (data-dependent forward): refuse "
         "if its tensors would pass this (8GiB, 50%). Default: 75% of the available RAM.")]
Depth = Annotated[Optional[int], typer.Option(
    "--depth", metavar="N", min=0, max=1000,
    help="Rows for the blocks down to depth N (1: the model's children), each with the "
         "params and MACs of everything inside it; deeper calls roll up into them.")]


@app.command()
@funnel
def net(
    input: Annotated[str, typer.Argument(
        metavar="INPUT", help="Input shape of the first layer, e.g. 1x3x32x32.")],
    layers: Annotated[Optional[str], typer.Argument(
        metavar="LAYERS", show_default=False,
        help="torch layer constructors separated by commas or newlines, as in an "
             "nn.Sequential: \"Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)\"; or "
             "what print(model) shows for an nn.Sequential. nn. and torch.nn. prefixes, "
             "comments and arithmetic (64 * 4 * 4) are fine; nothing is executed.")] = None,
    file: Annotated[Optional[str], typer.Option(
        "--file", "-f", metavar="PATH",
        help="Read LAYERS from a text file (e.g. the body of an nn.Sequential); "
             "- reads standard input.")] = None,
    set_: Annotated[Optional[List[str]], typer.Option(
        "--set", metavar="VALUES",
        help="Values for the names the layers use, as tutorial code writes them, "
             "NAME=VALUE separated by commas: --set nz=100,ngf=64 for "
             "ConvTranspose2d(nz, ngf * 8, 4, 1, 0).")] = None,
    train: Train = False,
    optimizer: Optimizer = "adamw",
    rf: Rf = False,
    field: Field = None,
    png: Png = None,
    svg: Svg = None,
    max_params: ci.MaxParams = None,
    max_macs: ci.MaxMacs = None,
    max_activations: ci.MaxActivations = None,
    max_train_memory: ci.MaxTrainMemory = None,
    format: ci.Format = "table",
    junit: ci.Junit = None,
    dtype: Dtype = "float32",
    json: Json = False,
):
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
    fmt = ci.output_format(format, json)
    budgets = ci.limits(max_params, max_macs, max_activations, max_train_memory, junit)
    answer = calc.net(input, layers, file, set_, train or max_train_memory is not None,
                      optimizer, rf, field, png, svg, dtype)
    ci.finish(answer.data, answer.tables, lambda r: ci.markdown(answer.data, r, "net"),
              budgets, fmt, junit, ci.report_properties("net", answer.data))


# ---- summary --------------------------------------------------------------------
@app.command()
@funnel
def summary(
    target: Annotated[str, typer.Argument(
        metavar="MODEL",
        help="FILE.py:NAME (NAME an nn.Module class, a function returning a module, or a "
             "module-level instance such as model = resnet18(); it may be left out when "
             "the file holds one), or package.module:NAME (torchvision.models:resnet50). "
             "The file is RUN, as `python FILE.py` would run it.")],
    input: Annotated[List[str], typer.Option(
        "--input", metavar="SHAPE",
        help="What forward() receives, e.g. 1x3x224x224. Repeat it for more arguments; "
             "NAME= before the shape makes a keyword argument and :DTYPE after it another "
             "dtype: --input ids=1x8:int64 --input mask=1x8:bool.")],
    args: Annotated[Optional[str], typer.Option(
        "--args", metavar="LITERAL",
        help="Constructor arguments as a Python literal: a tuple is positional, a dict "
             "keyword, anything else one argument: --args \"{ 'num_classes': 10 }\".")] = None,
    depth: Depth = None,
    rf: Rf = False,
    field: Field = None,
    png: Png = None,
    svg: Svg = None,
    train: Train = False,
    freeze: Freeze = None,
    unfreeze: Unfreeze = None,
    optimizer: Optimizer = "adamw",
    amp: Amp = None,
    budget: BudgetOption = None,
    measure: Measure = False,
    device: Device = "cpu",
    gpus: Gpus = None,
    strategy: Strategy = None,
    shard_unit: ShardUnit = None,
    checkpoint: Checkpoint = None,
    offload: Offload = None,
    max_memory: MaxMemory = None,
    max_params: ci.MaxParams = None, max_macs: ci.MaxMacs = None, junit: ci.Junit = None,
    max_activations: ci.MaxActivations = None, max_train_memory: ci.MaxTrainMemory = None,
    format: ci.Format = "table", dtype: Dtype = "float32", json: Json = False,
):
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
    from convcli.calculator.costs import canonical_dtype
    from convcli.calculator.parse import parse_bytes
    from convcli.engine.summary.inputs import parse_inputs
    from convcli.engine.summary.isolation import user_code
    from convcli.engine.summary.loading import parse_args
    from convcli.engine.summary.freeze import frozen_source
    from convcli.engine.summary.sources import resolve
    from convcli.engine.summary.trace import Options, summarise_source
    fmt, budgets = ci.prepare(format, json, junit, max_params, max_macs, max_activations,
                              max_train_memory)
    dtype = canonical_dtype(dtype)
    specs = parse_inputs(input)
    pos, kw = parse_args(args)
    dist = dist_options(gpus, strategy, shard_unit, checkpoint, offload, measure)
    train = train or dist is not None or max_train_memory is not None
    options = Options(depth=depth, max_memory=None if max_memory is None
                      else parse_bytes(max_memory),
                      train=train_options(train or budget is not None or measure, optimizer,
                                          amp, dtype, budget, measure, device),
                      fields=bool(rf or field or png or svg))
    if options.train is not None and dist is not None:
        options.train.dist, options.train.source = dist, (target, args)
    with user_code():  # the user's prints, even to file descriptor 1, go to stderr
        source = frozen_source(resolve(target, pos, kw), freeze or [], unfreeze or [])
        report = summarise_source(source, specs, options)
    report = calc.with_picture(report, field, png, svg)
    ci.end_summary(report, dtype, budgets, fmt, junit)


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
                  budget: str | None, measure: bool, device: str):
    """--train's options, checked; None without --train."""
    from convcli.calculator.parse import parse_bytes
    from convcli.network.training import check_optimizer
    check_optimizer(optimizer)
    if amp is not None and amp not in ("bf16", "fp16", "bfloat16", "float16"):
        raise ConvError(f"--amp {amp!r}: use bf16 or fp16")
    if device not in ("cpu", "cuda"):
        raise ConvError(f"--device {device!r}: use cpu or cuda")
    if not on:
        return None
    from convcli.engine.summary.train_memory import TrainOptions
    limit: int | None = None
    if budget is not None:
        parsed = parse_bytes(budget, "--budget")
        if isinstance(parsed, float):
            raise ConvError(f"--budget {budget!r}: give a size such as 16GiB (a share of "
                            "the free memory means nothing for another machine)")
        limit = parsed
    return TrainOptions(optimizer, amp, dtype, limit, measure, device)

