"""convcli.views.apply_view: numbers as aligned text, shades, the summary table, the
planes per channel and the --json dict; the values it prints are torch's own module's
(same weight and bias, a real forward), read at 80 columns."""

import io
import math
import re

import pytest
from rich.console import Console

from convcli.calculator.spec import ConvSpec
from convcli.views.apply_view import (SHADES, apply_dict, flat, grid_lines, number_format,
                                      planes_view, shade_lines, summary_view, values_view)

torch = pytest.importorskip("torch")
from convcli.engine.apply_inputs import plan_input  # noqa: E402
from convcli.engine.apply_values import ApplyOptions, apply, tensor_planes  # noqa: E402


def draw(renderable, width=80):
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines()) and "…" not in text
    return "\n".join(line.rstrip() for line in text.splitlines())


def torch_output(applied):
    """torch's nn module holding the applied weight and bias, on the applied input."""
    spec = applied.spec
    m = getattr(torch.nn, f"Conv{spec.dims}d")(spec.in_channels, spec.out_channels,
                                               spec.kernel_size, stride=spec.stride,
                                               padding=spec.padding, groups=spec.groups,
                                               bias=spec.bias)
    with torch.no_grad():
        m.weight.copy_(applied.w)
        if applied.b is not None:
            m.bias.copy_(applied.b)
        return m(applied.x)


@pytest.fixture(scope="module")
def small():
    spec = ConvSpec(2, 1, 2, 3, padding=1)
    return apply(spec, plan_input("1x1x5x5", "ramp", False, None),
                 ApplyOptions(bias_value=0.5))


def test_flat_and_number_formats():
    assert list(flat([[1, [2, 3]], 4])) == [1, 2, 3, 4] and list(flat(5)) == [5]
    whole = number_format([1.0, -3.0, 12.0])
    assert [whole(v) for v in (1.0, -3.0, None)] == ["1", "-3", "·"]
    two = number_format([0.25, 0.5, 1.0])
    assert two(0.25) == "0.25" and two(1.0) == "1.00"
    four = number_format([1 / 3, 0.5])
    assert four(1 / 3) == "0.3333" and four(-1e-9) == "0.0000"   # no '-0.0000'
    assert number_format([1 / 3], most=2)(1 / 3) == "0.33"
    big = number_format([2.5e7, 1.0])
    assert big(2.5e7) == "2.500e+07"
    tiny = number_format([1e-5, 0.0])
    assert tiny(1e-5) == "1.000e-05"
    odd = number_format([math.nan, math.inf, -math.inf, 1.5])
    assert [odd(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == ["nan", "inf", "-inf",
                                                                      "1.5"]


def test_grid_lines_align_1d_2d_3d_and_mark():
    fmt = number_format([1, 10])
    assert grid_lines([1.0, 10.0], fmt) == [" 1 10"]
    assert grid_lines([[1.0, 10.0], [10.0, 1.0]], fmt) == [" 1 10", "10  1"]
    assert grid_lines([[[1.0]], [[10.0]]], fmt) == ["D=0", " 1", "D=1", "10"]
    marked = grid_lines([[0.0, 1.0]], fmt, mark=lambda i: i[1] == 0)
    assert marked == ["(0)   1"]
    assert grid_lines([1.0], fmt, width=4) == ["   1"]


def test_shade_lines():
    assert shade_lines([[0.0, 0.5, 1.0]], 0.0, 1.0) == [
        SHADES[0] * 2 + SHADES[round(0.5 * (len(SHADES) - 1))] * 2 + SHADES[-1] * 2]
    assert shade_lines([0.0, math.nan, None], 0.0, 1.0) == [SHADES[0] * 2 + "????"]
    assert shade_lines([[3.0, 3.0]], 3.0, 3.0) == [SHADES[0] * 4]         # no span
    assert shade_lines([[5.0, -5.0]], 0.0, 1.0) == [SHADES[-1] * 2 + SHADES[0] * 2]
    assert shade_lines([[1.0]], None, None) == ["??"]


def test_summary_view_shapes_and_extremes_are_torchs(small):
    y = torch_output(small)
    assert torch.equal(y, small.y)
    text = draw(summary_view(small, small.infos(), None))
    assert text.splitlines()[0] == ("Conv2d(1, 2, 3, padding=1) on [1, 1, 5, 5] -> "
                                    f"{list(y.shape)}, float32")
    out = re.search(r"^  output\s+(\[[\d, ]+\])\s+F\.conv2d \(torch\.nn\.functional\)\s+"
                    r"(\S+)\s+(\S+)$", text, re.M)
    assert out and out.group(1) == str(list(y.shape))
    assert float(out.group(2)) == pytest.approx(y.min().item(), rel=1e-3)
    assert float(out.group(3)) == pytest.approx(y.max().item(), rel=1e-3)
    assert re.search(r"^  bias\s+\[2\]\s+--bias-value 0\.5\s+0\.5\s+0\.5$", text, re.M)
    noted = draw(summary_view(small, small.infos(), "a note for the reader"))
    assert "a note for the reader" in noted


def test_summary_view_narrow_leaves_out_what_does_not_fit(small):
    text = draw(summary_view(small, small.infos(), None), 44)
    assert text.splitlines()[:2] == ["Conv2d(1, 2, 3, padding=1)",
                                     "  on [1, 1, 5, 5] -> [1, 2, 5, 5], float32"]
    assert re.search(r"^  output\s+1x2x5x5\s+\S+\s+\S+$", text, re.M)
    assert "left out to fit the width: values" in text


def test_values_view_numbers_are_torchs(small):
    y = torch_output(small)
    planes = [tensor_planes(small, n) for n in ("input", "weight", "bias", "output")]
    text = draw(values_view(small, planes))
    for c in range(2):
        after = text.split(f"  output[0, {c}]\n")[1].splitlines()
        rows = [[float(v) for v in line.split()] for line in after[:5]]
        assert all(line.startswith("    ") for line in after[:5]) and len(rows) == 5
        assert torch.allclose(torch.tensor(rows), y[0, c], atol=5e-5)
    assert "input [1, 1, 5, 5]: pattern ramp" in text
    assert "    0.00 0.25 0.50 0.75 1.00" in text
    assert "bias [2]: --bias-value 0.5\n  bias\n    0.5 0.5" in text


def test_large_planes_are_shades_within_the_width():
    spec = ConvSpec(2, 1, 1, 3, padding=1)
    applied = apply(spec, plan_input("1x1x64x64", "checker", False, None), ApplyOptions())
    y = torch_output(applied)
    lines = planes_view(tensor_planes(applied, "output"), "F.conv2d", 80)
    text = draw(values_view(applied, [tensor_planes(applied, "output")]))
    assert lines and "a cell: mean of 3x3 values" in text
    # a cell is the mean of a 3x3 block (the last ones partial): torch's average pool
    cells = torch.nn.functional.avg_pool2d(y, 3, ceil_mode=True)
    lo = re.search(r"' ' = (\S+) \.\.\.", text).group(1)
    hi = re.search(r"'@' = (\S+?);", text).group(1)
    assert float(lo) == pytest.approx(cells.min().item(), rel=1e-3)
    assert float(hi) == pytest.approx(cells.max().item(), rel=1e-3)
    bars = re.findall(r"^\s*\|([ .:\-=+*#%@]+)\|$", text, re.M)
    assert len(bars) == cells.shape[-2] and all(len(b) == 2 * cells.shape[-1] for b in bars)
    assert all(len(line) <= 80 for line in text.splitlines())


def test_apply_dict_keys_and_values_follow_the_tensors(small):
    d = apply_dict(small, small.infos(), None)
    assert list(d) == ["version", "layer", "conv", "dtype", "input_shape", "weight_shape",
                       "bias_shape", "output_shape", "input", "kernel", "bias_value",
                       "tensors", "memory_estimate", "interpretation"]
    y = torch_output(small)
    assert d["output_shape"] == list(y.shape) and d["input_shape"] == [1, 1, 5, 5]
    assert d["weight_shape"] == list(small.w.shape) == [2, 1, 3, 3]
    assert d["bias_shape"] == [2] and d["bias_value"] == 0.5 and d["kernel"] is None
    out = d["tensors"]["output"]
    assert out["min"] == pytest.approx(y.min().item()) and \
        out["max"] == pytest.approx(y.max().item())
    assert out["mean"] == pytest.approx(y.double().mean().item(), rel=1e-6)
    assert d["input"]["pattern"] == "ramp" and d["interpretation"] is None
    assert d["layer"] == "Conv2d(1, 2, 3, padding=1)" and d["dtype"] == "float32"
    import json
    json.dumps(d, allow_nan=False)
