"""Budgets, `convcli diff` and --format markdown through the command line, on the pull
request of examples/ci/pr (base and head checkouts of one model), every number checked
against torch on the same models: params = sum of p.numel(), MACs = FlopCounterMode / 2,
activations = the real outputs' numel of every leaf module x 4 bytes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

torch = pytest.importorskip("torch")

PR = ROOT / "examples" / "ci" / "pr"
BASE, HEAD = f"{PR / 'base' / 'net.py'}:Net", f"{PR / 'head' / 'net.py'}:Net"
INPUT = ["--input", "1x3x32x32"]


def _load(side: str):
    """The side's Net, built from its own folder (its own blocks.py)."""
    import importlib.util
    import sys

    folder = str(PR / side)
    sys.path.insert(0, folder)
    try:
        sys.modules.pop("blocks", None)
        spec = importlib.util.spec_from_file_location(f"_pr_{side}", PR / side / "net.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
        sys.modules.pop("blocks", None)
    return module.Net().eval()


def truth(side: str) -> dict:
    """Torch's own numbers: totals and, per leaf module, params, MACs, output bytes."""
    from torch.utils.flop_counter import FlopCounterMode

    model = _load(side)
    x = torch.zeros(1, 3, 32, 32)
    outputs = {}
    leaves = {n: m for n, m in model.named_modules() if not list(m.children())}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: outputs.__setitem__(n, o.numel()))
             for n, m in leaves.items()]
    fc = FlopCounterMode(display=False)
    with torch.no_grad(), fc:
        model(x)
    for h in hooks:
        h.remove()
    per_module = fc.get_flop_counts()
    return {"params": sum(p.numel() for p in model.parameters()),
            "macs": fc.get_total_flops() // 2,
            "activations": 4 * sum(outputs.values()),
            "rows": {n: {"params": sum(p.numel() for p in m.parameters()),
                         "macs": sum(per_module.get(f"Net.{n}", {}).values()) // 2,
                         "activations": 4 * outputs[n]} for n, m in leaves.items()}}


@pytest.fixture(scope="module")
def base_truth():
    return truth("base")


@pytest.fixture(scope="module")
def head_truth():
    return truth("head")


def _budgets(data: dict) -> dict:
    return {b["name"]: b for b in data["budgets"]}


def test_budgets_at_torchs_numbers_pass_and_one_less_fails(cli, head_truth, tmp_path):
    t = head_truth
    exact = ["--max-params", str(t["params"]), "--max-macs", str(t["macs"]),
             "--max-activations", f"{t['activations']}B"]
    r = cli("summary", HEAD, *INPUT, *exact, "--json")
    assert r.exit_code == 0, r.stderr
    budgets = _budgets(r.json())
    for name in ("params", "macs", "activations"):
        assert budgets[name]["value"] == budgets[name]["limit"] == t[name]
        assert budgets[name]["margin"] == 0 and budgets[name]["ok"] is True
    junit = tmp_path / "reports" / "budgets.xml"
    r = cli("summary", HEAD, *INPUT, "--max-params", str(t["params"] - 1), "--max-macs",
            str(t["macs"]), "--junit", str(junit))
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: 1 of 2 budgets failed: --max-params")
    assert f"{t['params']:,}" in r.stderr and r.stderr.rstrip().endswith("by 1")
    assert re.search(r"--max-params\s+\S+ k\s+\S+ k\s+-1\s+FAILED", r.stdout)
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["--max-params", "--max-macs"]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    assert "Net" in cases[0].get("classname") and "float32" in cases[0].get("classname")


def test_the_training_budget_is_the_steps_total_and_implies_train(cli):
    r = cli("summary", HEAD, *INPUT, "--max-train-memory", "1MiB", "--json")
    assert r.exit_code == 1
    data = r.json()
    (b,) = data["budgets"]
    assert b["value"] == data["train"]["total_bytes"] > 2 ** 20 and b["limit"] == 2 ** 20
    assert b["margin"] == 2 ** 20 - b["value"]
    r = cli("summary", HEAD, *INPUT, "--optimizer", "sgd", "--max-train-memory", "16GiB",
            "--json")
    assert r.exit_code == 0 and r.json()["train"]["optimizer"] == "sgd"


def test_net_budgets_equal_torchs_sequential(cli):
    layers = (ROOT / "examples" / "models" / "cifar_cnn.txt").read_text()
    model = eval("Sequential(\n" + layers + "\n)", vars(torch.nn))
    params = sum(p.numel() for p in model.parameters())
    r = cli("net", "1x3x32x32", "--file", str(ROOT / "examples/models/cifar_cnn.txt"),
            "--max-params", str(params), "--json")
    assert r.exit_code == 0, r.stderr
    assert _budgets(r.json())["params"]["value"] == params
    r = cli("net", "1x3x32x32", "--file", str(ROOT / "examples/models/cifar_cnn.txt"),
            "--max-params", "0.5M")
    assert r.exit_code == 1 and "--max-params 0.5M" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--max-params", "25Q"], "--max-params: '25Q' is not a count"),
    (["--max-params", "1.5"], "not a whole number"),
    (["--max-activations", "50%"], "give a size such as 16GiB"),
    (["--max-train-memory", "12"], "has no unit"),
    (["--junit", "x.xml"], "writes one test per budget"),
    (["--format", "html"], "--format 'html': use table, json or markdown"),
    (["--format", "markdown", "--json"], "choose one"),
])
def test_bad_budget_options_are_usage_errors_before_any_work(cli, args, message):
    r = cli("summary", "no_such_file.py:Net", *INPUT, *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_junit_must_be_a_regular_file(cli, tmp_path):
    """A FIFO (or a device like /dev/full) would be replaced by the atomic rename."""
    import os
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    r = cli("net", "1x3x8x8", "Conv2d(3, 4, 3)", "--max-params", "1", "--junit", str(fifo))
    assert r.exit_code == 2 and "not a regular file" in r.stderr
    assert not fifo.is_file() and fifo.exists()


def _rows(data: dict) -> dict:
    return {r["name"]: r for r in data["rows"]}


def _check_diff(data: dict, base_truth, head_truth):
    for metric in ("params", "macs", "activations"):
        total = data["totals"][metric]
        assert (total["base"], total["head"]) == (base_truth[metric], head_truth[metric])
        assert total["change"] == head_truth[metric] - base_truth[metric]
    rows = _rows(data)
    b, h = base_truth["rows"], head_truth["rows"]
    conv = rows["trunk.conv"]
    assert (conv["status"], conv["renamed_from"]) == ("renamed", "body.conv")
    for metric in ("params", "macs", "activations"):
        assert conv["change"][metric] == h["trunk.conv"][metric] - b["body.conv"][metric]
        assert rows["extra"]["change"][metric] == h["extra"][metric]
        assert rows["drop"]["change"][metric] == -b["drop"][metric]
    assert rows["extra"]["status"] == "added" and rows["extra"]["base"] is None
    assert rows["drop"]["status"] == "removed" and rows["drop"]["head"] is None
    assert rows["trunk.pool"]["renamed_from"] == "body.pool"
    assert rows["stem"]["status"] == rows["head"]["status"] == "unchanged"
    assert data["unchanged_rows"] == 2
    # largest changes first, the folded rows last
    assert [r["name"] for r in data["rows"]][:2] == ["trunk.conv", "extra"]
    assert [r["status"] for r in data["rows"]][-2:] == ["unchanged", "unchanged"]


def test_diff_of_two_models_matches_rows_by_path_and_equals_torch(cli, base_truth,
                                                                   head_truth):
    r = cli("diff", BASE, HEAD, *INPUT, "--json")
    assert r.exit_code == 0, r.stderr
    _check_diff(r.json(), base_truth, head_truth)


def test_diff_of_saved_summaries_is_the_diff_of_the_models(cli, tmp_path, base_truth,
                                                            head_truth):
    import sys
    for side, target in (("base", BASE), ("head", HEAD)):
        sys.modules.pop("blocks", None)   # one process per command, as in a shell
        r = cli("summary", target, *INPUT, "--json")
        (tmp_path / f"{side}.json").write_text(r.stdout)
    r = cli("diff", str(tmp_path / "base.json"), str(tmp_path / "head.json"), "--json")
    assert r.exit_code == 0, r.stderr
    _check_diff(r.json(), base_truth, head_truth)
    mixed = cli("diff", str(tmp_path / "base.json"), HEAD, *INPUT, "--json").json()
    assert mixed["rows"] == r.json()["rows"]


@pytest.mark.slow   # rule 4 (tests/conftest.py): two models summarised twice, with budgets
def test_diff_budgets_on_the_change_and_on_head(cli, base_truth, head_truth, tmp_path):
    growth = head_truth["macs"] - base_truth["macs"]
    r = cli("diff", BASE, HEAD, *INPUT, "--max-macs-increase", str(growth),
            "--max-params", str(head_truth["params"]), "--json")
    assert r.exit_code == 0, r.stderr
    budgets = _budgets(r.json())
    assert budgets["macs_increase"]["value"] == growth and budgets["macs_increase"]["ok"]
    junit = tmp_path / "diff.xml"
    r = cli("diff", BASE, HEAD, *INPUT, "--max-macs-increase", "5%",
            "--max-params-increase", "50%", "--junit", str(junit))
    assert r.exit_code == 1
    assert "--max-macs-increase 5%" in r.stderr and "--max-params-increase" not in r.stderr
    assert f"{growth:,}" in r.stderr
    limit = round(0.05 * base_truth["macs"])
    assert f"{limit:,}" in r.stderr
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    r = cli("diff", BASE, HEAD, *INPUT, "--max-train-increase", "0")
    assert r.exit_code == 1 and "Error: 1 of 1 budget failed" in r.stderr


def test_diff_of_net_reports_aligns_the_layer_lists(cli, tmp_path):
    text = (ROOT / "examples" / "models" / "cifar_cnn.txt").read_text()
    (tmp_path / "b.txt").write_text(text)
    (tmp_path / "a.txt").write_text(text.replace("Dropout(0.25),", "", 1)
                                    .replace("Conv2d(16, 32, 3, padding=1)",
                                             "Conv2d(16, 32, 5, padding=2)"))
    for side in "ab":
        r = cli("net", "1x3x32x32", "--file", str(tmp_path / f"{side}.txt"), "--json")
        assert r.exit_code == 0, r.stderr
        (tmp_path / f"{side}.json").write_text(r.stdout)
    data = cli("diff", str(tmp_path / "b.json"), str(tmp_path / "a.json"), "--json").json()
    changed = [r for r in data["rows"] if r["status"] == "changed"]
    assert len(changed) == 1 and "Conv2d(16, 32, 5, padding=2)" in changed[0]["name"]
    k3 = torch.nn.Conv2d(16, 32, 3)
    k5 = torch.nn.Conv2d(16, 32, 5)
    assert changed[0]["change"]["params"] == (sum(p.numel() for p in k5.parameters())
                                              - sum(p.numel() for p in k3.parameters()))
    (removed,) = [r for r in data["rows"] if r["status"] == "removed"]
    assert removed["type"] == "Dropout"


@pytest.mark.parametrize("content, code, message", [
    (None, 3, "cannot read"),
    ("not json", 2, "is not JSON (line 1, column 1)"),
    ('{"version": 2, "layers": [], "total_params": 1}', 2, "is JSON version 2"),
    ('{"version": 3, "checks": []}', 2, "is verify JSON, not a summary"),
    ('[1, 2]', 2, "is list JSON"),
    ('{"version": 3, "layers": [{"x": 1}], "total_params": 1}', 2, "layer 0 is not a row"),
])
def test_bad_json_files_get_one_line_and_their_exit_code(cli, tmp_path, content, code,
                                                         message):
    good = tmp_path / "good.json"
    good.write_text(cli("net", "1x3x8x8", "Conv2d(3, 4, 3)", "--json").stdout)
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    r = cli("diff", str(bad), str(good))
    assert r.exit_code == code and r.stdout == ""
    assert r.stderr.startswith(f"Error: BASE '{bad}'" if code == 2 else "Error: BASE: ")
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_a_model_side_needs_input(cli, tmp_path):
    r = cli("diff", BASE, HEAD)
    assert r.exit_code == 2 and "is a model: give --input" in r.stderr


def _md_tables(text: str) -> list[list[list[str]]]:
    """The GFM tables of ``text``: rows of cells, each table's rows as wide as its
    header and its second line the alignment row."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("| "):
            current.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif current:
            assert all(len(r) == len(current[0]) for r in current), current
            assert all(re.fullmatch(r"-{3}|-{2}:", c) for c in current[1]), current[1]
            tables.append([current[0]] + current[2:])
            current = []
    return tables


def test_markdown_summary_and_diff_carry_torchs_numbers(cli, base_truth, head_truth):
    from convcli.formatting import count_short

    r = cli("summary", HEAD, *INPUT, "--format", "markdown", "--max-params", "100k")
    assert r.exit_code == 1
    assert r.stdout.startswith("### convcli summary: `Net()`")
    assert f"**{count_short(head_truth['params'])} params**" in r.stdout
    budgets, layers = _md_tables(r.stdout)
    assert budgets[1][0] == "`--max-params`" and "over" in budgets[1][-1]
    by_name = {row[1].split("`")[1]: row for row in layers[1:]}
    for name, t in head_truth["rows"].items():
        assert by_name[name][3:5] == [count_short(t["params"]), count_short(t["macs"])]
    r = cli("diff", BASE, HEAD, *INPUT, "--format", "markdown")
    assert r.exit_code == 0, r.stderr
    totals, rows = _md_tables(r.stdout)
    assert totals[1][:4] == ["params", count_short(base_truth["params"]),
                             count_short(head_truth["params"]),
                             "+" + count_short(head_truth["params"] - base_truth["params"])]
    assert rows[1][0] == "`trunk.conv (was body.conv)` Conv2d"
    assert "2 unchanged rows not shown." in r.stdout


def test_markdown_cells_escape_pipes_and_html(cli):
    r = cli("net", "1x3x8x8", "Conv2d(3, 4, 3)", "--format", "markdown")
    assert r.exit_code == 0
    (table,) = _md_tables(r.stdout)
    assert table[1][1] == "`Conv2d(3, 4, 3)` Conv2d"
    from convcli.views.markdown import cell
    assert cell("a|b <script>") == "a\\|b &lt;script&gt;"


def test_diff_table_at_80_columns_folds_unchanged_rows(sh):
    r = sh("diff", BASE, HEAD, *INPUT, timeout=300)
    assert r.exit_code == 0, r.stderr
    assert "... 2 unchanged rows" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert "trunk.conv (was body.conv)" in r.stdout and "extra (added)" in r.stdout
    assert json.loads(sh("diff", BASE, HEAD, *INPUT, "--format", "json",
                         timeout=300).stdout)["unchanged_rows"] == 2


def test_net_budgets_and_markdown_need_no_torch():
    """net's budgets and markdown are pure Python, like net (torch made unimportable)."""
    import os
    import subprocess
    import sys

    from test_imports import PROBE
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    for extra in (["--max-params", "1M", "--max-activations", "1MiB"],
                  ["--max-params", "1M", "--format", "markdown"],
                  ["--max-train-memory", "1GiB", "--json"]):
        p = subprocess.run([sys.executable, "-c", PROBE, "net", "1x3x32x32",
                            "--file", "examples/models/cifar_cnn.txt", *extra],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        report = json.loads(p.stderr.strip().splitlines()[-1])
        assert report == {"code": 0, "heavy": []}, p.stderr


@pytest.mark.parametrize("text, base, limit", [
    ("5%", 10_403_840, 520_192), ("5.5%", 1000, 55), ("0%", 999, 0), ("0", 999, 0),
    ("1M", 5, 1_000_000), ("12.5%", 8, 1)])
def test_increase_budgets_are_exact_shares_or_amounts(text, base, limit):
    from convcli.engine.budgets import check, parse_limit
    lim = parse_limit("macs", text, increase=True)
    (r,) = check([lim], {"total_macs": base + 1}, {"total_macs": base})
    assert (r.limit, r.value, r.option) == (limit, 1, "--max-macs-increase")


@pytest.mark.parametrize("text", ["1/2%", "-1%", "1e5%", "abc%", "%"])
def test_bad_shares_are_usage_errors(text):
    from convcli.engine.budgets import parse_limit
    from convcli.errors import ConvError
    with pytest.raises(ConvError, match="is not a share"):
        parse_limit("params", text, increase=True)


def test_a_renamed_and_changed_block_is_one_row_at_depth_1(cli):
    r = cli("diff", BASE, HEAD, *INPUT, "--depth", "1", "--json")
    assert r.exit_code == 0, r.stderr
    rows = _rows(r.json())
    block = rows["trunk"]
    assert (block["status"], block["renamed_from"]) == ("renamed", "body")
    base, head = _load("base"), _load("head")
    assert block["change"]["params"] == (sum(p.numel() for p in head.trunk.parameters())
                                         - sum(p.numel() for p in base.body.parameters()))
    assert {n: r["status"] for n, r in rows.items() if r["status"] != "unchanged"} == {
        "trunk": "renamed", "extra": "added", "drop": "removed"}
