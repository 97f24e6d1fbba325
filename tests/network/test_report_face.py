"""convcli.network.report_face: what a report shows Python under torchinfo's names,
each total checked against torch's own module (params, MACs by FlopCounterMode, the
input, the outputs of the layers with params, as torchinfo defines its sizes), the
rows as a sequence, and how a report draws itself with and without the views'
renderers."""

from dataclasses import replace

import pytest

from convcli.network import report_face
from convcli.network.report_face import ELEMENT_BYTES, RENDERERS, ReportFace, RowFace
from convcli.network.text import parse_layers
from convcli.network.walk import analyse_net

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

TEXT = "Conv2d(3, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 4 * 4, 10)"
SHAPE = (2, 3, 8, 8)


@pytest.fixture(scope="module")
def report():
    return analyse_net(SHAPE, parse_layers(TEXT))


@pytest.fixture(scope="module")
def truth():
    calls = parse_layers(TEXT)
    model = torch.nn.Sequential(*[getattr(torch.nn, c.name)(*c.args, **c.kwargs)
                                  for c in calls])
    outputs = []
    for m in model:
        m.register_forward_hook(lambda mod, i, o: outputs.append((mod, tuple(o.shape))))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(SHAPE))
    return model, outputs, counter.get_total_flops()


def test_totals_under_torchinfos_names_equal_torchs(report, truth):
    model, outputs, flops = truth
    params = sum(p.numel() for p in model.parameters())
    assert isinstance(report, ReportFace)
    assert report.total_params == params
    assert report.total_mult_adds == report.total_macs == flops // 2
    assert report.total_flops == flops
    assert report.dtype == "float32"
    assert report.total_input == torch.zeros(SHAPE).numel() * 4
    assert report.total_param_bytes == params * 4
    with_params = sum(torch.Size(shape).numel() for m, shape in outputs
                      if any(True for _ in m.parameters()))
    assert report.total_output_bytes == 2 * with_params * 4
    assert report.total_bytes == (report.total_input + report.total_output_bytes
                                  + report.total_param_bytes)
    assert report.pruned_params == 0


def test_rows_under_torchinfos_names(report, truth):
    model, outputs, _ = truth
    assert len(report) == len(report.summary_list) == len(model)
    assert [r.class_name for r in report] == [type(m).__name__ for m in model]
    for row, (module, shape) in zip(report, outputs):
        assert isinstance(row, RowFace)
        assert row.output_size == list(shape) and row.output_shape == shape
        assert row.num_params == sum(p.numel() for p in module.parameters())
        assert row.trainable_params == row.num_params
        assert row.trainable == ("True" if row.num_params else "--")
        assert row.is_leaf_layer and not row.is_recursive
        assert row.var_name == row.layer          # net's rows have no names
    assert report[0].kernel_size == [3, 3] and report[2].kernel_size == [2, 2]
    assert report[1].kernel_size is None
    assert report[0].input_size == list(SHAPE)
    assert report[-1] is report.rows[-1] and list(iter(report)) == report.rows


def test_trainable_words_and_names_of_summary_rows(report):
    conv = report[0]
    assert replace(conv, frozen_params=conv.params).trainable == "False"
    assert replace(conv, frozen_params=1).trainable == "Partial"
    assert replace(conv, frozen_params=1).trainable_params == conv.params - 1
    named = replace(conv, name="layer1.0.conv1")
    assert named.var_name == "conv1" and not named.is_recursive
    again = replace(conv, name="layer1.0.conv1 (call 2)")
    assert again.var_name == "conv1" and again.is_recursive
    assert not replace(conv, container=True).is_leaf_layer
    assert not replace(conv, own=True).is_leaf_layer


def test_total_input_reads_each_inputs_dtype(report):
    many = replace(report, inputs=["x=2x3x8x8:float16", "mask=2x8:bool", "ids=4:int64",
                                   "y=3x3"])
    assert many.total_input == 2 * 3 * 8 * 8 * 2 + 2 * 8 * 1 + 4 * 8 + 9 * 4
    assert ELEMENT_BYTES["bfloat16"] == torch.tensor([], dtype=torch.bfloat16).element_size()
    for name, size in ELEMENT_BYTES.items():
        assert torch.tensor([], dtype=getattr(torch, name)).element_size() == size, name
    half = replace(report, view={"dtype": "float16"})
    assert half.dtype == "float16" and half.total_input == 2 * 3 * 8 * 8 * 2
    assert replace(report, view={"param_bytes": 7}).total_param_bytes == 7
    assert replace(report, view={"pruned_params": 5}).pruned_params == 5
    assert replace(report, param_layer_outputs=10).total_output_bytes == 2 * 10 * 4


def test_without_renderers_a_report_is_one_line(report, monkeypatch):
    monkeypatch.setattr(report_face, "RENDERERS", {})
    line = report.one_line()
    assert line == (f"network: 5 rows, output [2, 10], {report.total_params:,} params, "
                    f"{report.total_macs:,} MACs")
    assert str(report) == line and repr(report) == f"<NetReport {line}>"
    assert report._repr_mimebundle_() == {"text/plain": line}
    assert report._repr_html_() is None
    assert list(report.__rich_console__(None, None)) == [line]
    for method in (report.to_dict, report.to_pandas):
        with pytest.raises(RuntimeError, match="import convcli.views.net_view"):
            method()
    assert replace(report, macs_complete=False, model="Net").one_line().startswith("Net: ")
    assert replace(report, macs_complete=False).one_line().endswith(" MACs (at least)")


def test_with_the_views_loaded_a_report_draws_itself(report):
    import convcli.views.net_view  # noqa: F401  (registers the renderers)
    import convcli.views.report_text  # noqa: F401
    assert {"rich", "text", "mimebundle", "dict"} <= set(RENDERERS)
    text = str(report)
    assert "Conv2d(3, 8, 3, padding=1)" in text and f"{report.total_params:,}" in text
    data = report.to_dict()
    assert data["total_params"] == report.total_params
    assert "text/html" in report._repr_mimebundle_() and report._repr_html_()
