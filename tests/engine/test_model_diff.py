"""engine/model_diff.py: `convcli diff` on real reports: net rows aligned as text, summary
rows matched by module path (renamed modules found), and the changes in params and
MACs equal to what torch counts on the two models (sum of numel, FlopCounterMode / 2);
bad files refused in one line with their exit code."""

from __future__ import annotations

import json

import pytest

import convcli
from convcli.engine.model_diff import Diff, check_report, diff, load_report
from convcli.errors import ConvError, EnvironmentProblem
from convcli.views.jsonout import JSON_VERSION
from convcli.views.net_data import net_dict

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def net(layers: list[str], shape=(1, 3, 16, 16)) -> dict:
    return net_dict(convcli.analyse_net(shape, ", ".join(layers)), "float32")


def torch_counts(model, shape) -> tuple[int, int]:
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        model.eval()(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), fc.get_total_flops() // 2


BASE = ["Conv2d(3, 8, 3, padding=1)", "ReLU()", "Conv2d(8, 8, 3, padding=1)",
        "Flatten()", "Linear(2048, 10)"]
HEAD = ["Conv2d(3, 8, 3, padding=1)", "ReLU()", "Conv2d(8, 8, 3, padding=1, groups=8)",
        "MaxPool2d(2)", "Flatten()", "Linear(512, 10)"]


def seq(layers):
    return nn.Sequential(*[eval(f"nn.{t}", {"nn": nn}) for t in layers])


def test_net_rows_are_aligned_and_the_totals_are_torchs():
    d = diff(net(BASE), net(HEAD))
    assert isinstance(d, Diff) and d.train is False
    (bp, bm), (hp, hm) = torch_counts(seq(BASE), (1, 3, 16, 16)), \
        torch_counts(seq(HEAD), (1, 3, 16, 16))
    assert d.change("params") == hp - bp and d.change("macs") == hm - bm
    assert sum(r.change("params") for r in d.rows) == hp - bp
    assert sum(r.change("macs") for r in d.rows) == hm - bm
    by = {r.name: r for r in d.rows}
    edited = by["3: Conv2d(8, 8, 3, padding=1, groups=8) (was Conv2d(8, 8, 3, padding=1))"]
    assert edited.status == "changed"
    assert edited.change("params") == -(8 * 8 * 9) + 8 * 9
    assert by["4: MaxPool2d(2)"].status == "added"
    assert d.folded == sum(r.status == "unchanged" for r in d.rows) >= 2
    assert d.shown[0].weight() >= d.shown[-1].weight()          # largest change first
    assert d.change("train_memory") is None


class Old(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


class New(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())     # body, renamed
        self.head = nn.Linear(8, 6)                                   # wider

    def forward(self, x):
        return self.head(self.trunk(x).mean((2, 3)))


def test_summary_rows_match_by_name_and_find_renamed_modules():
    shape = (2, 3, 10, 10)
    base = net_dict(convcli.summarise(Old(), shape), "float32")
    head = net_dict(convcli.summarise(New(), shape), "float32")
    d = diff(base, head, "old", "new")
    assert (d.base_model, d.head_model) == ("old", "new")
    by = {r.name: r for r in d.rows}
    assert by["trunk.0"].status == "renamed" and by["trunk.0"].renamed_from == "body.0"
    assert by["head"].status == "changed"
    (bp, bm), (hp, hm) = torch_counts(Old(), shape), torch_counts(New(), shape)
    assert by["head"].change("params") == hp - bp == 8 * 2 + 2
    assert d.change("macs") == hm - bm
    assert not any(r.status in ("added", "removed") for r in d.rows)


def test_notes_for_different_inputs_dtypes_and_kinds():
    a = net(BASE)
    b = net_dict(convcli.analyse_net((2, 3, 16, 16), ", ".join(BASE)), "float16")
    d = diff(a, b)
    assert "the dtypes differ (base float32, head float16): activation bytes follow" in d.notes
    assert "the inputs differ: base 1x3x16x16, head 2x3x16x16" in d.notes
    s = net_dict(convcli.summarise(seq(BASE), (1, 3, 16, 16)), "float32")
    assert "one side is a net report, the other a summary: rows aligned by layer" in \
        diff(a, s).notes


def test_load_report_reads_a_saved_file(tmp_path):
    path = tmp_path / "base.json"
    path.write_text(json.dumps(net(BASE)))
    assert load_report(str(path), "BASE", JSON_VERSION)["total_params"] == \
        sum(p.numel() for p in seq(BASE).parameters())


@pytest.mark.parametrize("content,cls,match", [
    (None, EnvironmentProblem, r"BASE: cannot read '.*missing\.json'"),
    ("{not json", ConvError, r"is not JSON \(line 1, column 2\)"),
    ('{"version": 3, "checks": []}', ConvError, "is verify JSON, not a summary or net"),
    ("[1, 2]", ConvError, "is list JSON"),
])
def test_load_report_refuses_in_one_line(tmp_path, content, cls, match):
    path = tmp_path / ("missing.json" if content is None else "f.json")
    if content is not None:
        path.write_text(content)
    with pytest.raises(cls, match=match) as e:
        load_report(str(path), "BASE", JSON_VERSION)
    assert "\n" not in str(e.value)


def test_a_folder_and_another_version_are_usage_errors(tmp_path):
    with pytest.raises(ConvError, match="is a folder"):
        load_report(str(tmp_path), "HEAD", JSON_VERSION)
    old = {**net(BASE), "version": JSON_VERSION - 1}
    with pytest.raises(ConvError, match=f"is JSON version {JSON_VERSION - 1}"):
        check_report(old, "HEAD", JSON_VERSION)
    cut = {**net(BASE), "layers": [{"layer": "x"}]}
    with pytest.raises(ConvError, match="layer 0 is not a row of a report"):
        check_report(cut, "HEAD", JSON_VERSION)
