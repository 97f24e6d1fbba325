import pytest

from convcli import ConvError
from convcli.calculator.parse import parse_ints, parse_padding, parse_shape
from convcli.formatting import shape_x as format_shape


@pytest.mark.parametrize("text", ["4x3x64x64", "4,3,64,64", "(4, 3, 64, 64)", "[4,3,64,64]",
                                  " 4 x 3 x 64 x 64 ", "4×3×64×64", "4 3 64 64"])
def test_shape_forms(text):
    assert parse_shape(text) == (4, 3, 64, 64)


@pytest.mark.parametrize("text, words", [
    ("3x", ["empty entry"]), ("", ["empty value"]), ("nan", ["'nan'", "not a whole number"]),
    ("-1x3x8x8", ["dimension 0", "-1", "cannot be negative"]), ("4x3.5x8", ["'3.5'"]),
    ("()", ["empty value"]), ("4xx3", ["empty entry"]),
])
def test_bad_shapes_name_the_option(text, words):
    with pytest.raises(ConvError) as e:
        parse_shape(text, "INPUT")
    assert str(e.value).startswith("INPUT: ")
    for w in words:
        assert w in str(e.value)


def test_ints_and_tuples():
    assert parse_ints("3", "--kernel-size") == 3
    assert parse_ints("3,5", "--kernel-size") == (3, 5)
    assert parse_ints("3x5", "--kernel-size") == (3, 5)
    assert parse_ints("(3,)", "--kernel-size") == (3,)
    assert parse_ints("3,", "--kernel-size") == (3,)         # a 1-tuple, as in Python
    assert parse_ints("-1", "--stride") == -1  # ConvSpec judges the sign
    with pytest.raises(ConvError, match="--stride: 'two'"):
        parse_ints("two", "--stride")


def test_padding_words():
    assert parse_padding("SAME") == "same"
    assert parse_padding("valid") == "valid"
    assert parse_padding("1,2") == (1, 2)
    with pytest.raises(ConvError, match="--padding: 'full' is not a padding"):
        parse_padding("full")


def test_format_shape_round_trips():
    assert parse_shape(format_shape((2, 3, 4))) == (2, 3, 4)


def test_shapes_pasted_as_python_prints_them():
    assert parse_shape("torch.Size([4, 3, 64, 64])") == (4, 3, 64, 64)
    assert parse_shape(" torch.Size([3,224,224]) ") == (3, 224, 224)
    assert parse_shape("Size([2, 5])") == (2, 5)
    with pytest.raises(ConvError, match="empty value"):
        parse_shape("torch.Size([])")


@pytest.mark.parametrize("text, words", [
    ("1x٣x8x8", "only the ASCII digits 0-9"), ("１x3", "only the ASCII digits 0-9"),
    ("1x" + "9" * 4301, "4,301 digits"), ("1x" + "9" * 19, "64-bit"),
])
def test_numbers_are_ascii_and_bounded(text, words):
    with pytest.raises(ConvError, match=words):
        parse_shape(text)
    assert parse_shape("1x" + str(2 ** 63 - 1)) == (1, 2 ** 63 - 1)
