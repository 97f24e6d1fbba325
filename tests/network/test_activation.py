"""convcli.network.rules.activation: each elementwise layer's signature is torch's
(those torch writes as ``*args, **kwargs`` take no arguments), and Hardtanh's bounds
are read and refused as torch's constructor reads and refuses them, its deprecated
``min_value``/``max_value`` included."""

import warnings

import pytest

from convcli.errors import ConvError
from convcli.network.rules.activation import KINDS, RULES

torch = pytest.importorskip("torch")
from tests.network.rule_truth import CTX, build, torch_module, torch_signature  # noqa: E402


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_signature_is_torchs(name):
    theirs = torch_signature(name)
    if [n for n, _ in theirs] == ["args", "kwargs"]:      # nn.Sigmoid() and the like
        theirs = []
    assert RULES[name][0] == theirs


@pytest.mark.parametrize("text", [
    "Hardtanh()", "Hardtanh(-2, 2)", "Hardtanh(min_value=-2.0)",
    "Hardtanh(-3.0, 3.0, max_value=5.0)", "Hardtanh(2.0, -2.0)", "Hardtanh(1.0, 1.0)",
    "Hardtanh(max_value=-3.0)", "Hardtanh(min_val=0.5, min_value=-0.5)",
    "Hardtanh('a')"])
def test_hardtanh_bounds_are_torchs(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # torch warns on the deprecated names
        try:
            module = torch_module(text)
        except (AssertionError, TypeError):
            module = None
    if module is None:
        with pytest.raises(ConvError, match="must be a number greater than min_val"):
            build(RULES, text)
    else:
        layer = build(RULES, text)
        assert layer.output((2, 3, 4), CTX) == tuple(module(torch.zeros(2, 3, 4)).shape)
