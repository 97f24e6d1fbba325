"""`net` and `summary` on the example models (examples/models/), every row checked
against the shapes torch produces on REAL tensors (CPU forward passes with hooks),
params against the modules, MACs against torch.utils.flop_counter."""

import importlib.util
from math import prod
from pathlib import Path

import pytest

from convcli.network.text import parse_layers

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "examples" / "models"

# (file, NAME, input shape for net/summary, layer-list twin or None)
EXAMPLES = [
    ("cifar_cnn.py", "CifarCNN", "2x3x32x32", "cifar_cnn.txt"),
    ("cifar_cnn_bn.py", "CifarCNNBN", "4x3x32x32", "cifar_cnn_bn.txt"),
    ("depthwise_separable.py", "DepthwiseSeparableNet", "1x3x64x64", "depthwise_separable.txt"),
    ("conv_decoder.py", "ConvDecoder", "2x100", "conv_decoder.txt"),
    ("resnet50.py", "ResNet50", "1x3x64x64", None),
]
IDS = [e[1] for e in EXAMPLES]


def shape_of(text):
    return tuple(int(n) for n in text.split("x"))


def load(file, name):
    spec = importlib.util.spec_from_file_location(f"_example_{name}", MODELS / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


def real_leaf_calls(model, shape):
    """(qualified name, type, output shape) of every leaf-module call, real tensors."""
    calls = []
    names = {id(m): q for q, m in model.named_modules()}
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append(
        (names[id(m)], type(m).__name__, tuple(o.shape))))
        for m in model.modules() if next(iter(m.children()), None) is None]
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(shape))
    for h in hooks:
        h.remove()
    return calls, tuple(out.shape)


def torch_twin(text):
    """The layer list built as real torch modules (the test's oracle, not convcli's)."""
    return [getattr(torch.nn, c.name)(*c.args, **c.kwargs) for c in parse_layers(text)]


@pytest.mark.parametrize("file,name,shape,twin", [e for e in EXAMPLES if e[3]],
                         ids=[e[1] for e in EXAMPLES if e[3]])
def test_net_rows_match_real_forward_of_the_twin(cli, file, name, shape, twin):
    r = cli("net", shape, "--file", str(MODELS / twin), "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    layers = torch_twin((MODELS / twin).read_text())
    assert len(data["layers"]) == len(layers)
    x = torch.randn(shape_of(shape))
    flops = outputs = 0
    with torch.no_grad():
        for row, module in zip(data["layers"], layers):
            module.eval()
            with FlopCounterMode(display=False) as counter:
                x = module(x)
            outputs += x.numel()
            assert row["output_shape"] == list(x.shape), row["layer"]
            assert row["params"] == sum(p.numel() for p in module.parameters()), row["layer"]
            assert 2 * row["macs"] == counter.get_total_flops(), row["layer"]
            flops += counter.get_total_flops()
    assert data["output_shape"] == list(x.shape)
    assert data["total_flops"] == flops
    # activations: every layer's output, in elements and in bytes per dtype
    assert data["activation_elements"] == outputs
    assert data["activation_bytes"] == {"float32": 4 * outputs, "float64": 8 * outputs,
                                        "float16": 2 * outputs, "bfloat16": 2 * outputs}
    assert data["param_bytes"]["float32"] == sum(
        p.numel() * p.element_size() for m in layers for p in m.parameters())


@pytest.mark.parametrize("file,name,shape,twin", EXAMPLES, ids=IDS)
def test_summary_rows_match_real_forward(cli, file, name, shape, twin):
    r = cli("summary", f"{MODELS / file}:{name}", "--input", shape, "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    model = load(file, name)
    calls, out = real_leaf_calls(model, shape_of(shape))
    assert [(row["name"].split(" (call")[0], row["type"], tuple(row["output_shape"]))
            for row in data["layers"]] == calls
    assert data["output_shape"] == list(out)
    assert data["macs_complete"] and data["uncounted_macs"] == []
    assert data["total_params"] == sum(p.numel() for p in model.parameters())
    assert data["activation_elements"] == sum(prod(c[2]) for c in calls)
    assert data["param_bytes"]["float32"] == sum(
        p.numel() * p.element_size() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(shape_of(shape)))
    assert 2 * data["total_macs"] == counter.get_total_flops()


@pytest.mark.parametrize("file,name,shape,twin", [e for e in EXAMPLES if e[3]],
                         ids=[e[1] for e in EXAMPLES if e[3]])
def test_twin_is_the_model(cli, file, name, shape, twin):
    """The layer-list twin describes the same network: its rows (less the functional
    ReLU/Flatten of forward()) equal summary's rows in shape, params and MACs."""
    net = cli("net", shape, "--file", str(MODELS / twin), "--json").json()
    summ = cli("summary", f"{MODELS / file}:{name}", "--input", shape, "--json").json()
    modules = {row["type"] for row in summ["layers"]}
    net_rows = [r for r in net["layers"] if r["type"] in modules]
    key = [(r["type"], r["output_shape"], r["params"], r["macs"]) for r in net_rows]
    assert key == [(r["type"], r["output_shape"], r["params"], r["macs"])
                   for r in summ["layers"]]
    assert net["total_params"] == summ["total_params"]
    assert net["total_macs"] == summ["total_macs"]


def test_resnet50_at_224_is_resnet50(cli):
    """The ResNet-50-sized example: torchvision's 25,557,032 params and 4.09 G MACs
    (torch.utils.flop_counter on the meta device agrees)."""
    r = cli("summary", f"{MODELS / 'resnet50.py'}:resnet50", "--input", "1x3x224x224",
            "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["total_params"] == 25_557_032
    assert data["output_shape"] == [1, 1000]
    with torch.device("meta"):
        model = load("resnet50.py", "ResNet50").eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.empty(1, 3, 224, 224))
    assert 2 * data["total_macs"] == counter.get_total_flops() == 2 * 4_089_184_256
    convs = [row for row in data["layers"] if row["type"] == "Conv2d"]
    assert len(convs) == 53 and all(row["conv"] is not None for row in convs)
    stem = data["layers"][0]
    assert stem["geometry"] == {"kernel_size": [7, 7], "stride": [2, 2],
                                "padding": [[3, 3], [3, 3]], "dilation": [1, 1], "groups": 1}


def test_transposed_decoder_macs_are_per_input_element(cli):
    """ConvTranspose2d(256, 128, 4, s=2, p=1) on 4x4: 4*4 * 256 * 128 * 16 MACs, not
    the output-based 8*8*... that most tools report."""
    r = cli("net", "1x100", "--file", str(MODELS / "conv_decoder.txt"), "--json")
    first = next(row for row in r.json()["layers"] if row["type"] == "ConvTranspose2d")
    assert first["output_shape"] == [1, 128, 8, 8]
    assert first["macs"] == 4 * 4 * 256 * 128 * 16
