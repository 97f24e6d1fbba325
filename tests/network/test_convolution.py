"""convcli.network.rules.convolution: the Conv/ConvTranspose 1d-3d rule, each layer
built from the module's own RULES and checked against torch's module on a real forward:
output shape, params, MACs (FlopCounterMode), what backward saves; the field steps; the
messages where torch refuses."""

import pytest

from convcli.errors import ConvError
from convcli.network.rules.convolution import RULES, Conv

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (both_refuse_forward, build, check_against_torch,  # noqa: E402
                                      torch_module, torch_signature)


def test_rules_are_torchs_six_classes_with_torchs_signatures():
    assert sorted(RULES) == sorted(f"{k}{d}d" for k in ("Conv", "ConvTranspose")
                                   for d in (1, 2, 3))
    for name, (signature, _) in RULES.items():
        assert signature == torch_signature(name), name


CASES = [
    ("Conv1d(4, 6, 3, 2, 1, dilation=2)", (2, 4, 9)),
    ("Conv1d(4, 6, 3)", (4, 9)),                                     # unbatched
    ("Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False)", (2, 4, 9, 8)),
    ("Conv2d(4, 6, 3, padding='same', dilation=2)", (1, 4, 7, 6)),
    ("Conv2d(4, 6, (3, 1), 2, (1, 0), padding_mode='reflect')", (2, 4, 9, 8)),
    ("Conv2d(2, 2, 3, padding=2, padding_mode='circular')", (1, 2, 3, 3)),
    ("Conv3d(2, 4, 3, padding=1, padding_mode='replicate')", (1, 2, 4, 5, 6)),
    ("ConvTranspose1d(4, 2, 4, 2, 1)", (2, 4, 5)),
    ("ConvTranspose2d(4, 6, 3, 2, 1, output_padding=1, groups=2)", (2, 4, 5, 6)),
    ("ConvTranspose3d(2, 2, 3, 2, dilation=2)", (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_every_number_equals_torchs(text, shape):
    layer = build(RULES, text)
    assert isinstance(layer, Conv) and layer.kind == text.split("(")[0]
    check_against_torch(layer, text, shape)


@pytest.mark.parametrize("text, shape", CASES)
def test_the_spec_and_geometry_are_the_modules(text, shape):
    layer, module = build(RULES, text), torch_module(text)
    assert layer.conv is layer.spec
    assert layer.spec.weight_shape == tuple(module.weight.shape)
    g = layer.geometry()
    assert tuple(g["kernel_size"]) == module.kernel_size
    assert tuple(g["stride"]) == module.stride


def test_field_steps():
    assert build(RULES, "Conv2d(1, 1, 3, 2, 1)").field((1, 1, 8, 8), (1, 1, 4, 4), 0) == \
        [("window", 3, 2, 1, 1)]
    reflect = build(RULES, "Conv2d(1, 1, (3, 5), dilation=(1, 2), padding=(1, 2), "
                           "padding_mode='reflect')")
    assert reflect.field((1, 1, 8, 8), (1, 1, 8, 8), 1) == \
        [("pad", 2, "reflect", 2), ("window", 5, 1, 0, 2)]
    # a padding mode with no padding pads nothing: the plain window
    assert build(RULES, "Conv1d(1, 1, 3, padding_mode='circular')").field(
        (1, 1, 8), (1, 1, 6), 0) == [("window", 3, 1, 0, 1)]
    assert build(RULES, "ConvTranspose1d(1, 1, 4, 2, 1)").field((1, 1, 4), (1, 1, 8), 0) == \
        [("convT", 4, 2, 1, 1)]


def test_saves_the_padded_copy_under_a_padding_mode():
    layer = build(RULES, "Conv2d(4, 6, 3, padding=(1, 2), padding_mode='replicate')")
    assert layer.saves((2, 4, 9, 8), (2, 6, 9, 10), 2).extra == 2 * 4 * 11 * 12 * 2


@pytest.mark.parametrize("text, shape, words", [
    ("Conv2d(4, 6, 3)", (1, 3, 8, 8), "Conv2d(4, 6, 3) receives 3 channels from the input "
                                      "but its in_channels is 4; use Conv2d(3, 6, 3)"),
    ("Conv2d(4, 6, 3, groups=2)", (1, 3, 8, 8), "in_channels must be 3, and groups=2 must "
                                               "then divide 3"),
    ("Conv2d(4, 6, 3)", (4, 8), "a 2d tensor [4, 8]"),
    ("Conv2d(4, 6, 5)", (1, 4, 3, 8), "Conv2d(4, 6, 5) on the input: spatial dim 0"),
    ("ConvTranspose1d(4, 4, 1, padding=3)", (1, 4, 2), "would give an output size of"),
])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)


@pytest.mark.parametrize("text", [
    "Conv2d(4, 6, 3, groups=4)", "Conv2d(4, 6, 3, padding='same', stride=2)",
    "ConvTranspose2d(4, 6, 3, padding_mode='reflect')", "Conv2d(4, 6, 3, padding='full')"])
def test_construction_refusals_name_the_call(text):
    with pytest.raises(ValueError):
        torch_module(text)
    with pytest.raises(ConvError) as e:
        build(RULES, text)
    assert str(e.value).startswith(text + ": ")
