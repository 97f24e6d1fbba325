"""engine/verify/exact.py: verify's exact checks. The calculator check agrees with a
real CPU forward on valid and invalid layers and reports the first fact that differs;
the separable check's facts hold for torch's modules; record_exact keeps the most
basic disagreement."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcli.calculator.random_cases import Case
from convcli.calculator.spec import ConvSpec
from convcli.engine.verify.exact import ExactChecks, record_exact
from convcli.engine.verify.verify_results import CheckResult, Conf

torch = pytest.importorskip("torch")


class Data:
    def tensor(self, shape):
        return torch.randn(shape, generator=torch.Generator().manual_seed(0))


class Exact(ExactChecks):
    def __init__(self):
        self.torch, self.tdtype, self.device, self.data = torch, torch.float32, "cpu", Data()


def args(**kw):
    base = {"dims": 2, "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 1,
            "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros",
            "transposed": False, "output_padding": 0}
    return {**base, **kw}


@pytest.mark.parametrize("case", [
    Case(args(), (1, 4, 8, 8)),
    Case(args(groups=2, stride=2, padding=1), (2, 4, 9, 7)),
    Case(args(transposed=True, stride=2, output_padding=1), (1, 4, 5, 5)),
    Case(args(dims=1, kernel_size=5, dilation=2, padding="same"), (1, 4, 11)),
])
def test_valid_layers_agree_with_torch(case):
    res = CheckResult("calculator", "calculator", "exact")
    assert Exact().calculator(res, case) is True
    assert res.failures == 0 and res.worst is None


@pytest.mark.parametrize("case", [
    Case(args(groups=4, out_channels=6), (1, 4, 8, 8)),         # 6 not divisible by 4
    Case(args(kernel_size=9), (1, 4, 8, 8)),                    # kernel past the input
    Case(args(transposed=True, kernel_size=1, padding=1), (1, 4, 2, 2)),   # output 0
])
def test_invalid_layers_are_refused_by_both(case):
    from convcli.engine.torch_adapter import module_from_args
    with pytest.raises((RuntimeError, ValueError)):           # torch refuses it
        module_from_args(case.args)(torch.zeros(case.input_shape))
    res = CheckResult("calculator", "calculator", "exact")
    assert Exact().calculator(res, case) is True and res.failures == 0


def test_the_transposed_zero_size_quirk():
    spec = ConvSpec(2, 2, 2, 1, padding=1, transposed=True)
    # a backend that answers an empty tensor for an exactly-0 size agrees with ConvSpec
    assert ExactChecks._zero_size_quirk(spec, (1, 2, 2, 2), (1, 2, 0, 0)) is True
    assert ExactChecks._zero_size_quirk(spec, (1, 2, 2, 2), (1, 2, 0, 1)) is False
    assert ExactChecks._zero_size_quirk(ConvSpec(2, 2, 2, 1), (1, 2, 2, 2),
                                        (1, 2, 0, 0)) is False


def test_the_separable_block_facts_hold_for_torchs_modules():
    res = CheckResult("separable", "separable", "exact")
    spec = ConvSpec(2, 8, 16, 3, padding=1, bias=False)
    assert Exact().separable(res, Conf(spec, (1, 8, 10, 10))) is True
    assert res.failures == 0
    dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
    pw = torch.nn.Conv2d(8, 16, 1, bias=False)
    std = torch.nn.Conv2d(8, 16, 3, padding=1, bias=False)
    n = sum(p.numel() for m in (dw, pw) for p in m.parameters())
    assert Fraction(n, sum(p.numel() for p in std.parameters())) == \
        Fraction(1, 16) + Fraction(1, 9)


def test_record_exact_reports_the_first_differing_fact_with_the_others():
    res = CheckResult("calculator", "calculator", "exact")
    ok = record_exact(res, "Conv2d(...) on 1x4x8x8", [
        ("output shape", (1, 6, 6, 6), (1, 6, 6, 6)),
        ("params", 222, 220),
        ("MACs", Fraction(3, 2), Fraction(1, 2))])
    assert ok is False and res.failures == 1
    w = res.worst
    assert (w.where, w.expected, w.got, w.error) == ("params", "222", "220", 2.0)
    assert w.message == "params: calculator says 222, torch gives 220 (also differs: MACs)"
    shape = CheckResult("calculator", "calculator", "exact")
    record_exact(shape, "x", [("output shape", (1, 6, 6, 6), (1, 6, 5, 6))])
    assert shape.worst.expected == "1x6x6x6" and shape.worst.error == 1
    rank = CheckResult("calculator", "calculator", "exact")
    record_exact(rank, "x", [("output shape", (1, 6, 6), (1, 6, 6, 6))])
    assert rank.worst.error is None                  # ranks differ: no distance
    assert record_exact(CheckResult("c", "c", "exact"), "x", [("a", 1, 1)]) is True
