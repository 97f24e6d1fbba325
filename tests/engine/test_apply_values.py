"""`convcli apply`'s engine: the output is torch's own module on the same tensors,
the patterns and kernels are what the docs say, every dot product equals the value
torch computed, the planes hold the tensor's values, images read as [0, 1], and big
requests are refused before anything is allocated."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import examples  # noqa: E402
from convcli.calculator.random_cases import runnable_case  # noqa: E402
from convcli.calculator.dot_indices import dot_layout  # noqa: E402
from convcli.calculator.kernels import read_kernel  # noqa: E402
from convcli.calculator.spec import ConvSpec  # noqa: E402
from convcli.engine.dot_values import dot_product  # noqa: E402
from convcli.engine.apply_inputs import InputPlan, pattern, plan_input  # noqa: E402
from convcli.engine.torch_adapter import build_module  # noqa: E402
from convcli.engine.apply_values import (ApplyOptions, apply, figure_rows, plan_apply,  # noqa: E402
                                   tensor_planes, values_dict)
from convcli.errors import ConvError, EnvironmentProblem  # noqa: E402


def _run(spec, shape, **opts):
    return apply(spec, InputPlan("x".join(map(str, shape)), tuple(shape)), ApplyOptions(**opts))


def _module_output(applied):
    """torch's nn module with the applied weight and bias, on the applied input."""
    m = build_module(applied.spec, dtype=applied.x.dtype)
    with torch.no_grad():
        m.weight.copy_(applied.w)
        if applied.b is not None:
            m.bias.copy_(applied.b)
        return m(applied.x)


@pytest.mark.parametrize("seed", range(examples(40)))   # rule 3 (tests/conftest.py)
def test_the_output_is_torchs_module_on_the_same_tensors(seed):
    spec, case = runnable_case(random.Random(seed), max_size=7)
    a = _run(spec, case.input_shape, seed=seed, dtype="float64" if seed % 2 else "float32")
    assert torch.equal(a.y, _module_output(a))
    assert tuple(a.y.shape) == spec.output_shape(case.input_shape)


@pytest.mark.parametrize("seed", range(examples(60)))
def test_every_dot_product_equals_the_value_torch_computed(seed):
    rng = random.Random(1000 + seed)
    spec, case = runnable_case(rng, max_size=6)
    dtype = "float64" if seed % 3 == 0 else "float32"
    a = _run(spec, case.input_shape, seed=seed, dtype=dtype,
             bias_value=0.25 if spec.bias and seed % 2 else None,
             kernel=read_kernel("sobel-x") if seed % 5 == 0 and min(spec.kernel_size) > 1
             else None)
    out = a.y.shape[-spec.dims:]
    for _ in range(4):
        position = tuple(rng.randrange(n) for n in out)
        r = dot_product(a, dot_layout(spec, case.input_shape, position,
                                      rng.randrange(spec.out_channels)))
        assert r.torch_value == float(a.y[r.layout.output_index])
        tol = 1e-12 if dtype == "float64" else 1e-5
        assert r.value == pytest.approx(r.torch_value, abs=tol, rel=tol), spec.torch_repr()
        assert r.total == pytest.approx(sum(c.total for c in r.channels) + r.omitted_sum)


def test_the_products_are_patch_times_kernel_and_gaps_are_none():
    spec = ConvSpec(dims=1, in_channels=1, out_channels=1, kernel_size=3, stride=2,
                    padding=1, transposed=True)
    a = _run(spec, (1, 1, 4), kernel=read_kernel("[1, 2, 3]"))
    x = a.x[0, 0].tolist()
    r = dot_product(a, dot_layout(spec, (1, 1, 4), (3,)))
    ch = r.channels[0]
    assert ch.patch == [x[2], None, x[1]] and ch.kernel == [1, 2, 3]
    assert ch.products == [x[2] * 1, None, x[1] * 3]
    assert r.value == pytest.approx(float(a.y[0, 0, 3]))


def test_many_input_channels_are_summed_past_the_eighth():
    spec = ConvSpec(dims=2, in_channels=20, out_channels=2, kernel_size=3)
    a = _run(spec, (1, 20, 5, 5))
    r = dot_product(a, dot_layout(spec, (1, 20, 5, 5), (1, 1), 1))
    assert len(r.channels) == 8 and r.omitted == 12
    assert r.value == pytest.approx(float(a.y[0, 1, 1, 1]), abs=1e-5)


def test_patterns_are_what_the_docs_say():
    sq = pattern("square", (1, 1, 8, 8), 2)[0, 0]
    want = torch.zeros(8, 8)
    want[2:6, 2:6] = 1
    assert torch.equal(sq, want)
    imp = pattern("impulse", (2, 3, 5, 4), 2)
    assert imp.sum() == 6 and imp[1, 2, 2, 2] == 1
    ck = pattern("checker", (1, 1, 16, 16), 2)[0, 0]
    assert ck[0, 0] == 1 and ck[0, 2] == 0 and ck[2, 2] == 1 and ck[1, 1] == 1
    ramp = pattern("ramp", (1, 5), 1)[0]
    assert ramp.tolist() == [0, 0.25, 0.5, 0.75, 1]
    stripes = pattern("stripes", (1, 1, 2, 16), 2)[0, 0, 0]
    assert stripes.tolist() == [1, 1, 0, 0] * 4
    assert pattern("square", (1, 1, 4, 4, 4), 3)[0, 0].sum() == 8


def test_kernels_fill_every_channel_pair_or_the_whole_weight():
    spec = ConvSpec(dims=2, in_channels=3, out_channels=2, kernel_size=3)
    a = _run(spec, (1, 3, 6, 6), kernel=read_kernel("edge-vertical"))
    assert all(a.w[o, i].tolist() == [[1, 0, -1]] * 3 for o in range(2) for i in range(3))
    assert a.b.tolist() == [0, 0]
    whole = "[[[[1]], [[2]]], [[[3]], [[4]]]]"
    s1 = ConvSpec(dims=2, in_channels=2, out_channels=2, kernel_size=1)
    a = _run(s1, (1, 2, 3, 3), kernel=read_kernel(whole), whole=True, bias_value=-1.5)
    assert a.w.flatten().tolist() == [1, 2, 3, 4] and a.b.tolist() == [-1.5, -1.5]
    with pytest.raises(ConvError, match="needs a weight of shape 2x2x1x1"):
        _run(s1, (1, 2, 3, 3), kernel=read_kernel("[[[[1]]]]"), whole=True)


def test_without_a_kernel_weight_and_bias_are_the_modules_init_under_the_seed():
    spec = ConvSpec(dims=2, in_channels=2, out_channels=3, kernel_size=3)
    a = _run(spec, (1, 2, 5, 5), seed=7)
    torch.manual_seed(7)
    m = build_module(spec)
    assert torch.equal(a.w, m.weight.data) and torch.equal(a.b, m.bias.data)
    assert torch.equal(a.x, torch.randn((1, 2, 5, 5), generator=torch.Generator().manual_seed(7)))


def test_planes_hold_the_values_or_their_block_means():
    spec = ConvSpec(dims=2, in_channels=10, out_channels=1, kernel_size=3)
    a = _run(spec, (1, 10, 80, 61))
    tp = tensor_planes(a, "input")
    assert len(tp.planes) == 8 and tp.omitted == 2
    p = tp.planes[3]
    assert p.values is None and p.block == 3 and p.index == (0, 3)
    x = a.x[0, 3].double()
    assert p.heat[1][2] == pytest.approx(float(x[3:6, 6:9].mean()))
    assert p.heat[26][20] == pytest.approx(float(x[78:80, 60:61].mean()))   # partial block
    assert len(p.heat) == 27 and len(p.heat[0]) == 21
    w = tensor_planes(a, "weight").planes[7]
    assert w.values == a.w[0, 7].double().tolist() and w.index == (0, 7)
    assert tensor_planes(a, "bias").planes[0].values == a.b.double().tolist()


def test_values_dict_is_every_value():
    spec = ConvSpec(dims=1, in_channels=1, out_channels=2, kernel_size=2, bias=False)
    a = _run(spec, (1, 5))
    d = values_dict(a)
    assert d["input_values"] == a.x.double().tolist() and d["bias_values"] is None
    assert d["output_values"] == a.y.double().tolist()
    rows, omitted, _ = figure_rows(a)
    assert len(rows) == 2 and omitted == 0 and rows[1].input is None
    assert np.array_equal(rows[1].output, a.y[1].double().numpy())


def test_refused_before_anything_is_allocated():
    big = InputPlan("1x1x100000x100000", (1, 1, 100000, 100000), pattern="square")
    spec = ConvSpec(dims=2, in_channels=1, out_channels=1, kernel_size=3)
    with pytest.raises(EnvironmentProblem, match="limit is"):
        plan_apply(spec, big, ApplyOptions())
    with pytest.raises(ConvError, match="--values --json carries every value, here"):
        plan_apply(spec, InputPlan("s", (1, 1, 400, 400)), ApplyOptions(json_values=True))
    with pytest.raises(ConvError, match="--no-bias"):
        plan_apply(spec.replace(bias=False), InputPlan("s", (1, 1, 4, 4)),
                   ApplyOptions(bias_value=1.0))
    with pytest.raises(EnvironmentProblem, match="but the limit is 1.0 KiB"):
        plan_apply(spec, InputPlan("s", (1, 1, 64, 64)), ApplyOptions(max_memory=1024))


# ---- images ------------------------------------------------------------------------------

def _save(path, arr, mode=None):
    from PIL import Image
    Image.fromarray(arr, mode=mode).save(path)
    return str(path)


def test_png_and_jpeg_read_as_float_in_0_1(tmp_path):
    from PIL import Image
    from convcli.engine.apply_inputs import make_input
    rgb = (np.arange(6 * 7 * 3).reshape(6, 7, 3) * 2).astype(np.uint8)
    plan = plan_input(_save(tmp_path / "a.png", rgb), None, False, None)
    assert plan.shape == (1, 3, 6, 7)
    x = make_input(plan, 2, 0)
    assert torch.equal(x[0], torch.from_numpy(rgb).permute(2, 0, 1).float() / 255)
    gray = make_input(plan_input(str(tmp_path / "a.png"), None, True, None), 2, 0)
    want = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32) / 255
    assert gray.shape == (1, 1, 6, 7) and np.array_equal(gray[0, 0].numpy(), want)
    jpg = _save(tmp_path / "a.jpg", rgb)
    x = make_input(plan_input(jpg, None, False, None), 2, 0)
    want = np.asarray(Image.open(jpg).convert("RGB"), dtype=np.float32) / 255
    assert np.array_equal(x[0].permute(1, 2, 0).numpy(), want)
    deep = (np.arange(12).reshape(3, 4) * 5000).astype(np.uint16)
    x = make_input(plan_input(_save(tmp_path / "d.png", deep), None, False, None), 2, 0)
    assert x.shape == (1, 1, 3, 4) and float(x[0, 0, 2, 3]) == pytest.approx(55000 / 65535)
    rgba = np.dstack([rgb, np.full((6, 7), 9, np.uint8)])
    plan = plan_input(_save(tmp_path / "t.png", rgba), None, False, "3x5")
    assert plan.shape == (1, 3, 3, 5) and "alpha dropped" in plan.describe(0)
    x = make_input(plan, 2, 0)
    assert x.shape == (1, 3, 3, 5) and 0 <= float(x.min()) and float(x.max()) <= 1


def test_images_are_refused_with_the_reason(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(EnvironmentProblem, match="not a readable PNG or JPEG"):
        plan_input(str(tmp_path / "bad.png"), None, False, None)
    with pytest.raises(EnvironmentProblem, match="not found"):
        plan_input(str(tmp_path / "none.jpg"), None, False, None)
    gif = _save(tmp_path / "x.gif", np.zeros((2, 2), np.uint8))
    with pytest.raises(ConvError, match="GIF image; apply reads PNG and JPEG"):
        plan_input(gif, None, False, None)
    png = _save(tmp_path / "y.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(ConvError, match="--pattern square fills a shape"):
        plan_input(png, "square", False, None)
    with pytest.raises(ConvError, match="HxW"):
        plan_input(png, None, False, "3x4x5")
    with pytest.raises(ConvError, match="more than the"):
        plan_input(png, None, False, "100000x100000")
    with pytest.raises(ConvError, match="--gray is for image INPUTs"):
        plan_input("1x1x4x4", None, True, None)
