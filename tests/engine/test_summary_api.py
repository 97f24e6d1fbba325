"""The Python API for notebooks: convcli.summarise(model, inputs) on an in-memory
module and convcli.analyse_net(shape, text) return report dataclasses that draw
themselves in a terminal (rich) and in Jupyter (_repr_mimebundle_)."""

import io

import pytest

torch = pytest.importorskip("torch")
from rich.console import Console  # noqa: E402

import convcli  # noqa: E402
import summary_models as sm  # noqa: E402


def rendered(report) -> str:
    out = io.StringIO()
    Console(file=out, width=100, no_color=True).print(report)
    return out.getvalue()


def test_summarise_leaves_the_model_as_it_was():
    model = sm.ViT().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = convcli.summarise(model, torch.randn(2, 3, 64, 64))
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert report.path == "meta" and report.output_shape == (2, 10)
    assert report.total_params == sum(p.numel() for p in model.parameters())


def test_report_renders_itself_in_a_terminal_and_in_jupyter():
    report = convcli.summarise(sm.NonLocalNet(), "1x3x64x64")
    text = rendered(report)
    assert "nl NonLocal" in text and "  theta Conv2d" in text and "77.3 M" in text
    bundle = report._repr_mimebundle_()
    assert "  theta Conv2d" in bundle["text/plain"]
    assert "theta" in bundle["text/html"] and f"{report.total_params:,}" in bundle["text/html"]
    assert report._repr_html_() == bundle["text/html"]
    assert "  theta Conv2d" in str(report) and " \n" not in str(report)   # print(report)
    net = convcli.analyse_net("1x3x32x32", "Conv2d(3, 16, 3), ReLU(), MaxPool2d(2)")
    assert net.output_shape == (1, 16, 15, 15) and "MaxPool2d(2)" in rendered(net)
    assert net.total_macs == 30 * 30 * 16 * 27


def test_data_dependent_model_runs_on_the_given_tensors():
    torch.manual_seed(0)
    model = sm.DetHead().eval()
    x = torch.randn(1, 3, 64, 64)
    report = convcli.summarise(model, x)
    assert report.path == "cpu"
    with torch.no_grad():
        kept = model(x).shape[0]
    roi = next(r for r in report.rows if r.name == "roi")
    assert roi.macs == kept * 4 * 16 and roi.input_shape == (kept, 4)


def test_inputs_in_every_form():
    model = sm.KeywordInput()
    a = convcli.summarise(model, [(1, 3, 8, 8)], kwargs={"mask": "1x1x8x8"})
    b = convcli.summarise(model, torch.zeros(1, 3, 8, 8), kwargs={"mask": torch.ones(1, 1, 8, 8)})
    assert a.total_macs == b.total_macs == 64 * 16 * 27 + 64 * 16
    assert a.inputs == ["1x3x8x8", "mask=1x1x8x8"]
    text = convcli.summarise(sm.TextEncoder(), "2x32:int64")
    assert text.macs_complete and text.inputs == ["2x32:int64"]
    with pytest.raises(convcli.ConvError, match="not a tensor or a shape"):
        convcli.summarise(model, [object()])


def test_the_cpu_pass_of_an_in_memory_model_says_what_it_ran():
    """The API cannot rebuild a caller's model: the note says it ran the model itself,
    on which inputs, that Lazy modules are now initialised (as any first forward does),
    and no memory address from torch's message."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(),
                                torch.nn.LazyLinear(10))
    report = convcli.summarise(model, "1x3x16x16")
    note = next(n for n in report.notes if "cannot run on the meta device" in n)
    assert "(a Lazy module has no weights before its first forward)" in note
    assert "your model itself (its lazy modules are initialised now" in note
    assert "on inputs of zeros" in note and "0x" not in note and "seed 0" not in note
    assert report.total_params == sum(p.numel() for p in model.parameters()) == 15_914
    assert type(model[2]) is torch.nn.Linear     # what the note said: LazyLinear became one

    head = sm.DetHead()
    note = next(n for n in convcli.summarise(head, torch.zeros(1, 3, 64, 64)).notes
                if "cannot run on the meta device" in n)
    assert "your model itself, on the tensors you gave" in note
