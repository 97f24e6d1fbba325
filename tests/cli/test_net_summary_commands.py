"""convcli.cli.net_summary_commands: `convcli net` and `convcli summary` as a user calls
them: totals equal torch's (the modules' parameters, FlopCounterMode on a real forward),
budgets exit 1 one below torch's own count, the option helpers read what they are
given, misuse is one Error line and its code."""

import json

import pytest

from convcli.cli import net_summary_commands
from convcli.cli.net_summary_commands import dist_options, train_options, with_at
from convcli.errors import ConvError
from tests.cli.clirun import invoke, one_error_line

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

LAYERS = "Conv2d(3, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 4 * 4, 10)"

MODEL = '''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.head = nn.Linear(width * 8 * 8, 5)

    def forward(self, x):
        return self.head(self.conv(x).relu().flatten(1))
'''


def torch_truth(model, shape):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def stack():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(8 * 4 * 4, 10))


def test_the_module_registers_net_and_summary():
    from convcli.cli.app import app
    callbacks = [c.callback for c in app.registered_commands]
    assert net_summary_commands.net in callbacks and net_summary_commands.summary in callbacks


def test_net_json_totals_are_torchs():
    r = invoke("net", "2x3x8x8", LAYERS, "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    params, macs = torch_truth(stack(), (2, 3, 8, 8))
    assert d["total_params"] == params and d["total_macs"] == macs
    y = stack()(torch.zeros(2, 3, 8, 8))
    assert d["layers"][-1]["output_shape"] == d["output_shape"] == list(y.shape)


def test_net_budget_exits_1_one_below_torchs_count():
    params, _ = torch_truth(stack(), (2, 3, 8, 8))
    assert invoke("net", "2x3x8x8", LAYERS, "--max-params", str(params)).code == 0
    r = invoke("net", "2x3x8x8", LAYERS, "--max-params", str(params - 1))
    one_error_line(r, 1, "--max-params")
    assert "Budgets" in r.out and "FAILED" in r.out


def test_net_table_at_80_columns():
    r = invoke("net", "2x3x8x8", LAYERS)
    assert r.code == 0, r.err
    assert all(len(line) <= 80 for line in r.out.splitlines())
    assert "Linear(128, 10)" in r.out and f"{torch_truth(stack(), (2, 3, 8, 8))[0]:,}" in r.out


def test_summary_of_a_model_file_equals_torch(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    r = invoke("summary", f"{path}:Net", "--input", "2x3x8x8", "--args", "{'width': 4}",
               "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    namespace = {}
    exec(MODEL, namespace)
    params, macs = torch_truth(namespace["Net"](width=4), (2, 3, 8, 8))
    assert d["total_params"] == params and d["total_macs"] == macs
    assert d["macs_complete"] is True


@pytest.mark.parametrize("args, code, words", [
    (("net", "2x3x8x8", "Conv2d(4, 8, 3)"), 2, "receives 3 channels"),
    (("net", "2x3x8x8", "Conv2d(3, 8, 3)", "--format", "csv"), 2, "--format 'csv'"),
    (("net", "2x3x8x8", "Conv2d(3, 8, 3)", "--junit", "r.xml"), 2, "give a budget too"),
    (("net", "2x3x8x8", "Conv2d(3, 8, 3)", "--field", "1@0,0", "--at", "1,1"), 2,
     "already names a position"),
    (("summary", "no_such_file.py:Net", "--input", "1x3x8x8"), 3,
     "no_such_file.py: no such file"),
])
def test_misuse_is_one_error_line(args, code, words):
    one_error_line(invoke(*args), code, words)


def test_a_model_whose_forward_fails_is_one_line_naming_it(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("import torch.nn as nn\nclass Net(nn.Module):\n    pass\n")
    one_error_line(invoke("summary", f"{path}:Net", "--input", "1x3x8x8"), 2,
                   "the forward pass failed in the model's own code (Net.forward")


def test_with_at():
    assert with_at(None, None) is None and with_at("3", None) == "3"
    assert with_at("3", (1, 2)) == "3@1,2" and with_at(None, "4") == "@4"
    with pytest.raises(ConvError, match="--field '3@1' already names a position"):
        with_at("3@1", (0,))


def test_dist_options():
    assert dist_options(None, None, None, None, None, False) is None
    dist = dist_options(4, "FSDP", None, None, None, False)
    assert dist.gpus == 4 and dist.strategy == "fsdp"
    with pytest.raises(ConvError):
        dist_options(2, "pipeline", None, None, None, False)


def test_train_options():
    assert train_options(False, "adamw", None, "float32", None, False, "cpu") is None
    opts = train_options(True, "sgd", "bfloat16", "float32", 64, False, "cpu")
    assert (opts.optimizer, opts.amp, opts.budget) == ("sgd", "bfloat16", 64)
