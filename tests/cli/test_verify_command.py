"""convcli.cli.verify_command: `convcli verify` of one configuration as a user calls it:
it passes on torch as it is, fails with exit 1 and one Error line (its JSON and JUnit
written) when torch's conv is planted wrong, and refuses mixed usage before any work."""

import json
import xml.etree.ElementTree as ET

import pytest

from convcli.cli import verify_command
from tests.cli.clirun import invoke, one_error_line

torch = pytest.importorskip("torch")
pytest.importorskip("numpy")

CONFIG = ("1x4x6x6", "-o", "4", "-k", "3", "-g", "2", "-p", "1")


def test_the_module_registers_verify():
    from convcli.cli.app import app
    assert verify_command.verify in [c.callback for c in app.registered_commands]


def test_one_configuration_passes_on_torch(tmp_path):
    junit = tmp_path / "ci" / "v.xml"
    r = invoke("verify", *CONFIG, "--json", "--junit", str(junit))
    assert r.code == 0, r.err
    d = json.loads(r.out)
    assert d["passed"] is True and d["failed"] == [] and d["mode"] == "config"
    assert {c["name"] for c in d["checks"]} >= {"grouped", "calculator"}
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "0"
    assert int(suite.get("tests")) == len(d["checks"]) + len(d["skipped"])


def test_the_text_ends_passed_at_80_columns():
    r = invoke("verify", *CONFIG)
    assert r.code == 0, r.err
    assert r.out.rstrip().endswith("PASSED")
    assert all(len(line) <= 80 for line in r.out.splitlines())


def test_a_planted_fault_in_torch_fails_with_exit_1(monkeypatch, tmp_path):
    real = torch.nn.functional.conv2d

    def off_by_one(x, *args, **kwargs):
        return real(x, *args, **kwargs) + 1.0

    monkeypatch.setattr(torch.nn.functional, "conv2d", off_by_one)
    junit = tmp_path / "v.xml"
    r = invoke("verify", *CONFIG, "--json", "--junit", str(junit))
    one_error_line(r, 1, "verify found a mismatch")
    d = json.loads(r.out)
    assert d["passed"] is False and d["failed"]
    failures = [c for c in ET.parse(junit).getroot().iter("testcase")
                if c.find("failure") is not None]
    assert {c.get("name") for c in failures} == set(d["failed"])


@pytest.mark.parametrize("args, code, words", [
    (("-o", "4"), 2, "--kernel-size is needed to verify one configuration"),
    (("-i", "4"), 2, "--in-channels describes one configuration: add --out-channels "
                     "and --kernel-size"),
    ((*CONFIG, "--cases", "3"), 2, "--cases 3: random configurations belong to the "
                                   "built-in suite"),
    (("1x4x6x6", "-o", "4", "-k", "9"), 2, "spatial dim 0"),
    ((*CONFIG, "--junit", "  "), 2, "give a file path such as report.xml"),
    ((*CONFIG, "--atol", "-1"), 2, "--atol"),
])
def test_misuse_is_one_error_line_before_any_work(args, code, words, tmp_path):
    one_error_line(invoke("verify", *args), code, words)


def test_junit_into_a_folder_is_refused(tmp_path):
    one_error_line(invoke("verify", *CONFIG, "--junit", str(tmp_path)), 2, "not a folder")
