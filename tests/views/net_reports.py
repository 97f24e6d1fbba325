"""`net`'s reports built as the command builds them (the walk, --train's rules, --rf's
fields, --field's picture), and the same layers as a torch nn.Sequential, for the
views' tests."""

from __future__ import annotations

from dataclasses import replace


def net_report(layers: list[str], shape, train: bool = False, field: str | None = None,
               optimizer: str = "adamw", dtype: str = "float32"):
    import convcli
    from convcli.calculator.costs import dtype_size
    from convcli.cli.calculator_commands import with_picture
    from convcli.network.field_walk import net_fields
    from convcli.network.rules import build_layer
    from convcli.network.text import parse_layers
    from convcli.network.train_rules import net_training

    text = ", ".join(layers)
    report = convcli.analyse_net(shape, text)
    built = [build_layer(c) for c in parse_layers(text, "text", {})]
    if train:
        report, _ = net_training(report, built, dtype_size(dtype), optimizer, dtype)
    if field is not None:
        report, notes = net_fields(report, built)
        report = with_picture(replace(report, notes=list(report.notes) + notes), field,
                              None, None)
    return report


def torch_model(layers: list[str], seed: int = 0):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    return nn.Sequential(*[eval(f"nn.{text}", {"nn": nn}) for text in layers])


def dist_report(gpus, strategy, budget=None, model: str = "cnn", checkpoint=None,
                offload=None):
    """`summary --train --gpus/--strategy` on tests/engine/dist_models.py, in-process
    (no --measure: nothing launched); its report and the model torch builds."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    import dist_models as dm
    from convcli.cli.net_summary_commands import dist_options, train_options
    from convcli.engine.summary.inputs import parse_inputs
    from convcli.engine.summary.model_sources import resolve
    from convcli.engine.summary.trace import Options, summarise_source

    target, shape = dm.DIST_MODELS[model]
    where = f"{dm.__file__}:{target}"
    topts = train_options(True, "adamw", None, "float32", budget, False, "cpu")
    topts.dist = dist_options(gpus, strategy, None, checkpoint, offload, False)
    topts.source = (where, None)
    report = summarise_source(resolve(where, [], {}),
                              parse_inputs(["x".join(map(str, (4, *shape)))]),
                              Options(train=topts))
    return report, getattr(dm, target)(), (4, *shape)
