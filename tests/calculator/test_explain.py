"""convcli.calculator.explain (the formulas written out, and the notes), with the input
checks (conv_checks.check_input) and ConvSpec.output_shape they explain: output sizes,
refusals and notes against real CPU forwards of torch (not the meta device); each
formula evaluates to the size it explains."""

import math
import warnings

import pytest

from convcli.calculator import explain
from convcli.calculator.conv_checks import check_input
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError
from convcli.formatting import spatial_names

torch = pytest.importorskip("torch")


def torch_layer(spec):
    kind = ("ConvTranspose" if spec.transposed else "Conv") + f"{spec.dims}d"
    kw = dict(stride=spec.stride, dilation=spec.dilation, groups=spec.groups, bias=spec.bias)
    if spec.transposed:
        kw.update(padding=spec.padding, output_padding=spec.output_padding)
    else:
        kw.update(padding=spec.padding, padding_mode=spec.padding_mode)
    return getattr(torch.nn, kind)(spec.in_channels, spec.out_channels, spec.kernel_size, **kw)


def torch_shape(spec, input_shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            return tuple(torch_layer(spec)(torch.zeros(input_shape)).shape)


CASES = [
    (ConvSpec(2, 3, 8, 3, stride=2, padding=1), (2, 3, 9, 10)),
    (ConvSpec(2, 3, 8, 3, stride=2, padding=1), (3, 9, 10)),               # unbatched
    (ConvSpec(1, 4, 4, 4, padding="same", dilation=3), (1, 4, 11)),
    (ConvSpec(3, 2, 4, (1, 2, 3), stride=(1, 2, 3), groups=2), (1, 2, 4, 5, 6)),
    (ConvSpec(2, 2, 2, 3, padding=2, padding_mode="reflect"), (1, 2, 3, 3)),
    (ConvSpec(2, 2, 2, 3, padding=3, padding_mode="circular"), (1, 2, 3, 3)),
    (ConvSpec(1, 1, 1, 1, padding=-1, padding_mode="replicate"), (1, 1, 3)),  # crops
    (ConvSpec(2, 4, 6, 4, stride=2, padding=1, groups=2, transposed=True), (1, 4, 5, 5)),
    (ConvSpec(1, 2, 2, 3, stride=3, dilation=2, transposed=True, output_padding=2), (2, 7)),
    (ConvSpec(2, 3, 8, 3), (0, 3, 5, 5)),                                  # empty batch
]


@pytest.mark.parametrize("spec, shape", CASES, ids=[str(s) for _, s in CASES])
def test_output_shape_and_explain_agree_with_torch(spec, shape):
    expected = torch_shape(spec, shape)
    assert spec.output_shape(shape) == expected
    assert spec.output_shape(list(shape)) == expected        # any sequence
    assert check_input(spec, shape) is (len(shape) == spec.dims + 2)
    dims = explain.explain(spec, shape)
    assert [e.size_out for e in dims] == list(expected[-spec.dims:])
    for e in dims:
        value = eval(e.formula.replace("floor", "math.floor"), {"math": math})
        assert value == e.size_out, e.formula


def test_input_with_zero_channels_is_checked_against_in_channels_first():
    with pytest.raises(RuntimeError):
        torch_shape(ConvSpec(1, 2, 5, 3), (1, 0, 6))
    with pytest.raises(ConvError, match="input has 0 channels"):
        ConvSpec(1, 2, 5, 3).output_shape((1, 0, 6))


@pytest.mark.parametrize("spec, shape, words", [
    (ConvSpec(2, 3, 8, 3), (3, 8), "has 2 dims but Conv2d takes 4 (N, C, H, W) or 3 "
                                   "unbatched"),
    (ConvSpec(2, 3, 8, 3), (1, 2, 3, 8, 8), "for a 3d conv use --dims 3"),
    (ConvSpec(1, 3, 8, 3), (1, 2, 3, 4, 5, 6), "check the input shape"),
    (ConvSpec(2, 3, 8, 3), (1, 4, 8, 8), "input has 4 channels (dim 1 of 1x4x8x8) but "
                                         "in_channels=3"),
    (ConvSpec(2, 3, 8, 3), (1, 3, 8, -1), "sizes cannot be negative"),
    (ConvSpec(2, 3, 8, 3), (1, 3, 8, 2 ** 63), "torch sizes are 64-bit integers"),
    (ConvSpec(2, 3, 8, 3), (1, 3, 8, 8.0), "every size must be a whole number"),
    (ConvSpec(2, 3, 8, 3), (1, 3, 8, True), "every size must be a whole number"),
    (ConvSpec(2, 3, 8, 5), (1, 3, 8, 4), "spatial dim 1: the padded input is 4"),
    (ConvSpec(1, 3, 8, 3, dilation=4), (3, 8), "with dilation 4 spans 9"),
    (ConvSpec(1, 3, 8, 3), (1, 3, 0), "spatial dim 0 is 0"),
    (ConvSpec(1, 1, 1, 3, padding=3, padding_mode="reflect"), (1, 1, 3),
     "padding 3 on spatial dim 0 must be smaller than its size 3"),
    (ConvSpec(1, 1, 1, 1, padding=4, padding_mode="circular"), (1, 1, 3),
     "is larger than its size 3"),
    (ConvSpec(1, 1, 1, 1, padding=-2, padding_mode="replicate"), (1, 1, 3),
     "crops its 3 element(s) to -1"),
    (ConvSpec(1, 2, 2, 3, stride=2, transposed=True, output_padding=1, dilation=1),
     (1, 2, 1), None),
    (ConvSpec(1, 2, 2, 1, transposed=True, padding=2), (1, 2, 2),
     "would give an output size of -2"),
])
def test_errors_where_torch_fails(spec, shape, words):
    try:
        torch_shape(spec, shape)
        torch_ok = True
    except (RuntimeError, ValueError, TypeError, OverflowError):
        torch_ok = False
    if words is None:          # a valid one in the list, as a control
        assert torch_ok and spec.output_shape(shape) == torch_shape(spec, shape)
        return
    assert not torch_ok
    with pytest.raises(ConvError) as e:
        spec.output_shape(shape)
    assert words in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConvError, match=str(e.value)[:20].replace("(", r"\(")):
        explain.explain(spec, shape)


def test_transposed_output_padding_bound_as_torch():
    ok = ConvSpec(1, 1, 1, 3, stride=2, transposed=True, output_padding=1)
    assert ok.output_shape((1, 1, 4)) == torch_shape(ok, (1, 1, 4)) == (1, 1, 10)
    bad = ConvSpec(1, 1, 1, 3, transposed=True, output_padding=1)
    with pytest.raises(RuntimeError):
        torch_shape(bad, (1, 1, 4))
    with pytest.raises(ConvError, match="must be smaller than stride"):
        bad.output_shape((1, 1, 4))


def test_check_input_does_not_check_the_window():
    spec = ConvSpec(1, 1, 1, 9)
    assert check_input(spec, (1, 1, 3)) is True
    assert check_input(spec, (1, 3)) is False
    with pytest.raises(ConvError):
        spec.output_shape((1, 1, 3))


def test_explain_notes():
    same = explain.explain(ConvSpec(1, 1, 1, 4, padding="same"), (1, 1, 8))[0]
    assert same.pad_left == 1 and same.pad_right == 2
    assert "'same' pads 1 before and 2 after" in same.note
    dropped = explain.explain(ConvSpec(1, 1, 1, 3, stride=2), (1, 1, 8))[0]
    assert dropped.formula == "floor((8+0+0-1*(3-1)-1)/2)+1" and dropped.size_out == 3
    assert dropped.note == "the last 1 padded position(s) are never covered by a window"
    crop = explain.explain(ConvSpec(1, 1, 1, 1, padding=-1, padding_mode="reflect"),
                          (1, 1, 5))[0]
    assert "a negative padding crops (5 -> 3)" in crop.note
    t = explain.explain(ConvSpec(1, 1, 1, 3, stride=2, padding=1, transposed=True),
                       (1, 1, 4))[0]
    assert t.formula == "(4-1)*2-2*1+1*(3-1)+0+1" and t.note == ""


def test_notes_for_the_inputs_torch_treats_differently():
    assert explain.notes(ConvSpec(2, 3, 8, 3), (1, 3, 8, 8)) == []
    for spec, shape in [(ConvSpec(1, 1, 1, 3, transposed=True, output_padding=1), (0, 1, 4)),
                        (ConvSpec(2, 3, 8, 1, padding=1), (0, 3, 0, 4))]:
        empty = explain.notes(spec, shape)
        assert len(empty) == 1 and empty[0].startswith("empty batch: torch skips")
        # torch answers the empty batch and refuses N=1, as the note says
        assert spec.output_shape(shape) == torch_shape(spec, shape)
        with pytest.raises(RuntimeError):
            torch_shape(spec, (1,) + shape[1:])
    crop = explain.notes(ConvSpec(1, 1, 1, 1, padding=-1, padding_mode="circular"), (1, 1, 4))
    assert crop == ["negative padding crops: padding_mode='circular' pads with F.pad, which "
                    "removes elements where the padding is negative"]


@pytest.mark.parametrize("d, names", [(1, "L"), (2, "H, W"), (3, "D, H, W")])
def test_spatial_names(d, names):
    assert spatial_names(d) == names
