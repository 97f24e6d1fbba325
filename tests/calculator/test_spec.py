"""ConvSpec: the numbers from the docs people read, every rejection rule, and the
counting conventions. Pure Python (no torch here; see test_spec_vs_torch.py)."""

import pytest

from convcli import ConvError, ConvSpec
from convcli.calculator.costs import analyse
from convcli.calculator.explain import explain, notes
from convcli.calculator.groups import compare_groups, group_layout


def conv2d(i, o, k, **kw):
    return ConvSpec(dims=2, in_channels=i, out_channels=o, kernel_size=k, **kw)


# ---- numbers from the docs ----------------------------------------------------
def test_issue_example_batched_and_unbatched():
    spec = conv2d(3, 16, 3)
    assert spec.output_shape((4, 3, 64, 64)) == (4, 16, 62, 62)
    assert spec.output_shape((3, 64, 64)) == (16, 62, 62)
    assert spec.weight_shape == (16, 3, 3, 3) and spec.bias_shape == (16,)
    assert spec.num_params == 16 * 3 * 9 + 16


def test_grouped_weight_is_one_tensor_16_8_1_1():
    spec = conv2d(16, 16, 1, groups=2)
    assert spec.weight_shape == (16, 8, 1, 1)
    layout = group_layout(spec)
    assert [g.weight_rows for g in layout] == [(0, 8), (8, 16)]
    assert [g.in_channels for g in layout] == [(0, 8), (8, 16)]
    assert layout[1].weight_slice_shape == (8, 8, 1, 1)


def test_transposed_group_layout_splits_weight_along_c_in():
    spec = ConvSpec(2, 16, 32, 4, stride=2, padding=1, groups=4, transposed=True)
    assert spec.weight_shape == (16, 8, 4, 4)
    layout = group_layout(spec)
    assert [g.weight_rows for g in layout] == [(0, 4), (4, 8), (8, 12), (12, 16)]
    assert layout[3].out_channels == (24, 32)


def test_grouped_6_to_12():
    assert conv2d(6, 12, 3, groups=2).output_shape((4, 6, 64, 64)) == (4, 12, 62, 62)


def test_stride_2_padding_1_halves():
    assert conv2d(1, 1, 3, stride=2, padding=1).output_shape((1, 1, 8, 8)) == (1, 1, 4, 4)


def test_transposed_worked_case_macs_131072():
    spec = ConvSpec(2, 16, 32, 4, stride=2, padding=1, groups=4, transposed=True)
    assert spec.output_shape((1, 16, 8, 8)) == (1, 32, 16, 16)
    assert spec.macs((1, 16, 8, 8)) == 131_072
    assert spec.flops((1, 16, 8, 8)) == 262_144
    assert spec.bias_adds((1, 16, 8, 8)) == 32 * 16 * 16


def test_conv_macs_formula():
    spec = conv2d(64, 128, 3, groups=4, padding=1)
    # N * prod(out) * C_out * C_in/g * prod(k)
    assert spec.macs((2, 64, 10, 10)) == 2 * 100 * 128 * 16 * 9


def test_unbatched_counts_as_batch_one():
    spec = conv2d(3, 8, 3)
    assert spec.macs((3, 10, 10)) == spec.macs((1, 3, 10, 10))


def test_compare_groups_64_to_128():
    rows = compare_groups(conv2d(64, 128, 3))
    by = {r.label: r for r in rows}
    assert by["groups=1"].params == 73_856
    assert by["groups=2"].params == 36_992
    assert by["depthwise 64->64"].params == 640
    assert by["depthwise-separable"].params == 640 + 64 * 128 + 128
    assert [r.groups for r in rows[:7]] == [1, 2, 4, 8, 16, 32, 64]
    assert by["groups=4"].saving(rows[0]) == pytest.approx(1 - 18_560 / 73_856)


def test_compare_groups_with_input_counts_macs():
    rows = compare_groups(conv2d(64, 128, 3, padding=1), (1, 64, 8, 8))
    by = {r.label: r for r in rows}
    assert by["groups=2"].macs == 64 * 128 * 32 * 9
    assert by["depthwise-separable"].macs == 64 * 64 * 9 + 64 * 64 * 128


def test_bytes_follow_dtype():
    c = analyse(conv2d(3, 16, 3), (4, 3, 64, 64), "bfloat16")
    assert c.bytes.input == 4 * 3 * 64 * 64 * 2
    assert c.bytes.output == 4 * 16 * 62 * 62 * 2
    assert c.bytes.weight == 16 * 3 * 9 * 2 and c.bytes.bias == 32


# ---- padding ------------------------------------------------------------------
@pytest.mark.parametrize("k, dil, pairs", [(3, 1, (1, 1)), (4, 1, (1, 2)), (2, 1, (0, 1)),
                                           (3, 2, (2, 2)), (4, 3, (4, 5)), (1, 1, (0, 0))])
def test_same_split_odd_extra_goes_right(k, dil, pairs):
    spec = ConvSpec(1, 1, 1, k, padding="same", dilation=dil)
    assert spec.padding_pairs == (pairs,)
    assert spec.output_shape((1, 1, 7)) == (1, 1, 7)


def test_valid_is_zero_padding():
    assert conv2d(1, 1, 3, padding="valid").padding == (0, 0)


def test_explain_substitutes_numbers_and_notes_same_split():
    e = explain(conv2d(3, 8, 4, padding="same"), (1, 3, 10, 10))
    assert e[0].formula == "floor((10+1+2-1*(4-1)-1)/1)+1" and e[0].size_out == 10
    assert "1 before and 2 after" in e[0].note


# ---- every rejection rule -----------------------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    (dict(groups=5), ["groups=5", "not divisible", "Valid groups for 3->16: 1"]),
    (dict(groups=0), ["groups=0", "positive"]),
    (dict(in_channels=0, transposed=True), ["in_channels=0", "at least 1 input channel",
                                            "every forward pass fails"]),
    (dict(out_channels=0), ["out_channels=0", "at least 1 output channel"]),
    (dict(out_channels=-2), ["out_channels=-2", "negative dimension"]),
    (dict(kernel_size=0), ["kernel_size=(0, 0)", "at least 1"]),
    (dict(kernel_size=(3, 3, 3)), ["kernel_size=(3, 3, 3)", "3 entries", "2d conv"]),
    (dict(stride=0), ["stride", "at least 1"]),
    (dict(dilation=(1, 0)), ["dilation=(1, 0)", "dim 1 is 0"]),
    (dict(padding=-1), ["padding=(-1, -1)", "cannot be negative with padding_mode='zeros'",
                        "'reflect', 'replicate' or 'circular', which crop"]),
    (dict(padding=-1, transposed=True), ["padding=(-1, -1)", "cannot be negative"]),
    (dict(padding="full"), ["padding='full'", "'same' and 'valid'"]),
    (dict(padding="same", stride=2), ["padding='same' needs stride 1", "stride=(2, 2)",
                                      "padding=1"]),
    (dict(padding_mode="mirror"), ["padding_mode='mirror'", "reflect"]),
    (dict(output_padding=1), ["output_padding", "only a transposed conv"]),
    (dict(transposed=True, padding_mode="reflect"), ["only supports 'zeros'"]),
    (dict(transposed=True, padding="same"), ["transposed conv takes only whole-number"]),
    (dict(transposed=True, output_padding=-1), ["cannot be negative"]),
    (dict(bias=1), ["bias=1", "True or False"]),
    (dict(dims=4), ["dims=4", "1, 2 or 3"]),
    (dict(kernel_size=2.5), ["kernel_size=2.5"]),
])
def test_construction_rejections(kwargs, words):
    args = dict(dims=2, in_channels=3, out_channels=16, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ConvError) as e:
        ConvSpec(**args)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("spec_kw, shape, words", [
    ({}, (2, 3, 4, 64, 64), ["5 dims", "takes 4 (N, C, H, W) or 3 unbatched", "--dims 3"]),
    ({}, (4, 5, 64, 64), ["input has 5 channels", "in_channels=3"]),
    ({}, (0, 3, 2, 8), ["padded input is 2"]),          # N=0 still checks the window
    (dict(transposed=True, stride=2, output_padding=2), (1, 3, 4, 4),
     ["smaller than stride (2) or dilation (1)", "output_padding <= 1"]),
    (dict(transposed=True, padding=4), (0, 3, 2, 2), ["output size of -4"]),
    (dict(padding=-2, padding_mode="reflect"), (1, 3, 4, 8), ["crops its 4 element(s) to 0",
                                                              "at least 1"]),
    (dict(padding=-3, padding_mode="circular"), (1, 3, 5, 8), ["crops its 5 element(s) to -1"]),
    (dict(padding=1, padding_mode="replicate"), (0, 3, 0, 8), ["spatial dim 0 is 0",
                                                              "every dim but the batch"]),
    ({}, (1, 3, 0, 8), ["spatial dim 0 is 0"]),
    ({}, (1, 3, 2, 8), ["padded input is 2", "kernel 3", "padding >= 1"]),
    (dict(dilation=3), (1, 3, 5, 8), ["dilation 3 spans 7"]),
    (dict(padding=3, padding_mode="reflect"), (1, 3, 3, 8), ["reflect", "smaller than its size 3"]),
    (dict(padding=4, padding_mode="circular"), (1, 3, 3, 8), ["circular", "at most once"]),
    (dict(transposed=True, padding=3), (1, 3, 2, 2), ["output size of -2"]),
])
def test_forward_rejections(spec_kw, shape, words):
    spec = conv2d(3, 16, 3, **spec_kw)
    with pytest.raises(ConvError) as e:
        spec.output_shape(shape)
    for w in words:
        assert w in str(e.value), str(e.value)


def test_reflect_padding_just_below_size_is_fine():
    assert conv2d(1, 1, 3, padding=2, padding_mode="reflect").output_shape((1, 1, 3, 3)) == \
        (1, 1, 5, 5)
    assert conv2d(1, 1, 3, padding=3, padding_mode="circular").output_shape((1, 1, 3, 3)) == \
        (1, 1, 7, 7)


def test_conv_error_is_a_value_error():
    assert issubclass(ConvError, ValueError)


def test_spec_is_frozen_and_replace_revalidates():
    spec = conv2d(4, 8, 3)
    with pytest.raises(AttributeError):
        spec.groups = 2
    assert spec.replace(groups=2).weight_shape == (8, 2, 3, 3)
    with pytest.raises(ConvError):
        spec.replace(groups=3)


def test_torch_repr_round_trip_text():
    spec = ConvSpec(2, 16, 32, (4, 3), stride=2, padding=1, groups=4, transposed=True,
                    output_padding=1, bias=False)
    assert spec.torch_repr() == ("ConvTranspose2d(16, 32, (4, 3), stride=2, padding=1, "
                                 "output_padding=1, groups=4, bias=False)")


# ---- torch's corners (the shapes themselves are checked against torch in
# test_spec_vs_torch.py and tests/cli/test_corners.py) ---------------------------------
def test_corner_answers_and_their_notes():
    spec = conv2d(3, 4, 1, padding=1)
    assert spec.output_shape((0, 3, 0, 8)) == (0, 4, 2, 10)
    assert "with N >= 1 this conv fails" in notes(spec, (0, 3, 0, 8))[0]
    assert notes(spec, (0, 3, 5, 8)) == []             # the same answer as for N >= 1
    t = ConvSpec(2, 3, 4, 3, output_padding=2, transposed=True)    # built, as torch does
    assert t.output_shape((0, 3, 5, 5)) == (0, 4, 9, 9)
    assert "must be smaller than stride (1)" in notes(t, (0, 3, 5, 5))[0]
    zero = conv2d(0, 4, 3)
    assert zero.output_shape((2, 0, 5, 5)) == (2, 0, 3, 3) and zero.num_params == 4
    assert zero.output_shape((0, 5, 5)) == (0, 3, 3)
    assert "0 output channels, not out_channels=4" in notes(zero, (2, 0, 5, 5))[0]
    crop = conv2d(3, 4, 3, padding=(2, -1), padding_mode="circular")
    assert crop.output_shape((1, 3, 8, 6)) == (1, 4, 10, 2)
    assert "negative padding crops" in notes(crop, (1, 3, 8, 6))[0]
    assert explain(crop, (1, 3, 8, 6))[1].formula == "floor((6-1-1-1*(3-1)-1)/1)+1"


def test_sizes_beyond_int64_are_refused_without_printing_them():
    with pytest.raises(ConvError, match="64-bit integers"):
        conv2d(10 ** 5000, 4, 3)
    with pytest.raises(ConvError, match="at most 9,223,372,036,854,775,807"):
        conv2d(3, 4, 3).output_shape((1, 3, 10 ** 5000, 8))


@pytest.mark.parametrize("name", ["kernel_size", "stride", "dilation"])
def test_a_tuple_with_a_non_number_is_a_conv_error(name):
    """The fast path must not compare None with an int (found by the network fuzz)."""
    args = {"kernel_size": 3, name: (0, None)}
    with pytest.raises(ConvError, match=f"{name}=\\(0, None\\)"):
        ConvSpec(2, 1, 1, **args)
