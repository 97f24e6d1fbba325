"""Inputs that are lists, tuples and dicts of tensors of different shapes: the --input
syntax (parsed without torch), the CLI and the Python API on a torchvision-style
detector (a list of images in, a list of dicts out, data-dependent boxes), checked
against FlopCounterMode / 2 on the same call with real tensors."""

import pytest

from convcli.engine.summary.inputs import parse_input, parse_inputs
from convcli.errors import ConvError


@pytest.mark.parametrize("text,kind,shapes", [
    ("[3x320x320, 3x256x256]", "list", [(3, 320, 320), (3, 256, 256)]),
    ("(1x3x8x8, 1x3x10x10)", "tuple", [(1, 3, 8, 8), (1, 3, 10, 10)]),
    ("{image: 1x3x8x8, mask: 1x8x8:bool}", "dict", [(1, 3, 8, 8), (1, 8, 8)]),
    ("[[3x4x4, 3x5x5], (2x2,)]", "list", [(3, 4, 4), (3, 5, 5), (2, 2)]),
    ("[3x8x8]", "list", [(3, 8, 8)]),
])
def test_nested_values_parse_and_print_back(text, kind, shapes):
    spec = parse_input(text)
    assert spec.kind == kind and [s.shape for s in spec.leaves()] == shapes
    assert spec.shape == shapes[0]
    assert parse_input(spec.text()) == spec


def test_bracketed_integers_stay_a_shape_and_names_work():
    assert parse_input("[1, 3, 224, 224]").shape == (1, 3, 224, 224)
    assert parse_input("(1, 3, 8, 8)").kind == "tensor"
    spec = parse_input("images=[3x64x64, 3x32x48:float16]")
    assert spec.name == "images" and spec.items[1].dtype == "float16"
    assert spec.text() == "images=[3x64x64, 3x32x48:float16]"
    assert parse_input("{a=2x2}").items[0].name == "a"
    assert parse_input("{image: 1x3x8x8}").nbytes() == 3 * 64 * 4
    assert parse_input("[3x8x8, 3x4x4]").nbytes() == (192 + 48) * 4
    assert [s.name for s in parse_inputs(["[2x2, 3x3]", "x={a: 1x1}"])] == [None, "x"]


@pytest.mark.parametrize("text,needle", [
    ("[3x8x8, 3x4x4", "is not closed by ']'"),
    ("[3x8x8, , 3x4x4]", "an empty entry"),
    ("[]", "an empty list"),
    ("{1x3: 2x2}", "is not 'key: SHAPE'"),
    ("{a: 2x2, a: 3x3}", "a key is given twice"),
    ("[3x8x8)]", "closes nothing"),
    ("[3x8x8, 3x4x4:complex]", "dtype 'complex'"),
    ("[" * 12 + "2x2" + "]" * 12, "nested deeper than 8 levels"),
])
def test_bad_nested_values_are_one_line_errors(text, needle):
    with pytest.raises(ConvError) as e:
        parse_input(text)
    assert needle in str(e.value) and "\n" not in str(e.value)


torch = pytest.importorskip("torch")
import convcli  # noqa: E402
import detection_models as dm  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

FILE = dm.__file__


def reference(model, *args, **kwargs):
    fc = FlopCounterMode(display=False)
    with torch.no_grad(), fc:
        model(*args, **kwargs)
    return fc.get_total_flops() // 2


def test_detector_from_the_cli_with_a_list_of_images(cli):
    r = cli("summary", f"{FILE}:build_detector", "--input", "[3x64x64, 3x48x80]", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    torch.manual_seed(0)
    model = dm.build_detector().eval()
    images = [torch.zeros(3, 64, 64), torch.zeros(3, 48, 80)]
    assert data["total_macs"] == reference(model, images) > 0
    assert data["inputs"] == ["[3x64x64, 3x48x80]"]
    assert data["path"] == "cpu" and "aten::index" in data["path_reason"]
    conv0 = next(r for r in data["layers"] if r["name"] == "backbone.0")
    assert conv0["output_shape"] == [2, 16, 32, 40]     # the batch padded to 64x80
    text = cli("summary", f"{FILE}:build_detector", "--input", "images=[3x64x64, 3x48x80]")
    assert text.exit_code == 0 and "[3x64x64, 3x48x80]" in text.stdout


def test_detector_from_python_with_tensors_shapes_or_text():
    torch.manual_seed(0)
    model = dm.TinyDetector().eval()
    images = [torch.rand(3, 64, 64), torch.rand(3, 48, 80)]
    expected = reference(model, images)
    for given in ([images], [[(3, 64, 64), (3, 48, 80)]], "[3x64x64, 3x48x80]"):
        report = convcli.summarise(model, given)
        assert report.total_macs == expected and report.macs_complete
        assert report.inputs[0].replace(":float32", "") == "[3x64x64, 3x48x80]"
    # the real images were used: a threshold this model's outputs pass on them
    assert report.path == "cpu"


def test_a_tuple_and_a_dict_run_on_meta(cli):
    r = cli("summary", f"{FILE}:build_pairs", "--input", "(1x3x8x8, 1x3x10x10)",
            "--input", "extra={scale: 2}", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    model = dm.build_pairs()
    pair = (torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 10, 10))
    assert data["path"] == "meta"
    assert data["total_macs"] == reference(model, pair, {"scale": torch.zeros(2)})
    api = convcli.summarise(model, [pair], kwargs={"extra": {"scale": torch.ones(2)}})
    assert api.total_macs == data["total_macs"]


def test_budget_refuses_a_tuple_input(cli):
    r = cli("summary", f"{FILE}:build_pairs", "--input", "(1x3x8x8, 1x3x10x10)",
            "--input", "extra={scale: 2}", "--train", "--budget", "1GiB")
    assert r.exit_code == 2 and "has no batch to vary" in r.stderr
