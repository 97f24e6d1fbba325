"""convcli.cli.diff_command: `convcli diff` as a user calls it, on two saved reports
and on two model files: the change in the totals is torch's (the modules' parameters,
FlopCounterMode), an increase budget exits 1, a side that is neither a report nor a
model is one Error line."""

import json

import pytest

from convcli.cli import diff_command
from tests.cli.clirun import invoke, one_error_line

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

BASE = "Conv2d(3, 8, 3, padding=1), ReLU(), Conv2d(8, 8, 3, padding=1)"
HEAD = "Conv2d(3, 8, 3, padding=1), ReLU(), Conv2d(8, 16, 3, padding=1)"
MODEL = '''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, {width}, 3, padding=1)
        self.out = nn.Conv2d({width}, 4, 1)

    def forward(self, x):
        return self.out(self.conv(x))
'''


def truth(model, shape=(1, 3, 8, 8)):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def seq(text):
    """torch's nn.Sequential of the same layers (written as `net` reads them)."""
    return torch.nn.Sequential(*[eval("torch.nn." + layer) for layer in
                                 text.replace("), ", ")|").split("|")])


@pytest.fixture
def reports(tmp_path):
    paths = []
    for name, text in (("base", BASE), ("head", HEAD)):
        r = invoke("net", "1x3x8x8", text, "--json")
        assert r.code == 0, r.err
        path = tmp_path / f"{name}.json"
        path.write_text(r.out)
        paths.append(str(path))
    return paths


def test_the_module_registers_diff():
    from convcli.cli.app import app
    assert diff_command.diff in [c.callback for c in app.registered_commands]


def test_diff_of_two_reports_is_torchs_change(reports):
    r = invoke("diff", *reports, "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    (bp, bm), (hp, hm) = truth(seq(BASE)), truth(seq(HEAD))
    assert d["totals"]["params"] == {"base": bp, "head": hp, "change": hp - bp,
                                     "change_pct": round(100 * (hp - bp) / bp, 4)}
    assert (d["totals"]["macs"]["base"], d["totals"]["macs"]["head"]) == (bm, hm)
    assert d["base"].startswith(reports[0]) and d["head"].startswith(reports[1])


def test_diff_table_at_80_columns(reports):
    r = invoke("diff", *reports)
    assert r.code == 0, r.err
    assert all(len(line) <= 80 for line in r.out.splitlines())
    assert "Totals" in r.out and "params" in r.out


def test_an_increase_budget_exits_1(reports):
    (bp, _), (hp, _) = truth(seq(BASE)), truth(seq(HEAD))
    assert invoke("diff", *reports, "--max-params-increase", str(hp - bp)).code == 0
    r = invoke("diff", *reports, "--max-params-increase", str(hp - bp - 1), "--json")
    one_error_line(r, 1, "--max-params-increase")
    assert json.loads(r.out)["budgets"][0]["margin"] == -1


def test_diff_of_two_model_files(tmp_path):
    for name, width in (("a", 4), ("b", 6)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.py").write_text(MODEL.format(width=width))
    r = invoke("diff", f"{tmp_path / 'a' / 'model.py'}:Net",
               f"{tmp_path / 'b' / 'model.py'}:Net", "--input", "1x3x8x8", "--json")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    for side, width in (("base", 4), ("head", 6)):
        ns = {}
        exec(MODEL.format(width=width), ns)
        params, macs = truth(ns["Net"]())
        assert d["totals"]["params"][side] == params
        assert d["totals"]["macs"][side] == macs


@pytest.mark.parametrize("make, code, words", [
    (lambda p: (str(p), str(p)), 2, "is a folder: give a summary --json file"),
    (lambda p: ("model.py:Net", "model.py:Net"), 2, "is a model: give --input"),
    (lambda p: (str(p / "missing.json"), str(p / "missing.json")), 3, "missing.json"),
])
def test_sides_that_cannot_be_read(make, code, words, tmp_path):
    one_error_line(invoke("diff", *make(tmp_path)), code, words)


def test_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    r = invoke("diff", str(bad), str(bad))
    assert r.code in (2, 3) and r.err.startswith("Error: ") and r.err.count("\n") == 1
