"""show's sliding window is drawn position by position, so it has a size limit; the
refusal names what is large (issue 25: it blamed the input when the output, the padding
or the stride was the large thing)."""

from __future__ import annotations

import pytest

from convcli.calculator.picture_data import window_view
from convcli.calculator.window_limits import MAX_WINDOW_POSITIONS
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError


def _view(shape, **conv):
    spec = ConvSpec(dims=2, in_channels=1, out_channels=1, **conv)
    return window_view(spec, shape, 0)


@pytest.mark.parametrize("shape, conv, blamed", [
    ((1, 1, 8, 8), dict(kernel_size=3, padding=10**8), "padding 100000000+100000000"),
    ((1, 1, 8, 8), dict(kernel_size=3, stride=10**8, transposed=True), "stride 100,000,000"),
    ((1, 1, 3 * 10**6, 8), dict(kernel_size=3), "spatial dim 0 is 3,000,000 long"),
    ((1, 1, 8, 8), dict(kernel_size=300_000, dilation=100, transposed=True),
     "the output along dim 0 is 29,999,908 long"),
])
def test_the_refusal_names_what_is_large(shape, conv, blamed):
    with pytest.raises(ConvError) as e:
        _view(shape, **conv)
    assert str(e.value).startswith(blamed), str(e.value)
    assert f"{MAX_WINDOW_POSITIONS:,} positions" in str(e.value)
    if "padding" in blamed or "stride" in blamed:
        assert "smaller input" not in str(e.value)


def test_a_window_at_the_limit_is_still_drawn():
    view = _view((1, 1, 1000, 8), kernel_size=3, padding=1)
    assert view is not None
