"""convcli.summary called the way torchinfo's README and docstring call torchinfo's
summary, on models written here for each pattern; totals checked against torch
(sum(p.numel()) over unique parameters, FlopCounterMode / 2 on a real forward) and,
where torchinfo is right, against torchinfo itself (when it is installed)."""

import contextlib
import re
import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import convcli  # noqa: E402
from convcli import ConvError  # noqa: E402
from convcli.engine.summary.dropin import (COLUMNS, ROW_SETTINGS, param_facts,  # noqa: E402
                                           read_call)

try:
    import torchinfo
except ImportError:       # the comparisons with torchinfo are skipped
    torchinfo = None


def torch_macs(model, *args, **kwargs) -> int:
    """FlopCounterMode / 2 on a real forward, attention's fast path off, SDPA as math."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    fc = FlopCounterMode(display=False)
    old = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(torch.no_grad())
            stack.enter_context(sdpa_kernel(SDPBackend.MATH))
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            stack.enter_context(fc)
            model.eval()(*args, **kwargs)
    finally:
        torch.backends.mha.set_fastpath_enabled(old)
    return fc.get_total_flops() // 2


def unique_params(model) -> tuple[int, int]:
    ps = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in ps), sum(p.numel() for p in ps if p.requires_grad)


def same_as_torchinfo(report, model, **kwargs):
    if torchinfo is None:
        return
    ti = torchinfo.summary(model, verbose=0, **kwargs)
    assert (report.total_params, report.trainable_params, report.total_param_bytes) == \
        (ti.total_params, ti.trainable_params, ti.total_param_bytes)


# ---- the models, one per pattern --------------------------------------------------

class CNN(nn.Module):       # torchinfo's README: summary(model, input_size=(16, 1, 28, 28))
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.relu(self.fc1(x.view(-1, 320)))
        return F.log_softmax(self.fc2(x), dim=1)


class Shared(nn.Module):    # one conv called twice, one block reused
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU())
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = self.block(self.conv(self.conv(x)))
        return self.head(self.block(x).mean((2, 3)))


class Tied(nn.Module):      # a language model whose decoder is its embedding
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.rnn = nn.GRU(16, 16, batch_first=True)
        self.decoder = nn.Linear(16, 100)
        self.decoder.weight = self.embed.weight

    def forward(self, ids):
        return self.decoder(self.rnn(self.embed(ids))[0])


class DictIO(nn.Module):    # a dict in, a dict out
    def __init__(self):
        super().__init__()
        self.img = nn.Conv2d(3, 4, 3)
        self.txt = nn.Linear(12, 4)

    def forward(self, batch):
        return {"img": self.img(batch["image"]).flatten(1), "txt": self.txt(batch["text"])}


class Mixed(nn.Module):     # float image, int64 ids, bool mask
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.embed = nn.Embedding(50, 8)
        self.out = nn.Linear(8, 2)

    def forward(self, image, ids, mask):
        feats = self.conv(image).mean((2, 3))
        tokens = self.embed(ids).masked_fill(~mask[..., None], 0).mean(1)
        return self.out(feats + tokens)


class Packed(nn.Module):    # an LSTM on a PackedSequence
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(10, 20, num_layers=2)
        self.fc = nn.Linear(20, 3)

    def forward(self, packed):
        out, (h, c) = self.lstm(packed)
        return self.fc(h[-1])


class Scalar(nn.Module):    # a scalar and an empty batch
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))       # on the model itself
        self.fc = nn.Linear(3, 3)

    def forward(self, x, t):
        return self.fc(x) * self.scale * t


class Gaussian(nn.Module):  # a distribution as the output
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(6, 2)
        self.log_sigma = nn.Linear(6, 2)

    def forward(self, x):
        return torch.distributions.Normal(self.mu(x), self.log_sigma(x).exp())


class Wrong(nn.Module):     # where torchinfo's formulas are wrong
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.proj = nn.Linear(16, 16)

    def forward(self, x, seq):
        return self.up(x), self.proj(self.attn(seq, seq, seq)[0])


# ---- torchinfo's calls ------------------------------------------------------------

def test_readme_call_and_totals():
    model = CNN()
    report = convcli.summary(model, input_size=(16, 1, 28, 28), verbose=0)
    assert (report.total_params, report.trainable_params) == unique_params(model)
    assert report.total_mult_adds == torch_macs(model, torch.zeros(16, 1, 28, 28))
    assert report.total_input == 16 * 28 * 28 * 4
    assert report.total_param_bytes == 4 * report.total_params
    assert report.summary_list[0].class_name == "Conv2d"
    assert report.summary_list[0].var_name == "conv1"
    assert report.summary_list[0].output_size == [16, 10, 24, 24]
    same_as_torchinfo(report, model, input_size=(16, 1, 28, 28))
    if torchinfo is not None:    # no layer torchinfo miscounts here: bias aside, equal
        ti = torchinfo.summary(model, input_size=(16, 1, 28, 28), verbose=0)
        bias = 16 * (10 * 24 * 24 + 20 * 8 * 8 + 50 + 10)
        assert ti.total_mult_adds == report.total_mult_adds + bias
        assert ti.total_output_bytes == report.total_output_bytes


def test_batch_dim_columns_and_enums():
    model = CNN()
    cols = ("input_size", "output_size", "num_params", "kernel_size", "mult_adds")
    report = convcli.summary(model, (1, 28, 28), batch_dim=0, col_names=cols, verbose=0)
    assert report.inputs == ["1x1x28x28"] and report.output_shape == (1, 10)
    text = str(report)
    assert "input" in text.splitlines()[2] and "share" not in text and "5/1/0/1/1" in text
    if torchinfo is not None:
        from torchinfo import ColumnSettings, Mode, RowSettings
        again = convcli.summary(model, (1, 28, 28), batch_dim=0, verbose=0,
                                col_names=[ColumnSettings.TRAINABLE],
                                row_settings=[RowSettings.ASCII_ONLY], mode=Mode.TRAIN)
        assert "trainable" in str(again) and "+--" in str(again) and "━" not in str(again)
        assert again.total_mult_adds == report.total_mult_adds


def test_shared_modules_are_counted_once_and_every_call_is_counted():
    model = Shared()
    x = torch.zeros(2, 8, 16, 16)
    report = convcli.summary(model, input_data=x, verbose=0)
    assert report.total_params == sum(p.numel() for p in model.parameters()) == 692
    assert report.total_mult_adds == torch_macs(model, x)
    assert sum(r.is_recursive for r in report.summary_list) >= 2
    assert sum(r.num_params for r in report if r.is_leaf_layer) == 692
    assert convcli.summary(model, input_data=x, depth=0, verbose=0)[0].num_params == 692
    same_as_torchinfo(report, model, input_data=x)


def test_tied_weights_and_int_inputs_by_dtypes():
    model = Tied()
    report = convcli.summary(model, input_size=(2, 7), dtypes=[torch.long], verbose=0)
    assert report.total_params == unique_params(model)[0] == 100 * 16 + 2 * 3 * 16 * 16 \
        + 2 * 3 * 16 + 100
    assert report.total_mult_adds == torch_macs(model, torch.zeros(2, 7, dtype=torch.long))
    assert report.inputs == ["2x7:int64"] and report.total_input == 2 * 7 * 8
    if torchinfo is not None:   # torchinfo counts the tied weight twice
        ti = torchinfo.summary(model, input_size=(2, 7), dtypes=[torch.long], verbose=0)
        assert ti.total_params == report.total_params + 100 * 16


def test_dict_inputs_and_outputs():
    model = DictIO()
    batch = {"image": torch.zeros(2, 3, 8, 8), "text": torch.zeros(2, 12)}
    report = convcli.summary(model, input_data=[batch], verbose=0)   # torchinfo: wrap it
    assert report.total_mult_adds == torch_macs(model, batch) == 2 * 36 * 4 * 27 + 2 * 48
    assert report.total_params == unique_params(model)[0]
    assert report.total_input == (2 * 3 * 64 + 2 * 12) * 4
    assert any("returned a dict" in n for n in report.notes)
    same_as_torchinfo(report, model, input_data=[batch])
    kw = convcli.summary(model, input_data={"batch": batch}, verbose=0)   # as kwargs
    assert kw.total_mult_adds == report.total_mult_adds


def test_several_inputs_of_several_dtypes():
    model = Mixed()
    sizes = [(2, 3, 8, 8), (2, 5), (2, 5)]
    report = convcli.summary(model, input_size=sizes, verbose=0,
                             dtypes=[torch.float, torch.long, torch.bool])
    args = (torch.zeros(2, 3, 8, 8), torch.zeros(2, 5, dtype=torch.long),
            torch.ones(2, 5, dtype=torch.bool))
    assert report.total_mult_adds == torch_macs(model, *args)
    assert report.inputs == ["2x3x8x8", "2x5:int64", "2x5:bool"]
    assert report.total_input == 2 * 3 * 64 * 4 + 2 * 5 * 8 + 2 * 5
    data = convcli.summary(model, input_data=list(args), verbose=0)
    assert data.total_mult_adds == report.total_mult_adds
    # keyword arguments go to forward(), as torchinfo's **kwargs
    kw = convcli.summary(model, input_data=[args[0]], ids=args[1], mask=args[2], verbose=0)
    assert kw.total_mult_adds == report.total_mult_adds
    same_as_torchinfo(report, model, input_data=list(args))


def test_rnn_on_a_packed_sequence():
    from torch.nn.utils.rnn import pack_padded_sequence
    model = Packed()
    packed = pack_padded_sequence(torch.zeros(6, 3, 10), torch.tensor([6, 4, 2]))
    report = convcli.summary(model, input_data=[packed], verbose=0)
    assert report.total_params == unique_params(model)[0]
    assert report.total_mult_adds == torch_macs(model, packed)
    assert report.total_mult_adds == 12 * 4 * 20 * (10 + 20) + 12 * 4 * 20 * 40 + 3 * 20 * 3
    assert not any("batch changed" in n for n in report.notes)   # data is no batch
    if torchinfo is not None:   # torchinfo cannot take a PackedSequence as input_data
        with pytest.raises(AttributeError):
            torchinfo.summary(model, input_data=[packed], verbose=0)


def test_frozen_and_pruned_layers():
    import torch.nn.utils.prune as prune
    model = CNN()
    for p in model.conv1.parameters():
        p.requires_grad_(False)
    prune.l1_unstructured(model.fc1, "weight", amount=0.5)
    report = convcli.summary(model, input_size=(1, 1, 28, 28), verbose=0)
    total, trainable = unique_params(model)
    assert (report.total_params, report.trainable_params) == (total, trainable)
    assert report.summary_list[0].trainable == "False"
    assert report.pruned_params == 8000
    assert any("8,000 of the params are masked" in n for n in report.notes)
    if torchinfo is not None:   # torchinfo counts what the masks keep
        ti = torchinfo.summary(model, input_size=(1, 1, 28, 28), verbose=0)
        assert ti.total_params == report.total_params - 8000
        assert ti.trainable_params == report.trainable_params - 8000


def test_lazy_parameters_are_counted_after_the_forward():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5))
    report = convcli.summary(model, input_size=(1, 3, 6, 6), verbose=0)
    assert report.total_params == unique_params(model)[0] == 112 + 64 * 5 + 5
    same_as_torchinfo(report, model, input_size=(1, 3, 6, 6))


def test_scalar_and_empty_inputs():
    model = Scalar()
    report = convcli.summary(model, input_data=[torch.zeros(0, 3), torch.tensor(2.0)],
                             verbose=0)
    assert report.total_params == 13 and report.output_shape == (0, 3)
    assert report.inputs == ["0x3", ""] and report.total_input == 4
    assert report.total_mult_adds == 0 == torch_macs(model, torch.zeros(0, 3),
                                                     torch.tensor(2.0))
    sized = convcli.summary(model, input_size=[(4, 3), ()], verbose=0)
    assert sized.total_mult_adds == 4 * 9 == torch_macs(model, torch.zeros(4, 3),
                                                        torch.zeros(()))


def test_a_distribution_as_the_output():
    model = Gaussian()
    report = convcli.summary(model, input_size=(5, 6), verbose=0)
    assert report.total_mult_adds == torch_macs(model, torch.zeros(5, 6)) == 2 * 5 * 12
    assert any("returned a Normal" in n for n in report.notes)


def test_where_torchinfo_is_wrong_the_numbers_are_torchs():
    model = Wrong()
    x, seq = torch.zeros(1, 8, 8, 8), torch.zeros(2, 5, 16)
    report = convcli.summary(model, input_data=[x, seq], verbose=0)
    assert report.total_mult_adds == torch_macs(model, x, seq)
    up = 8 * 8 * 8 * 4 * 16                     # per input element: C_in * C_out * k*k
    attn = 2 * 5 * 16 * 16 * 4 + 2 * 2 * 5 * 5 * 16    # in/out projections, QK^T and AV
    assert report.total_mult_adds == up + attn + 2 * 5 * 16 * 16
    if torchinfo is not None:   # the MACs, and torchinfo's bytes of the attention
        ti = torchinfo.summary(model, input_data=[x, seq], verbose=0)
        assert (ti.total_params, ti.trainable_params) == (report.total_params,) * 2
        assert ti.total_mult_adds != report.total_mult_adds
        # torchinfo leaves out every byte of the attention's params (in_proj, out_proj)
        assert ti.total_param_bytes == report.total_param_bytes - 4 * 4 * 16 * 17


# ---- the report --------------------------------------------------------------------

def test_the_report_shows_itself(capsys):
    model = CNN()
    report = convcli.summary(model, input_size=(1, 1, 28, 28))   # verbose 1 outside a REPL
    printed = capsys.readouterr().out
    assert printed == str(report) + "\n" and "fc1 Linear" in printed and "16,050" in printed
    assert "total_params" not in printed and len(repr(report)) < 200
    assert f"{report.total_params:,}" in report._repr_html_()
    assert [r.name for r in report] == [r.name for r in report.rows] and len(report) > 3
    frame = report.to_pandas()
    assert list(frame["num_params"]) == [r.num_params for r in report]
    convcli.summary(model, input_size=(1, 1, 28, 28), verbose=0)
    assert capsys.readouterr().out == ""
    convcli.summary(model, input_size=(1, 1, 28, 28), verbose=2)
    assert "conv1.weight" in capsys.readouterr().out


def test_to_dict_is_the_commands_json():
    import json

    from typer.testing import CliRunner

    from convcli.cli import app
    from conftest import ROOT
    path = ROOT / "examples" / "models" / "cifar_cnn.py"
    out = CliRunner().invoke(app, ["summary", f"{path}:CifarCNN", "--input", "1x3x32x32",
                                   "--json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    import runpy
    model = runpy.run_path(str(path))["CifarCNN"]()
    api = convcli.summarise(model, (1, 3, 32, 32)).to_dict()
    cli.pop("model"), api.pop("model")
    assert api == cli


@pytest.mark.parametrize("kwargs, message", [
    ({"input_size": (1, 3, 8, 8), "input_data": torch.zeros(1, 3, 8, 8)}, "not both"),
    ({}, "needs input_size or input_data"),
    ({"input_size": (1, -3)}, "negative size"),
    ({"input_size": "1x3"}, "give a tuple like"),
    ({"input_size": (1.5, 3)}, "input_size: (1.5, 3) is not a size"),
    ({"input_size": [(1, 3), (2, "x")]}, "(2, 'x') (input 1) is not a size"),
    ({"input_size": [(1, 3), (2, 3)], "dtypes": [torch.long]}, "one per input size"),
    ({"input_size": (1, 3), "col_names": ["flops"]}, "'flops' is not one of"),
    ({"input_size": (1, 3), "row_settings": ["bold"]}, "'bold' is not one of"),
    ({"input_size": (1, 3), "verbose": 3}, "verbose=3"),
    ({"input_size": (1, 3), "mode": "test"}, "mode='test'"),
    ({"input_size": (1, 3), "device": "tpu:9"}, "not a torch device"),
    ({"input_size": (1, 3), "depth": -1}, "depth=-1"),
    ({"input_size": (1, 3), "col_width": 0}, "col_width=0"),
    ({"input_size": (1, 3), "batch_dim": 5}, "batch_dim=5"),
    ({"input_size": (1, 4)}, "receives 4 features from the input [1, 4]; use Linear(4, 2)"),
    ({"input_data": "x"}, "str is not a tensor"),
])
def test_bad_arguments_are_one_line_conv_errors(kwargs, message):
    with pytest.raises(ConvError, match=re.escape(message)) as e:
        convcli.summary(nn.Linear(3, 2), **{"verbose": 0, **kwargs})
    assert "\n" not in str(e.value)
    with pytest.raises(ConvError):
        convcli.summary("not a model", input_size=(1, 3))


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch):
    report = convcli.summary(nn.Linear(3, 2), input_size=(1, 3), verbose=0)
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    with pytest.raises(convcli.EnvironmentProblem, match="pip install pandas"):
        report.to_pandas()


# ---- dropin.py's reading of torchinfo's arguments, directly -----------------------


def _read(model=None, input_size=None, input_data=None, batch_dim=None, col_names=None,
          col_width=25, depth=3, device=None, dtypes=None, mode=None, row_settings=None,
          verbose=0, **kwargs):
    return read_call(model if model is not None else nn.Linear(3, 2), input_size, input_data,
                     batch_dim, col_names, col_width, depth, device, dtypes, mode,
                     row_settings, verbose, kwargs)


def test_read_call_sizes_batch_dim_and_dtypes_make_torchs_tensors():
    call = _read(input_size=[(3, 4), (5,)], batch_dim=0, dtypes=[torch.float64, torch.long])
    args, kw = call.make_inputs("cpu")
    assert [tuple(a.shape) for a in args] == [(1, 3, 4), (1, 5)]
    assert [a.dtype for a in args] == [torch.float64, torch.long]
    meta, _ = call.make_inputs("meta")
    assert all(a.device.type == "meta" for a in meta)
    assert call.given is False and call.mode == "eval" and call.view["rows"] == ("depth",)
    assert [s.shape for s in call.specs] == [(1, 3, 4), (1, 5)]


def test_read_call_input_data_keeps_the_callers_tensors_and_kwargs():
    x = torch.randn(2, 3)
    call = _read(input_data=[x], mask=torch.ones(2, dtype=torch.bool), scale=0.5)
    args, kw = call.make_inputs("cpu")
    assert torch.equal(args[0], x) and kw["scale"] == 0.5 and kw["mask"].dtype == torch.bool
    assert call.given is True
    meta_args, _ = call.make_inputs("meta")
    assert meta_args[0].device.type == "meta" and meta_args[0].shape == x.shape


def test_read_call_takes_torchinfos_enum_values_and_names():
    class Col(str):
        def __new__(cls, v):
            obj = str.__new__(cls, v)
            obj.value = v
            return obj
    call = _read(input_size=(1, 3), col_names=[Col("num_params"), "mult_adds"],
                 row_settings=["var_names", Col("ascii_only")], mode="train", verbose=2)
    assert call.view["columns"] == ("num_params", "mult_adds")
    assert call.view["rows"] == ("var_names", "ascii_only")
    assert call.mode == "train" and call.verbose == 2
    assert set(COLUMNS) >= set(call.view["columns"]) and "depth" in ROW_SETTINGS


@pytest.mark.parametrize("kwargs,message", [
    ({"model": "not a model", "input_size": (1, 3)}, "model: str is not a torch.nn.Module"),
    ({"input_size": (1, 3), "col_width": 0}, "col_width=0: give a whole number >= 1"),
    ({"input_size": (1, 3), "depth": True}, "depth=True: give a whole number >= 0"),
    ({"input_size": (1, 3), "verbose": 3}, "verbose=3: use 0 (quiet)"),
    ({"input_size": (1, 3), "mode": "test"}, "mode='test': use 'same'"),
    ({"input_size": (1, 3), "device": "gpu9"}, "device='gpu9' is not a torch device"),
    ({"input_size": (1, 3), "input_data": torch.zeros(1)}, "not both"),
    ({}, "needs input_size or input_data"),
    ({"input_size": (1, -3)}, "has a negative size"),
    ({"input_size": (1, 2.5)}, "is not a size"),
    ({"input_size": ()}, "give a tuple like (1, 3, 224, 224)"),
    ({"input_size": (1, 3), "col_names": ["flops"]}, "col_names: 'flops' is not one of"),
    ({"input_data": torch.zeros(1, 3), "dtypes": [torch.float]}, "dtypes goes with "
                                                                  "input_size"),
])
def test_read_call_refuses_in_one_line(kwargs, message):
    with pytest.raises(ConvError) as e:
        _read(**kwargs)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_param_facts_are_torchs_bytes_shared_once_and_pruned_masks():
    import torch.nn.utils.prune as prune
    lin = nn.Linear(4, 4)
    model = nn.Sequential(lin, nn.ReLU(), lin, nn.Linear(4, 2).double())
    facts = param_facts(model)
    unique = {id(p): p for p in model.parameters()}.values()
    assert facts["param_bytes"] == sum(p.numel() * p.element_size() for p in unique)
    assert facts["parameters"] == [(n, tuple(p.shape), p.numel(), p.requires_grad)
                                   for n, p in model.named_parameters()]
    prune.l1_unstructured(model[3], "weight", amount=0.5)
    assert param_facts(model)["pruned_params"] == int((model[3].weight_mask == 0).sum()) == 4
    lazy = nn.Sequential(nn.LazyLinear(3))
    assert param_facts(lazy)["param_bytes"] == 0 and param_facts(lazy)["parameters"] == []
