"""net --train without torch, against saved_tensors_hooks on a real forward of the
same layers built in torch: the example layer lists and a zoo of layer mixes, in
float32 and bfloat16; params, gradients and optimizer state by the rule (every layer
type on its own: test_layer_facets.py)."""

import pytest

from convcli.network.rules import build_layer
from convcli.network.text import parse_layers
from convcli.network.train_rules import net_training
from convcli.network.walk import analyse_net

torch = pytest.importorskip("torch")
from tests.network.test_model_examples import MODELS  # noqa: E402
from torch_truth import saved_activation_bytes  # noqa: E402


def hooks(layers, x):
    return saved_activation_bytes(torch.nn.Sequential(*layers), x)


def train(text, shape, dtype="float32", optimizer="adamw"):
    calls = parse_layers(text)
    size = {"float32": 4, "bfloat16": 2, "float64": 8}[dtype]
    report = analyse_net(shape, calls)
    return net_training(report, [build_layer(c) for c in calls], size, optimizer, dtype)


def torch_layers(text, dtype):
    return [getattr(torch.nn, c.name)(*c.args, **c.kwargs).to(dtype) for c in
            parse_layers(text)]


@pytest.mark.parametrize("file,shape", [("cifar_cnn.txt", (4, 3, 32, 32)),
                                        ("cifar_cnn_bn.txt", (4, 3, 32, 32)),
                                        ("depthwise_separable.txt", (2, 3, 64, 64)),
                                        ("conv_decoder.txt", (2, 100))])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_example_lists_equal_the_hooks(file, shape, dtype):
    text = (MODELS / file).read_text()
    report, t = train(text, shape, dtype)
    real = hooks(torch_layers(text, getattr(torch, dtype)),
                 torch.randn(shape, dtype=getattr(torch, dtype)))
    assert t.activation_bytes == real
    assert sum(r.train.activation_bytes for r in report.rows) == real


ZOO = ["Conv2d(4, 4, 3, padding=1), ReLU(inplace=True), MaxPool2d(2)",
       "Conv2d(4, 4, 3), BatchNorm2d(4), ReLU6(inplace=True), Dropout(0.3)",
       "GroupNorm(2, 4), SiLU(), Hardswish(inplace=True), AdaptiveAvgPool2d(2)",
       "InstanceNorm2d(4, affine=True), LeakyReLU(0.1, inplace=True), Dropout2d(0.2)",
       "ReflectionPad2d(1), Conv2d(4, 4, 3), GELU(), AdaptiveAvgPool2d(1), Flatten(), "
       "Linear(4, 6), LayerNorm(6), Tanh(), Softmax(dim=1)",
       "ZeroPad2d(1), AvgPool2d(2), Upsample(scale_factor=2), Sigmoid(), PixelShuffle(2), "
       "ConvTranspose2d(1, 2, 4, 2, 1), ELU(inplace=True), AdaptiveMaxPool2d(3)",
       "Conv2d(4, 8, 1), GLU(1), Mish(), ChannelShuffle(2), Hardtanh(inplace=True)"]


@pytest.mark.parametrize("text", ZOO)
def test_layer_zoo_equals_the_hooks(text):
    shape = (2, 4, 8, 8)
    _, t = train(text, shape)
    assert t.activation_bytes == hooks(torch_layers(text, torch.float32), torch.randn(shape))


def test_params_grads_state_and_unknown_layers():
    _, t = train("Conv2d(3, 8, 3), BatchNorm2d(8), Flatten(), Linear(8 * 6 * 6, 10, bias=False)",
                 (2, 3, 8, 8))
    params = 3 * 8 * 9 + 8 + 16 + 288 * 10
    assert t.param_bytes == t.grad_bytes == 4 * params
    assert t.state_bytes == 2 * 4 * params + 4 * 5   # AdamW: 2 copies + 5 step scalars
    assert t.buffer_bytes == 2 * 8 * 4 + 8
    _, t = train("Conv2d(3, 8, 3)", (2, 3, 8, 8), optimizer="sgd-momentum")
    assert t.state_bytes == 4 * (3 * 8 * 9 + 8)
    _, t = train("Conv2d(3, 8, 3), RMSNorm(6)", (2, 3, 8, 8))   # weight only: 2 tensors
    assert t.state_bytes == 2 * 4 * (3 * 8 * 9 + 8 + 6) + 4 * 3
