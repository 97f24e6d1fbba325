"""convcli.views.conv_data: shape's and params' --json dicts, every number in them
against torch (a real forward for shapes and bytes, FlopCounterMode for MACs, the
modules' own parameters), the keys against the inputs, and no rich imported."""

import json

import pytest

from convcli.calculator.costs import CONVENTION, analyse
from convcli.calculator.explain import explain
from convcli.calculator.groups import compare_groups
from convcli.calculator.interpret import read_spec
from convcli.calculator.spec import ConvSpec
from convcli.views import conv_data
from convcli.views.conv_data import (JSON_GROUPS, compare_groups_omitted, counts_dict,
                                     explain_dicts, groups_rows_dict, notes)
from convcli.views.jsonout import JSON_VERSION

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

KEYS = ["version", "layer", "conv", "batched", "input_shape", "output_shape", "weight_shape",
        "bias_shape", "params", "weight_params", "bias_params", "macs", "flops", "bias_adds",
        "dtype", "bytes", "groups_layout", "groups_layout_omitted", "interpretation",
        "notes", "counting"]


def module_of(spec):
    kind = ("ConvTranspose" if spec.transposed else "Conv") + f"{spec.dims}d"
    kw = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
              groups=spec.groups, bias=spec.bias)
    if spec.transposed:
        kw["output_padding"] = spec.output_padding
    else:
        kw["padding_mode"] = spec.padding_mode
    return getattr(torch.nn, kind)(spec.in_channels, spec.out_channels, spec.kernel_size, **kw)


CASES = [
    (ConvSpec(2, 16, 32, 4, stride=2, padding=1, groups=4, transposed=True), (1, 16, 8, 8),
     "float32"),
    (ConvSpec(2, 3, 64, 7, stride=2, padding=3, bias=False), (2, 3, 32, 32), "float16"),
    (ConvSpec(1, 8, 8, 3, padding="same", groups=8), (8, 20), "float64"),
    (ConvSpec(3, 2, 4, (1, 2, 3), padding=1, padding_mode="circular"), (1, 2, 4, 5, 6),
     "bfloat16"),
]


@pytest.mark.parametrize("spec, shape, dtype", CASES)
def test_counts_dict_numbers_are_torchs(spec, shape, dtype):
    d = counts_dict(analyse(spec, shape, dtype))
    assert list(d) == KEYS
    module = module_of(spec).to(getattr(torch, dtype))
    x = torch.zeros(shape, dtype=getattr(torch, dtype))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(x)
    size = x.element_size()
    assert d["version"] == JSON_VERSION and d["dtype"] == dtype
    assert d["layer"] == spec.torch_repr() and d["conv"] == spec.as_dict()
    assert d["batched"] is (len(shape) == spec.dims + 2)
    assert d["input_shape"] == list(shape) and d["output_shape"] == list(y.shape)
    assert d["weight_shape"] == list(module.weight.shape)
    assert d["bias_shape"] == (None if module.bias is None else list(module.bias.shape))
    assert d["params"] == sum(p.numel() for p in module.parameters())
    assert d["weight_params"] == module.weight.numel()
    assert d["bias_params"] == (0 if module.bias is None else module.bias.numel())
    assert d["flops"] == counter.get_total_flops() == 2 * d["macs"]
    out_spatial = y.shape[-spec.dims:].numel()
    batch = shape[0] if d["batched"] else 1
    assert d["bias_adds"] == (batch * spec.out_channels * out_spatial if spec.bias else 0)
    assert d["bytes"] == {"input": x.numel() * size, "output": y.numel() * size,
                          "weight": module.weight.numel() * size,
                          "bias": d["bias_params"] * size,
                          "parameters": d["params"] * size,
                          "total": (x.numel() + y.numel() + d["params"]) * size}
    assert d["counting"] == CONVENTION and d["interpretation"] is None
    json.dumps(d, allow_nan=False)


def test_without_an_input_only_the_weights():
    d = counts_dict(analyse(ConvSpec(2, 4, 8, 3)))
    assert d["input_shape"] is d["output_shape"] is d["batched"] is d["macs"] is None
    assert d["flops"] is None and d["bias_adds"] is None
    assert d["bytes"]["input"] is None and d["bytes"]["total"] is None
    assert d["params"] == sum(p.numel() for p in torch.nn.Conv2d(4, 8, 3).parameters())


def test_group_layout_lists_the_first_and_last_groups_with_a_count():
    g = 100
    d = counts_dict(analyse(ConvSpec(2, g, 2 * g, 3, groups=g)))
    head, tail = JSON_GROUPS
    assert len(d["groups_layout"]) == head + tail and d["groups_layout_omitted"] == g - 64
    first, last = d["groups_layout"][0], d["groups_layout"][-1]
    weight = torch.nn.Conv2d(g, 2 * g, 3, groups=g).weight
    assert first["group"] == 0 and last["group"] == g - 1
    assert list(weight[first["weight_rows"][0]:first["weight_rows"][1]].shape) == \
        first["weight_slice_shape"]
    assert counts_dict(analyse(ConvSpec(2, 4, 8, 3)))["groups_layout"] == []
    small = counts_dict(analyse(ConvSpec(2, 4, 8, 3, groups=4)))
    assert len(small["groups_layout"]) == 4 and small["groups_layout_omitted"] == 0


def test_notes_put_the_reading_first_then_torchs_quirks():
    spec, reading = read_spec(out_channels="8", kernel_size="3", input_shape=(3, 8, 8))
    c = analyse(spec, (3, 8, 8))
    assert reading is not None and reading.note(False)
    assert notes(c, reading)[0] == reading.note(False)
    assert counts_dict(c, reading)["interpretation"] == reading.as_dict(False)
    empty = analyse(ConvSpec(1, 1, 1, 3, transposed=True, output_padding=1), (0, 1, 4))
    assert notes(empty, None) == list(empty.notes) and len(empty.notes) == 1


def test_explain_dicts_one_object_per_dim():
    spec = ConvSpec(2, 1, 1, (3, 4), stride=(2, 1), padding=(1, 2))
    dims = explain_dicts(explain(spec, (1, 1, 9, 8)))
    y = module_of(spec)(torch.zeros(1, 1, 9, 8))
    assert [e["size_out"] for e in dims] == list(y.shape[2:])
    assert dims[0] == {"dim": 0, "size_in": 9, "size_out": 5,
                       "formula": "floor((9+1+1-1*(3-1)-1)/2)+1", "padding": [1, 1],
                       "note": ""}
    assert dims[1]["padding"] == [2, 2] and dims[1]["size_in"] == 8


def test_groups_rows_dict_params_and_macs_are_torchs():
    spec = ConvSpec(2, 8, 16, 3, padding=1, groups=2)
    shape = (1, 8, 6, 6)
    rows = compare_groups(spec, shape)
    data = groups_rows_dict(rows)
    assert compare_groups_omitted(rows) == 0 and len(data) == len(rows)
    for d in data:
        if not d["label"].startswith("groups="):
            continue
        m = module_of(ConvSpec(2, 8, 16, 3, padding=1, groups=d["groups"]))
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            m(torch.zeros(shape))
        assert d["params"] == sum(p.numel() for p in m.parameters()), d["label"]
        assert d["macs"] == counter.get_total_flops() // 2
        assert d["yours"] is (d["groups"] == 2)
    base = data[0]
    assert base["saving"] == 0 and base["saved_params"] == 0
    g8 = next(d for d in data if d["groups"] == 8)
    assert g8["saved_params"] == base["params"] - g8["params"]
    assert g8["saving"] == round(1 - g8["params"] / base["params"], 6)


def test_compare_groups_omitted_counts_the_gaps():
    rows = compare_groups(ConvSpec(2, 720720, 720720, 1))
    assert compare_groups_omitted(rows) == sum(r.omitted for r in rows) > 0
    assert all(d["label"] != "..." for d in groups_rows_dict(rows))


def test_the_module_imports_no_rich():
    assert "rich" not in conv_data.__dict__ and not any(
        getattr(v, "__module__", "").startswith("rich") for v in vars(conv_data).values())
