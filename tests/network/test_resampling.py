"""convcli.network.rules.resampling: Upsample and the two Upsampling classes against
torch's modules on a real forward (shape, saved bytes: only shapes), the modes' ranks,
the field step per mode, and the refusals."""

import warnings

import pytest

from convcli.errors import ConvError
from convcli.network.rules.resampling import RULES, Upsample

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (CTX, both_refuse_forward, build,  # noqa: E402
                                      check_against_torch, refused_when_built,
                                      torch_module, torch_signature)


def test_rules_are_torchs_classes_with_torchs_signatures():
    assert sorted(RULES) == ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
    for name, (signature, _) in RULES.items():
        assert signature == torch_signature(name), name


CASES = [
    ("Upsample(scale_factor=2)", (2, 3, 4)),
    ("Upsample(scale_factor=1.5)", (1, 2, 5, 7)),
    ("Upsample(scale_factor=(2, 0.5), mode='bilinear')", (1, 2, 3, 8)),
    ("Upsample(size=(3, 4, 5), mode='trilinear', align_corners=True)", (1, 1, 2, 2, 2)),
    ("Upsample(size=7, mode='linear')", (2, 3, 4)),
    ("Upsample(scale_factor=3, mode='nearest-exact')", (1, 1, 2, 2)),
    ("Upsample(size=(2, 3), mode='area')", (1, 2, 5, 7)),
    ("Upsample(scale_factor=2, mode='bicubic')", (1, 1, 3, 3)),
    ("UpsamplingNearest2d(scale_factor=2)", (1, 2, 3, 4)),
    ("UpsamplingBilinear2d(size=(5, 6))", (1, 2, 3, 4)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_every_number_equals_torchs(text, shape):
    layer = build(RULES, text)
    assert isinstance(layer, Upsample) and layer.params == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # the Upsampling classes are deprecated
        check_against_torch(layer, text, shape)


@pytest.mark.parametrize("text, step", [
    ("Upsample(scale_factor=2)", ("nearest",)),
    ("Upsample(scale_factor=2, mode='nearest-exact')", ("nearest-exact",)),
    ("Upsample(size=4, mode='area')", ("adaptive",)),
    ("Upsample(scale_factor=2, mode='bicubic', align_corners=True)", ("cubic", True)),
    ("Upsample(scale_factor=2, mode='bilinear')", ("linear", False)),
    ("UpsamplingBilinear2d(scale_factor=2)", ("linear", True)),     # align_corners=True
    ("UpsamplingNearest2d(size=3)", ("nearest",))])
def test_field_step_per_mode(text, step):
    assert build(RULES, text).field((1, 1, 4, 4), (1, 1, 8, 8), 0) == [step]


@pytest.mark.parametrize("text, shape, words", [
    ("Upsample(scale_factor=2, mode='bilinear')", (1, 2, 8), "mode='bilinear' needs a 4d "
                                                             "input (2 spatial dims); for 1 "
                                                             "spatial dims use 'linear'"),
    ("Upsample(size=(3, 4))", (1, 2, 8), "size=(3, 4) has 2 entries for 1 spatial dims"),
    ("Upsample(scale_factor=(2, 2, 2))", (1, 2, 8, 8), "has 3 entries for 2 spatial dims"),
    ("Upsample(scale_factor=0.1)", (1, 2, 8), "scale_factor 0.1 gives an empty output [0]"),
    ("Upsample(scale_factor=2)", (2, 8), "interpolation has no unbatched form"),
])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)


@pytest.mark.parametrize("shape", [(1, 2, 8), (1, 2, 5, 6), (1, 2, 3, 4, 5)])
@pytest.mark.parametrize("text", ["UpsamplingNearest2d(scale_factor=2)",
                                  "UpsamplingNearest2d(size=3)",
                                  "UpsamplingBilinear2d(scale_factor=2)"])
def test_upsampling_classes_take_the_ranks_torch_takes(text, shape):
    """The deprecated Upsampling*2d classes are Upsample with a fixed mode: nearest
    interpolates a 3d or 5d input too, despite its name; bilinear takes 4d only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = tuple(torch_module(text)(torch.zeros(shape)).shape)
        except (RuntimeError, ValueError, NotImplementedError):
            expected = None
    assert (expected is None) == ("Bilinear" in text and len(shape) != 4)
    layer = build(RULES, text)
    if expected is None:
        with pytest.raises(ConvError, match=r"needs a 4d input .*use Upsample\(mode="):
            layer.output(shape, CTX)
    else:
        assert layer.output(shape, CTX) == expected


def test_a_huge_scale_is_refused_before_any_tensor():
    with pytest.raises(ConvError, match="beyond torch's limit of 2\\*\\*63 - 1"):
        build(RULES, "Upsample(scale_factor=1e300)").output((1, 1, 8), CTX)
    with pytest.raises(ConvError, match="beyond torch's limit"):
        build(RULES, "Upsample(scale_factor=1e308)").output((1, 1, 2 ** 40), CTX)


@pytest.mark.parametrize("text, words", [
    ("Upsample()", "give exactly one of size and scale_factor"),
    ("Upsample(size=4, scale_factor=2)", "give exactly one of size and scale_factor"),
    ("Upsample(scale_factor=2, mode='cubic')", "mode='cubic': use one of nearest, "
                                               "nearest-exact, area, linear"),
    ("Upsample(scale_factor=2, align_corners=True)", "align_corners can only be set with "
                                                     "the interpolating modes"),
    ("Upsample(size=0)", "size=0 must be whole numbers >= 1"),
    ("Upsample(size=(2, 2.5))", "must be whole numbers >= 1"),
    ("Upsample(scale_factor=-1)", "scale_factor=-1 must be positive finite numbers"),
    ("Upsample(scale_factor=True)", "must be positive finite numbers")])
def test_construction_refusals(text, words):
    refused_when_built(RULES, text, words)
