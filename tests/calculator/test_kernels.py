"""`apply --weight`: the named kernels' values (the tutorials' and OpenCV's), literals
read with ast and nothing run, and how a kernel fills in -k, --dims and -o."""

from __future__ import annotations

import os

import pytest

from convcli.calculator.kernels import (KERNEL_NAMES, binomial, kernel_changes,
                                        named_kernel, parse_literal, read_kernel)
from convcli.errors import ConvError

TUTORIAL = {
    "edge-vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "edge-horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box": [[1 / 9] * 3] * 3,
    "gaussian": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
}


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_named_3x3_kernels_are_the_tutorials(name):
    grid = named_kernel(name, (3, 3))
    assert grid.shape == (3, 3)
    want = [v for row in TUTORIAL[name] for v in row]
    assert grid.values == pytest.approx(want, abs=1e-15)
    assert grid.nested() == [list(grid.values[i:i + 3]) for i in (0, 3, 6)]


def test_sobel_5_and_7_are_opencvs():
    # cv2.getDerivKernels(1, 0, 5): kx = [-1, -2, 0, 2, 1], ky = [1, 4, 6, 4, 1]
    g = named_kernel("sobel-x", (5, 5)).nested()
    assert g[0] == [-1, -2, 0, 2, 1] and g[2] == [-6, -12, 0, 12, 6]
    g7 = named_kernel("sobel-x", (7,)).nested()
    assert g7 == [-1, -4, -5, 0, 5, 4, 1]
    assert binomial(7) == [1, 6, 15, 20, 15, 6, 1]


@pytest.mark.parametrize("k", [(3,), (5, 5), (7, 7), (3, 5), (2, 3, 4)])
def test_box_and_gaussian_sum_to_one_and_edges_to_zero(k):
    for name in ("box", "gaussian", "identity"):
        assert sum(named_kernel(name, k).values) == pytest.approx(1.0)
    assert sum(named_kernel("edge-vertical", k).values) == 0
    assert sum(named_kernel("sobel-x", k).values) == 0


def test_edge_and_sobel_vary_along_the_last_dim_only():
    g = named_kernel("edge-vertical", (2, 5)).nested()
    assert g == [[1, 1, 0, -1, -1]] * 2
    assert named_kernel("edge-vertical", (4,)).nested() == [1, 1, -1, -1]
    g3 = named_kernel("sobel-y", (3, 3, 3)).nested()   # along H: dim 1 of (D, H, W)
    assert [row[0] for row in g3[1]] == [-2, 0, 2]
    assert named_kernel("laplacian", (3, 3, 3)).nested()[1][1] == [1, -6, 1]


def test_identity_with_same_padding_is_the_input():
    torch = pytest.importorskip("torch")
    for k in (3, 4):
        w = torch.tensor(named_kernel("identity", (k, k)).nested()).reshape(1, 1, k, k)
        x = torch.randn(1, 1, 6, 6)
        pad = ((k - 1) // 2, k - 1 - (k - 1) // 2)      # 'same': the odd one at the end
        xp = torch.nn.functional.pad(x, (*pad, *pad))
        assert torch.equal(torch.nn.functional.conv2d(xp, w), x)


@pytest.mark.parametrize("name, k, words", [
    ("edge-horizontal", (3,), "H, which a 1d conv"),
    ("laplacian", (5, 5), "3-tap stencil"),
    ("sobel-x", (1, 1), "at least 2 taps"),
    ("box", (2048, 2048), "taps, more than"),
])
def test_named_kernels_refuse_what_they_cannot_be(name, k, words):
    with pytest.raises(ConvError, match=words):
        named_kernel(name, k)


def test_literals_are_numbers_and_arithmetic_between_them():
    g = parse_literal("[[1, 0, -1], [1/9, 2*3, -(1)], (+2, 0.5, 1e-3)]")
    assert g.shape == (3, 3)
    assert g.values == (1, 0, -1, 1 / 9, 6, -1, 2, 0.5, 0.001)
    assert read_kernel(" Edge_Vertical ").name == "edge-vertical"


@pytest.mark.parametrize("text, words", [
    ("[[1, 2], [3]]", "not rectangular: entry 1 has shape 1 but entry 0 has 2"),
    ("[[1, 2], 3]", "not rectangular"),
    ("[x]", "an expression \\(Name\\)"),
    ("[True]", "bool True"),
    ("['a']", "str 'a'"),
    ("[1e999]", "not a finite number"),
    ("[1e308*10]", "not a finite number"),
    ("[1/0]", "division by zero"),
    ("[[]]", "an empty list"),
    ("[1, 2", "not a nested list of numbers"),
    ("[2**3]", "an expression \\(BinOp\\)"),
    ("[" * 50 + "]" * 50, "nests more than 5 levels"),
    ("[" + "1," * 70000 + "]", "characters, more than"),
    ("[" + "9" * 5000 + "]", "not a nested list of numbers|not a finite number"),
    ("[" + "9" * 400 + "]", "not a finite number"),
    ("{1: 2}", "not a list"),
])
def test_bad_literals_are_refused_with_the_reason(text, words):
    with pytest.raises(ConvError, match=words):
        parse_literal(text)


def test_a_literal_never_runs_code(tmp_path):
    target = tmp_path / "ran"
    text = f"[__import__('os').system('touch {target}')]"
    with pytest.raises(ConvError):
        parse_literal(text)
    with pytest.raises(ConvError):
        read_kernel(f"__import__('os').system('touch {target}')")
    with pytest.raises(ConvError):
        parse_literal(f"[(lambda: open({str(target)!r}, 'w'))()]")
    assert not os.path.exists(target)


def _fit(text, rank=4, **kw):
    args = dict(kernel_size=None, dims=None, out_channels=None, input_rank=rank,
                transposed=False, groups=1)
    args.update(kw)
    return kernel_changes(None if text is None else read_kernel(text), **args)


def test_a_literal_sets_the_kernel_size_dims_and_out_channels():
    fit = _fit("[[1, 0, -1]]")
    assert fit.changes == {"dims": 2, "kernel_size": "1,3", "out_channels": "1"}
    assert not fit.whole
    fit = _fit("[1, 0, -1]", rank=3)
    assert fit.changes["dims"] == 1 and fit.changes["kernel_size"] == "3,"
    whole = _fit("[[[[1]]], [[[2]]]]")          # (2, 1, 1, 1): a Conv2d weight
    assert whole.whole and whole.changes["out_channels"] == "2"
    assert whole.changes["kernel_size"] == "1,1"
    t = _fit("[[[[1]], [[2]], [[3]]]]", transposed=True, groups=2)   # (1, 3, 1, 1)
    assert t.changes["out_channels"] == "6"
    assert _fit("[[1, 2]]", out_channels="4").changes.get("out_channels") is None
    assert _fit("[[[1]]]", rank=5).changes["dims"] == 3            # a 3d kernel
    assert _fit("[[[1]]]", rank=3).whole                           # a Conv1d weight
    assert _fit(None).changes == {"kernel_size": "3", "out_channels": "1"}
    assert _fit("box", kernel_size="5").changes["kernel_size"] == "5"


@pytest.mark.parametrize("text, kw, words", [
    ("[1, 0, -1]", {}, "1 level\\(s\\) \\(shape 3\\) but INPUT has rank 4"),
    ("[[1, 0], [0, 1]]", {"kernel_size": "3"}, "--kernel-size 3 disagrees"),
    ("[[1, 0], [0, 1]]", {"dims": 1}, "a 1d conv takes 1 .* or 3"),
])
def test_a_literal_that_does_not_fit_says_why(text, kw, words):
    with pytest.raises(ConvError, match=words):
        _fit(text, **kw)
