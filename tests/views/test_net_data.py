"""views/net_data.py: the --json dict of `net` and `summary`: its keys, and its values
against torch (shapes, params, MACs of a real forward; AdamW's state after one step;
the receptive field as the nonzero input gradient of one output)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import convcli
from convcli.calculator.costs import DTYPE_SIZES
from convcli.views.jsonout import JSON_VERSION
from convcli.views.net_data import (NET_COUNTING, SUMMARY_COUNTING, net_dict, picture_dict,
                                    row_dict, train_dict)

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from torch_truth import grad_sets, positive_copy  # noqa: E402

LAYERS = ["Conv2d(3, 8, 3, padding=1)", "ReLU()", "Conv2d(8, 4, 3, stride=2, bias=False)",
          "Flatten()", "Linear(196, 5)"]
SHAPE = (2, 3, 16, 16)


def model():
    torch.manual_seed(0)
    return nn.Sequential(*[eval(f"nn.{text}") for text in LAYERS])


def with_train_and_field(report, field: str):
    from convcli.cli.calculator_commands import with_picture
    from convcli.network.field_walk import net_fields
    from convcli.network.rules import build_layer
    from convcli.network.text import parse_layers
    from convcli.network.train_rules import net_training
    built = [build_layer(c) for c in parse_layers(", ".join(LAYERS), "text", {})]
    report, _ = net_training(report, built, 4, "adamw", "float32")
    report, notes = net_fields(report, built)
    return with_picture(replace(report, notes=list(report.notes) + notes), field, None, None)


@pytest.fixture(scope="module")
def report():
    return convcli.analyse_net(SHAPE, ", ".join(LAYERS))


def test_rows_and_totals_are_torchs(report):
    d = net_dict(report, "float32")
    json.dumps(d, allow_nan=False)
    assert d["version"] == JSON_VERSION and d["counting"] == NET_COUNTING
    x, m = torch.zeros(SHAPE), model().eval()
    total_macs = 0
    for row, layer, module in zip(d["layers"], LAYERS, m):
        fc = FlopCounterMode(display=False)
        with fc, torch.no_grad():
            y = module(x)
        assert row["layer"] == layer and row["type"] == type(module).__name__
        assert row["input_shape"] == list(x.shape) and row["output_shape"] == list(y.shape)
        assert row["params"] == sum(p.numel() for p in module.parameters())
        assert row["macs"] == fc.get_total_flops() // 2
        total_macs += row["macs"]
        x = y
    assert d["output_shape"] == list(x.shape)
    assert d["total_params"] == sum(p.numel() for p in m.parameters()) == d["trainable_params"]
    assert d["total_macs"] == total_macs and d["total_flops"] == 2 * total_macs
    assert d["param_bytes"] == {k: d["total_params"] * s for k, s in DTYPE_SIZES.items()}
    assert sum(r["share"] for r in d["layers"]) == pytest.approx(1.0, abs=1e-5)
    assert d["macs_complete"] is True and d["frozen_params"] == 0
    assert "train" not in d and "field" not in d and "path" not in d
    assert "name" not in d["layers"][0]                   # rules rows have no module names


def test_train_bytes_are_torchs_parameters_and_adamw_state(report):
    d = net_dict(with_train_and_field(report, "3@1,1"), "float32")
    t = d["train"]
    m = model()
    params = sum(p.numel() * p.element_size() for p in m.parameters())
    opt = torch.optim.AdamW(m.parameters())
    m(torch.zeros(SHAPE)).sum().backward()
    opt.step()
    state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values())
    assert t["param_bytes"] == t["grad_bytes"] == params
    assert t["optimizer_state_bytes"] == state
    assert t["optimizer"] == "adamw" and t["batch"] == 2 and t["dtype"] == "float32"
    assert t["input_bytes"] == 4 * torch.Size(SHAPE).numel()
    assert t["gpus"] is None and t["budget"] is None and t["measured"] is None
    per_row = [r["train"]["param_bytes"] for r in d["layers"]]
    assert per_row == [sum(p.numel() * 4 for p in mod.parameters()) for mod in m]


def test_the_field_is_the_input_gradient_of_that_output(report):
    d = net_dict(with_train_and_field(report, "3@1,1"), "float32")
    f = d["field"]
    assert f["row"] == "layer 3 Conv2d(8, 4, 3, stride=2, bias=False)" and f["position"] == [1, 1] and f["input_sizes"] == [16, 16]
    sets = grad_sets(positive_copy(model()), SHAPE, (1, 1), upto=lambda m, x: m[:3](x))
    assert [set(s) for s in f["indices"]] == sets
    assert f["hull"] == [[min(s), max(s)] for s in sets]
    rf = d["layers"][0]["receptive_field"]
    assert rf["size"] == [3, 3] and rf["jump"] == [1, 1] and rf["start"] == [-1, -1]


def test_summary_adds_its_own_keys():
    m = model()
    rep = convcli.summarise(m, SHAPE)
    d = net_dict(rep, "float32")
    assert d["counting"] == SUMMARY_COUNTING
    assert d["path"] in ("meta", "cpu") and d["inputs"] == ["2x3x16x16"]
    assert d["depth"] is None                   # no --depth: every row
    assert d["total_params"] == sum(p.numel() for p in m.parameters())
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        m(torch.zeros(SHAPE))
    assert d["total_macs"] == fc.get_total_flops() // 2
    assert sum(d["macs_by_op"].values()) == d["total_macs"]
    leaf = next(r for r in d["layers"] if r["type"] == "Linear")
    assert {"name", "depth", "container", "own_code", "macs_by_op"} <= set(leaf)


def test_row_dict_of_nothing_is_none():
    assert row_dict(None) is None


def test_train_dict_and_picture_dict_are_what_net_dict_nests(report):
    rep = with_train_and_field(report, "1@0,0")
    d = net_dict(rep, "float32")
    assert d["train"] == train_dict(rep.train)
    assert d["field"] == picture_dict(rep.picture)
    # output [0, 0] of the padded conv reads one row and column of padding before
    assert [p[0] for p in d["field"]["padding"]] == [1, 1]
