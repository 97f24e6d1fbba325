"""A conv given as torch code (network/conv_code.py through shape and params): random
constructor texts (every option, every rank, transposed, positional or keyword, with
or without nn./torch.nn., and the form print(model) shows) against the module torch
builds from the same text: output shape, weight shape and params."""

import random
import re

import pytest

from conftest import examples
from convcli import ConvError
from convcli.cli import calculator_commands
from convcli.cli.conv_args import ConvArgs

torch = pytest.importorskip("torch")
nn = torch.nn

_POSITIONAL = {False: ["in_channels", "out_channels", "kernel_size", "stride", "padding",
                       "dilation", "groups", "bias", "padding_mode"],
               True: ["in_channels", "out_channels", "kernel_size", "stride", "padding",
                      "output_padding", "groups", "bias", "dilation"]}


def _per_dim(rng, d, low, high):
    if rng.random() < 0.5:
        return rng.randint(low, high)
    return tuple(rng.randint(low, high) for _ in range(d))


def _most(v):
    return max(v) if isinstance(v, tuple) else v


def random_text(rng: random.Random) -> str:
    d, transposed = rng.randint(1, 3), rng.random() < 0.35
    g = rng.choice([1, 1, 2, 3, 4])
    values = {"in_channels": g * rng.randint(1, 3), "out_channels": g * rng.randint(1, 3),
              "kernel_size": _per_dim(rng, d, 1, 4)}
    if rng.random() < 0.5:
        values["stride"] = _per_dim(rng, d, 1, 3)
    if rng.random() < 0.5:
        values["dilation"] = _per_dim(rng, d, 1, 3)
    if g > 1 or rng.random() < 0.2:
        values["groups"] = g
    if rng.random() < 0.3:
        values["bias"] = False
    stride1 = _most(values.get("stride", 1)) == 1
    r = rng.random()
    if not transposed and r < 0.2 and stride1:
        values["padding"] = "same"
    elif not transposed and r < 0.3:
        values["padding"] = "valid"
    elif r < 0.7:
        values["padding"] = _per_dim(rng, d, 0, 2)
    if not transposed and rng.random() < 0.3:
        values["padding_mode"] = rng.choice(["zeros", "reflect", "replicate", "circular"])
    if transposed and rng.random() < 0.5:
        # output_padding < stride or dilation, per dim
        s, dl = values.get("stride", 1), values.get("dilation", 1)
        limit = [max(a, b) for a, b in zip(*(v if isinstance(v, tuple) else (v,) * d
                                              for v in (s, dl)))]
        values["output_padding"] = tuple(rng.randint(0, m - 1) for m in limit)
    order = _POSITIONAL[transposed]
    cut = rng.randint(3, len(order))   # the first `cut` given ones by position
    args, kwargs = [], []
    for i, name in enumerate(order):
        if name not in values:
            cut = min(cut, i)
            continue
        (args if i < cut else kwargs).append(
            repr(values[name]) if i < cut else f"{name}={values[name]!r}")
    kwargs += [f"{n}={values[n]!r}" for n in values if n not in order]
    prefix = rng.choice(["", "nn.", "torch.nn."])
    name = f"{'ConvTranspose' if transposed else 'Conv'}{d}d"
    return f"{prefix}{name}({', '.join(args + kwargs)})"


def _input(rng, module, d):
    batched = rng.random() < 0.7
    sizes = [rng.randint(1, 12) for _ in range(d)]
    shape = ([rng.randint(1, 2)] if batched else []) + [module.in_channels] + sizes
    return tuple(shape)


def _torch_answer(module, shape):
    try:
        with torch.no_grad():
            return tuple(module(torch.zeros(shape)).shape)
    except RuntimeError:
        return None


ALL_CASES = 300
CASES = examples(ALL_CASES)     # random cases: a tenth in the fast loop (tests/conftest.py)


@pytest.mark.parametrize("seed", range(CASES))
def test_constructor_text_matches_the_module_torch_builds(seed):
    rng = random.Random(seed)
    text = random_text(rng)
    module = eval(text, {"torch": torch, "nn": nn, **vars(nn)})   # the test may eval
    if rng.random() < 0.3:
        text = repr(module)          # what print(model) shows
    d = len(module.kernel_size)
    shape = _input(rng, module, d)
    expected = _torch_answer(module, shape)
    params = sum(p.numel() for p in module.parameters())

    got = calculator_commands.params(ConvArgs(code=text, command="params")).data
    assert got["weight_shape"] == list(module.weight.shape), text
    assert got["params"] == params, text

    typed = "x".join(map(str, shape))
    if expected is not None and 0 in expected:
        # torch's CPU kernel for a grouped ConvTranspose returns an empty output where the
        # ungrouped one raises "Output size is too small"; convcli says it fails
        return
    if expected is None:
        with pytest.raises(ConvError):
            calculator_commands.shape(ConvArgs(code=text, command="shape"), typed)
        return
    data = calculator_commands.shape(ConvArgs(code=text, command="shape"), typed).data
    assert data["output_shape"] == list(expected), (text, shape)
    assert data["weight_shape"] == list(module.weight.shape)
    assert data["params"] == params
    assert data["conv"]["kind"] == type(module).__name__
    # the reading came from the class: never the other one, never a note
    assert data["interpretation"]["dims"] == d
    assert data["interpretation"]["note"] is None


def test_the_generator_covers_every_option():
    """Over the seeds the full suite runs (the fast loop runs the first tenth)."""
    texts = [random_text(random.Random(s)) for s in range(ALL_CASES)]
    for word in ("ConvTranspose1d", "ConvTranspose3d", "Conv1d", "Conv3d", "nn.",
                 "torch.nn.", "padding='same'", "padding='valid'", "padding_mode=",
                 "bias=False", "output_padding=", "groups=", "dilation=", "(2, ", "stride="):
        assert any(word in t for t in texts), word


@pytest.mark.parametrize("text, given, message", [
    ("Conv2d(16, 32, 3)", {"kernel_size": "5"},
     "-k/--kernel-size 5 disagrees with Conv2d(16, 32, 3), which has kernel_size=3"),
    ("Conv2d(16, 32, 3)", {"stride": "2"},
     "-s/--stride 2 disagrees with Conv2d(16, 32, 3), which has stride=1"),
    ("Conv2d(16, 32, 3)", {"bias": False}, "--no-bias disagrees"),
    ("Conv1d(16, 32, 3)", {"dims": "2"}, "which has 1 spatial dim;"),
    ("Conv2d(16, 32, 3)", {"transposed": True}, "-t/--transposed disagrees"),
    ("Conv2d(16, 32, 3, padding='same')", {"padding": "1"}, "which has padding='same'"),
])
def test_an_option_that_disagrees_names_both(text, given, message):
    with pytest.raises(ConvError, match=re.escape(message)):
        calculator_commands.params(ConvArgs(code=text, command="params", **given))


def test_options_that_agree_are_fine():
    args = ConvArgs(code="nn.Conv2d(16, 32, (3, 3), padding=1)", kernel_size="3",
                    padding="1,1", in_channels="16", out_channels="32", dims="2")
    assert calculator_commands.params(args).data["params"] == 16 * 32 * 9 + 32


@pytest.mark.parametrize("text, message", [
    ("ReLU()", "is not a conv layer"),
    ("Conv2d(3, 16, 3), ReLU()", "2 layers"),
    ("LazyConv2d(16, 3)", "a Lazy conv infers in_channels"),
    ("Conv2d(3, 16)", "Conv2d needs kernel_size"),
    ("Conv2d(3, 16, 3, strde=2)", "did you mean stride="),
    ("Conv2d(3, 16, 3, groups=2)", "not divisible by groups"),
])
def test_constructors_torch_rejects_are_rejected(text, message):
    with pytest.raises(ConvError, match=message):
        calculator_commands.params(ConvArgs(code=text, command="params"))


def test_the_input_must_fit_the_constructor():
    with pytest.raises(ConvError, match="16"):
        calculator_commands.shape(ConvArgs(code="Conv2d(3, 8, 3)", command="shape"), "1x16x8x8")


# ---- network/conv_code.py called directly --------------------------------------------

from convcli.network.conv_code import (CONV_CLASSES, ConvCode, looks_like_code,  # noqa: E402
                                       read_conv_code)


@pytest.mark.parametrize("text, expected", [
    ("Conv2d(3, 8, 3)", True), ("  nn.Conv2d (3, 8, 3)", True),
    ("torch.nn.ConvTranspose1d(", True), ("ReLU()", True), ("1x3x8x8", False),
    ("torch.Size([1, 3, 8, 8])", False), ("Size([1, 3])", False), ("(1, 3, 8, 8)", False),
    ("", False), (None, False), ("3(", False), ("a.b.c(", True)])
def test_looks_like_code(text, expected):
    assert looks_like_code(text) is expected


@pytest.mark.parametrize("text, written", [
    ("Conv2d(16, 32, 3, stride=2, padding=1)",
     ("in_channels", "out_channels", "kernel_size", "stride", "padding")),
    ("nn.ConvTranspose1d(4, 2, 4, 2, 1, 1)",
     ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding")),
    ("Conv3d(in_channels=2, out_channels=4, kernel_size=(1, 2, 3))",
     ("in_channels", "out_channels", "kernel_size")),
    ("Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=same, "
     "padding_mode=reflect)",
     ("in_channels", "out_channels", "kernel_size", "stride", "padding", "padding_mode"))])
def test_read_conv_code_gives_the_module_torch_builds(text, written):
    code = read_conv_code(text)
    assert isinstance(code, ConvCode) and code.written == written
    assert code.name == code.label == text.split("(")[0].split(".")[-1].strip()
    assert code.name in CONV_CLASSES
    torch_text = text.replace("=same", "='same'").replace("=reflect", "='reflect'")
    module = eval("torch." + ("" if torch_text.startswith("nn.") else "nn.") + torch_text)
    assert code.spec.weight_shape == tuple(module.weight.shape)
    assert code.spec.stride == module.stride and code.spec.dilation == module.dilation
    assert code.spec.padding_mode == module.padding_mode


def test_read_conv_code_keeps_the_text_on_one_line():
    code = read_conv_code("Conv2d(16,\n   32,\n\t3)")
    assert code.text == "Conv2d(16, 32, 3)"


@pytest.mark.parametrize("text, words", [
    ("Conv2d(3, 8, 3), ReLU(), ReLU(), ReLU(), ReLU()",
     "CONV: 5 layers (Conv2d, ReLU, ReLU, ReLU, ...); shape and params describe one conv "
     "layer"),
    ("", "CONV"),
    ("Linear(3, 4)", "CONV: Linear(3, 4) is not a conv layer; convcli's conv commands take "
                     "Conv1d-3d or ConvTranspose1d-3d; for other layers use `convcli net "
                     "INPUT \"Linear(3, 4)\"`"),
    ("LazyConvTranspose2d(8, 3)", "write ConvTranspose2d(C_in, ...) with the channels"),
    ("Conv2d(3, 8, 3, padding=2, stride=2, padding_mode='zeros', groups=3)", "groups"),
    ("Conv2d(3, 8, os.system('x'))", "CONV")])
def test_read_conv_code_refusals(text, words):
    with pytest.raises(ConvError) as e:
        read_conv_code(text)
    assert words in str(e.value)


def test_read_conv_code_names_its_source():
    with pytest.raises(ConvError, match="^--conv: "):
        read_conv_code("ReLU()", source="--conv")
