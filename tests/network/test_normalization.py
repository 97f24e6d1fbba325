"""convcli.network.rules.normalization: BatchNorm/InstanceNorm 1d-3d, SyncBatchNorm,
GroupNorm, LayerNorm and RMSNorm built from the module's own RULES against torch's
modules on a real forward (shape, params, buffers, what backward saves in float32,
bfloat16 and float64), their field steps and their refusals."""

import pytest

from convcli.errors import ConvError
from convcli.network.rules.normalization import RULES, BatchNorm, LayerNorm, RMSNorm

torch = pytest.importorskip("torch")
from tests.network.rule_truth import (CTX, both_refuse_forward, build,  # noqa: E402
                                      check_against_torch, refused_when_built,
                                      torch_module, torch_signature)


def test_rules_are_torchs_classes_with_torchs_signatures():
    assert sorted(RULES) == sorted([f"{k}{d}d" for k in ("BatchNorm", "InstanceNorm")
                                    for d in (1, 2, 3)] + ["GroupNorm", "LayerNorm",
                                                           "RMSNorm", "SyncBatchNorm"])
    for name, (signature, _) in RULES.items():
        assert signature == torch_signature(name), name


CASES = [
    ("BatchNorm1d(4)", (3, 4)), ("BatchNorm1d(4, affine=False)", (3, 4, 9)),
    ("BatchNorm2d(4, bias=False)", (3, 4, 5, 6)),
    ("BatchNorm3d(2, track_running_stats=False)", (2, 2, 3, 4, 5)),
    ("SyncBatchNorm(4)", (3, 4, 5, 6)), ("SyncBatchNorm(4)", (3, 4)),
    ("InstanceNorm1d(4)", (3, 4, 9)), ("InstanceNorm1d(4, affine=True)", (4, 9)),
    ("InstanceNorm2d(4, affine=True, track_running_stats=True)", (3, 4, 5, 6)),
    ("InstanceNorm3d(2, track_running_stats=True)", (2, 2, 3, 4, 5)),
    ("GroupNorm(2, 4)", (3, 4, 5, 6)), ("GroupNorm(1, 4, affine=False)", (3, 4)),
    ("GroupNorm(4, 4, bias=False)", (2, 4, 3, 3, 3)),
    ("LayerNorm(8)", (3, 4, 8)), ("LayerNorm((5, 6), bias=False)", (3, 4, 5, 6)),
    ("LayerNorm([4, 5, 6], elementwise_affine=False)", (2, 4, 5, 6)),
    ("RMSNorm(8)", (3, 4, 8)), ("RMSNorm((5, 6), elementwise_affine=False)", (3, 4, 5, 6)),
]


@pytest.mark.parametrize("text, shape", CASES)
def test_every_number_equals_torchs(text, shape):
    check_against_torch(build(RULES, text), text, shape)


@pytest.mark.parametrize("text, shape", [c for c in CASES if c[0].startswith(
    ("RMSNorm", "LayerNorm", "GroupNorm", "BatchNorm2d", "InstanceNorm1d"))])
@pytest.mark.parametrize("dtype, size", [("bfloat16", 2), ("float64", 8)])
def test_saved_bytes_follow_the_dtype_as_torch(text, shape, dtype, size):
    check_against_torch(build(RULES, text), text, shape, size, getattr(torch, dtype))


@pytest.mark.parametrize("text, shape, steps", [
    ("BatchNorm2d(4)", (1, 4, 5, 6), [[("same",)], [("same",)]]),
    ("InstanceNorm2d(4)", (1, 4, 5, 6), [[("global",)], [("global",)]]),
    ("InstanceNorm2d(4, track_running_stats=True)", (1, 4, 5, 6), [[("same",)], [("same",)]]),
    ("GroupNorm(2, 4)", (1, 4, 5, 6), [[("global",)], [("global",)]]),
    ("LayerNorm(6)", (1, 4, 5, 6), [[("same",)], [("global",)]]),
    ("LayerNorm((5, 6))", (1, 4, 5, 6), [[("global",)], [("global",)]]),
    ("RMSNorm(6)", (1, 4, 5, 6), [[("same",)], [("global",)]])])
def test_field_steps(text, shape, steps):
    layer = build(RULES, text)
    assert [layer.field(shape, shape, d) for d in range(len(shape) - 2)] == steps


def test_classes():
    assert type(build(RULES, "SyncBatchNorm(4)")) is BatchNorm
    assert type(build(RULES, "InstanceNorm2d(4)")) is BatchNorm
    assert isinstance(build(RULES, "RMSNorm(4)"), LayerNorm)
    assert type(build(RULES, "RMSNorm(4)")) is RMSNorm
    assert build(RULES, "RMSNorm(4)").param_tensors() == 1
    assert build(RULES, "RMSNorm(4, elementwise_affine=False)").param_tensors() == 0


def test_instance_norm_without_affine_takes_other_channels_with_torchs_warning():
    layer = build(RULES, "InstanceNorm1d(4)")
    assert layer.output((2, 3, 9), CTX) == (2, 3, 9)
    assert layer.note((2, 3, 9)) == "torch warns: num_features=4 but the input has 3 channels"
    assert layer.note((2, 4, 9)) == ""
    with pytest.warns(UserWarning, match="num_features"):
        assert torch_module("InstanceNorm1d(4)")(torch.zeros(2, 3, 9)).shape == (2, 3, 9)


@pytest.mark.parametrize("text, shape, words", [
    ("BatchNorm2d(4)", (3, 5, 2, 2), "BatchNorm2d(4) receives 5 channels from the input but "
                                     "num_features is 4; use BatchNorm2d(5)"),
    ("BatchNorm2d(4)", (3, 4, 2), "BatchNorm2d takes 4 dims (N, C, H, W)"),
    ("BatchNorm1d(4)", (3, 4, 2, 2), "BatchNorm1d takes 2 or 3 dims (N, C or N, C, L)"),
    ("InstanceNorm1d(4, affine=True)", (2, 3, 9), "receives 3 channels"),
    ("GroupNorm(2, 4)", (3, 6, 2), "receives 6 channels from the input but num_channels is "
                                   "4; use GroupNorm(g, 6) with g dividing 6"),
    ("GroupNorm(2, 4)", (4,), "GroupNorm needs (N, C, *) with at least 2 dims"),
    ("LayerNorm(8)", (3, 4, 7), "normalized_shape [8] must equal the last 1 dim(s), which "
                                "are [7]; use LayerNorm(7) (for channels of an image use "
                                "GroupNorm(1, C) or permute first)"),
    ("RMSNorm((4, 5))", (3, 4, 6), "use RMSNorm([4, 6])"),
])
def test_refusals_where_torch_fails(text, shape, words):
    both_refuse_forward(RULES, text, shape, words)


@pytest.mark.parametrize("text, words", [
    ("GroupNorm(5, 12)", "num_channels=12 is not divisible by num_groups=5; valid "
                         "num_groups: 1, 2, 3, 4, 6, 12"),
    ("GroupNorm(7, 1000000000000)", "valid num_groups: 1, 2, 4, 5, 8, 10, ..., "),
    ("GroupNorm(0, 4)", "num_groups=0 must be at least 1"),
    ("BatchNorm2d(0)", "num_features=0 must be at least 1"),
    ("BatchNorm2d(4, affine=1)", "affine=1 must be True or False"),
    ("LayerNorm(0)", "normalized_shape=0 must be a whole number or a tuple of them"),
    ("LayerNorm(())", "normalized_shape=() must be"),
    ("RMSNorm(4, elementwise_affine='no')", "elementwise_affine='no' must be True or False")])
def test_construction_refusals(text, words):
    refused_when_built(RULES, text, words)


def test_a_long_divisor_list_is_shortened_at_both_ends():
    msg = str(pytest.raises(ConvError, build, RULES, "GroupNorm(7, 1000000000000)").value)
    listed = msg.split("valid num_groups: ")[1].split(", ")
    assert listed[:6] == ["1", "2", "4", "5", "8", "10"] and listed[6] == "..."
    assert listed[-1] == "1000000000000" and len(listed) == 13
    assert all(10 ** 12 % int(v) == 0 for v in listed if v != "...")
