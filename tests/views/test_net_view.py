"""views/net_view.py: `net`'s table and totals at 80 columns. Every number drawn
(shapes, params, MACs, activations) is torch's: the same layers as an nn.Sequential,
a real forward, sum(numel) and FlopCounterMode / 2."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

import convcli
from convcli.views.net_view import net_table, net_totals, parameter_table, renderables

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

LAYERS = ["Conv2d(3, 8, 3, padding=1)", "BatchNorm2d(8)", "ReLU()", "MaxPool2d(2)",
          "Conv2d(8, 16, 3, stride=2)", "Flatten()", "Linear(144, 10)"]
SHAPE = (2, 3, 16, 16)


def render(parts, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for p in parts if isinstance(parts, list) else [parts]:
        c.print(p)
    return c.export_text()


def truth():
    """Per layer: output shape, params, MACs; and the activations summed."""
    model = nn.Sequential(*[eval(f"nn.{text}") for text in LAYERS]).eval()
    x = torch.zeros(SHAPE)
    rows = []
    with torch.no_grad():
        for m in model:
            fc = FlopCounterMode(display=False)
            with fc:
                x = m(x)
            rows.append((tuple(x.shape), sum(p.numel() for p in m.parameters()),
                         fc.get_total_flops() // 2))
    return rows


@pytest.fixture(scope="module")
def report():
    return convcli.analyse_net(SHAPE, ", ".join(LAYERS))


def x(shape) -> str:
    return "x".join(map(str, shape))


def test_each_row_is_torchs_shape_and_params(report):
    text = render(net_table(report, "float32"))
    for layer, (shape, params, _) in zip(LAYERS, truth()):
        line = next(line for line in text.splitlines() if line.strip().startswith(layer))
        cells = line[len(line) - len(line.lstrip()) + len(layer):].split()
        assert cells[0] == x(shape) and cells[1] == f"{params:,}", line
    assert re.search(rf"total\s+2x10\s+{sum(p for _, p, _ in truth()):,}\s", text)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_totals_are_torchs(report):
    rows = truth()
    params, macs = sum(p for _, p, _ in rows), sum(m for _, _, m in rows)
    acts = sum(torch.Size(s).numel() for s, _, _ in rows)
    text = render(net_totals(report, "float32"))
    assert f"params           {params:,} = " in text
    assert f"MACs             {macs:,} " in text
    assert f"FLOPs (2*MACs)   {2 * macs:,} " in text
    assert f"activations      {acts:,} elements" in text
    half = render(net_totals(report, "float16"))
    assert f"= {acts * 2 / 1024:.1f} KiB (float16)" in half


def test_narrow_terminals_leave_out_the_geometry_and_say_so(report):
    wide, narrow = render(net_table(report, "float32")), render(net_table(report, "float32"), 50)
    assert "k/s/p/d/g" in wide.splitlines()[1]
    assert "k/s/p/d/g" not in narrow.splitlines()[1]
    assert max(len(line) for line in narrow.splitlines()) <= 50
    assert "2,858" in narrow


def test_renderables_is_the_table_then_the_totals(report):
    parts = renderables(report)
    assert len(parts) == 2
    assert render(parts) == render(net_table(report, "float32")) + render(
        net_totals(report, "float32"))


def test_the_title_is_escaped(report):
    text = render(net_table(report, "float32", "[bold]model[/bold]"))
    assert "[bold]model[/bold]" in text


def test_the_parameter_table_lists_each_tensor():
    text = render(parameter_table([("0.weight", (8, 3, 3, 3), 216, True),
                                   ("[x].bias", (), 1, False)]))
    assert re.search(r"0\.weight\s+8x3x3x3\s+216\s+yes", text)
    assert re.search(r"\[x\]\.bias\s+scalar\s+1\s+frozen", text)
