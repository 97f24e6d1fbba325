"""views/solve_view.py: `solve`'s solutions and the decoder table at 80 columns; every
setting drawn maps the sizes in torch (a meta forward), the decoder's output_padding
restores the size in torch."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from convcli.calculator.decoder import decoder
from convcli.calculator.solve_search import Bounds, solve
from convcli.calculator.spec import ConvSpec
from convcli.views.solve_view import decoder_view, solve_view

torch = pytest.importorskip("torch")


def render(renderable, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    c.print(renderable)
    return c.export_text()


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if re.match(r"^\s+\d+\s+\d", line)]


def meta_len(layer, size: int) -> int:
    return layer(torch.empty(1, 1, size, device="meta")).shape[-1]


def test_every_row_drawn_maps_32_to_16_in_torch():
    report = solve(32, 16, Bounds(), limit=6)
    text = render(solve_view(report))
    assert f"Conv settings mapping 32 -> 16: 6 of {report.total}, simplest first" in text
    got = rows(text)
    assert len(got) == 6
    for (i, k, s, p, d, *_), sol in zip(got, report.solutions):
        conv = torch.nn.Conv1d(1, 1, int(k), stride=int(s), padding=int(p),
                               dilation=int(d), device="meta")
        assert meta_len(conv, 32) == 16, (k, s, p, d)
        assert ((int(k),), (int(s),)) == (sol.kernel_size, sol.stride)
    assert f"--limit 0 shows all {report.total}" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_transposed_rows_show_output_padding_and_map_in_torch():
    report = solve(16, 32, Bounds(), transposed=True, limit=4)
    text = render(solve_view(report))
    assert "out pad" in text or "op" in text.split()
    for k, s, p, d, op, *_ in (r[1:] for r in rows(text)):
        t = torch.nn.ConvTranspose1d(1, 1, int(k), stride=int(s), padding=int(p),
                                     dilation=int(d), output_padding=int(op), device="meta")
        assert meta_len(t, 16) == 32


@pytest.mark.parametrize("width", [40, 60, 80])
def test_narrow_terminals_get_short_headers_not_broken_numbers(width):
    text = render(solve_view(solve(224, 112, Bounds(), limit=12)), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert len(rows(text)) == 12


def test_per_dim_sizes_are_written_with_x():
    text = render(solve_view(solve((32, 20), (16, 10), Bounds(), limit=3)))
    assert "32x20 -> 16x10" in text


def test_the_decoder_restores_the_input_in_torch():
    enc = ConvSpec(2, 1, 1, 3, stride=2, padding=1)
    report = decoder(enc, 32)
    text = render(decoder_view(report))
    m = re.search(r"nn\.ConvTranspose2d\(1, 1, 3, stride=2, padding=1, "
                  r"output_padding=(\d)\)", text)
    assert m, text
    code = torch.nn.Conv2d(1, 1, 3, stride=2, padding=1, device="meta")(
        torch.empty(1, 1, 32, 32, device="meta")).shape[-1]
    dec = torch.nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1,
                                   output_padding=int(m.group(1)), device="meta")
    assert dec(torch.empty(1, 1, code, code, device="meta")).shape[-1] == 32
    # 31 and 32 both map to 16 in torch: the view says the decoder cannot know which
    assert meta_len(torch.nn.Conv1d(1, 1, 3, stride=2, padding=1, device="meta"), 31) == code
    assert f"floors 2 input sizes (31..32) to {code}" in " ".join(text.split())


def test_an_unambiguous_encoder_says_so():
    text = render(decoder_view(decoder(ConvSpec(1, 1, 1, 3, stride=1, padding=1), 10)))
    assert "unambiguous" in text
    assert "output_padding 0 restores it" in " ".join(text.split())


def test_dims_that_differ_get_a_row_each():
    text = render(decoder_view(decoder(ConvSpec(2, 1, 1, 3, stride=2, padding=1), (32, 33))))
    lines = [line.split() for line in text.splitlines() if re.match(r"^\s+[01]\s+3", line)]
    assert [line[:3] for line in lines] == [["0", "32", "16"], ["1", "33", "17"]]
