"""convcli.cli.apply_command: `convcli apply` as a user calls it: the output values in
--json are what torch computes with the same input, weight and bias; --dot's product
is torch's value at that position; option clashes are one Error line before any work."""

import json

import pytest

from convcli.cli import apply_command
from tests.cli.clirun import invoke, one_error_line

torch = pytest.importorskip("torch")

LAPLACE = "[[0,1,0],[1,-4,1],[0,1,0]]"


def test_the_module_registers_apply():
    from convcli.cli.app import app
    assert apply_command.apply in [c.callback for c in app.registered_commands]


def test_values_are_torchs():
    r = invoke("apply", "1x1x6x5", "--pattern", "ramp", "-k", "3", "-p", "1", "--weight",
               LAPLACE, "--bias-value", "0.25", "--values", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    x = torch.tensor(d["input_values"])
    w = torch.tensor(d["weight_values"])
    assert w.tolist() == [[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]]
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.fill_(0.25)
        y = conv(x)
    assert d["output_shape"] == list(y.shape)
    assert torch.allclose(torch.tensor(d["output_values"]), y, atol=1e-6)
    assert d["bias_values"] == [0.25]


def test_dot_breaks_down_torchs_value():
    r = invoke("apply", "1x1x6x6", "--pattern", "checker", "-k", "3", "--weight", LAPLACE,
               "--no-bias", "--dot", "--at", "2,3", "--values", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    x = torch.tensor(d["input_values"])
    w = torch.tensor([[[[0., 1, 0], [1, -4, 1], [0, 1, 0]]]])
    truth = torch.nn.functional.conv2d(x, w)[0, 0, 2, 3].item()
    dot = d["dot"]
    assert dot["output_index"] == [0, 0, 2, 3] and dot["bias"] is None
    assert dot["sum"] == dot["value"] == pytest.approx(truth) == dot["torch_value"]
    (channel,) = dot["channels"]
    assert torch.tensor(channel["patch"]).tolist() == x[0, 0, 2:5, 3:6].tolist()
    assert channel["products"] == (x[0, 0, 2:5, 3:6] * w[0, 0]).tolist()


def test_text_at_80_columns():
    r = invoke("apply", "1x1x6x5", "--pattern", "ramp", "-k", "3", "--weight", LAPLACE,
               "--values")
    assert r.code == 0, r.err
    assert all(len(line) <= 80 for line in r.out.splitlines())
    assert r.out.startswith("Conv2d(1, 1, 3) on [1, 1, 6, 5] -> [1, 1, 4, 3], float32")


@pytest.mark.parametrize("args, words", [
    (("--at", "1,1"), "--at picks the output --dot breaks down; add --dot"),
    (("--channel", "0"), "--channel picks the output --dot breaks down; add --dot"),
    (("--init", "kaiming-uniform", "--weight", LAPLACE),
     "--init sets the weight at random, --weight to given values; give one of them"),
    (("--bias-value", "nan"), "--bias-value 'nan' is not a finite number; write e.g. 0.5"),
    (("--weight", "[[1, 2], [3]]"), "--weight"),
    (("--pattern", "zigzag"), "--pattern"),
])
def test_misuse_is_one_error_line(args, words):
    one_error_line(invoke("apply", "1x1x6x6", "-k", "3", *args), 2, words)
