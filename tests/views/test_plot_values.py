"""views/plot_values.py: `apply --png/--svg` written whole, its title carrying the
shapes torch computed; bad targets refused before any work, no partial file left."""

from __future__ import annotations

import os

import pytest

from convcli.calculator.spec import ConvSpec
from convcli.errors import ConvError, EnvironmentProblem
from convcli.views.plot_values import ANNOTATE, check_target, draw_values

matplotlib = pytest.importorskip("matplotlib")
torch = pytest.importorskip("torch")

from convcli.engine.apply_inputs import InputPlan  # noqa: E402
from convcli.engine.apply_values import ApplyOptions, apply  # noqa: E402


def applied(spec, shape):
    return apply(spec, InputPlan("x".join(map(str, shape)), tuple(shape)), ApplyOptions(seed=0))


def test_check_target_accepts_a_file_in_an_existing_folder(tmp_path):
    check_target(str(tmp_path / "a.png"))
    check_target(str(tmp_path / "a.svg"), "svg")
    assert os.listdir(tmp_path) == []          # checking writes nothing


def test_check_target_refuses_a_missing_folder_and_a_directory(tmp_path):
    with pytest.raises(EnvironmentProblem, match=r"--svg .*does not exist"):
        check_target(str(tmp_path / "no" / "a.svg"), "svg")
    with pytest.raises(EnvironmentProblem, match="is a directory; give a file name"):
        check_target(str(tmp_path))


def test_without_matplotlib_the_error_names_the_option(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(EnvironmentProblem, match="^--svg draws with matplotlib"):
        check_target(str(tmp_path / "a.svg"), "svg")


def test_the_svg_names_torchs_shapes_channels_and_small_kernel_values(tmp_path):
    spec = ConvSpec(2, 2, 3, 3, padding=1)
    a = applied(spec, (1, 2, 5, 5))
    y = torch.nn.functional.conv2d(a.x, a.w, a.b, padding=1)
    path = tmp_path / "v.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        draw_values(a, str(path), "svg")
    text = path.read_text(encoding="utf-8")
    assert f"on [1, 2, 5, 5] -&gt; {list(y.shape)}" in text
    for i in range(3):                         # one row per output channel
        assert f"output channel {i}" in text
    assert "input channel 1" in text and "input channel 2" not in text
    assert ANNOTATE >= 3
    assert f"{a.w[0, 0, 0, 0].item():.3g}" in text        # the kernel's values written in


def test_more_than_eight_channels_say_how_many_were_not_drawn(tmp_path):
    spec = ConvSpec(1, 1, 11, 3)
    a = applied(spec, (1, 1, 6))
    path = tmp_path / "v.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        draw_values(a, str(path), "svg")
    assert "(first 8 channels; 3 more not drawn)" in path.read_text(encoding="utf-8")


def test_a_3d_conv_draws_a_png_of_the_middle_slice(tmp_path):
    spec = ConvSpec(3, 1, 1, 2)
    path = tmp_path / "v.png"
    draw_values(applied(spec, (1, 1, 3, 4, 4)), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_empty_output_is_refused_and_no_file_is_written(tmp_path):
    spec = ConvSpec(1, 1, 1, 3)
    with pytest.raises(ConvError, match="holds no values; nothing to draw"):
        draw_values(applied(spec, (0, 1, 5)), str(tmp_path / "v.png"))
    assert os.listdir(tmp_path) == []
