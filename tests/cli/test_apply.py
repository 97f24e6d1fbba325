"""`convcli apply` from the command line: the numbers it prints and the values it
writes are torch.nn.functional's on the same tensors (recomputed here), the dot
product equals the output it breaks down, --png writes a picture, and bad input is
one Error line with exit 2 or 3 and nothing on stdout, refused before any allocation."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _grid(stdout: str, label: str) -> list[list[float]]:
    """The aligned numbers printed under ``label`` (e.g. 'output[0, 0]')."""
    lines = stdout.splitlines()
    start = lines.index(f"  {label}") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("    ") or not re.match(r"^\s+-?[\d.]", line):
            break
        rows.append([float(v) for v in line.split()])
    return rows


def test_the_printed_output_is_the_edge_detector_torch_computes(cli):
    r = cli("apply", "1x1x8x8", "--pattern", "square", "--weight", "edge-vertical",
            "--values")
    assert r.exit_code == 0, r.stderr
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2:6, 2:6] = 1
    w = torch.tensor([[1.0, 0, -1]] * 3).reshape(1, 1, 3, 3)
    assert _grid(r.stdout, "output[0, 0]") == F.conv2d(x, w)[0, 0].tolist()
    assert _grid(r.stdout, "input[0, 0]") == x[0, 0].tolist()
    r = cli("apply", "1x1x8x8", "--pattern", "square", "--weight", "edge-vertical", "-s", "2",
            "-p", "1", "--values")
    assert _grid(r.stdout, "output[0, 0]") == F.conv2d(x, w, stride=2, padding=1)[0, 0].tolist()


def test_printed_fractions_are_torchs_values_rounded(cli):
    r = cli("apply", "1x2x6x6", "-o", "2", "-k", "3", "-p", "1", "--padding-mode", "circular",
            "--values", "--seed", "5")
    data = cli("apply", "1x2x6x6", "-o", "2", "-k", "3", "-p", "1", "--padding-mode",
               "circular", "--values", "--seed", "5", "--json").json()
    x, w, b = (torch.tensor(data[k]) for k in ("input_values", "weight_values", "bias_values"))
    y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), w, b)
    printed = np.array(_grid(r.stdout, "output[0, 1]"))
    assert np.allclose(printed, y[0, 1].numpy(), atol=5e-5)


CASES = [
    ["1x4x7x6", "-o", "6", "-g", "2", "-s", "2", "-d", "2", "-p", "2", "--weight", "sobel-y"],
    ["1x4x5x5", "-o", "2", "-g", "2", "-t", "-s", "2", "-p", "1", "--output-padding", "1"],
    ["2x3x9", "--dims", "1", "-o", "2", "-k", "4", "--padding", "same", "--pattern", "stripes",
     "--bias-value", "0.25"],
    ["1x2x4x5x6", "-o", "2", "-k", "2", "-t", "-s", "2", "--pattern", "impulse"],
    ["3x7x7", "-o", "3", "-k", "3", "--padding-mode", "reflect", "-p", "1", "--pattern",
     "checker", "--dtype", "float64"],
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_json_values_are_torch_functional_on_the_json_tensors(cli, args):
    data = cli("apply", *args, "--values", "--dot", "--json").json()
    dtype = getattr(torch, data["dtype"])
    x, w, o = (torch.tensor(data[k], dtype=dtype)
               for k in ("input_values", "weight_values", "output_values"))
    b = None if data["bias_values"] is None else torch.tensor(data["bias_values"], dtype=dtype)
    from convcli.calculator.spec import ConvSpec
    c = data["conv"]
    spec = ConvSpec(dims=c["dims"], in_channels=c["in_channels"],
                    out_channels=c["out_channels"], kernel_size=tuple(c["kernel_size"]),
                    stride=tuple(c["stride"]), padding=c["padding"],
                    dilation=tuple(c["dilation"]), groups=c["groups"], bias=c["bias"],
                    padding_mode=c["padding_mode"], transposed=c["transposed"],
                    output_padding=tuple(c["output_padding"]))
    if spec.transposed:
        fn = getattr(F, f"conv_transpose{spec.dims}d")
        want = fn(x, w, b, spec.stride, spec.padding, spec.output_padding, spec.groups,
                  spec.dilation)
    else:
        fn = getattr(F, f"conv{spec.dims}d")
        pad = [p for pair in reversed(spec.padding_pairs) for p in pair]
        xp = F.pad(x, pad, mode="constant" if spec.padding_mode == "zeros"
                   else spec.padding_mode)
        want = fn(xp, w, b, spec.stride, 0, spec.dilation, spec.groups)
    assert torch.equal(o, want)
    dot = data["dot"]
    at = tuple(dot["output_index"])
    assert dot["torch_value"] == float(o[at])
    assert dot["value"] == pytest.approx(float(o[at]), abs=1e-5)
    assert list(o.shape) == data["output_shape"]


def test_npy_input_and_whole_weight_literal(cli, tmp_path):
    arr = np.arange(2 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4) / 10
    np.save(tmp_path / "x.npy", arr)
    data = cli("apply", str(tmp_path / "x.npy"), "--weight", "[[[[1]], [[-1]]]]", "--values",
               "--json").json()
    assert data["input"]["kind"] == "npy" and data["kernel"]["whole_weight"] is True
    assert data["weight_shape"] == [1, 2, 1, 1]
    want = (arr[0, 0] - arr[0, 1]).astype(np.float64)
    assert np.array_equal(np.array(data["output_values"])[0, 0], want)


def test_png_is_written_and_opens(cli, tmp_path):
    from PIL import Image
    out = tmp_path / "pic" / "values.png"
    out.parent.mkdir()
    r = cli("apply", "1x3x16x20", "-o", "2", "--pattern", "square", "--weight", "sobel-x",
            "--png", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["files"] == [str(out)]
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 500 and im.size[1] > 500
        colours = im.convert("RGB").getcolors(1 << 20)
        assert colours is not None and len(colours) > 20
    assert [p.name for p in out.parent.iterdir()] == ["values.png"]   # no temp file left


def test_image_input_end_to_end(cli, tmp_path):
    from PIL import Image
    rgb = np.zeros((12, 9, 3), np.uint8)
    rgb[:, 4:] = (200, 100, 50)
    Image.fromarray(rgb).save(tmp_path / "half.jpg", quality=100)
    data = cli("apply", str(tmp_path / "half.jpg"), "--gray", "--weight", "edge-vertical",
               "--values", "--json").json()
    assert data["input_shape"] == [1, 1, 12, 9] and data["input"]["kind"] == "image"
    grey = np.asarray(Image.open(tmp_path / "half.jpg").convert("L"), np.float32) / 255
    assert np.array_equal(np.array(data["input_values"], np.float32)[0, 0], grey)
    r = cli("apply", str(tmp_path / "half.jpg"), "--resize", "6x5", "-o", "3")
    assert r.exit_code == 0 and "[1, 3, 6, 5]" in r.stdout


BAD = [
    (["1x1x8x8", "--weight", "blur"], 2, "is neither a named kernel"),
    (["1x1x8x8", "--weight", "[[1, 2], [3]]"], 2, "not rectangular"),
    (["1x1x8x8", "--weight", "[open('x')]"], 2, "numbers only"),
    (["1x1x8x8", "--weight", "[[1, 0], [0, 1]]", "-k", "3"], 2, "disagrees"),
    (["1x1x8x8", "--pattern", "circle"], 2, "use one of square"),
    (["1x1x8x8", "--dot", "--at", "6,0"], 2, "outside 0..5"),
    (["1x1x8x8", "--at", "1,1"], 2, "add --dot"),
    (["1x1x8x8", "--channel", "1"], 2, "add --dot"),
    (["1x1x8x8", "--bias-value", "nan"], 2, "not a finite number"),
    (["1x1x8x8", "--no-bias", "--bias-value", "1"], 2, "--no-bias"),
    (["1x1x8x8", "--dtype", "int8"], 2, "--dtype 'int8': use one of float32"),
    (["1x1x8x8", "--dtype", "half"], 2, "--dtype 'float16': apply computes in float32 or"),
    (["1x1x8x8", "-k", "9"], 2, "the window must fit"),
    (["1x1x8x8", "--gray"], 2, "for image INPUTs"),
    (["1x1x600x600", "--values", "--json"], 2, "carries every value"),
    (["1x1x100000x100000", "--pattern", "square"], 3, "limit is"),
    (["1x1x8x8", "--max-memory", "1KiB"], 3, "but the limit is 1.0 KiB"),
    (["missing.png"], 3, "not found"),
    (["missing.npy"], 3, "not found"),
    (["kitten"], 2, "neither a shape"),
    (["1x1x8x8", "--png", "/nonexistent-dir/x.png"], 3, "does not exist"),
    (["0x1x8x8", "--png", "never-written.png"], 2, "nothing to draw"),
    (["1x0x8x8", "--dot"], 2, "in_channels=0"),
]


@pytest.mark.parametrize("args, code, words", BAD, ids=lambda v: str(v))
def test_bad_input_is_one_error_line_and_nothing_on_stdout(cli, args, code, words):
    r = cli("apply", *args)
    assert r.exit_code == code, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
    assert words in " ".join(r.stderr.split()), r.stderr


def test_unreadable_files_exit_3_as_a_user_runs_them(sh, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    for name in ("bad.png", "bad.npy"):
        r = sh("apply", str(tmp_path / name))
        assert r.exit_code == 3 and r.stdout == "" and r.stderr.startswith("Error: "), r


def test_huge_requests_are_refused_before_allocating(sh):
    """A real process: a 10^10-pixel pattern, a 10^9-value --json and a terabyte of
    weights are refused from shapes alone (a timeout would mean it allocated)."""
    for args, code in ((["1x1x100000x100000", "--pattern", "square"], 3),
                       (["1x1x30000x30000", "--values", "--json"], 2),
                       (["1x4096x40x40", "-o", "65536", "-k", "31"], 3)):
        r = sh("apply", *args, timeout=60)
        assert r.exit_code == code and r.stdout == "", r
        assert r.stderr.count("\n") == 1


def test_an_empty_batch_has_no_values_to_print(cli):
    r = cli("apply", "0x1x8x8", "--values")
    assert r.exit_code == 0 and r.stdout.count("(empty: it holds no values)") == 2


def test_big_tensors_are_a_heatmap_in_the_terminal(cli):
    r = cli("apply", "1x1x300x200", "--pattern", "checker", "--values")
    assert r.exit_code == 0
    assert "a cell: mean of 11x11 values" in r.stdout
    heat = [line for line in r.stdout.splitlines() if line.startswith("    |")]
    assert heat and max(len(line) for line in heat) <= 4 + 2 + 2 * 28


def test_json_without_values_has_the_summary_only(cli):
    data = cli("apply", "1x1x8x8", "--pattern", "impulse", "--weight", "gaussian",
               "--json").json()
    assert "output_values" not in data and "dot" not in data
    assert data["tensors"]["output"]["max"] == 0.25
    assert data["kernel"] == {"text": "gaussian", "name": "gaussian", "whole_weight": False}
    json.dumps(data, allow_nan=False)
