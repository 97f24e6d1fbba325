"""engine/summary/measure.py: `summary --train --measure` on the CPU counts the bytes
autograd saves on a real forward as tests/torch_truth.py measures them, in float32 and
in the model's own dtype; --device cuda without a GPU is one EnvironmentProblem."""

from __future__ import annotations

import pytest

from convcli.engine.summary.inputs import parse_inputs
from convcli.engine.summary.measure import measure_step
from convcli.engine.summary.train_memory import TrainOptions
from convcli.errors import EnvironmentProblem

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from torch_truth import saved_activation_bytes  # noqa: E402

SHAPE = (4, 3, 16, 16)


def build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 64, 10))


def test_cpu_saved_bytes_are_torchs():
    got = measure_step(build, parse_inputs(["4x3x16x16"]), TrainOptions(device="cpu"), None)
    assert got["device"] == "cpu"
    assert got["method"] == "saved_tensors_hooks on a real CPU forward"
    assert got["saved_activation_bytes"] == saved_activation_bytes(build(), torch.zeros(SHAPE))
    assert got["saved_input_bytes"] == 4 * torch.Size(SHAPE).numel()   # the conv saves x


def test_the_models_dtype_is_used():
    got = measure_step(build, parse_inputs(["4x3x16x16"]),
                       TrainOptions(device="cpu", dtype="float64"), None)
    want = saved_activation_bytes(build().double(), torch.zeros(SHAPE, dtype=torch.float64))
    assert got["saved_activation_bytes"] == want
    f32 = measure_step(build, parse_inputs(["4x3x16x16"]), TrainOptions(device="cpu"), None)
    assert want > f32["saved_activation_bytes"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for a machine without "
                                                      "a GPU")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(EnvironmentProblem, match=r"--measure --device cuda: "
                                                 r"torch\.cuda\.is_available\(\) is False"):
        measure_step(build, parse_inputs(["4x3x16x16"]), TrainOptions(device="cuda"), None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_peak_is_reported():
    got = measure_step(build, parse_inputs(["4x3x16x16"]), TrainOptions(device="cuda"), None)
    assert got["step"] == 2 and got["peak_bytes"] >= got["saved_activation_bytes"] > 0
