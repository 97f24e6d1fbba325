"""views/dot_view.py: `apply --dot --at` as drawn at 80 columns; the value, the input
positions and the channels it names are torch's (the output tensor torch computed, the
input gradient of that one value)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from convcli.calculator.dot_indices import dot_layout
from convcli.calculator.spec import ConvSpec
from convcli.views.dot_view import dim_line, dot_view, group_line

torch = pytest.importorskip("torch")

from convcli.engine.apply_inputs import InputPlan  # noqa: E402
from convcli.engine.apply_values import ApplyOptions, apply  # noqa: E402
from convcli.engine.dot_values import dot_product  # noqa: E402


def render(renderable, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    c.print(renderable)
    return c.export_text()


def applied(spec, shape, **opts):
    return apply(spec, InputPlan("x".join(map(str, shape)), tuple(shape)), ApplyOptions(**opts))


def read_positions(a, index):
    """Input positions (channel, *spatial) whose gradient the output value has."""
    x = a.x.detach().clone().requires_grad_(True)
    w = a.w.detach()
    import torch.nn.functional as F
    fn = {(1, False): F.conv1d, (2, False): F.conv2d, (1, True): F.conv_transpose1d}[
        (a.spec.dims, a.spec.transposed)]
    kw = {"stride": a.spec.stride, "padding": a.spec.padding, "groups": a.spec.groups}
    fn(x, torch.ones_like(w), **kw)[index].backward()
    return x.grad[0].nonzero().tolist()


def test_the_value_and_the_sum_are_torchs_output():
    spec = ConvSpec(2, 2, 2, 3, padding=1)
    a = applied(spec, (1, 2, 4, 4), seed=1, dtype="float64", bias_value=0.5)
    r = dot_product(a, dot_layout(spec, (1, 2, 4, 4), (0, 0), 1))
    text = render(dot_view(r))
    value = a.y[0, 1, 0, 0].item()
    assert re.search(rf"torch computed\s+{value:.6g}\s+output\[0, 1, 0, 0\], float64", text)
    assert re.search(r"\+ bias\s+0\.5$", text, re.M)
    assert "H: output 0 reads input -1 (padding), 0, 1" in text
    reads = read_positions(a, (0, 1, 0, 0))
    assert sorted({p[1] for p in reads}) == [0, 1] and sorted({p[0] for p in reads}) == [0, 1]
    assert "(v): a tap on padding (zeros)" in text
    assert "they differ" not in text           # float64: the same number
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_transposed_output_names_the_inputs_torch_sends_it():
    spec = ConvSpec(1, 2, 2, 3, stride=2, transposed=True, bias=False)
    a = applied(spec, (1, 2, 4), seed=1)
    layout = dot_layout(spec, (1, 2, 4), (3,), 0)
    text = render(dot_view(dot_product(a, layout)))
    got = sorted({p[1] for p in read_positions(a, (0, 0, 3))})
    assert got == [1]
    assert dim_line(layout.dims[0], True, "zeros") == \
        "L: output 3 receives input 1 via tap 1; taps 0, 2 reach no input"
    assert "none  (--no-bias)" in text
    assert "·: no input element reaches this tap" in text


def test_grouped_layout_line_names_the_group_and_its_channels():
    spec = ConvSpec(2, 4, 6, 1, groups=2)
    layout = dot_layout(spec, (1, 4, 3, 3), (1, 1), 4)
    assert group_line(layout) == ("output channel 4 is in group 1 of 2: it reads input "
                                  "channels 2..3 through weight[4, 0..1]")


def test_wide_terminals_set_patch_kernel_and_products_side_by_side():
    spec = ConvSpec(1, 1, 1, 3)
    a = applied(spec, (1, 1, 5), seed=0)
    r = dot_product(a, dot_layout(spec, (1, 1, 5), (2,), 0))
    wide, narrow = render(dot_view(r, 120), 120), render(dot_view(r, 30), 80)
    assert re.search(r"patch\s+kernel\s+products", wide)
    assert " x " in wide and " = " in wide
    assert not re.search(r"patch\s+kernel", narrow)
    assert "    kernel" in narrow


def test_a_kernel_too_big_to_draw_gives_sums_per_channel():
    spec = ConvSpec(1, 2, 1, 20, bias=False)
    a = applied(spec, (1, 2, 20), seed=0, dtype="float64")
    r = dot_product(a, dot_layout(spec, (1, 2, 20), (0,), 0))
    text = render(dot_view(r))
    assert "the kernel is 20: too big to draw" in text
    per_channel = [(a.x[0, c] * a.w[0, c]).sum().item() for c in range(2)]
    for c, v in enumerate(per_channel):
        assert f"input channel {c}: sum {v:.6g}" in text


def test_more_than_eight_channels_sums_the_rest_in_one_line():
    spec = ConvSpec(1, 12, 1, 1, bias=False)
    a = applied(spec, (1, 12, 2), seed=3, dtype="float64")
    r = dot_product(a, dot_layout(spec, (1, 12, 2), (0,), 0))
    text = render(dot_view(r))
    rest = sum((a.x[0, c, 0] * a.w[0, c, 0]).item() for c in range(8, 12))
    m = re.search(r"input channels 8\.\.11 \(4 more\): sum (\S+)", text)
    assert m and float(m.group(1)) == pytest.approx(rest, rel=1e-5)
