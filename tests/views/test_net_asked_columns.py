"""A column an option asked for (summary --rf) is never the one left out to fit the
width: the others go first, then the table wraps between whole tokens."""

import re

import pytest

pytest.importorskip("torch")

from conftest import ROOT  # noqa: E402

RESNET = f"{ROOT / 'examples' / 'models' / 'resnet50.py'}:ResNet50"


def test_rf_at_80_columns_keeps_its_column(sh):
    r = sh("summary", RESNET, "--input", "1x3x224x224", "--rf", "--depth", "1",
           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "rf /jump" in r.stdout and "@start" in r.stdout   # the header may wrap
    assert "left out to fit" not in r.stdout
    layer2 = next(line for line in lines if line.lstrip().startswith("layer2 "))
    assert layer2.rstrip().endswith("91 /8 @-45")


def test_rf_at_70_columns_wraps_between_whole_tokens(sh):
    r = sh("summary", RESNET, "--input", "1x3x224x224", "--rf", "--depth", "1",
           env={"COLUMNS": "70"})
    assert r.exit_code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 70
    assert "left out to fit the width: rf" not in r.stdout
    table = r.stdout.split("\n\n")[1]
    assert "rf" in table and "@start" in table
    # each rf cell's tokens (size, /jump, @start) whole, on one line or two
    assert re.search(r"\b91 /8\b", table) and re.search(r"@-45\b", table)


def test_without_rf_the_geometry_still_goes_first(sh):
    r = sh("summary", RESNET, "--input", "1x3x224x224", "--depth", "1",
           env={"COLUMNS": "70"})
    assert r.exit_code == 0
    assert "left out to fit the width" in r.stdout and "k/s/p/d/g" in r.stdout
