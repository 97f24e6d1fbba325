"""Recurrent layers against torch: MACs in closed form against FlopCounterMode / 2
(oneDNN off, the suite's reference) per module, with an op count that does not grow
with the sequence; oneDNN's LSTM workspace rule against the real op over a grid of
sizes; --train's saved bytes against saved_tensors_hooks on a real CPU forward and
against the heap a real forward keeps (glibc's mallinfo2); --budget against real
passes at the answer and the next batch."""

import contextlib
import ctypes
import gc
import random
import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import convcli  # noqa: E402
import recurrent_models as rm  # noqa: E402
from convcli.engine.summary.recurrent import onednn_lstm_workspace  # noqa: E402
from conftest import sample  # noqa: E402
from torch_truth import check_budget_against_real_steps, zoo_saved_bytes  # noqa: E402



def flop_counter(model, x):
    """(total, per module) by FlopCounterMode / 2 with oneDNN off (per-step kernels)."""
    fc = FlopCounterMode(display=False)
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.no_grad())
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        stack.enter_context(torch.backends.mkldnn.flags(enabled=False))
        stack.enter_context(fc)
        model(x)
    root = type(model).__name__
    per = {k[len(root) + 1:]: sum(v.values()) // 2 for k, v in fc.get_flop_counts().items()
           if k.startswith(root + ".")}
    return fc.get_total_flops() // 2, per


@pytest.mark.parametrize("name", sorted(rm.RECURRENT))
def test_macs_equal_flop_counter_per_module(name):
    build, shape = rm.RECURRENT[name]
    torch.manual_seed(0)
    model = build().eval()
    x = torch.zeros(3, *shape)
    total, per = flop_counter(model, x)
    report = convcli.summarise(model, x.shape, depth=100)
    assert report.total_macs == total > 0 and report.macs_complete, report.notes
    mine = {r.name: r.macs for r in report.rows if not r.own and r.depth > 0}
    for qual, macs in per.items():
        assert mine.get(qual) == macs, (qual, mine.get(qual), macs)


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
def test_time_does_not_grow_per_step(cell):
    """Unbatched, bidirectional, 2 layers: the same rows and ops at 8 and 4,096 steps,
    and the MACs scale exactly with the steps (on meta: one stand-in call per layer
    stack, not a few ops per step)."""
    model = cell(16, 32, num_layers=2, bidirectional=True)
    short = convcli.summarise(model, (8, 16))
    long = convcli.summarise(model, (4096, 16))
    assert short.path == long.path == "meta"
    assert long.total_macs == 512 * short.total_macs
    assert [r.ops for r in long.rows] == [{k: 512 * v for k, v in r.ops.items()}
                                          for r in short.rows]
    assert set(long.rows[0].ops) == {cell.__name__.lower().replace("rnn", "rnn_tanh")}


def test_unbatched_and_hidden_state_given():
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(8, 16, proj_size=4)

        def forward(self, x, h, c):
            out, (h, c) = self.rnn(x, (h, c))
            return out, h, c

    model = WithState()
    args = (torch.zeros(30, 8), torch.zeros(1, 4), torch.zeros(1, 16))
    report = convcli.summarise(model, [a.shape for a in args])
    assert report.total_macs == flop_counter_args(model, args)
    assert report.output_shape == (30, 4)


def flop_counter_args(model, args):
    fc = FlopCounterMode(display=False)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False), fc:
        model(*args)
    return fc.get_total_flops() // 2


def test_wrong_input_size_is_torch_s_message():
    r = pytest.raises(convcli.ConvError, convcli.summarise, nn.GRU(8, 16), (5, 2, 9))
    assert "input.size(-1) must be equal to input_size" in str(r.value)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs oneDNN")
def test_onednn_workspace_rule_matches_the_real_op():
    rng = random.Random(0)
    cases = [(12, 2, 32, 64), (100, 8, 128, 256), (1, 1, 1, 1), (7, 3, 300, 200)]
    cases += [(rng.choice([1, 2, 5, 17, 64]), rng.choice([1, 3, 8, 33]),
               rng.choice([1, 16, 63, 100, 256, 300]), rng.choice([1, 16, 63, 100, 256]))
              for _ in range(30)]
    for t, n, i, h in cases:
        z = torch.zeros
        out = torch.ops.aten.mkldnn_rnn_layer(
            z(t, n, i), z(4 * h, i), z(4 * h, h), z(4 * h), z(4 * h), z(n, h), z(n, h),
            False, [], 2, h, 1, True, False, False, True)
        assert out[3].numel() == onednn_lstm_workspace(t, n, i, h), (t, n, i, h)


@pytest.mark.parametrize("name", sample(sorted(rm.RECURRENT)))   # rule 3: a zoo
def test_saved_bytes_within_5_percent_of_the_hooks(train_json, name):
    t = train_json(rm.RECURRENT, name, 4)["train"]
    real = zoo_saved_bytes(rm.RECURRENT, name, 4)
    assert abs(t["activation_bytes"] - real) <= 0.05 * real, (t["activation_bytes"], real)
    assert t["method"] == ("cpu-real" if "packed" in name else "fake-cpu")


def _heap() -> int:
    class Mallinfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
            "keepcost").split()]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Mallinfo2
    info = libc.mallinfo2()
    return info.hblkhd + info.uordblks


def _has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _has_mallinfo2(), reason="needs glibc >= 2.33 (mallinfo2)")
@pytest.mark.parametrize("name", sample(["lstm1", "lstm3_bi"]))
def test_estimate_is_the_heap_a_real_forward_keeps(train_json, name):
    """The process's own count: the bytes malloc holds after a real training forward
    (graph alive) less before it, against the estimate (plus the output, which the
    step keeps too); oneDNN's workspace is most of it."""
    batch = 16
    t = train_json(rm.RECURRENT, name, batch)["train"]
    build, shape = rm.RECURRENT[name]
    torch.manual_seed(0)
    model = build().train()
    x = torch.randn(batch, *shape)
    model(x)                  # oneDNN's primitives and caches made once, outside
    gc.collect()              # the measure
    before = _heap()
    out = model(x)
    kept = _heap() - before
    del out
    assert abs(t["activation_bytes"] - kept) <= 0.05 * kept, (t["activation_bytes"], kept)


def test_budget_is_the_largest_batch_a_real_step_fits(train_json):
    t = train_json(rm.RECURRENT, "lstm2", 2, "--budget", "64MiB")["train"]
    check_budget_against_real_steps(t, rm.RECURRENT, "lstm2", 64 * 2 ** 20)
