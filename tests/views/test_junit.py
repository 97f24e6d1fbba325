"""views/junit.py: `verify --junit`'s XML parses, counts what the report holds (one
testcase per check, skipped ones as <skipped/>), names failures, and is written whole."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET

import pytest

from convcli.calculator.spec import ConvSpec
from convcli.errors import EnvironmentProblem
from convcli.views.junit import junit_classname, junit_xml, write_atomic

torch = pytest.importorskip("torch")

from convcli.engine.verify.execute import run_config  # noqa: E402
from convcli.engine.verify.verify_results import CHECKS, Options, Worst  # noqa: E402


@pytest.fixture(scope="module")
def report():
    return run_config(ConvSpec(1, 2, 2, 3, groups=2), (2, 2, 9), Options(seed=3))


def test_one_testcase_per_check_in_the_order_of_checks(report):
    root = ET.fromstring(junit_xml(report))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    assert sorted(names) == sorted([c.name for c in report.checks] +
                                   [s.name for s in report.skipped])
    assert names == sorted(names, key=list(CHECKS).index)
    assert root.get("tests") == str(len(cases)) == suite.get("tests")
    assert root.get("failures") == "0"
    assert root.get("skipped") == str(len(report.skipped))
    for case in cases:
        skipped = case.find("skipped")
        if case.get("name") in {s.name for s in report.skipped}:
            assert skipped is not None and skipped.get("message")
        else:
            assert skipped is None and "cases, worst error" in case.find("system-out").text
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["torch"] == torch.__version__ and props["seed"] == "3"
    assert props["configuration"] == report.configuration


def test_a_failed_check_is_a_failure_with_its_worst_case(report):
    r = copy.deepcopy(report)
    c = r.checks[0]
    c.failures, c.cases = 1, 1
    c.worst_error = 0.5
    c.worst = Worst("Conv1d(2, 2, 3) on 2x2x9", 0.5, "output[0, 0, 0]", "1.0", "1.5")
    root = ET.fromstring(junit_xml(r))
    assert root.get("failures") == "1"
    fail = root.find(f".//testcase[@name='{c.name}']/failure")
    assert fail.get("type") == "mismatch"
    assert fail.get("message") == (f"{c.title}: 1 of 1 cases failed; worst: "
                                   "Conv1d(2, 2, 3) on 2x2x9 at output[0, 0, 0]")
    assert "expected: 1.0\ngot: 1.5\nmax abs error: 0.5" in fail.text


def test_classnames_never_share_an_id_across_dtypes_devices_or_layers(report):
    name = junit_classname(report)
    assert name.startswith("convcli.verify.float32.cpu.Conv1d_2_2_3")
    assert all(ch.isalnum() or ch in "._" for ch in name)
    other = copy.copy(report)
    other.dtype = "float64"
    assert junit_classname(other) != name
    suite = copy.copy(report)
    suite.configuration = None
    assert junit_classname(suite) == "convcli.verify.float32.cpu"


def test_write_atomic_writes_the_whole_text(tmp_path, report):
    path = tmp_path / "out.xml"
    text = junit_xml(report)
    write_atomic(str(path), text)
    assert path.read_text(encoding="utf-8") == text
    assert os.listdir(tmp_path) == ["out.xml"]


def test_write_atomic_creates_missing_folders_and_refuses_a_directory(tmp_path):
    write_atomic(str(tmp_path / "ci" / "out.xml"), "<x/>")
    assert (tmp_path / "ci" / "out.xml").read_text() == "<x/>"
    (tmp_path / "dir").mkdir()
    with pytest.raises(EnvironmentProblem, match="--junit"):
        write_atomic(str(tmp_path / "dir"), "<x/>")
    assert sorted(os.listdir(tmp_path)) == ["ci", "dir"]   # no temporary file left behind
