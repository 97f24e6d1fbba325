"""convcli.cli.budget_options: the budgets and --junit read before any work, --format,
and how net/summary/diff end with them: a budget at torch's own parameter count passes,
one below fails with exit 1's Mismatch, the JSON carries the results, the JUnit file
is written whole."""

import json
import xml.etree.ElementTree as ET

import pytest

import convcli
from convcli.cli.budget_options import (FORMATS, end_summary, finish, limits,
                                        output_format, prepare, report_properties)
from convcli.errors import ConvError, Mismatch

TEXT = "Conv2d(3, 16, 3, padding=1), ReLU(), Flatten(), Linear(16 * 8 * 8, 10)"
SHAPE = (2, 3, 8, 8)


@pytest.fixture(scope="module")
def torch_params():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(16 * 8 * 8, 10))
    return sum(p.numel() for p in model.parameters())


def report():
    return convcli.analyse_net(SHAPE, TEXT)


def test_declarations_come_from_the_table():
    """net, summary and diff take the budgets as the option table declares them."""
    import typer.main

    from convcli.cli import app
    built = typer.main.get_command(app).commands
    for command in ("net", "summary", "diff"):
        params = {p.name: p for p in built[command].params}
        assert params["max_params"].opts == ["--max-params"]
        assert params["max_params"].metavar == "N"
        assert "--format" in params["format"].opts
        assert params["junit"].help == "Also write a JUnit XML report with one test per budget."
    assert FORMATS == ("table", "json", "markdown")


def test_limits_read_every_budget():
    got = limits("25M", "4.1G", "2GiB", "16GiB", None)
    assert [(lim.metric, lim.amount) for lim in got] == [
        ("params", 25 * 10 ** 6), ("macs", 41 * 10 ** 8), ("activations", 2 * 2 ** 30),
        ("train_memory", 16 * 2 ** 30)]
    inc = limits(None, None, None, None, None, {"params": "5%", "macs": "0"})
    assert [(lim.name, lim.share, lim.amount) for lim in inc] == [
        ("params_increase", pytest.approx(0.05), None), ("macs_increase", None, 0)]
    assert limits(None, None, None, None, None) == []


@pytest.mark.parametrize("args, words", [
    (("lots", None, None, None, None), "--max-params"),
    ((None, None, None, "50%", None), "--max-train-memory"),
    ((None, None, None, None, "b.xml"), "--junit 'b.xml' writes one test per budget: give "
                                        "a budget too"),
    (("1M", None, None, None, "  "), "give a file path such as budgets.xml"),
    (("1M", None, None, None, "/dev/full"), "this is not a regular file")])
def test_limits_refusals(args, words):
    with pytest.raises(ConvError) as e:
        limits(*args)
    assert words in str(e.value)


def test_junit_into_a_folder_is_refused_and_nothing_is_created(tmp_path):
    with pytest.raises(ConvError, match="not a regular file"):
        limits("1M", None, None, None, str(tmp_path))
    assert limits("1M", None, None, None, str(tmp_path / "b.xml"))
    # a missing folder is only checked to be creatable: the write makes it
    assert limits("1M", None, None, None, str(tmp_path / "no" / "such" / "b.xml"))
    assert list(tmp_path.iterdir()) == []            # checked, nothing written
    (tmp_path / "file").write_text("")
    with pytest.raises(Exception, match="--junit"):  # a folder that cannot be made
        limits("1M", None, None, None, str(tmp_path / "file" / "b.xml"))


@pytest.mark.parametrize("fmt, as_json, expected", [
    ("table", False, "table"), (" JSON ", False, "json"), ("markdown", False, "markdown"),
    ("table", True, "json"), ("json", True, "json")])
def test_output_format(fmt, as_json, expected):
    assert output_format(fmt, as_json) == expected


def test_output_format_refusals():
    with pytest.raises(ConvError, match="--format 'csv': use table, json or markdown"):
        output_format("csv", False)
    with pytest.raises(ConvError, match="--json and --format markdown: choose one"):
        output_format("markdown", True)
    assert prepare("table", True, None, "1M", None, None, None)[0] == "json"


def test_report_properties():
    data = report().to_dict()
    assert report_properties("net", data) == {"command": "net", "model": "layers",
                                              "dtype": "float32", "inputs": "2x3x8x8"}
    assert report_properties("summary", {"model": "m.py:Net", "inputs": ["x=1x3", "y=2"],
                                         "input_shape": [1]})["inputs"] == "x=1x3, y=2"


def test_finish_json_passes_at_torchs_count_and_fails_below(torch_params, capsys,
                                                            tmp_path):
    data = report().to_dict()
    props = report_properties("net", data)
    ok = limits(str(torch_params), None, None, None, None)
    finish(dict(data), lambda: [], lambda r: "", ok, "json", None, props)
    out = json.loads(capsys.readouterr().out)
    assert out["budgets"][0]["value"] == out["total_params"] == torch_params
    assert out["budgets"][0]["ok"] is True and out["budgets"][0]["margin"] == 0
    junit = tmp_path / "b.xml"
    tight = limits(str(torch_params - 1), None, None, None, str(junit))
    with pytest.raises(Mismatch, match="--max-params"):
        finish(dict(data), lambda: [], lambda r: "", tight, "json", str(junit), props)
    failed = json.loads(capsys.readouterr().out)["budgets"][0]
    assert failed["ok"] is False and failed["margin"] == -1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "1" and suite.get("name") == "convcli net"


def test_finish_table_and_markdown(torch_params, capsys):
    data = report().to_dict()
    props = report_properties("net", data)
    budgets = limits(str(torch_params), None, None, None, None)
    finish(dict(data), lambda: ["the tables"], lambda r: f"md {len(r)}\n", budgets,
           "markdown", None, props)
    assert capsys.readouterr().out == "md 1\n"
    finish(dict(data), lambda: ["the tables"], lambda r: "", budgets, "table", None, props)
    out = capsys.readouterr().out
    assert out.startswith("the tables") and "Budgets" in out and "--max-params" in out
    finish(dict(data), lambda: ["no budgets"], lambda r: "", [], "table", None, props)
    assert "Budgets" not in capsys.readouterr().out


def test_end_summary_prints_a_report_with_its_budgets(torch_params, capsys):
    end_summary(report(), "float32", limits(str(torch_params), None, None, None, None),
                "json", None)
    out = json.loads(capsys.readouterr().out)
    assert out["total_params"] == torch_params and out["budgets"][0]["ok"] is True
