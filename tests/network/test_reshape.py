"""convcli.network.rules.reshape: Flatten, Unflatten, PixelShuffle, PixelUnshuffle and
ChannelShuffle against torch's modules on a real forward (shape; saved bytes: views
and shuffles keep nothing), their field steps, and the refusals."""

import pytest

from convcli.errors import ConvError
from convcli.network.rules.reshape import RULES, View

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (CTX, both_refuse_forward, build,  # noqa: E402
                                      check_against_torch, refused_when_built,
                                      torch_module, torch_signature)


def test_rules_are_torchs_classes_with_torchs_signatures():
    assert sorted(RULES) == ["ChannelShuffle", "Flatten", "PixelShuffle", "PixelUnshuffle",
                             "Unflatten"]
    for name, (signature, _) in RULES.items():
        assert signature == torch_signature(name), name


CASES = [
    ("Flatten()", (2, 3, 4, 5)), ("Flatten(0)", (2, 3, 4)), ("Flatten(1, 2)", (2, 3, 4, 5)),
    ("Flatten(-3, -2)", (2, 3, 4, 5)), ("Flatten(2, 2)", (2, 3, 4)),
    ("Unflatten(1, (2, 6))", (3, 12)), ("Unflatten(-1, (2, -1, 3))", (2, 4, 12)),
    ("Unflatten(1, (3, 1))", (2, 3, 5)),
    ("PixelShuffle(2)", (1, 8, 3, 4)), ("PixelShuffle(3)", (2, 5, 9, 2, 2)),
    ("PixelUnshuffle(2)", (1, 2, 4, 6)), ("PixelUnshuffle(1)", (3, 4, 5)),
    ("ChannelShuffle(2)", (2, 4, 3, 3)), ("ChannelShuffle(3)", (1, 6, 5)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_every_number_equals_torchs(text, shape):
    layer = build(RULES, text)
    assert layer.params == 0
    m = check_against_torch(layer, text, shape)
    assert m.saves.view == isinstance(layer, View)


@pytest.mark.parametrize("text, shape_in, d, step", [
    ("Flatten()", (2, 3, 4, 5), 0, None), ("Flatten(2, 2)", (2, 3, 4), 0, [("same",)]),
    ("Unflatten(1, (3, 1))", (2, 3, 5), 0, None), ("PixelShuffle(2)", (1, 8, 3, 4), 1,
                                                   [("shuffle", 2)]),
    ("PixelUnshuffle(3)", (1, 1, 6, 6), 0, [("unshuffle", 3)]),
    ("PixelShuffle(2)", (2, 1, 8, 3, 4), 0, None),     # a lead dim is not spatial
    ("ChannelShuffle(2)", (2, 4, 3, 3), 1, [("same",)])])
def test_field_steps(text, shape_in, d, step):
    layer = build(RULES, text)
    assert layer.field(shape_in, layer.output(shape_in, CTX), d) == step


@pytest.mark.parametrize("text", ["Flatten(0)", "Flatten(-1, 0)", "Flatten(0, 0)"])
def test_flatten_of_a_scalar_is_one_element_as_torch(text):
    assert build(RULES, text).output((), CTX) == (1,) == \
        tuple(torch_module(text)(torch.tensor(3.0)).shape)


def test_flatten_of_a_scalar_from_dim_1_is_refused_as_torch():
    with pytest.raises(IndexError):
        torch.nn.Flatten()(torch.tensor(3.0))
    with pytest.raises(ConvError, match=r"start_dim=1 is out of range for 0 dims \(use -1 "
                                        r"to 0\)"):
        build(RULES, "Flatten()").output((), CTX)


@pytest.mark.parametrize("text, shape, words", [
    ("Flatten(3)", (2, 3, 4), "start_dim=3 is out of range for 3 dims (use -3 to 2)"),
    ("Flatten(2, 1)", (2, 3, 4), "start_dim=2 comes after end_dim=1 (dims 2 > 1)"),
    ("Unflatten(1, (2, 5))", (3, 12), "dim 1 has 12 elements but unflattened_size [2, 5] "
                                      "holds 10"),
    ("Unflatten(1, (5, -1))", (3, 12), "dim 1 has 12 elements, which [5, -1] cannot split"),
    ("Unflatten(4, (1, 3))", (1, 3), "dim=4 is out of range for 2 dims"),
    ("PixelShuffle(2)", (1, 6, 3, 3), "receives 6 channels from the input, which is not "
                                      "divisible by upscale_factor**2 = 4"),
    ("PixelShuffle(2)", (4, 3), "PixelShuffle needs (*, C, H, W)"),
    ("PixelUnshuffle(2)", (1, 1, 3, 4), "H=3 and W=4 must be divisible by "
                                        "downscale_factor=2"),
    ("ChannelShuffle(3)", (1, 4, 5), "receives 4 channels from the input, which groups=3 "
                                     "does not divide"),
])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)


@pytest.mark.parametrize("text, words", [
    ("Unflatten(1, 6)", "unflattened_size=6 must be a tuple of whole numbers"),
    ("Unflatten(1, (-1, -1))", "at most one -1, other sizes >= 0"),
    ("Unflatten(1, (2, -3))", "at most one -1"),
    ("PixelShuffle(0)", "upscale_factor=0 must be at least 1"),
    ("PixelUnshuffle(1.5)", "downscale_factor=1.5 must be a whole number"),
    ("ChannelShuffle(0)", "groups=0 must be a positive whole number"),
    ("Flatten(start_dim=1.0)", "start_dim=1.0 must be a whole number")])
def test_construction_refusals(text, words):
    refused_when_built(RULES, text, words)
