"""engine/summary/strategies.py: `summary --train --gpus/--strategy`'s shard units,
checkpointed modules and per-rank estimate: module selection by class or name
(containers stand for their items, the outermost match wins), each parameter's
optimizer state as torch's AdamW allocates it, and rank bytes as torch.chunk splits
the parameters."""

from __future__ import annotations

import math

import pytest

from convcli.engine.summary.optim import state_by_param
from convcli.engine.summary.strategies import param_infos, select_modules, unit_of
from convcli.errors import ConvError

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.qkv = nn.Linear(n, 3 * n)
        self.mlp = nn.Sequential(nn.Linear(n, 2 * n), nn.GELU(), nn.Linear(2 * n, n))

    def forward(self, x):
        return x + self.mlp(self.qkv(x)[..., :x.shape[-1]])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 6)
        self.blocks = nn.ModuleList([Block(6), Block(6)])
        self.act = nn.ReLU()
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        x = self.embed(x)
        for b in self.blocks:
            x = b(x)
        return self.head(self.act(x))


def test_default_units_are_the_top_level_blocks_with_parameters():
    assert select_modules(Net(), None, "--shard-unit") == ["embed", "blocks.0", "blocks.1",
                                                           "head"]


def test_a_container_stands_for_its_items_and_the_outermost_match_wins():
    assert select_modules(Net(), "blocks", "--shard-unit") == ["blocks.0", "blocks.1"]
    assert select_modules(Net(), "Block", "--shard-unit") == ["blocks.0", "blocks.1"]
    assert select_modules(Net(), "Sequential", "--checkpoint") == ["blocks.0.mlp",
                                                                   "blocks.1.mlp"]
    assert select_modules(Net(), "blocks.1, head", "--checkpoint") == ["blocks.1", "head"]
    assert select_modules(Net(), "Linear", "--shard-unit")[:2] == ["embed", "blocks.0.qkv"]
    assert "blocks.0.mlp.0" in select_modules(Net(), "Linear", "--shard-unit")


def test_a_name_prefix_is_from_the_root():
    with pytest.raises(ConvError):
        select_modules(Net(), "mlp", "--checkpoint")     # blocks.0.mlp: use its class


def test_a_pattern_matching_nothing_lists_classes_and_names():
    with pytest.raises(ConvError) as e:
        select_modules(Net(), "Conv2d", "--checkpoint")
    text = str(e.value)
    assert text.startswith("--checkpoint 'Conv2d' matches no module; its classes include ")
    assert "Block" in text and "its top-level names embed, blocks, act, head" in text


def test_unit_of_is_the_innermost_owner():
    units = ["blocks.0", "blocks.0.mlp", "head"]
    assert unit_of("blocks.0.mlp.0.weight", units) == "blocks.0.mlp"
    assert unit_of("blocks.0.qkv.bias", units) == "blocks.0"
    assert unit_of("embed.weight", units) == ""          # the root's
    assert unit_of("headx.weight", units) == ""


def test_param_infos_carry_torchs_adamw_state_and_none_for_frozen():
    model = Net()
    model.embed.requires_grad_(False)
    units = select_modules(model, "blocks", "--shard-unit")
    state = state_by_param(Net(), "adamw", fake=True)          # a real AdamW step
    infos = param_infos(model, units, state, "adamw")
    by = {i.name: i for i in infos}
    assert [i.name for i in infos] == [n for n, _ in model.named_parameters()]
    assert by["embed.weight"].state == 0 and not by["embed.weight"].trainable
    w = model.blocks[1].mlp[2].weight
    assert by["blocks.1.mlp.2.weight"].state == 2 * w.numel() * 4 + 4   # exp_avg(_sq), step
    assert by["blocks.1.mlp.2.weight"].state_fixed == 4
    assert by["blocks.1.mlp.2.weight"].unit == "blocks.1"
    assert by["head.bias"].unit == "" and by["head.bias"].nbytes == 3 * 4
    for name in ("blocks.0.qkv.weight", "head.bias", "head.weight"):
        p = model.get_parameter(name)
        info = by[name]
        for world in (2, 4, 5):   # each rank's piece is torch.chunk's (none past its pieces)
            pieces = torch.chunk(p, world, dim=0)
            assert [info.local_numel(world, r) for r in range(world)] == \
                [pieces[r].numel() if r < len(pieces) else 0 for r in range(world)]
            assert info.padded_numel(world) == pieces[0].numel() == \
                math.ceil(p.shape[0] / world) * p[0].numel()
