"""convcli.network.binding: a LayerCall bound to a signature as Python binds it to
torch's constructor (checked against torch's own inspect.signature binding), the
argument checks the rules share, and the constructor in as few arguments as torch
needs (which builds the same module in torch)."""

import inspect

import pytest

from convcli.errors import ConvError
from convcli.network.binding import (REQUIRED, STAR, bind, bool_arg, compact_text,
                                     int_arg, ints_arg, near)
from convcli.network.rules import REGISTRY
from convcli.network.text import parse_layers

SIG = [("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
       ("stride", 1), ("padding", 0), ("bias", True)]


def call(text):
    (c,) = parse_layers(text)
    return c


@pytest.mark.parametrize("text", [
    "Conv2d(3, 8, 3)", "Conv2d(3, 8, kernel_size=3, stride=2)",
    "Conv2d(in_channels=3, out_channels=8, kernel_size=(1, 3), padding='same')",
    "ConvTranspose1d(4, 2, 4, 2, 1, 1, 2, False, 3)", "Linear(6, 5, bias=False)",
    "BatchNorm2d(4, momentum=None)", "MaxPool2d(3, 2, 1, 1, True, True)",
    "BatchNorm2d(4, 1e-3, 0.1, True, False, None, None, bias=False)",
    "GroupNorm(2, 4, 1e-5, True, None, None, bias=False)"])
def test_bind_matches_pythons_binding_to_torchs_signature(text):
    torch = pytest.importorskip("torch")
    c = call(text)
    signature, _ = REGISTRY[c.name]
    bound = inspect.signature(getattr(torch.nn, c.name).__init__).bind(
        None, *c.args, **c.kwargs)
    bound.apply_defaults()
    expected = dict(list(bound.arguments.items())[1:])
    assert bind(c, signature) == expected


@pytest.mark.parametrize("text, words", [
    ("Conv2d(3, 8, 3, 1, 0, False, 9)", "Conv2d takes at most 6 positional arguments "
                                        "(in_channels, out_channels, kernel_size, stride, "
                                        "padding, bias), got 7"),
    ("Conv2d(3, 8, 3, kernal_size=3)", "has no argument 'kernal_size'"),
    ("Conv2d(3, 8, 3, strid=2)", "has no argument 'strid'; did you mean stride= (its "
                                 "arguments: in_channels, "),
    ("Conv2d(3, 8, 3, outchannels=2)", "did you mean out_channels="),
    ("Conv2d(3, 8, 3, out_channels=8)", "out_channels is given twice (by position and by "
                                        "name)"),
    ("Conv2d(3, 8)", "Conv2d needs kernel_size (its arguments: in_channels, out_channels, "
                     "kernel_size, stride, padding, bias)"),
])
def test_bind_errors_name_the_layer_and_its_arguments(text, words):
    with pytest.raises(ConvError) as e:
        bind(call(text), SIG)
    msg = str(e.value)
    assert msg.startswith(text + ": ") and words in msg and "\n" not in msg


def test_bind_fills_defaults_in_signature_order():
    assert bind(call("Conv2d(3, 8, 3, bias=False)"), SIG) == {
        "in_channels": 3, "out_channels": 8, "kernel_size": 3, "bias": False, "stride": 1,
        "padding": 0}


@pytest.mark.parametrize("a, b, expected", [
    ("stride", "strid", True), ("stride", "stride", True), ("stride", "strdie", False),
    ("stride", "strike", True), ("inplace", "inplce", True), ("padding", "paddings", True),
    ("kernel_size", "kernal_sise", False), ("bias", "b", False), ("", "a", True)])
def test_near_is_one_edit(a, b, expected):
    assert near(a, b) is expected and near(b, a) is expected


def test_int_arg():
    c = call("X()")
    assert int_arg(c, "n", 3) == 3 and int_arg(c, "n", 0, 0) == 0
    with pytest.raises(ConvError, match=r"X\(\): n=True must be a whole number"):
        int_arg(c, "n", True)
    with pytest.raises(ConvError, match="n=2.0 must be a whole number"):
        int_arg(c, "n", 2.0)
    with pytest.raises(ConvError, match="n=-1 must be at least 0"):
        int_arg(c, "n", -1, 0)


def test_bool_arg():
    c = call("X()")
    assert bool_arg(c, "b", False) is False
    for bad in (0, 1, "True", None):
        with pytest.raises(ConvError, match=f"b={bad!r} must be True or False"):
            bool_arg(c, "b", bad)


@pytest.mark.parametrize("value, dims, allow_one, expected", [
    (3, 2, True, (3, 3)), ((1, 2), 2, True, (1, 2)), ((4,), 3, True, (4, 4, 4)),
    ((1, 2, 3), 3, False, (1, 2, 3))])
def test_ints_arg_broadcasts(value, dims, allow_one, expected):
    assert ints_arg(call("X()"), "k", value, dims, allow_one=allow_one) == expected


@pytest.mark.parametrize("value, dims, low, allow_one, words", [
    ((1, 2), 3, None, True, "k=(1, 2) has 2 entries; a 3d layer needs one number or 3"),
    ((4,), 2, None, False, "k=(4,) has 1 entries"),
    ((), 2, None, True, "k=() must be a whole number or a tuple of 2"),
    ((1, 2.0), 2, None, True, "must be a whole number or a tuple of 2"),
    ("3", 2, None, True, "k='3' must be a whole number"),
    ((1, 0), 2, 1, True, "k=(1, 0): every entry must be at least 1"),
    (0, 2, 1, True, "k=0: every entry must be at least 1")])
def test_ints_arg_errors(value, dims, low, allow_one, words):
    with pytest.raises(ConvError) as e:
        ints_arg(call("X()"), "k", value, dims, low, allow_one)
    assert words in str(e.value)


@pytest.mark.parametrize("text, compact", [
    ("Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
     "Conv2d(3, 64, 3, padding=1, bias=False)"),
    ("Conv2d(3, 64, (3, 1), stride=(2, 2))", "Conv2d(3, 64, (3, 1), stride=2)"),
    ("MaxPool2d(kernel_size=2, stride=2)", "MaxPool2d(2)"),
    ("MaxPool2d(3, stride=2, padding=1)", "MaxPool2d(3, stride=2, padding=1)"),
    ("Linear(in_features=6, out_features=5, bias=True)", "Linear(6, 5)"),
    ("BatchNorm2d(4, eps=1e-05, momentum=0.1)", "BatchNorm2d(4)"),
    ("Conv1d(3, 4, 3, padding='same', device='cpu', dtype=None)",
     "Conv1d(3, 4, 3, padding='same')")])
def test_compact_text_builds_the_same_module_in_torch(text, compact):
    torch = pytest.importorskip("torch")
    c = call(text)
    signature, _ = REGISTRY[c.name]
    got = compact_text(c.name, bind(c, signature), signature)
    assert got == compact
    short = call(got)
    full = getattr(torch.nn, c.name)(*c.args, **c.kwargs)
    again = getattr(torch.nn, short.name)(*short.args, **short.kwargs)
    assert repr(again) == repr(full)


@pytest.mark.parametrize("text", ["BatchNorm2d(4, 1e-5, 0.1, True, True, None, None, False)",
                                  "GroupNorm(2, 4, 1e-5, True, None, None, False)",
                                  "SyncBatchNorm(4, 1e-5, 0.1, True, True, None, None, None, "
                                  "False)"])
def test_keyword_only_arguments_are_refused_by_position_as_torch_refuses_them(text):
    """torch's norms take `bias` after a `*`: by name only."""
    torch = pytest.importorskip("torch")
    c = call(text)
    with pytest.raises(TypeError, match="positional arguments"):
        getattr(torch.nn, c.name)(*c.args, **c.kwargs)
    signature, _ = REGISTRY[c.name]
    assert (STAR, None) in signature
    with pytest.raises(ConvError) as e:
        bind(c, signature)
    assert str(e.value).endswith(f"got {len(c.args)}; bias only by name (bias=...)")
