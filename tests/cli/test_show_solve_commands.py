"""convcli.cli.show_solve_commands: `convcli show` and `convcli solve` as a user calls
them: the shapes and windows they report are torch's, each solution solve prints
maps the size in a real torch forward, misuse is one Error line and its code."""

import json
import re

import pytest

from convcli.cli import show_solve_commands
from tests.cli.clirun import invoke, one_error_line

torch = pytest.importorskip("torch")


def test_the_module_registers_show_and_solve():
    from convcli.cli.app import app
    callbacks = [c.callback for c in app.registered_commands]
    assert show_solve_commands.show in callbacks and show_solve_commands.solve in callbacks


def test_show_json_shapes_are_torchs():
    r = invoke("show", "1x4x7x7", "-o", "4", "-k", "3", "-s", "2", "-p", "1", "-g", "2",
               "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    y = torch.nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=2)(torch.zeros(1, 4, 7, 7))
    assert d["input_shape"] == [1, 4, 7, 7] and d["output_shape"] == list(y.shape)
    assert d["layer"] == "Conv2d(4, 4, 3, stride=2, padding=1, groups=2)"


def test_show_text_at_80_columns_reads_the_window_torch_uses():
    r = invoke("show", "1x2x5x5", "-o", "2", "-k", "3", "-s", "2", "-p", "1")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "Conv2d(2, 2, 3, stride=2, padding=1) on [1, 2, 5, 5] -> [1, 2, 3, 3]"
    assert all(len(line) <= 80 for line in lines)
    # output 1 reads input 1..3 along H and W: the nonzero gradient of that output
    x = torch.ones(1, 2, 5, 5, requires_grad=True)
    conv = torch.nn.Conv2d(2, 2, 3, stride=2, padding=1)
    torch.nn.init.constant_(conv.weight, 1.0)
    conv(x)[0, 0, 1, 1].backward()
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1)).flatten().tolist()
    assert "  H: output 1 reads input " + f"{rows[0]}..{rows[-1]}" in lines


def test_show_takes_a_constructor_as_input():
    r = invoke("show", "Conv2d(3, 6, 3, groups=3)", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["layer"] == "Conv2d(3, 6, 3, groups=3)"


def test_solve_solutions_map_the_size_in_torch():
    r = invoke("solve", "--input-size", "32", "--output-size", "16", "-n", "0", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["total"] == d["shown"] == len(d["solutions"]) > 0
    for s in d["solutions"]:
        (left, right), = s["padding_pairs"]
        x = torch.nn.functional.pad(torch.zeros(1, 1, 32), (left, right))
        y = torch.nn.functional.conv1d(x, torch.zeros(1, 1, s["kernel_size"]),
                                       stride=s["stride"], dilation=s["dilation"])
        assert y.shape[-1] == 16, s


def test_solve_table_at_80_columns():
    r = invoke("solve", "--input-size", "32", "--output-size", "16", "-n", "3")
    assert r.code == 0, r.err
    assert r.out.startswith("Conv settings mapping 32 -> 16: 3 of ")
    assert re.search(r"^  1\s+3\s+2\s+1\s+1$", r.out, re.M)
    assert "e.g. nn.Conv2d(C_in, C_out, 3, stride=2, padding=1)" in r.out
    assert all(len(line) <= 80 for line in r.out.splitlines())


@pytest.mark.parametrize("args, code, words", [
    (("show", "1x2x5x5", "-o", "2", "-k", "9"), 2, "spatial dim 0"),
    (("show", "1x2x5x5", "-k", "3"), 2, "show needs -o/--out-channels"),
    (("show", "1x2x5x5", "-o", "2", "-k", "3", "--at", "9,9"), 2, "--at"),
    (("solve", "--input-size", "32"), 2, "--output-size"),
    (("solve", "--input-size", "zero", "--output-size", "16"), 2, "--input-size"),
    (("solve", "--input-size", "4", "--output-size", "100", "--max-kernel", "2"), 2, ""),
])
def test_misuse_is_one_error_line(args, code, words):
    one_error_line(invoke(*args), code, words)
