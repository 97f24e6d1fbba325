"""summary --rf and --field through traced models, residual branches included: every
output position's field against the nonzero input gradient of that output element on
a real forward (tests/torch_truth.py), for a ResNet-style network, a U-Net with a cat
and nearest/bilinear upsampling, and a transposed decoder; the CLI's picture too."""

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
import torch.nn.functional as F  # noqa: E402

from convcli.engine.summary.traced_fields import field_pass  # noqa: E402
from convcli.network.receptive_fields import indices  # noqa: E402
from torch_truth import grad_sets, positive_copy  # noqa: E402
from train_models import BasicBlock  # noqa: E402


class ResNetRF(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 7, 2, 3, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        self.blocks = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 16, 2),
                                    BasicBlock(16, 16, 1), BasicBlock(16, 32, 2))

    def forward(self, x):
        return self.blocks(self.stem(x))


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1, self.enc2 = nn.Conv2d(2, 4, 3, 1, 1), nn.Conv2d(4, 4, 3, 2, 1)
        self.enc3 = nn.Conv2d(4, 4, 3, 2, 1)
        self.dec2, self.dec1 = nn.Conv2d(8, 4, 3, 1, 1), nn.Conv2d(8, 4, 3, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([F.interpolate(e3, scale_factor=2, mode="nearest"), e2], 1))
        return self.dec1(torch.cat([F.interpolate(d2, scale_factor=2, mode="bilinear",
                                                  align_corners=False), e1], 1))


def decoder():
    return nn.Sequential(nn.ConvTranspose2d(4, 3, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(3, 3, 3, 2, 1, output_padding=1),
                         nn.ConvTranspose2d(3, 3, 5, 3, 1), nn.Conv2d(3, 3, 3, padding=1))


CASES = {"resnet": (ResNetRF, (1, 3, 96, 104)), "unet": (TinyUNet, (1, 2, 24, 32)),
         "decoder": (decoder, (1, 4, 6, 7))}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_output_position_equals_the_gradient(name):
    build, shape = CASES[name]
    with torch.device("meta"):
        meta = build()
    found, _ = field_pass(meta, (torch.empty(shape, device="meta"),), {})
    top = [k for k in found if k[0] == ""]
    fields, nominal = found[top[0]]
    model = positive_copy(build())
    out = [len(f) for f in fields]
    for d in range(2):
        for o in range(out[d]):
            pos = [n // 2 for n in out]
            pos[d] = o
            assert set(indices(fields[d][o])) == grad_sets(model, shape, pos)[d], (d, o)


def test_cli_rows_and_picture(cli):
    import sys
    path = sys.modules[__name__].__file__
    r = cli("summary", f"{path}:ResNetRF", "--input", "1x3x96x104", "--field", "blocks.1")
    assert r.exit_code == 2 and "add --depth 2" in r.stderr
    r = cli("summary", f"{path}:ResNetRF", "--input", "1x3x96x104", "--rf", "--depth", "2",
            "--field", "blocks.1@2,3", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    rows = {x["name"]: x for x in data["layers"]}
    assert rows["stem.0"]["receptive_field"] == {"size": [7, 7], "nominal_size": [7, 7],
                                                 "jump": [2, 2], "start": [-3, -3]}
    pic = data["field"]
    model = positive_copy(ResNetRF())
    truth = grad_sets(model, (1, 3, 96, 104), (2, 3),
                      upto=lambda m, x: m.blocks[1](m.blocks[0](m.stem(x))))
    assert [set(s) for s in pic["indices"]] == truth
    assert pic["window"][0][0] < 0 and pic["padding"][0][0] == -pic["window"][0][0]
    assert "█" in cli("summary", f"{path}:ResNetRF", "--input", "1x3x96x104",
                      "--field", "stem.3").stdout


def test_png_and_svg_are_written(cli, tmp_path):
    pytest.importorskip("matplotlib")
    import sys
    path = sys.modules[__name__].__file__
    png, svg = tmp_path / "f.png", tmp_path / "f.svg"
    r = cli("summary", f"{path}:TinyUNet", "--input", "1x2x24x32", "--field", "dec1@0,5",
            "--png", str(png), "--svg", str(svg))
    assert r.exit_code == 0, r.stderr
    assert png.read_bytes()[:4] == b"\x89PNG" and b"<svg" in svg.read_bytes()[:400]
    png.unlink()
    # without --field: the last row that has a field is drawn (issue 23: as show/apply)
    r = cli("summary", f"{path}:TinyUNet", "--input", "1x2x24x32", "--png", str(png))
    assert r.exit_code == 0, r.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"
