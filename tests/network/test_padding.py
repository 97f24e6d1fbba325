"""convcli.network.rules.padding: the padding layers of every mode and rank against
torch's modules on a real forward (shape, saved bytes), torch's size limits per mode,
and the field's pad step read from the right pair (padding runs from the last dim)."""

import pytest

from convcli.network.rules.padding import RULES, Pad

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (CTX, both_refuse_forward, build,  # noqa: E402
                                      check_against_torch, refused_when_built,
                                      torch_module, torch_signature)


def test_rules_are_torchs_fifteen_classes_with_torchs_signatures():
    kinds = ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")
    assert sorted(RULES) == sorted(f"{k}{d}d" for k in kinds for d in (1, 2, 3))
    for name, (signature, _) in RULES.items():
        assert signature == torch_signature(name), name


CASES = [
    ("ZeroPad1d((1, 2))", (2, 4, 9)), ("ZeroPad2d((1, 0, 2, 3))", (2, 4, 9, 8)),
    ("ZeroPad2d(-1)", (1, 2, 4, 5)), ("ZeroPad3d(1)", (1, 2, 3, 4, 5)),
    ("ConstantPad1d(2, 0.5)", (4, 9)), ("ConstantPad2d((0, 1, 2, 0), 3.0)", (1, 1, 3, 3)),
    ("ReflectionPad1d((2, 1))", (2, 4, 3)), ("ReflectionPad2d((1, 0, 2, 1))", (1, 2, 4, 5)),
    ("ReflectionPad3d(1)", (1, 2, 3, 4, 5)), ("ReplicationPad2d((3, 0, 0, 3))", (1, 2, 1, 2)),
    ("ReplicationPad3d((1, 2, 0, 0, 1, 0))", (2, 2, 3, 3)),
    ("CircularPad1d((3, 1))", (1, 2, 3)), ("CircularPad2d(2)", (1, 2, 2, 3)),
    ("CircularPad3d(1)", (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_every_number_equals_torchs(text, shape):
    layer = build(RULES, text)
    assert isinstance(layer, Pad) and layer.params == 0
    check_against_torch(layer, text, shape)


def test_field_reads_the_pair_of_its_dim():
    layer = build(RULES, "ZeroPad2d((1, 0, 2, 3))")
    shape = (1, 1, 4, 4)
    out = layer.output(shape, CTX)
    assert out == tuple(torch.nn.ZeroPad2d((1, 0, 2, 3))(torch.zeros(shape)).shape) == \
        (1, 1, 9, 5)
    assert layer.field(shape, out, 0) == [("pad", 2, "zeros", 3)]     # H: top, bottom
    assert layer.field(shape, out, 1) == [("pad", 1, "zeros", 0)]     # W: left, right
    assert build(RULES, "ConstantPad1d((0, 4), 1.0)").field((2, 3), (2, 7), 0) == \
        [("pad", 0, "zeros", 4)]
    assert build(RULES, "ReflectionPad1d(1)").field((1, 2, 3), (1, 2, 5), 0) == \
        [("pad", 1, "reflect", 1)]


@pytest.mark.parametrize("text, shape, words", [
    ("ReflectionPad1d(3)", (1, 2, 3), "reflection padding 3 must be smaller than the dim's "
                                      "size 3"),
    ("CircularPad1d((4, 0))", (1, 2, 3), "circular padding 4 is larger than the dim's size 3"),
    ("ReplicationPad1d(1)", (1, 2, 0), "empty dim"),
    ("ZeroPad1d((-2, -2))", (1, 2, 3), "padding (-2, -2) crops 4 from a dim of size 3"),
    ("CircularPad1d((-2, -2))", (1, 2, 3), "padding (-2, -2) crops 4 from a dim of size 3"),
    ("ZeroPad2d(1)", (8,), "a 1d tensor [8]"),
])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)


@pytest.mark.parametrize("text, words", [
    ("ZeroPad2d((1, 2, 3))", "must be a whole number or 4 numbers (left, right, top, "
                             "bottom)"),
    ("ReflectionPad3d((1, 1))", "6 numbers (left, right, top, bottom, front, back)"),
    ("ZeroPad1d(1.5)", "must be a whole number or 2 numbers (left, right)"),
    ("ConstantPad1d(2)", "ConstantPad1d needs value")])
def test_construction_refusals(text, words):
    refused_when_built(RULES, text, words)


@pytest.mark.parametrize("text", ["ZeroPad1d((-2, -1))", "ConstantPad1d((-3, 0), 2.0)",
                                  "CircularPad1d((-1, -2))"])
def test_a_crop_to_exactly_nothing_is_a_0_size_dim_as_in_torch(text):
    """torch's constant and circular pads crop to a 0-size dim; the next layer decides
    what an empty tensor means (a conv refuses it, a ReLU passes it on)."""
    assert build(RULES, text).output((1, 2, 3), CTX) == \
        tuple(torch_module(text)(torch.zeros(1, 2, 3)).shape) == (1, 2, 0)


@pytest.mark.parametrize("text", ["ReflectionPad1d((-2, -1))", "ReplicationPad1d((-3, 0))"])
def test_reflect_and_replicate_refuse_to_leave_nothing_as_torch_does(text):
    both_refuse_forward(RULES, text, (1, 2, 3), "leaves nothing of size 3 to re")
