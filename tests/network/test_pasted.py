"""`net` reads what print(model) shows: every row against a real forward of the model
that printed it; containers it cannot walk are a clear error naming `summary`;
--set names; the zero-cost layers summary knows."""

import pytest

from convcli.errors import ConvError
from convcli.network.pasted import looks_printed, printed_chunks
from convcli.network.reading import parse_names
from convcli.network.text import parse_layers
from convcli.network.walk import analyse_net

torch = pytest.importorskip("torch")
nn = torch.nn


def printed_models():
    return {
        "vgg-ish": (nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 3, padding="same", bias=False), nn.LeakyReLU(0.2, True),
            nn.Sequential(nn.MaxPool2d(2), nn.ChannelShuffle(2)),
            nn.Upsample(scale_factor=2.0), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Dropout(0.5), nn.Linear(16, 10), nn.GELU(), nn.LayerNorm(10)), (2, 3, 16, 16)),
        "dcgan-generator": (nn.Sequential(
            nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
            nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32, affine=False),
            nn.ReLU(True), nn.ConvTranspose2d(32, 3, 4, 2, 1, bias=False), nn.Tanh()),
            (1, 100, 1, 1)),
        "mixed": (nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, padding_mode="reflect"),
            nn.GroupNorm(2, 8, bias=False), nn.SiLU(inplace=True), nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(8, 8, 3, groups=8, dilation=2), nn.InstanceNorm2d(8), nn.Hardswish(),
            nn.PixelShuffle(2), nn.AvgPool2d(2, ceil_mode=True), nn.Unflatten(1, (2, 1)),
            nn.Flatten(), nn.Identity(), nn.Softmax(dim=1)), (1, 3, 24, 24)),
    }


def real_rows(model, shape):
    rows = []
    hooks = [m.register_forward_hook(lambda m, i, o: rows.append(
        (type(m).__name__, tuple(o.shape), sum(p.numel() for p in m.parameters()))))
        for m in model.modules() if next(iter(m.children()), None) is None]
    with torch.no_grad():
        out = model.eval()(torch.randn(shape))
    for h in hooks:
        h.remove()
    return rows, tuple(out.shape)


@pytest.mark.parametrize("name", sorted(printed_models()))
def test_printed_model_rows_equal_its_forward(name):
    model, shape = printed_models()[name]
    text = str(model)
    assert looks_printed(text)
    report = analyse_net(shape, parse_layers(text))
    rows, out = real_rows(model, shape)
    assert [(r.kind, r.output_shape, r.params) for r in report.rows] == rows
    assert report.output_shape == out
    assert report.total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("text,needle", [
    ("VGG(\n  (features): Sequential(\n    (0): ReLU()\n  )\n  (fc): Linear(2, 3)\n)",
     "VGG(...) is a module with named children (features, ...)"),
    ("Sequential(\n  (0): ModuleList(\n    (0-2): 3 x ReLU()\n  )\n)",
     "ModuleList(...) is a ModuleList or ModuleDict"),
    ("Sequential(\n  (0): ReLU()\n", "Sequential( opened at line 1 is not closed"),
    ("  (0): ReLU()\n)\n)", "')' closes a module that was never opened"),
])
def test_printed_containers_convcli_cannot_walk(text, needle):
    with pytest.raises(ConvError, match=None) as e:
        parse_layers(text)
    assert needle in str(e.value)
    if "named children" in needle or "ModuleList" in needle:
        assert "convcli summary" in str(e.value)


def test_named_sequential_children_and_repeats_are_fine():
    text = ("Sequential(\n  (conv): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1))\n"
            "  (act): ReLU()\n  (1-3): 3 x Identity()\n)")
    calls = printed_chunks(text, "LAYERS")
    assert [c for c, _ in calls][-3:] == ["Identity()"] * 3 and calls[0][1] == 2
    assert [c.name for c in parse_layers(text)] == ["Conv2d", "ReLU"] + ["Identity"] * 3


def test_set_names_as_tutorial_code_writes_them():
    names = parse_names(["nz=100,ngf=64", "k=(4, 4)"])
    assert names == {"nz": 100, "ngf": 64, "k": (4, 4)}
    calls = parse_layers("ConvTranspose2d( nz, ngf * 8, k, 1, 0, bias=False)", names=names)
    assert calls[0].args == (100, 512, (4, 4), 1, 0)
    with pytest.raises(ConvError, match="give its value with --set ngf=64"):
        parse_layers("Conv2d(3, ngf, 3)")
    for bad in ("nz", "1x=3", "nz=foo()"):
        with pytest.raises(ConvError, match="--set"):
            parse_names([bad])


def test_channel_shuffle_rule_matches_torch():
    for shape in [(1, 4, 3, 3), (1, 4, 3), (2, 6, 1, 1, 1)]:
        report = analyse_net(shape, parse_layers("ChannelShuffle(2)"))
        assert report.output_shape == tuple(nn.ChannelShuffle(2)(torch.zeros(shape)).shape)
    for shape in [(1, 3, 2, 2), (1, 4)]:
        with pytest.raises(RuntimeError):
            nn.ChannelShuffle(2)(torch.zeros(shape))
        with pytest.raises(ConvError):
            analyse_net(shape, parse_layers("ChannelShuffle(2)"))
    with pytest.raises(ConvError, match="groups=0"):
        parse_layers_and_build("ChannelShuffle(0)")


def parse_layers_and_build(text):
    from convcli.network.rules import build_layer
    return [build_layer(c) for c in parse_layers(text)]
