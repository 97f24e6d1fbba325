"""convcli.calculator.window_limits: show's drawing bound, and a refusal that blames
what is large (input, padding, stride or output)."""

import pytest

from convcli.calculator.window_limits import MAX_WINDOW_POSITIONS, check_drawable
from convcli.errors import ConvError

M = MAX_WINDOW_POSITIONS


@pytest.mark.parametrize("args", [
    (0, 8, 1, 1, 1, 8, 3), (0, M, 0, 0, 1, M - 2, 1), (0, M // 2, 0, 0, 2, M // 4, 2)])
def test_drawable_windows_pass(args):
    check_drawable(*args)


def test_bound_is_exact_on_the_input_side():
    check_drawable(0, M - 2, 1, 1, 1, 1, 1)
    with pytest.raises(ConvError):
        check_drawable(0, M - 1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("args, blamed, fix", [
    ((1, 2 * M, 0, 0, 1, 10, 1), "spatial dim 1 is 2,000,000 long", "use a smaller input"),
    ((0, 4, M, M, 1, 10, 1), f"padding {M}+{M} along dim 0", "use a smaller padding"),
    # a transposed conv: its output is about stride x its input
    ((2, 150_000, 0, 0, 7, 149_999 * 7 + 1, 1),
     "stride 7 along dim 2 spreads 150,000 inputs over 1,050,000", "use a smaller stride"),
    ((0, 10, 0, 0, 1, M, 2), f"the output along dim 0 is {M:,} long ({2 * M:,} taps)",
     "use a smaller kernel, dilation, stride or input")])
def test_refusal_blames_what_is_large(args, blamed, fix):
    with pytest.raises(ConvError) as e:
        check_drawable(*args)
    msg = str(e.value)
    assert msg.startswith(blamed), msg
    assert msg.endswith(fix) and f"{M:,} positions" in msg and "\n" not in msg
