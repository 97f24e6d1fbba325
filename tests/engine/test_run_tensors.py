"""engine/run_tensors.py on its own: the input, weight and bias a run makes (seeded
input, the module's default init, files), the sweep's input cache (one input for the
rows of one INPUT; not under --tune) and --channels-last's refusal."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from convcli.calculator.spec import ConvSpec  # noqa: E402
from convcli.engine import run_tensors  # noqa: E402
from convcli.engine.conv_run import RunOptions, plan  # noqa: E402
from convcli.engine.devices import Device  # noqa: E402
from convcli.errors import ConvError  # noqa: E402

CPU = Device("cpu", "cpu", None, "CPU")
SPEC = ConvSpec(dims=2, in_channels=3, out_channels=4, kernel_size=3)


def test_seeded_tensors_are_torchs_randn_and_default_init():
    p = plan(SPEC, (2, 3, 6, 6), RunOptions(seed=3))
    x, w, b, _, sources = run_tensors.run_tensors(torch, p, CPU)
    assert torch.equal(x, torch.randn((2, 3, 6, 6), generator=torch.Generator()
                                      .manual_seed(3)))
    torch.manual_seed(3)
    module = torch.nn.Conv2d(3, 4, 3)
    assert torch.equal(w, module.weight.data) and torch.equal(b, module.bias.data)
    assert sources == {"input": "standard normal, seed 3",
                       "weight": "default init of Conv2d, seed 3",
                       "bias": "default init of Conv2d, seed 3"}


def test_the_cache_gives_the_next_row_the_same_input_and_not_under_tune():
    cache: dict = {}
    first = run_tensors.run_tensors(torch, plan(SPEC, (1, 3, 6, 6), RunOptions()), CPU,
                                    cache)
    other = ConvSpec(dims=2, in_channels=3, out_channels=2, kernel_size=1, stride=2)
    second = run_tensors.run_tensors(torch, plan(other, (1, 3, 6, 6), RunOptions()), CPU,
                                     cache)
    assert second[0] is first[0] and second[4]["input"] == first[4]["input"]
    assert second[1].shape == (2, 3, 1, 1)               # the weight is the row's own
    reseeded = run_tensors.run_tensors(torch, plan(SPEC, (1, 3, 6, 6), RunOptions(seed=1)),
                                       CPU, cache)
    assert reseeded[0] is not first[0] and not torch.equal(reseeded[0], first[0])
    tuned = run_tensors.run_tensors(
        torch, plan(SPEC, (1, 3, 6, 6), RunOptions(seed=1, tune_dtypes=())), CPU, cache)
    assert tuned[0] is not reseeded[0] and torch.equal(tuned[0], reseeded[0])


def test_a_npy_input_and_weight_are_the_files(tmp_path):
    x = np.arange(3 * 5 * 5, dtype=np.float32).reshape(1, 3, 5, 5)
    w = np.ones((4, 3, 3, 3), np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    p = plan(SPEC, str(tmp_path / "x.npy"), RunOptions(weight=str(tmp_path / "w.npy")))
    tx, tw, tb, _, sources = run_tensors.run_tensors(torch, p, CPU)
    assert np.array_equal(tx.numpy(), x) and np.array_equal(tw.numpy(), w)
    assert sources["weight"].endswith("w.npy (float32)") and tb.shape == (4,)


def test_channels_last_is_for_batched_2d_and_3d_inputs():
    run_tensors.check_channels_last(SPEC, (1, 3, 6, 6))
    with pytest.raises(ConvError, match="--channels-last: applies to batched 2d"):
        run_tensors.check_channels_last(SPEC, (3, 6, 6))
    with pytest.raises(ConvError, match="drop --channels-last"):
        run_tensors.check_channels_last(ConvSpec(dims=1, in_channels=3, out_channels=4,
                                                 kernel_size=3), (1, 3, 6))
