"""views/show_view.py: `show`'s channel map, sliding window and receptive field as
drawn at 80 columns; the shapes and the field it names are torch's (a meta forward,
and the input gradient of one output value on a real one)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console, Group

from convcli.calculator.picture_data import picture
from convcli.calculator.spec import ConvSpec
from convcli.views.show_view import field_lines, group_map_lines, show_view, window_lines

torch = pytest.importorskip("torch")


def render(renderable, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    c.print(renderable)
    return c.export_text()


def torch_field(spec: ConvSpec, shape, out_index):
    """The input positions (per spatial dim) the output value at out_index reads,
    by the gradient of that one value (weights all ones, so every tap counts)."""
    from convcli.engine.torch_adapter import build_module
    m = build_module(spec, dtype=torch.float64)
    with torch.no_grad():
        m.weight.fill_(1.0)
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    m(x)[(0, 0, *out_index)].backward()
    nz = x.grad[0].nonzero()
    return nz


def test_the_picture_names_torchs_shapes_and_the_field_torch_reads():
    spec = ConvSpec(2, 4, 4, 3, stride=2, padding=1, groups=2)
    shape = (1, 4, 7, 7)
    text = render(show_view(picture(spec, shape), 80))
    out = list(torch.nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2, device="meta")(
        torch.empty(shape, device="meta")).shape)
    assert f"on [1, 4, 7, 7] -> {out}" in text
    assert "weight [4, 2, 3, 3]" in text
    assert "-> 4 outputs" in text
    nz = torch_field(spec, shape, (2, 2))            # the middle output, as show picks
    rows, cols = sorted(set(nz[:, 1].tolist())), sorted(set(nz[:, 2].tolist()))
    chans = sorted(set(nz[:, 0].tolist()))
    assert f"H: output 2 reads input {rows[0]}..{rows[-1]}" in text
    assert f"W: output 2 reads input {cols[0]}..{cols[-1]}" in text
    assert f"input channels {chans[0]}..{chans[-1]} of 4" in text
    assert f"= {len(nz)} MACs for this one value" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_transposed_conv_shows_the_zero_stuffed_view_and_torchs_field():
    spec = ConvSpec(1, 2, 4, 3, transposed=True, stride=2)
    shape = (1, 2, 5)
    text = render(show_view(picture(spec, shape), 80))
    y = torch.nn.ConvTranspose1d(2, 4, 3, stride=2, device="meta")(
        torch.empty(shape, device="meta"))
    assert f"-> {list(y.shape)}" in text
    assert "zero-stuffed view of the transposed conv" in text
    assert f"-> {y.shape[-1]} outputs" in text
    nz = torch_field(spec, shape, (5,))
    assert sorted(set(nz[:, 1].tolist())) == [2]
    assert "L: output 5 reads input 2 " in text


def test_without_input_only_the_channel_map_and_a_hint():
    text = render(show_view(picture(ConvSpec(2, 3, 6, 3, groups=3)), 80))
    assert "Channels: groups=3, weight [6, 1, 3, 3]" in text
    assert "each group reads 1 input and writes 2 output channels" in " ".join(text.split())
    assert "Give INPUT (e.g. 1x3x8x8)" in text
    assert "Receptive field" not in text and "Along" not in text


def test_the_note_is_printed_under_the_title():
    text = render(show_view(picture(ConvSpec(1, 1, 1, 3)), 80, note="read as unbatched"))
    assert text.splitlines()[1].strip() == "read as unbatched"


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_every_part_fits_the_width_it_is_given(width):
    spec = ConvSpec(2, 64, 64, 5, stride=1, padding=2, groups=8, dilation=2)
    pic = picture(spec, (1, 64, 40, 40))
    for lines in (group_map_lines(pic.groups, width), window_lines(pic.window, width),
                  field_lines(pic.field, pic.views, width)):
        text = render(Group(*lines), width)
        assert text.strip()
        assert max(len(line) for line in text.splitlines()) <= width, text


def test_a_window_wider_than_the_screen_is_elided_not_cut():
    spec = ConvSpec(1, 1, 1, 3, padding=1)
    text = render(show_view(picture(spec, (1, 1, 500)), 80))
    assert "-> 500 outputs" in text
    assert "499" in text            # the last input is still drawn
    assert max(len(line) for line in text.splitlines()) <= 80
