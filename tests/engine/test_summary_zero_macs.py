"""macs_complete without false alarms: every elementwise op torch tags pointwise (and
its in-place twin), every activation module of torch.nn, and the activations torch
leaves untagged (hardswish, mish_, LogSigmoid, PReLU, RReLU, GLU) go through
`summary` as work that does no multiply-accumulate; ops that do MACs without a formula
still make it false."""

import functools
import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402

import convcli  # noqa: E402
from conftest import examples  # noqa: E402

X = (2, 4, 6, 6)


@functools.lru_cache(maxsize=None)
def pointwise_calls():
    """(name, overload, arguments) of every aten op tagged pointwise that accepts one
    of a few generic argument lists on float tensors (probed on the CPU, once, when a
    test first asks: not while the file is collected; every tenth name of aten's in the
    fast loop, tests/conftest.py rule 3)."""
    pointwise = torch.Tag.pointwise
    calls = []
    x = torch.rand(X) + 0.5
    tries = [lambda: (x.clone(),), lambda: (x.clone(), x.clone()),
             lambda: (x.clone(), 0.5), lambda: (x.clone(), x.clone(), x.clone()),
             lambda: (x.clone(), x.clone(), 0.5)]
    names = sorted(dir(torch.ops.aten))
    for name in names[::len(names) // examples(len(names))]:   # a tenth in the fast loop
        packet = getattr(torch.ops.aten, name, None)
        if not hasattr(packet, "overloads"):
            continue
        for overload in packet.overloads():
            op = getattr(packet, overload)
            if pointwise not in op.tags:
                continue
            for make in tries:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        op(*make())
                except Exception:  # noqa: BLE001 - not this argument list
                    continue
                calls.append((name, overload, make))
                break
    return calls



class Pointwise(nn.Module):
    def forward(self, x):
        for name, overload, make in pointwise_calls():
            args = make()
            args = tuple(x.clone() if isinstance(a, torch.Tensor) else a for a in args)
            getattr(getattr(torch.ops.aten, name), overload)(*args)
        return x


def test_every_pointwise_op_torch_tags_counts_zero_without_an_alarm():
    # the probe found most of them (a tenth of the names is probed in the fast loop)
    assert len({name for name, _, _ in pointwise_calls()}) > examples(150, fast=12)
    for path in ("meta", "cpu"):
        model = Pointwise()
        x = torch.rand(X) + 0.5 if path == "cpu" else X
        report = convcli.summarise(model, x)
        assert report.macs_complete and not report.uncounted_ops, report.uncounted_ops
        assert report.total_macs == 0


def _activations():
    out = []
    for name in nn.modules.activation.__all__:
        cls = getattr(nn, name)
        if name == "MultiheadAttention":
            continue
        for make in (lambda: cls(), lambda: cls(0.1, 0.0), lambda: cls(dim=1)):
            try:
                out.append((name, make()))
                break
            except TypeError:
                continue
        for inplace in (True,):
            try:
                out.append((name + "(inplace)", cls(inplace=inplace)))
            except TypeError:
                pass
    return out


ACTIVATIONS = _activations()


@pytest.mark.parametrize("name,module", ACTIVATIONS, ids=[n for n, _ in ACTIVATIONS])
@pytest.mark.parametrize("training", [False, True])
def test_every_activation_module_is_known_to_do_no_macs(name, module, training):
    net = nn.Sequential(nn.Conv2d(4, 4, 1), module)
    net.train(training)
    report = convcli.summarise(net, X)
    assert report.macs_complete, (name, report.uncounted_ops)
    assert report.total_macs == 2 * 4 * 4 * 6 * 6
    assert not any("lower bound" in n for n in report.notes)


def test_all_activation_modules_are_covered():
    names = {n.split("(")[0] for n, _ in ACTIVATIONS}
    assert names == set(nn.modules.activation.__all__) - {"MultiheadAttention"}


def test_hardswish_blocks_a_mobilenet_v3_style_block():
    """A MobileNetV3 inverted residual (hardswish, hardsigmoid squeeze-excite): exact,
    complete, no lower-bound note, on meta and on the CPU path."""
    class SE(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)

        def forward(self, x):
            s = nn.functional.adaptive_avg_pool2d(x, 1)
            return x * nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(s))))

    block = nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.BatchNorm2d(64),
                          nn.Hardswish(inplace=True),
                          nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False),
                          nn.BatchNorm2d(64), nn.Hardswish(), SE(64),
                          nn.Conv2d(64, 16, 1, bias=False))
    report = convcli.summarise(block, (1, 16, 8, 8))
    assert report.macs_complete and not report.uncounted_ops
    assert not any("lower bound" in n for n in report.notes)
    assert report.total_macs == 8 * 8 * 64 * (16 + 9 + 16) + 2 * 64 * 16   # SE at 1x1


def test_work_without_a_formula_still_says_so():
    class FFT(nn.Module):
        def forward(self, x):
            return torch.fft.rfft(x).abs()

    report = convcli.summarise(FFT(), (2, 64))
    assert not report.macs_complete and "_fft_r2c" in report.uncounted_ops
