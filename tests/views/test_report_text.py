"""views/report_text.py: how a NetReport shows itself outside a command: str() at the
terminal's width without trailing spaces, Jupyter's HTML and text (both hold the
table), to_dict() as `net --json`, to_pandas() without pandas a clear error."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

import convcli
from convcli.errors import EnvironmentProblem
from convcli.network.net_report import RENDERERS
from convcli.views import report_text
from convcli.views.net_data import net_dict
from convcli.views.report_text import HTML_WIDTH, as_dict, as_pandas, as_text, mimebundle

LAYER_LIST = ["Conv2d(3, 16, 5, stride=2, padding=2)", "ReLU()", "Conv2d(16, 32, 3)", "Flatten()"]
LAYERS = ", ".join(LAYER_LIST)


@pytest.fixture(scope="module")
def report():
    return convcli.analyse_net((1, 3, 32, 32), LAYERS)


def test_importing_registers_the_renderers():
    assert RENDERERS["text"] is as_text and RENDERERS["dict"] is as_dict
    assert RENDERERS["mimebundle"] is mimebundle and RENDERERS["pandas"] is as_pandas
    assert report_text.HTML_WIDTH == HTML_WIDTH == 110


def test_text_has_the_numbers_and_no_trailing_spaces(report):
    torch = pytest.importorskip("torch")
    from torch import nn
    model = nn.Sequential(*[eval(f"nn.{t}", {"nn": nn}) for t in LAYER_LIST])
    y = model[:3](torch.zeros(1, 3, 32, 32))
    text = as_text(replace(report, view={"width": 80}))
    assert f"{sum(p.numel() for p in model.parameters()):,}" in text
    assert "x".join(map(str, y.shape)) in text and f"1x{y.numel()}" in text
    assert all(line == line.rstrip() for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.endswith("\n")
    assert str(replace(report, view={"width": 80})) == text


def test_text_follows_the_width_it_is_given(report):
    narrow = as_text(replace(report, view={"width": 50}))
    assert max(len(line) for line in narrow.splitlines()) <= 50
    assert narrow != as_text(replace(report, view={"width": 80}))


def test_without_a_width_the_terminal_size_or_100_columns(report, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    assert max(len(line) for line in as_text(report).splitlines()) <= 70


def test_the_notebook_bundle_holds_the_table_in_html_and_text(report):
    bundle = mimebundle(report)
    assert set(bundle) == {"text/plain", "text/html"}
    assert "<pre" in bundle["text/html"] and "Conv2d(16, 32, 3)" in bundle["text/html"]
    assert "1x32x14x14" in bundle["text/html"]          # the record was not cleared first
    assert "Conv2d(16, 32, 3)" in bundle["text/plain"]
    assert max(len(line) for line in bundle["text/plain"].splitlines()) <= HTML_WIDTH


def test_the_dict_is_nets_json(report):
    assert as_dict(report) == net_dict(report, report.dtype) == report.to_dict()


def test_to_pandas_without_pandas_names_the_install(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(EnvironmentProblem, match=r"needs pandas.*pip install pandas"):
        as_pandas(report)
