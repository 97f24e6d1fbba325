"""convcli.calculator.ints: whole numbers and per-dim tuples as torch's constructors take
them; the int64 bound is torch's own (checked against a real tensor)."""

import pytest

from convcli.calculator.ints import MAX_SIZE, check_int64, is_int, per_dim_tuple
from convcli.errors import ConvError


@pytest.mark.parametrize("value, expected", [
    (3, True), (0, True), (-2, True), (2 ** 70, True),
    (True, False), (False, False), (3.0, False), ("3", False), (None, False)])
def test_is_int_refuses_bools_floats_and_text(value, expected):
    assert is_int(value) is expected


class _IntLike(int):
    """An int subclass (numpy-like): still a whole number."""


@pytest.mark.parametrize("value, dims, expected", [
    (3, 2, (3, 3)), (3, 1, (3,)), (0, 3, (0, 0, 0)), ((1, 2), 2, (1, 2)),
    ([4, 5, 6], 3, (4, 5, 6)), (_IntLike(7), 2, (7, 7)), ((_IntLike(2), 3), 2, (2, 3))])
def test_per_dim_tuple_broadcasts_and_keeps(value, dims, expected):
    got = per_dim_tuple("stride", value, dims)
    assert got == expected and type(got) is tuple
    assert all(type(v) is int or isinstance(v, int) for v in got)


def test_per_dim_tuple_matches_torch_broadcast():
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv3d(1, 1, 2, stride=(1, 2, 3))
    assert per_dim_tuple("kernel_size", 2, 3) == conv.kernel_size
    assert per_dim_tuple("stride", (1, 2, 3), 3) == conv.stride


@pytest.mark.parametrize("value, dims, words", [
    ((1, 2), 3, "stride=(1, 2) has 2 entries but a 3d conv needs 3"),
    ([1, 2, 3], 2, "has 3 entries but a 2d conv needs 2"),
    ((1, True), 2, "every entry must be a whole number"),
    ([1.5, 2], 2, "every entry must be a whole number"),
    (True, 2, "expected a whole number or a tuple of 2"),
    ("3", 2, "expected a whole number or a tuple of 2"),
    (2.0, 1, "expected a whole number or a tuple of 1")])
def test_per_dim_tuple_errors_name_the_parameter(value, dims, words):
    with pytest.raises(ConvError) as e:
        per_dim_tuple("stride", value, dims)
    assert words in str(e.value) and str(e.value).startswith("stride=")


def test_max_size_is_torchs_int64_bound():
    torch = pytest.importorskip("torch")
    assert MAX_SIZE == torch.iinfo(torch.int64).max


@pytest.mark.parametrize("value", [0, MAX_SIZE, -MAX_SIZE, (1, MAX_SIZE), ()])
def test_check_int64_accepts_int64(value):
    check_int64("padding", value)


@pytest.mark.parametrize("value, bits", [(MAX_SIZE + 1, 63), (2 ** 80, 80), ((1, -2 ** 64), 64)])
def test_check_int64_names_the_size_in_bits(value, bits):
    with pytest.raises(ConvError) as e:
        check_int64("padding", value)
    assert str(e.value).startswith(f"padding: a value of about 2**{bits};")
    assert f"{MAX_SIZE:,}" in str(e.value)
