"""calculator/conv_checks.py: each of torch's refusals, called directly, refuses exactly
what torch refuses (the module's constructor, or a forward pass on CPU), with a message
that names the rule; and what it accepts, torch runs."""

from __future__ import annotations

import pytest

from convcli.calculator import conv_checks as checks
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError

torch = pytest.importorskip("torch")

CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
TCONV = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d,
         3: torch.nn.ConvTranspose3d}


def torch_refuses(kwargs: dict, dims: int, transposed: bool, shape=None) -> bool:
    try:
        module = (TCONV if transposed else CONV)[dims](**kwargs)
        if shape is not None:
            with torch.no_grad():
                module(torch.zeros(shape))
    except (RuntimeError, ValueError, TypeError):
        return True
    return False


def outcome(call) -> tuple[bool, str, object]:
    """(refused, its message, the answer) of a call that may raise ConvError."""
    try:
        return False, "", call()
    except ConvError as e:
        return True, str(e), None


# (ConvSpec kwargs without dims, dims, words of the message, or None where torch runs it)
CONSTRUCTION = [
    (dict(in_channels=16, out_channels=16, kernel_size=1, groups=3), 2, "not divisible"),
    (dict(in_channels=4, out_channels=8, kernel_size=3, stride=2, padding="same"), 2,
     "needs stride 1"),
    (dict(in_channels=4, out_channels=8, kernel_size=3, padding="full"), 1,
     "only padding strings"),
    (dict(in_channels=4, out_channels=8, kernel_size=3, padding=-1), 2, "cannot be negative"),
    (dict(in_channels=4, out_channels=8, kernel_size=0), 2, "must be at least 1"),
    (dict(in_channels=0, out_channels=8, kernel_size=3), 2, None),   # torch builds it
    (dict(in_channels=4, out_channels=8, kernel_size=3, groups=2), 3, None),
]


@pytest.mark.parametrize("kwargs,dims,words", CONSTRUCTION)
def test_construction_refusals_are_torch_s(kwargs, dims, words):
    """Refused when torch refuses to build the module or fails every forward pass
    (negative padding and a 0 kernel build, then fail on any input)."""
    ordinary = (1, kwargs["in_channels"]) + (8,) * dims
    refused, message, _ = outcome(lambda: ConvSpec(dims, **kwargs))
    assert refused == (words is not None)
    assert refused == torch_refuses(kwargs, dims, False, ordinary)
    if words:
        assert words in message and "\n" not in message


def test_a_transposed_conv_takes_only_zeros_and_no_padding_words():
    with pytest.raises(ConvError, match="only supports 'zeros'"):
        ConvSpec(2, 4, 8, 3, transposed=True, padding_mode="reflect")
    assert torch_refuses(dict(in_channels=4, out_channels=8, kernel_size=3,
                              padding_mode="reflect"), 2, True)
    with pytest.raises(ConvError, match="only whole-number padding"):
        ConvSpec(2, 4, 8, 3, transposed=True, padding="same")
    with pytest.raises(ConvError, match="only a transposed conv takes output_padding"):
        ConvSpec(2, 4, 8, 3, output_padding=1)


# (ConvSpec kwargs, dims, transposed, input shape, words of the message or None)
FORWARD = [
    (dict(in_channels=3, out_channels=8, kernel_size=5), 2, False, (1, 3, 4, 4),
     "the window must fit"),
    (dict(in_channels=3, out_channels=8, kernel_size=3, dilation=2), 1, False, (1, 3, 4),
     "spans 5"),
    (dict(in_channels=3, out_channels=8, kernel_size=3), 2, False, (1, 4, 8, 8),
     "input has 4 channels"),
    (dict(in_channels=3, out_channels=8, kernel_size=3), 2, False, (1, 1, 3, 8, 8),
     "has 5 dims"),
    (dict(in_channels=3, out_channels=8, kernel_size=3, padding=4, padding_mode="reflect"),
     2, False, (1, 3, 4, 4), "must be smaller than its size"),
    (dict(in_channels=3, out_channels=8, kernel_size=3, padding=2, padding_mode="circular"),
     1, False, (1, 3, 2), None),
    (dict(in_channels=3, out_channels=8, kernel_size=3, padding=3, padding_mode="circular"),
     1, False, (1, 3, 2), "wrap around at most once"),
    (dict(in_channels=4, out_channels=2, kernel_size=1, stride=2, output_padding=2), 2, True,
     (1, 4, 3, 3), "must be smaller than stride"),
    (dict(in_channels=4, out_channels=2, kernel_size=1, padding=1), 1, True, (1, 4, 1),
     "would give an output size of -1"),
    (dict(in_channels=4, out_channels=2, kernel_size=1, padding=1), 1, True, (1, 4, 2),
     "would give an output size of 0"),
    (dict(in_channels=3, out_channels=8, kernel_size=3), 2, False, (3, 8, 8), None),
    (dict(in_channels=3, out_channels=8, kernel_size=3), 2, False, (0, 3, 8, 8), None),
    (dict(in_channels=3, out_channels=8, kernel_size=3), 2, False, (0, 3, 1, 8),
     "the window must fit"),
]


@pytest.mark.parametrize("kwargs,dims,transposed,shape,words", FORWARD)
def test_forward_refusals_are_torch_s(kwargs, dims, transposed, shape, words):
    spec = ConvSpec(dims, transposed=transposed, **kwargs)
    refused, message, got = outcome(lambda: spec.output_shape(shape))
    assert refused == (words is not None)
    assert refused == torch_refuses(kwargs, dims, transposed, shape)
    if words:
        assert words in message and "\n" not in message
    else:
        module = (TCONV if transposed else CONV)[dims](**kwargs)
        with torch.no_grad():
            assert tuple(module(torch.zeros(shape)).shape) == got


def test_a_batched_input_to_a_conv_one_rank_up_is_named_for_the_conv_it_fits():
    """1x3x8x8 to Conv3d(3, 4, 3) is an unbatched (C, D, H, W) input with 1 channel:
    torch refuses it, and the message says so and names the conv that takes it."""
    kwargs = dict(in_channels=3, out_channels=4, kernel_size=3)
    assert torch_refuses(kwargs, 3, False, (1, 3, 8, 8))
    with torch.no_grad():
        assert tuple(CONV[2](**kwargs)(torch.zeros(1, 3, 8, 8)).shape) == (1, 4, 6, 6)
    with pytest.raises(ConvError) as e:
        ConvSpec(3, **kwargs).output_shape((1, 3, 8, 8))
    assert str(e.value) == ("input has 1 channels (dim 0 of 1x3x8x8, read unbatched as (C, "
                            "D, H, W)) but in_channels=3; set in_channels=1 or feed 3 "
                            "channels; for a batched 2d input use a 2d conv")
    with pytest.raises(ConvError) as e:     # no reading fits: no conv to name
        ConvSpec(2, 5, 4, 3).output_shape((3, 8, 8))
    assert str(e.value).endswith("feed 5 channels")


def test_check_input_says_batched_and_leaves_the_window_to_the_sizes():
    spec = ConvSpec(2, 3, 8, 5)
    assert checks.check_input(spec, (2, 3, 8, 8)) is True
    assert checks.check_input(spec, (3, 8, 8)) is False
    assert checks.check_input(spec, (1, 3, 2, 2)) is True     # the window: output_sizes
    with pytest.raises(ConvError, match="spatial dim 0 is 0"):
        checks.check_input(spec, (1, 3, 0, 8))
    with pytest.raises(ConvError, match="whole number"):
        checks.check_input(spec, (1, 3, 8.5, 8))


def test_message_helpers():
    assert checks.transposed_formula(4, 3, 2, 1, 1, 0) == "(4-1)*2-2*1+1*(3-1)+0+1"
    assert checks.at_least_one("stride", 2, 3) == (2, 2, 2)
    with pytest.raises(ConvError, match="dim 1 is 0"):
        checks.at_least_one("stride", (1, 0), 2)
    assert checks.same_hint(ConvSpec(2, 1, 1, (3, 5), dilation=(1, 2))) == "(1, 4)"
