"""`shape --padding-from`: TF/Keras/ONNX padding words as explicit padding, checked
against the formulas in the TensorFlow and ONNX specifications (and onnx's own shape
inference when the package is installed)."""

from __future__ import annotations

import math
import random

import pytest

from conftest import sample
from convcli.calculator.porting import pad_pair, port_padding
from convcli.calculator.spec import ConvSpec


def tf_same(n, k, s, d):
    """TensorFlow's documented SAME (tf.nn.convolution / the 'padding' guide):
    out = ceil(n / s); pad_along = max((out - 1) * s + k_eff - n, 0);
    pad_before = pad_along // 2, pad_after = pad_along - pad_before."""
    k_eff = (k - 1) * d + 1
    out = math.ceil(n / s)
    along = max((out - 1) * s + k_eff - n, 0)
    return out, (along // 2, along - along // 2)


def tf_valid_out(n, k, s, d):
    """TensorFlow VALID: out = ceil((n - k_eff + 1) / s)."""
    return math.ceil((n - ((k - 1) * d + 1) + 1) / s)


def onnx_auto_pad(n, k, s, d, mode):
    """ONNX Conv (operators.md / convPoolShapeInference): the residual form, written
    independently of the TF one: total = k_eff - s if n % s == 0 else k_eff - n % s."""
    k_eff = (k - 1) * d + 1
    residual = n % s
    total = max(k_eff - s if residual == 0 else k_eff - residual, 0)
    small, big = total // 2, total - total // 2
    return (small, big) if mode == "SAME_UPPER" else (big, small)


CASES = [(random.Random(i).randint(1, 80), random.Random(i + 1000).randint(1, 7),
          random.Random(i + 2000).randint(1, 4), random.Random(i + 3000).randint(1, 3))
         for i in range(300)]


# rule 3 (tests/conftest.py): a sample of this grid in the fast loop
@pytest.mark.parametrize("n,k,s,d", sample(CASES, keep=30, unpack=True))
def test_same_matches_tensorflow_and_onnx_formulas(n, k, s, d):
    out, pair = tf_same(n, k, s, d)
    assert pad_pair("SAME", n, k, s, d) == pair
    assert pad_pair("SAME_UPPER", n, k, s, d) == onnx_auto_pad(n, k, s, d, "SAME_UPPER") == pair
    assert pad_pair("SAME_LOWER", n, k, s, d) == onnx_auto_pad(n, k, s, d, "SAME_LOWER")
    spec = ConvSpec(1, 1, 1, k, stride=s, dilation=d)
    for word in ("SAME", "SAME_LOWER"):
        ported = port_padding(spec, (1, 1, n), "onnx" if "_" in word else "tf", word)
        assert ported.spec.output_shape(ported.padded_shape) == (1, 1, out)
        assert ported.explanation[0].size_out == out


@pytest.mark.parametrize("n,k,s,d", sample(CASES[:100], keep=10, unpack=True))
def test_valid_matches_tensorflow(n, k, s, d):
    if n < (k - 1) * d + 1:
        return
    ported = port_padding(ConvSpec(1, 1, 1, k, stride=s, dilation=d), (1, 1, n), "tf", "VALID")
    assert ported.pairs == ((0, 0),)
    assert ported.spec.output_shape((1, 1, n))[2] == tf_valid_out(n, k, s, d)


def test_stride_two_puts_the_odd_pixel_at_the_end():
    assert pad_pair("SAME", 8, 3, 2, 1) == (0, 1)
    assert pad_pair("SAME_LOWER", 8, 3, 2, 1) == (1, 0)
    assert pad_pair("SAME", 7, 3, 2, 1) == (1, 1)
    assert pad_pair("CAUSAL", 10, 3, 1, 2) == (4, 0)


def test_cli_tf_same_stride_two(cli):
    r = cli("shape", "1x3x8x8", "-o", "8", "-k", "3", "-s", "2", "--padding", "SAME",
            "--padding-from", "tf", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["explicit_padding"] == [[0, 1], [0, 1]]
    assert data["f_pad"] == [0, 1, 0, 1]
    assert data["output_shape"] == [1, 8, 4, 4]
    assert data["input_shape"] == [1, 3, 8, 8] and data["padded_input_shape"] == [1, 3, 9, 9]
    assert data["bytes"]["input"] == 3 * 8 * 8 * 4  # the user's input, not the padded one
    assert "F.pad(x, (0, 1, 0, 1))" in data["torch_code"]
    text = cli("shape", "1x3x8x8", "-o", "8", "-k", "3", "-s", "2", "--padding", "SAME",
               "--padding-from", "tf").stdout
    assert "F.pad(x, (0, 1, 0, 1))" in text and "[1, 8, 4, 4]" in text


def test_cli_symmetric_result_uses_torch_padding(cli):
    r = cli("shape", "1x3x7x7", "-o", "8", "-k", "3", "-s", "2", "-p", "same",
            "--padding-from", "keras", "--json")
    data = r.json()
    assert data["symmetric"] and data["explicit_padding"] == [[1, 1], [1, 1]]
    assert "padding=1)" in data["torch_code"] and "F.pad(" not in data["torch_code"]


def test_cli_onnx_per_dim_and_lower(cli):
    data = cli("shape", "2x4x9x10", "-o", "4", "-k", "4,3", "-s", "2,3", "--padding",
               "same_lower", "--padding-from", "onnx", "--json").json()
    assert data["explicit_padding"] == [list(onnx_auto_pad(9, 4, 2, 1, "SAME_LOWER")),
                                        list(onnx_auto_pad(10, 3, 3, 1, "SAME_LOWER"))]
    assert data["output_shape"] == [2, 4, 5, 4]


def test_shape_without_padding_from_is_unchanged(cli):
    data = cli("shape", "4x3x64x64", "-o", "16", "-k", "3", "-p", "1", "--json").json()
    assert "explicit_padding" not in data and data["output_shape"] == [4, 16, 64, 64]


@pytest.mark.parametrize("args,words,code", [
    (("--padding", "SAME", "--padding-from", "onnx"), "SAME_UPPER", 2),
    (("--padding", "SAME", "--padding-from", "caffe"), "tf, keras, onnx", 2),
    (("--padding", "1", "--padding-from", "tf"), "SAME, VALID", 2),
    (("--padding", "causal", "--padding-from", "keras"), "Conv1D", 2),
    (("--padding", "SAME", "--padding-from", "tf", "-t"), "transposed", 2),
    (("--padding", "SAME", "--padding-from", "tf", "--padding-mode", "reflect"), "zeros", 2),
])
def test_cli_errors(cli, args, words, code):
    r = cli("shape", "1x3x8x8", "-o", "8", "-k", "3", "-s", "2", *args, "--json")
    assert r.exit_code == code and r.stdout == ""
    assert r.stderr.startswith("Error: ") and words in r.stderr


def test_f_pad_then_conv_in_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(7)
    for _ in range(20):
        h, w = rng.randint(3, 20), rng.randint(3, 20)
        k, s = rng.randint(1, 4), rng.randint(1, 3)
        ported = port_padding(ConvSpec(2, 2, 3, k, stride=s), (1, 2, h, w), "tf", "SAME")
        y = F.conv2d(F.pad(torch.zeros(1, 2, h, w), ported.f_pad), torch.zeros(3, 2, k, k),
                     stride=s)
        assert tuple(y.shape) == (1, 3, math.ceil(h / s), math.ceil(w / s))


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_against_onnx_shape_inference(mode):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    rng = random.Random(mode)
    for _ in range(30):
        h, w = rng.randint(4, 40), rng.randint(4, 40)
        k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
        if mode == "VALID" and min(h, w) < (k - 1) * d + 1:
            continue  # the window does not fit: both refuse it
        node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=mode, kernel_shape=[k, k],
                                strides=[s, s], dilations=[d, d])
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, h, w]),
                          helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 2, k, k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        model = onnx.shape_inference.infer_shapes(helper.make_model(graph), strict_mode=True)
        dims = [x.dim_value for x in model.graph.output[0].type.tensor_type.shape.dim]
        ported = port_padding(ConvSpec(2, 2, 3, k, stride=s, dilation=d), (1, 2, h, w), "onnx",
                              mode)
        assert list(ported.spec.output_shape(ported.padded_shape)) == dims, (h, w, k, s, d)
