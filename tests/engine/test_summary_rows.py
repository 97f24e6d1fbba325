"""engine/summary/rows.py: a recorded forward -> the table's rows. Without depth the
rows partition the model: their params and MACs add up to torch's (sum of numel over
the parameters an op read; FlopCounterMode / 2); parameters of a module never called
go to the nearest called ancestor (MultiheadAttention's out_proj), unread ones to no
row; with depth, a block's row rolls up everything inside it."""

from __future__ import annotations

import pytest

from convcli.engine.summary.dispatch import Recorder, counted_forward, no_mha_fastpath
from convcli.engine.summary.rows import RowBuilder, assign_params, conv_spec, leaf_row

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(8, 8, 3, padding=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.scale = nn.Parameter(torch.ones(8, 8))       # read by the block's own code

    def forward(self, x):
        y = self.conv(x).transpose(1, 2)
        a, _ = self.attn(y, y, y)
        return (a @ self.scale).transpose(1, 2)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.spare = nn.Linear(4, 4)                      # never called, never read
        self.head = nn.Conv1d(8, 2, 1)
        self.head.requires_grad_(False)

    def forward(self, x):
        return self.head(self.block(x))


def torch_macs(fn) -> int:
    fc = FlopCounterMode(display=False)
    with fc, no_mha_fastpath(), torch.no_grad():
        fn()
    return fc.get_total_flops() // 2


@pytest.fixture(scope="module")
def recorded():
    torch.manual_seed(0)
    model = Net().eval()
    names = {id(p): n for n, p in model.named_parameters()}
    rec = Recorder(model, param_ids=names)
    x = torch.randn(2, 8, 5)
    counted_forward(model, (x,), {}, rec)
    used = {names[i] for i in rec.used}
    return model, x, rec, used


def test_leaf_rows_partition_params_and_macs(recorded):
    model, x, rec, used = recorded
    params = assign_params(model, rec.calls, used)
    rows = RowBuilder(rec, params, None).build()
    assert [r.index for r in rows] == list(range(1, len(rows) + 1))
    assert [r.name for r in rows] == ["block.conv", "block.attn", "block", "head"]
    assert [r.own for r in rows] == [False, False, True, False]
    total = sum(p.numel() for p in model.parameters())
    spare = sum(p.numel() for p in model.spare.parameters())
    assert params.total == total
    assert params.unused == {"spare": spare}
    assert sum(r.params for r in rows) == total - spare
    assert sum(r.macs for r in rows) == rec.total == torch_macs(lambda: model(x))
    attn = next(r for r in rows if r.name == "block.attn")
    # out_proj is never called: its parameters are the attention's
    assert attn.params == sum(p.numel() for p in model.block.attn.parameters())
    own = next(r for r in rows if r.own)
    assert own.params == 64 and own.macs == torch_macs(
        lambda: torch.zeros(2, 5, 8) @ model.block.scale)
    head = next(r for r in rows if r.name == "head")
    assert head.frozen_params == head.params == 8 * 2 + 2
    assert params.frozen == 18


def test_depth_one_rolls_the_block_up(recorded):
    model, x, rec, used = recorded
    rows = RowBuilder(rec, assign_params(model, rec.calls, used), 1).build()
    block = next(r for r in rows if r.name == "block")
    assert block.container and not block.expanded
    assert block.macs == torch_macs(lambda: model.block(x))
    assert block.params == sum(p.numel() for p in model.block.parameters())
    assert [r.name for r in rows] == ["block", "head"]


def test_depth_zero_shows_the_model_and_expands_it(recorded):
    model, x, rec, used = recorded
    rows = RowBuilder(rec, assign_params(model, rec.calls, used), 0).build()
    assert rows[0].container and rows[0].depth == 0
    assert rows[0].macs == torch_macs(lambda: model(x))


def test_without_used_every_parameter_counts():
    model = Net()
    rec = Recorder(model)
    counted_forward(model, (torch.zeros(1, 8, 3),), {}, rec)
    params = assign_params(model, rec.calls, None)
    # spare was never called and has no called ancestor but the model itself
    assert params.unused == {}
    assert sum(n for n, _ in params.by_call.values()) == params.total


def test_a_leaf_row_carries_its_geometry_and_conv():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1))
    rec = Recorder(model)
    counted_forward(model, (torch.zeros(1, 3, 8, 8),), {}, rec)
    call = next(c for c in rec.calls if c.qual == "0")
    row = leaf_row(call, assign_params(model, rec.calls, None))
    assert row.layer == "Conv2d(3, 4, 3, stride=2, padding=1)"
    assert row.output_shape == (1, 4, 4, 4) == tuple(model(torch.zeros(1, 3, 8, 8)).shape)
    assert row.conv is not None and row.conv.num_params == 3 * 4 * 9 + 4
    assert row.geometry == row.conv.geometry()
    assert list(row.geometry["stride"]) == [2, 2]


def test_conv_spec_of_a_rejected_op_is_none():
    g = {"dims": 1, "in_channels": 4, "out_channels": 4, "kernel_size": (3,), "stride": (1,),
         "padding": (0,), "dilation": (1,), "groups": 3, "bias": True, "transposed": False,
         "output_padding": (0,), "input_shape": (1, 4, 5)}
    assert conv_spec(g) is None                          # 4 channels in 3 groups
    assert conv_spec({**g, "groups": 2}).groups == 2
