"""views/plot.py: `show --png/--svg` written whole, with torch's shapes in the title;
bad targets refused before drawing, no partial file left."""

from __future__ import annotations

import os

import pytest

from convcli.calculator.picture_data import picture
from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError, EnvironmentProblem
from convcli.views.plot import INSTALL_HINT, draw

matplotlib = pytest.importorskip("matplotlib")
torch = pytest.importorskip("torch")


def svg_text(path) -> str:
    return open(path, encoding="utf-8").read()


def test_the_svg_title_carries_torchs_output_shape(tmp_path):
    spec = ConvSpec(2, 4, 8, 3, stride=2, padding=1, groups=2)
    shape = (1, 4, 9, 9)
    out = list(torch.nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2, device="meta")(
        torch.empty(shape, device="meta")).shape)
    path = tmp_path / "p.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):     # text as text
        draw(picture(spec, shape), str(path), "svg")
    text = svg_text(path)
    assert text.lstrip().startswith("<?xml")
    assert f"on [1, 4, 9, 9] -&gt; {out}" in text
    assert "weight [8, 2, 3, 3]" in text
    assert "group 1" in text
    assert "Receptive field of output" in text
    assert os.listdir(tmp_path) == ["p.svg"]          # no temporary file left


@pytest.mark.parametrize("spec,shape", [
    (ConvSpec(1, 2, 2, 3, transposed=True, stride=2), (1, 2, 6)),
    (ConvSpec(3, 1, 1, 2), (1, 1, 3, 3, 3)),
    (ConvSpec(2, 256, 256, 1, groups=128), None),     # more groups than drawn one by one
])
def test_a_png_is_written_for_1d_3d_transposed_and_many_groups(tmp_path, spec, shape):
    path = tmp_path / "p.png"
    draw(picture(spec, shape), str(path), "png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread
    assert imread(str(path)).shape[1] == 1100      # figsize 10in at 110 dpi


def test_an_unknown_format_is_a_usage_error(tmp_path):
    with pytest.raises(ConvError, match="unknown picture format 'jpg'"):
        draw(picture(ConvSpec(1, 1, 1, 3)), str(tmp_path / "p.jpg"), "jpg")
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_is_an_environment_problem(tmp_path):
    target = tmp_path / "nope" / "p.png"
    with pytest.raises(EnvironmentProblem, match="does not exist; create it"):
        draw(picture(ConvSpec(1, 1, 1, 3)), str(target), "png")
    assert not target.parent.exists()


def test_without_matplotlib_the_error_names_the_extra(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(EnvironmentProblem, match="matplotlib, which is not installed") as e:
        draw(picture(ConvSpec(1, 1, 1, 3)), str(tmp_path / "p.png"), "png")
    assert INSTALL_HINT in str(e.value)
    assert os.listdir(tmp_path) == []
