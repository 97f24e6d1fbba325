"""engine/summary/trace.py: summary's passes. On meta when the model allows (the
totals torch's: sum of numel, FlopCounterMode / 2), else once for real on the CPU with
the reason in the notes; convcli's rules reject a wrong input before torch's meta
kernels let it through; the user's model is neither moved nor left in another mode."""

from __future__ import annotations

import pytest

from convcli.engine.summary.inputs import parse_inputs
from convcli.engine.summary.model_sources import Source
from convcli.engine.summary.trace import (Options, RuleError, label, meta_view, set_mode,
                                          summarise_module, summarise_source)
from convcli.errors import ConvError, EnvironmentProblem

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def cnn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        y = self.fc(x)
        return y[y.sum(1) > -1e9]                   # a boolean mask: needs real values


def torch_macs(model, x) -> int:
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        model.eval()(x)
    return fc.get_total_flops() // 2


def source(build) -> Source:
    return Source(f"{build.__name__}()", build, build)


def test_the_meta_pass_totals_are_torchs():
    rep = summarise_source(source(cnn), parse_inputs(["2x3x16x16"]))
    assert rep.path == "meta"
    assert rep.total_params == sum(p.numel() for p in cnn().parameters())
    assert rep.total_macs == torch_macs(cnn(), torch.zeros(2, 3, 16, 16))
    assert tuple(rep.output_shape) == (2, 4)
    assert rep.model == "cnn()"


def test_a_data_dependent_forward_runs_once_on_the_cpu():
    rep = summarise_source(source(DataDependent), parse_inputs(["3x6"]))
    assert rep.path == "cpu"
    note = next(n for n in rep.notes if "cannot run on the meta device" in n)
    assert "it ran once for real on the CPU, the model built again with seed 0, on inputs " \
           "of zeros; its tensors peaked at" in note
    assert rep.total_macs == torch_macs(DataDependent(), torch.zeros(3, 6))
    assert tuple(rep.output_shape) == (3, 6)


def test_convcli_rules_reject_a_wrong_channel_count_on_meta():
    def wrong():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 8, 3))
    with pytest.raises(RuleError) as e:
        summarise_source(source(wrong), parse_inputs(["1x3x16x16"]))
    assert str(e.value).startswith("module '1': ")
    assert "\n" not in str(e.value)
    with pytest.raises(RuntimeError):                        # torch agrees on real data
        wrong()(torch.zeros(1, 3, 16, 16))


def test_a_linear_of_the_wrong_size_names_the_size_torch_feeds_it():
    def bad():
        return nn.Sequential(nn.Flatten(), nn.Linear(10, 2))
    n = nn.Flatten()(torch.zeros(1, 3, 4, 4)).shape[-1]
    with pytest.raises(ConvError, match=rf"receives {n} features .*; use Linear\({n}, 2\)$"):
        summarise_source(source(bad), parse_inputs(["1x3x4x4"]))


def test_a_shape_error_in_the_users_own_code_is_reported_at_once():
    class Own(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, x):
            return self.fc(x.reshape(x.shape[0], 7))
    with pytest.raises(ConvError, match="the forward pass failed in the model's own code"):
        summarise_source(source(Own), parse_inputs(["2x3x4"]))


def test_the_cpu_pass_is_held_to_the_memory_limit():
    with pytest.raises(EnvironmentProblem, match="the CPU pass needs the inputs for real"):
        summarise_source(source(DataDependent), parse_inputs(["1000x6"]),
                         Options(max_memory=1000))


def test_the_api_leaves_the_users_model_where_and_as_it_was():
    model = cnn().train()
    before = {n: p.clone() for n, p in model.state_dict().items()}
    rep = summarise_module(model, parse_inputs(["2x3x8x8"]), (None,), {})
    assert model.training and all(m.training for m in model.modules())
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(torch.equal(before[n], p) for n, p in model.state_dict().items())
    assert rep.total_macs == torch_macs(cnn(), torch.zeros(2, 3, 8, 8))
    assert rep.model == "Sequential (in memory)"


def test_set_mode():
    m = cnn()
    set_mode(m, "train")
    assert m.training
    set_mode(m, "eval")
    assert not any(x.training for x in m.modules())
    m[1].train()
    set_mode(m, "same")
    assert m[1].training and not m[0].training


def test_meta_view_runs_on_copies_and_keeps_parameter_names():
    m = cnn()
    run, ids = meta_view(m, torch)
    assert sorted(ids.values()) == sorted(n for n, _ in m.named_parameters())
    out = run(torch.empty(1, 3, 4, 4, device="meta"))
    assert out.device.type == "meta" and tuple(out.shape) == (1, 4)
    assert all(p.device.type == "cpu" for p in m.parameters())
    with torch.device("meta"):
        on_meta = cnn()
    assert meta_view(on_meta, torch)[0] is on_meta


def test_label():
    assert label(nn.Conv2d(3, 8, 3)) == "Conv2d(3, 8, 3)"
    assert label(cnn()) == "Sequential"
