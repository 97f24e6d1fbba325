"""engine/summary/modules.py: a torch module read back as the LayerCall of the network
rule for exactly its class (a subclass, a lazy module or a class without a rule gets
none), and the short text of a row; the LayerCall's rule gives torch's output shape."""

from __future__ import annotations

import pytest

from convcli.calculator.spec import ConvSpec
from convcli.engine.summary.modules import call_of, short_repr

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


@pytest.mark.parametrize("module,shape", [
    (nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), (1, 3, 9, 9)),
    (nn.MaxPool2d(3, stride=2, ceil_mode=True), (1, 3, 10, 10)),
    (nn.BatchNorm1d(5, affine=False), (2, 5, 7)),
    (nn.Linear(6, 4, bias=False), (3, 6)),
    (nn.PReLU(3), (1, 3, 4)),
    (nn.Upsample(scale_factor=2, mode="nearest"), (1, 2, 3, 3)),
])
def test_the_call_rebuilds_the_layer_and_its_shape_is_torchs(module, shape):
    from convcli.network.walk import analyse_net
    call = call_of(module)
    assert call is not None and call.name == type(module).__name__
    report = analyse_net(shape, [call])
    assert tuple(report.output_shape) == tuple(module(torch.zeros(shape)).shape)
    assert report.total_params == sum(p.numel() for p in module.parameters())


def test_bias_is_read_as_whether_it_was_built():
    assert dict(call_of(nn.Linear(2, 2, bias=False)).kwargs)["bias"] is False
    assert dict(call_of(nn.Conv1d(1, 1, 1)).kwargs)["bias"] is True


def test_subclasses_lazy_modules_and_unknown_classes_get_no_call():
    class MyConv(nn.Conv2d):
        pass
    assert call_of(MyConv(1, 1, 1)) is None
    assert call_of(nn.LazyConv2d(4, 3)) is None
    assert call_of(nn.MultiheadAttention(8, 2)) is None


def test_short_repr():
    spec = ConvSpec(2, 3, 8, 3, padding=1)
    assert short_repr(nn.Conv2d(3, 8, 3, padding=1), spec) == "Conv2d(3, 8, 3, padding=1)"
    assert short_repr(nn.MaxPool2d(2)) == "MaxPool2d(2)"
    assert short_repr(nn.ReLU()) == "ReLU()"
    long = short_repr(nn.MultiheadAttention(512, 8, dropout=0.1, kdim=256, vdim=256))
    assert len(long) <= 60 and long.endswith("...")


def test_a_repr_that_fails_gives_the_class_name():
    class Broken(nn.Module):
        def extra_repr(self):
            raise RuntimeError("no repr")
    assert short_repr(Broken()) == "Broken(...)"
