"""convcli.network.rules.lazy: the Lazy layers take their size from the first input,
then answer as the concrete layer; against torch's Lazy modules on a real forward
(shape, params, buffers, MACs, saved bytes), and what is refused before and after."""

import pytest

from convcli.errors import ConvError
from convcli.network.rules import build_layer
from convcli.network.rules.lazy import Lazy, rules

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (CTX, both_refuse_forward, build,  # noqa: E402
                                      check_against_torch, torch_signature)

RULES = rules(build_layer)


def test_rules_are_torchs_lazy_classes_with_torchs_signatures():
    names = [f"Lazy{k}{d}d" for k in ("Conv", "ConvTranspose", "BatchNorm", "InstanceNorm")
             for d in (1, 2, 3)] + ["LazyLinear"]
    assert sorted(RULES) == sorted(names)
    for name, (signature, _) in RULES.items():
        assert signature == torch_signature(name), name


CASES = [
    ("LazyConv1d(6, 3)", (2, 4, 9)), ("LazyConv1d(6, 3)", (4, 9)),       # unbatched
    ("LazyConv2d(6, 3, 2, 1, groups=2)", (2, 4, 9, 8)),
    ("LazyConv3d(3, 3, padding=1, padding_mode='reflect')", (1, 2, 5, 6, 7)),
    ("LazyConvTranspose2d(2, 3, 2)", (2, 4, 5, 6)),
    ("LazyConvTranspose1d(2, 4, 2, 1, bias=False)", (2, 4, 5)),
    ("LazyLinear(5)", (2, 4, 6)), ("LazyLinear(5, bias=False)", (6,)),
    ("LazyBatchNorm2d()", (3, 4, 9, 8)), ("LazyBatchNorm1d(affine=False)", (3, 4)),
    ("LazyInstanceNorm2d()", (3, 4, 9, 8)), ("LazyInstanceNorm1d(affine=False)", (3, 4, 9)),
    ("LazyInstanceNorm3d(track_running_stats=False)", (2, 4, 3, 4, 5)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_every_number_equals_torchs_after_the_first_input(text, shape):
    layer = build(RULES, text)
    assert isinstance(layer, Lazy)
    module = check_against_torch(layer, text, shape).module
    key = layer.key        # in_features, in_channels or num_features, as torch names it
    assert layer.note(shape) == f"{key}={getattr(module, key)} (inferred)"


def test_the_inferred_size_is_named_in_the_note():
    layer = build(RULES, "LazyConv2d(6, 3)")
    layer.output((2, 5, 9, 9), CTX)
    assert layer.note((2, 5, 9, 9)) == "in_channels=5 (inferred)"
    assert layer.conv is not None and layer.conv.in_channels == 5
    assert layer.geometry()["kernel_size"] == [3, 3]
    linear = build(RULES, "LazyLinear(3)")
    linear.output((2, 7), CTX)
    assert linear.note((2, 7)) == "in_features=7 (inferred)"


def test_before_any_input_macs_and_param_tensors_are_refused():
    layer = build(RULES, "LazyConv2d(6, 3)")
    for facet in (lambda: layer.macs((1, 4, 8, 8), (1, 6, 6, 6)), layer.geometry,
                  layer.param_tensors):
        with pytest.raises(ConvError, match=r"LazyConv2d\(6, 3\): its size is known only "
                                            "after its first input"):
            facet()


def test_the_training_and_field_facets_build_from_their_input():
    layer = build(RULES, "LazyConv1d(6, 3, 2)")
    assert layer.saves((2, 4, 9), (2, 6, 4), 4).input is True
    assert layer.field((2, 4, 9), (2, 6, 4), 0) == [("window", 3, 2, 0, 1)]
    norm = build(RULES, "LazyBatchNorm1d()")
    assert norm.buffer_bytes((2, 4, 9), 4) == sum(
        b.numel() * b.element_size() for b in torch.nn.BatchNorm1d(4).buffers())


@pytest.mark.parametrize("text, shape, words", [
    ("LazyConv2d(6, 3, groups=4)", (1, 6, 8, 8), "LazyConv2d(6, 3, groups=4) on the input: "
                                                 "with in_channels=6 from the input, "),
    ("LazyConv2d(6, 5)", (1, 2, 3, 3), "spatial dim 0"),
    ("LazyLinear(4)", (), "LazyLinear needs at least 1 dim"),
    ("LazyBatchNorm2d()", (2, 3, 4), "BatchNorm2d takes 4 dims"),
])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)
