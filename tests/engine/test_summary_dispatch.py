"""engine/summary/dispatch.py: one counted forward. The total and each call's own MACs
are FlopCounterMode / 2 on a real forward (MultiheadAttention's fast path off), calls
are recorded in the order their forward() started with depth, parent and shapes,
shared modules get numbered calls, and the hooks and the mode are gone afterwards
however the forward ends."""

from __future__ import annotations

import pytest

from convcli.engine.summary.dispatch import (Recorder, counted_forward, first_shape,
                                             first_tensor, no_mha_fastpath, tensors)

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.mix = nn.Parameter(torch.randn(4, 4))

    def forward(self, x):
        y = self.conv(x)
        seq = y.flatten(2).transpose(1, 2)
        a, _ = self.attn(seq, seq, seq)
        return y + a.transpose(1, 2).reshape(y.shape) + torch.einsum("bchw,cd->bdhw", y, self.mix)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = Block()
        self.head = nn.Linear(4, 5)

    def forward(self, x):
        x = self.block(self.block(self.stem(x)))        # the block runs twice
        return self.head(x.mean((2, 3)))


def torch_macs(fn) -> int:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    fc = FlopCounterMode(display=False)
    with no_mha_fastpath(), sdpa_kernel(SDPBackend.MATH), torch.no_grad(), fc:
        fn()
    return fc.get_total_flops() // 2


@pytest.fixture(scope="module")
def run():
    torch.manual_seed(0)
    model = Net().eval()
    x = torch.randn(2, 3, 6, 6)
    rec = Recorder(model)
    out = counted_forward(model, (x,), {}, rec)
    return model, x, rec, out


def test_the_total_is_flop_counter_mode_over_two(run):
    model, x, rec, out = run
    assert rec.total == torch_macs(lambda: model(x)) > 0
    assert sum(rec.by_op.values()) == rec.total
    assert sum(c.own_macs for c in rec.calls) == rec.total
    assert torch.equal(out, model(x))                 # the forward's own result


def test_each_leaf_calls_macs_are_torchs_on_that_module(run):
    model, x, rec, _ = run
    stem = next(c for c in rec.calls if c.qual == "stem")
    assert stem.own_macs == torch_macs(lambda: model.stem(x))
    head = next(c for c in rec.calls if c.qual == "head")
    assert head.own_macs == torch_macs(lambda: model.head(torch.zeros(head.input_shape)))
    assert stem.convs and stem.convs[0]["stride"] in ([1, 1], (1, 1))


def test_calls_in_order_with_depth_parent_shapes_and_numbers(run):
    _, _, rec, _ = run
    names = [c.name for c in rec.calls]
    assert names == ["", "stem", "block", "block.conv", "block.attn", "block (call 2)",
                     "block.conv (call 2)", "block.attn (call 2)", "head"]
    root = rec.calls[0]
    assert root.depth == 0 and root.parent is None and root.input_shape == (2, 3, 6, 6)
    assert root.output_shape == (2, 5)
    second = rec.calls[5]
    assert second.depth == 1 and second.parent == 0 and second.children == [6, 7]
    block = rec.calls[2]
    mix = torch_macs(lambda: torch.einsum("bchw,cd->bdhw", torch.zeros(2, 4, 6, 6),
                                          torch.zeros(4, 4)))
    assert block.own_macs == rec.calls[5].own_macs == mix > 0   # its own einsum only


def test_hooks_and_mode_are_removed_even_when_forward_raises():
    class Bad(nn.Module):
        def forward(self, x):
            raise ValueError("no")

    rec = Recorder(Bad())
    with pytest.raises(ValueError):
        counted_forward(Bad(), (torch.zeros(1),), {}, rec)
    before = len(rec.calls)
    nn.Linear(2, 2)(torch.zeros(1, 2))         # no hook records this any more
    assert len(rec.calls) == before
    from torch.utils._python_dispatch import _get_current_dispatch_mode
    assert _get_current_dispatch_mode() is None


def test_the_fast_path_switch_is_restored():
    old = torch.backends.mha.get_fastpath_enabled()
    with no_mha_fastpath():
        assert torch.backends.mha.get_fastpath_enabled() is False
    assert torch.backends.mha.get_fastpath_enabled() is old


def test_check_conv_sees_each_conv_and_may_raise():
    seen = []
    model = nn.Sequential(nn.Conv1d(1, 2, 3, stride=2), nn.Conv1d(2, 2, 1))
    rec = Recorder(model, check_conv=lambda g, call: seen.append((call.qual, g["stride"])))
    counted_forward(model, (torch.zeros(1, 1, 9),), {}, rec)
    assert [q for q, _ in seen] == ["0", "1"]
    assert list(seen[0][1]) == [2]


def test_tensors_and_first_shape_walk_containers():
    a, b = torch.zeros(2, 3), torch.zeros(4)
    assert [t.shape for t in tensors({"x": [a, (b,)], "n": 3})] == [(2, 3), (4,)]
    assert first_shape([1, {"k": b}, a]) == (2, 3)
    assert first_shape([1, [{"k": b}]]) == (4,)
    assert first_shape("text") is None
    assert first_tensor({"a": None, "b": [b]}) is b
    assert first_tensor(3) is None
