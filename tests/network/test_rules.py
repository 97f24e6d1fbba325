"""The layer-list parser and the per-layer rules of network/rules/, each layer checked
against the module torch builds from the same text (params, output shape)."""

import pytest

from conftest import examples
from convcli import ConvError
from convcli.network.text import parse_layers
from convcli.network.rules import KNOWN_LAYERS, REGISTRY
from convcli.network.walk import analyse_net


# ---- parsing (pure Python) ---------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Conv2d(3, 8, 3), ReLU(), Flatten()",
    "Conv2d(3, 8, 3)\nReLU()\nFlatten()",
    "nn.Conv2d(3, 8, 3),\n    nn.ReLU(),  # comment, with a comma\n    torch.nn.Flatten(),\n",
    "nn.Sequential(\n    nn.Conv2d(3, 8, 3),\n    nn.ReLU(),\n    nn.Flatten(),\n)",
    "self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Sequential(nn.ReLU()), nn.Flatten())",
    "(Conv2d(3, 8, 3), ReLU(), Flatten())",
    "nn.Sequential(OrderedDict([('conv', nn.Conv2d(3, 8, 3)), ('act', nn.ReLU()),\n"
    "                           ('flat', nn.Flatten())]))",
    "Conv2d(in_channels=3, out_channels=2 * 4, kernel_size=(3, 3)); ReLU(); Flatten()",
])
def test_the_forms_people_paste(text):
    calls = parse_layers(text)
    assert [c.name for c in calls] == ["Conv2d", "ReLU", "Flatten"]
    report = analyse_net((1, 3, 10, 10), calls)
    assert report.output_shape == (1, 8 * 8 * 8)


def test_arithmetic_and_literals():
    (c,) = parse_layers("Linear(64 * 4 * 4 + 0, 10 // 2, bias=not_a_name)".replace(
        "not_a_name", "False"))
    assert c.args == (1024, 5) and c.kwargs == {"bias": False}
    (c,) = parse_layers("Conv2d(3, 8, (3, 5), padding='same', stride=[1, 1])")
    assert c.args[2] == (3, 5) and c.kwargs == {"padding": "same", "stride": (1, 1)}
    (c,) = parse_layers("LeakyReLU(-0.1 * -1)")
    assert c.args == (0.1,)


def test_line_numbers_in_messages():
    with pytest.raises(ConvError, match="line 3: .*'k' is a variable"):
        parse_layers("ReLU(),\n# c\nConv2d(3, 8, k)")
    with pytest.raises(ConvError, match="line 2"):
        parse_layers("ReLU()\n3 + 4")


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "open('x')()", "ReLU(**{'inplace': True})",
    "ReLU(*[1])", "Linear(2 ** 1000, 3)", "lambda: 0", "Linear([i for i in range(3)], 2)",
])
def test_nothing_is_executed(text):
    with pytest.raises(ConvError):
        analyse_net((1, 3), parse_layers(text))


def test_unknown_layer_is_an_error_not_a_zero():
    with pytest.raises(ConvError, match="no rule for the layer 'MultiheadAttention'"):
        analyse_net((1, 3, 8), parse_layers("MultiheadAttention(8, 2)"))


def test_registry_names_are_torch_names():
    """Every name convcli knows is a torch.nn class (no invented layers)."""
    torch = pytest.importorskip("torch")
    assert all(hasattr(torch.nn, name) for name in KNOWN_LAYERS)


# ---- every layer against torch --------------------------------------------------------

ZOO = [
    ("1x3x9x9", "Conv2d(3, 6, 3, stride=2, padding=1, groups=3, bias=False)"),
    ("2x4x5", "ConvTranspose1d(4, 2, 3, stride=2, output_padding=1)"),
    ("1x2x4x5x6", "Conv3d(2, 4, (1, 3, 3), padding=(0, 1, 1), dilation=2)"),
    ("1x4x7x7", "ConvTranspose2d(4, 8, 4, 2, 1, groups=4)"),
    ("1x2x3x4x4", "ConvTranspose3d(2, 2, 2, stride=2)"),
    ("1x3x11", "MaxPool1d(3, 2, 1, ceil_mode=True)"),
    ("1x3x11x11", "MaxPool2d(3, stride=2, padding=1, dilation=2)"),
    ("3x7x7", "AvgPool2d((3, 2), ceil_mode=True, count_include_pad=False)"),
    ("1x2x5x6x7", "AvgPool3d(2, stride=(1, 2, 3))"),
    ("1x2x5x6x7", "MaxPool3d(2, padding=1)"),
    ("2x3x10", "AvgPool1d(4, stride=3, padding=2)"),
    ("1x3x9x9", "AdaptiveAvgPool2d((None, 3))"),
    ("1x3x9x9x4", "AdaptiveMaxPool3d(2)"),
    ("1x3x9", "AdaptiveAvgPool1d(5)"),
    ("4x6", "BatchNorm1d(6)"), ("4x6x3", "BatchNorm1d(6, affine=False)"),
    ("2x6x3x3", "BatchNorm2d(6)"), ("2x6x2x3x3", "BatchNorm3d(6, momentum=None)"),
    ("2x6x3x3", "InstanceNorm2d(6, affine=True)"), ("6x3x3", "InstanceNorm2d(6)"),
    ("2x6x8", "InstanceNorm1d(6)"), ("1x6x2x2x2", "InstanceNorm3d(6, affine=True)"),
    ("2x6x3x3", "GroupNorm(3, 6)"), ("2x6x3x3", "GroupNorm(2, 6, affine=False)"),
    ("2x5x7", "LayerNorm(7)"), ("2x5x7", "LayerNorm([5, 7], elementwise_affine=False)"),
    ("2x5x7", "LayerNorm((5, 7), bias=False)"),
    ("2x3x4", "PReLU(3)"), ("2x3x4", "PReLU()"), ("2x3x4", "LeakyReLU(0.2, inplace=True)"),
    ("2x3x4", "GELU(approximate='tanh')"), ("2x3x4", "Softmax(dim=1)"), ("2x3x4", "ELU()"),
    ("2x3x4", "Hardtanh(-2, 2)"), ("2x3x4", "Threshold(0.1, 20)"), ("2x3x4", "SiLU()"),
    ("2x3x4x4", "Dropout2d(0.1)"), ("2x3x4", "Dropout(p=0.3)"), ("2x3x4", "Sigmoid()"),
    ("2x3x4x4", "LocalResponseNorm(2)"),
    ("2x3x4x5", "Flatten()"), ("2x3x4x5", "Flatten(0, 2)"), ("2x3x4x5", "Flatten(-2)"),
    ("2x60", "Unflatten(1, (3, -1, 5))"), ("2x3x4", "Linear(4, 7, bias=False)"),
    ("1x3x5x5", "Upsample(scale_factor=2.5, mode='bilinear')"),
    ("1x3x5", "Upsample(size=9, mode='linear', align_corners=True)"),
    ("1x3x5x5x2", "Upsample(scale_factor=(1, 2, 0.5))"),
    ("1x3x5x5", "UpsamplingNearest2d(scale_factor=3)"),
    ("1x8x3x3", "PixelShuffle(2)"), ("1x2x4x6", "PixelUnshuffle(2)"),
    ("1x2x4x6", "ZeroPad2d((1, 2, 0, 3))"), ("1x2x4", "ReflectionPad1d(3)"),
    ("1x2x4x4x4", "ReplicationPad3d(1)"), ("2x4x4", "ConstantPad2d(1, 0.5)"),
    ("1x2x3x3", "CircularPad2d(2)"),
    ("1x3x4", "Identity(54, unused='x')"),
    ("0x3x4x4", "MaxPool2d(2)"), ("0x3x4x4", "AdaptiveAvgPool2d(1)"),  # an empty batch is fine
    ("2x3x4", "LazyLinear(7)"), ("1x3x9x9", "LazyConv2d(6, 3, groups=3)"),
    ("1x4x5", "LazyConvTranspose1d(2, 3, stride=2)"), ("2x6x3x3", "LazyBatchNorm2d()"),
    ("2x6x3x3", "LazyInstanceNorm2d(affine=True)"), ("4x6", "LazyBatchNorm1d()"),
    ("6x3x3", "LazyConv2d(2, 3)"),
    # zero-cost layers summary counts by their ops; torch >= 2.11's norms take bias=
    ("1x4x3x3", "ChannelShuffle(2)"), ("2x3x4", "RReLU(0.1, 0.3)"), ("2x6x3", "GLU(1)"),
    ("1x4x5x5", "CrossMapLRN2d(3)"), ("2x3x8", "RMSNorm(8)"), ("2x3x4x4", "SyncBatchNorm(3)"),
    ("1x2x8x8", "LPPool2d(2, 3, ceil_mode=True)"), ("1x2x9", "LPPool1d(2, 3, 2)"),
    ("1x2x4x4x4", "LPPool3d(1, 2)"), ("2x6x3x3", "BatchNorm2d(6, bias=False)"),
    ("2x6x3x3", "GroupNorm(3, 6, bias=False)"),
]


@pytest.mark.parametrize("shape,text", ZOO, ids=[t for _, t in ZOO])
def test_each_layer_matches_torch(shape, text):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    shape = tuple(int(n) for n in shape.split("x"))
    (call,) = parse_layers(text)
    report = analyse_net(shape, [call])
    module = getattr(torch.nn, call.name)(*call.args, **call.kwargs).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(torch.randn(shape))
    row = report.rows[0]
    assert row.output_shape == tuple(out.shape)
    assert row.params == sum(p.numel() for p in module.parameters())
    if call.name.startswith(("Conv", "Linear", "LazyConv", "LazyLinear")):
        assert 2 * row.macs == counter.get_total_flops()
    else:
        assert row.macs == 0


def test_zoo_covers_every_family():
    names = {parse_layers(t)[0].name for _, t in ZOO}
    for family in ("Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool",
                   "AdaptiveMaxPool", "BatchNorm", "InstanceNorm"):
        assert any(n.startswith(family) for n in names), family
    assert {"GroupNorm", "LayerNorm", "Linear", "Flatten", "Upsample", "Identity"} <= names
    assert set(REGISTRY) | {"Identity"} == set(KNOWN_LAYERS)


@pytest.mark.parametrize("shape,text", [
    ("1x3x8x8", "BatchNorm2d(4)"), ("1x3x8x8", "InstanceNorm2d(4, affine=True)"),
    ("1x6x8x8", "GroupNorm(2, 4)"), ("1x3x5", "LayerNorm(4)"), ("1x3x5", "Linear(4, 2)"),
    ("1x3x5", "PReLU(4)"), ("1x3x5x5", "PixelShuffle(2)"), ("1x3x5x5", "PixelUnshuffle(2)"),
    ("1x2x4", "ReflectionPad1d(4)"), ("1x3x4x4", "Flatten(2, 1)"), ("1x3x4", "Flatten(3)"),
    ("1x60", "Unflatten(1, (7, -1))"), ("1x3x5x5", "Upsample(size=(2, 2, 2))"),
    ("1x3x5x5", "Dropout1d()"), ("1x2x3x3", "MaxPool2d(4)"), ("1x2x2x2x2", "AvgPool3d(3)"),
    ("1x3x0x4", "MaxPool2d(2)"), ("1x0x4x4", "AdaptiveMaxPool2d(1)"),
    ("6x3x3", "LazyInstanceNorm2d(affine=True)"), ("1x5", "LazyConv2d(2, 3)"),
    ("1x3x2x2", "ChannelShuffle(2)"), ("2x5", "GLU()"), ("4x5x5", "CrossMapLRN2d(3)"),
    ("2x3x7", "RMSNorm(8)"),
])
def test_what_torch_rejects_convcli_rejects(shape, text):
    torch = pytest.importorskip("torch")
    shape = tuple(int(n) for n in shape.split("x"))
    (call,) = parse_layers(text)
    with pytest.raises(ConvError, match="layer 1: "):
        analyse_net(shape, [call])
    with pytest.raises(Exception):  # noqa: B017 - any rejection counts
        getattr(torch.nn, call.name)(*call.args, **call.kwargs)(torch.zeros(shape))


# ---- careless input never crashes -------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convcli.network.text import LayerCall  # noqa: E402

_VALUES = st.one_of(
    st.integers(-3, 70), st.booleans(), st.none(), st.sampled_from(["same", "valid", "x", ""]),
    st.floats(-2, 4, allow_nan=False), st.tuples(st.integers(-1, 5)),
    st.tuples(st.integers(-1, 5), st.integers(-1, 5)),
    st.tuples(st.integers(0, 5), st.none()),
    st.tuples(st.integers(-1, 5), st.integers(-1, 5), st.integers(-1, 5)))


@settings(max_examples=examples(600), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(KNOWN_LAYERS)),
       args=st.lists(_VALUES, max_size=4),
       kwargs=st.dictionaries(st.sampled_from(
           ["stride", "padding", "dilation", "groups", "bias", "ceil_mode", "output_size",
            "scale_factor", "size", "mode", "affine", "dim", "start_dim", "end_dim", "p",
            "normalized_shape", "num_parameters", "padding_mode", "output_padding"]),
           _VALUES, max_size=3),
       shape=st.lists(st.integers(0, 9), min_size=1, max_size=6))
def test_any_arguments_give_a_shape_or_a_conv_error(name, args, kwargs, shape):
    call = LayerCall(name, tuple(args), kwargs, f"{name}(...)")
    try:
        report = analyse_net(tuple(shape), [call])
    except ConvError as e:
        assert str(e)
        return
    assert all(isinstance(n, int) and n >= 0 for n in report.output_shape)


@settings(max_examples=examples(300), deadline=None)
@given(st.text(alphabet="Conv2dReLU(),=[]{}'\"#\n 0123.*-+_xnl", max_size=60))
def test_any_text_parses_or_gives_a_conv_error(text):
    try:
        analyse_net((1, 3, 8, 8), parse_layers(text))
    except ConvError as e:
        assert str(e)
