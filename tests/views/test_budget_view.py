"""convcli.views.budget_view: the budgets' table and JUnit, and diff's tables and --json
dict; the totals it shows for two stacks are torch's (params of the real modules, MACs by
FlopCounterMode), the keys follow the inputs, the text reads at 80 columns."""

import io
import re
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

import convcli
from convcli.engine.budgets import BudgetResult, check, parse_limits
from convcli.engine.model_diff import diff
from convcli.views.budget_view import (METRIC_TITLES, amount, budget_notes, budget_table,
                                       budgets_junit, diff_dict, diff_tables, limit_text,
                                       metrics, percent, row_label, unit_of)
from convcli.views.jsonout import JSON_VERSION

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

BASE = "Conv2d(3, 16, 3, padding=1), ReLU(), Conv2d(16, 16, 3, padding=1)"
HEAD = "Conv2d(3, 16, 3, padding=1), ReLU(), Conv2d(16, 32, 3, padding=1), Conv2d(32, 8, 1)"
SHAPE = (1, 3, 16, 16)


def draw(renderables, width=80):
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for r in renderables if isinstance(renderables, list) else [renderables]:
        console.print(r)
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines()) and "…" not in text
    return "\n".join(line.rstrip() for line in text.splitlines())


def torch_totals(text):
    layers = [eval("torch.nn." + part.strip() + (")" if not part.strip().endswith(")")
                                                  else ""))
              for part in re.split(r"\),\s*", text)]
    model = torch.nn.Sequential(*layers)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(SHAPE))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


@pytest.fixture(scope="module")
def d():
    base = convcli.analyse_net(SHAPE, BASE).to_dict()
    head = convcli.analyse_net(SHAPE, HEAD).to_dict()
    return diff(base, head, "base.json", "head.json")


@pytest.mark.parametrize("value, unit, signed, text", [
    (None, "count", False, "—"), (0, "count", True, "0"), (1234, "count", True, "+1.23 k"),
    (-1234, "count", True, "-1.23 k"), (1234, "count", False, "1.23 k"),
    (1536, "bytes", False, "1.5 KiB"), (-2048, "bytes", True, "-2.0 KiB"),
    (5, "bytes", True, "+5 B")])
def test_amount(value, unit, signed, text):
    assert amount(value, unit, signed) == text


def test_unit_of_and_percent():
    assert [unit_of(m) for m in METRIC_TITLES] == ["count", "count", "bytes", "bytes"]
    assert percent(0, 0) == "0%" and percent(None, 10) == "—" and percent(5, 0) == "—"
    assert percent(5, 100) == "+5.0%" and percent(-1, 3) == "-33.3%"
    assert percent(1, 10 ** 6) == "+0.0001%"


def test_diff_dict_totals_are_torchs(d):
    data = diff_dict(d)
    assert list(data) == ["version", "base", "head", "totals", "rows", "unchanged_rows",
                          "train", "notes"]
    assert data["version"] == JSON_VERSION and (data["base"], data["head"]) == \
        ("base.json", "head.json")
    assert list(data["totals"]) == ["params", "macs", "activations"]     # no --train
    (bp, bm), (hp, hm) = torch_totals(BASE), torch_totals(HEAD)
    assert data["totals"]["params"] == {"base": bp, "head": hp, "change": hp - bp,
                                        "change_pct": round(100 * (hp - bp) / bp, 4)}
    assert (data["totals"]["macs"]["base"], data["totals"]["macs"]["head"]) == (bm, hm)
    assert data["train"] is False and data["notes"] == []
    assert sum(r["change"]["params"] or 0 for r in data["rows"] if r["status"] != "removed"
               ) - sum(r["base"]["params"] for r in data["rows"] if r["status"] == "removed"
                       ) == hp - bp
    added = [r for r in data["rows"] if r["status"] == "added"]
    assert [r["type"] for r in added] == ["Conv2d"] and added[0]["base"] is None
    assert all(set(r["change"]) == {"params", "macs", "activations"} for r in data["rows"])


def test_diff_tables_at_80_columns(d):
    text = draw(diff_tables(d))
    (bp, bm), (hp, hm) = torch_totals(BASE), torch_totals(HEAD)
    assert text.startswith("base  base.json\nhead  head.json")
    assert re.search(rf"params\s+{re.escape(amount(bp, 'count'))}\s+"
                     rf"{re.escape(amount(hp, 'count'))}\s+"
                     rf"{re.escape(amount(hp - bp, 'count', True))}\s+"
                     rf"{re.escape(percent(hp - bp, bp))}", text)
    assert re.search(rf"MACs\s+{re.escape(amount(bm, 'count'))}\s+"
                     rf"{re.escape(amount(hm, 'count'))}", text)
    assert "(added) Conv2d" in text and "train step" not in text
    assert re.search(r"\d+ of \d+ rows changed, largest first", text)


def test_diff_with_nothing_on_either_side_says_so(d):
    empty = type(d)(d.base_model, d.head_model, [], d.base_totals, d.head_totals, False, [])
    assert "no rows on either side" in draw(diff_tables(empty))


def test_row_labels_and_metrics(d):
    row = d.rows[0]
    assert row_label(type(row)("b", "Conv2d", "renamed", {}, {}, "a")) == "b (was a)"
    assert row_label(type(row)("b", "Conv2d", "removed", {}, None)) == "b (removed)"
    assert row_label(type(row)("b", "Conv2d", "changed", {}, {})) == "b"
    assert metrics(d) == ["params", "macs", "activations"]
    trained = type(d)(d.base_model, d.head_model, d.rows, d.base_totals, d.head_totals,
                      True, [])
    assert metrics(trained)[-1] == "train_memory"


def results():
    data = {"total_params": 1000, "total_macs": 5 * 10 ** 6, "dtype": "float32",
            "activation_bytes": {"float32": 4096}, "macs_complete": False}
    limits = parse_limits({"params": "2k", "macs": "1M", "activations": "1KiB",
                           "train_memory": "1GiB"})
    return check(limits, data)


def test_budget_table_and_notes():
    rs = results()
    text = draw(budget_table(rs))
    assert re.search(r"--max-params\s+2 k\s+1 k\s+1 k\s+ok", text)
    assert re.search(r"--max-macs\s+1 M\s+5 M\s+-4 M\s+FAILED", text)
    assert re.search(r"--max-activations\s+1\.0 KiB\s+4\.0 KiB\s+-3\.0 KiB\s+FAILED", text)
    assert re.search(r"--max-train-memory\s+1\.0 GiB\s+—\s+—\s+FAILED", text)
    assert budget_notes(rs) == [
        "--max-macs: at least this many: some work was not counted (see the notes)",
        "--max-train-memory: no training memory: add --train (to both sides of a diff)"]


def test_limit_text_shows_a_share_as_given():
    r = BudgetResult("params_increase", "--max-params-increase", "count", 50, 10, True, "5%")
    assert limit_text(r) == "50 (5%)"
    assert limit_text(BudgetResult("params", "--max-params", "count", 2 * 10 ** 6, 1, True,
                                   "2M")) == "2 M"


def test_budgets_junit_one_case_per_budget():
    rs = results()
    xml = budgets_junit(rs, "convcli net", {"model": "my/model.py:Net", "dtype": "float32",
                                            "inputs": "1x3x16x16"})
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    root = ET.fromstring(xml.split("\n", 1)[1])
    suite = root.find("testsuite")
    assert root.get("tests") == suite.get("tests") == "4"
    assert root.get("failures") == "3" and root.get("name") == "convcli net"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.option for r in rs]
    assert {c.get("classname") for c in cases} == {
        "convcli.net.my_model_py_Net.float32.1x3x16x16"}
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["model"] == "my/model.py:Net"
    assert cases[0].find("failure") is None
    assert cases[0].find("system-out").text == ("--max-params 2k: value 1 k, limit 2 k, "
                                                "margin 1 k")
    fail = cases[1].find("failure")
    assert fail.get("type") == "budget" and fail.text.endswith("(see the notes)")
