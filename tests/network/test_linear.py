"""convcli.network.rules.linear: Linear's shape, params, MACs and saved bytes against
torch's module on a real forward; its refusals, and no field after it."""

import pytest

from convcli.errors import ConvError
from convcli.network.rules.linear import RULES, Linear

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (both_refuse_forward, build, check_against_torch,  # noqa: E402
                                      torch_module, torch_signature)


def test_rule_is_torchs_signature():
    assert list(RULES) == ["Linear"] and RULES["Linear"][0] == torch_signature("Linear")


@pytest.mark.parametrize("text, shape", [
    ("Linear(6, 5)", (2, 4, 6)), ("Linear(6, 5, bias=False)", (3, 6)), ("Linear(6, 5)", (6,)),
    ("Linear(6, 1)", (2, 3, 4, 6)), ("Linear(6, 5)", (0, 6)), ("Linear(0, 3)", (2, 0))])
def test_every_number_equals_torchs(text, shape):
    layer = build(RULES, text)
    assert isinstance(layer, Linear)
    check_against_torch(layer, text, shape)


def test_it_ends_the_spatial_dims():
    assert build(RULES, "Linear(6, 5)").field((2, 4, 6), (2, 4, 5), 0) is None


@pytest.mark.parametrize("text, shape, words", [
    ("Linear(6, 5)", (2, 7), "Linear(6, 5) receives 7 features from the input; use "
                             "Linear(7, 5)"),
    ("Linear(6, 5, bias=False)", (2, 7), "use Linear(7, 5, bias=False)"),
    ("Linear(6, 5)", (2, 3, 4, 4), "(the last dim of [2, 3, 4, 4]; to use all 48 values "
                                   "per sample put Flatten() before it)"),
    ("Linear(6, 5)", (), "receives a scalar from the input; Linear needs at least 1 dim")])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)


@pytest.mark.parametrize("text, words", [
    ("Linear(6.5, 5)", "in_features=6.5 must be a whole number"),
    ("Linear(6, -1)", "out_features=-1 must be at least 0"),
    ("Linear(6)", "Linear needs out_features")])
def test_construction_refusals(text, words):
    with pytest.raises((TypeError, RuntimeError)):
        torch_module(text)
    with pytest.raises(ConvError, match=words.replace("(", r"\(")):
        build(RULES, text)


def test_bias_must_be_a_bool_though_torch_takes_any_truth_value():
    assert torch_module("Linear(6, 5, bias='yes')").bias is not None
    with pytest.raises(ConvError, match="bias='yes' must be True or False"):
        build(RULES, "Linear(6, 5, bias='yes')")
