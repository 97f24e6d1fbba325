"""`convcli verify`: the suite passes, one configuration runs every check that applies,
JSON/JUnit/exit codes, and the negative controls: injected faults must make verify
exit 1 and name the check that caught them."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from convcli.engine import reference, torch_adapter  # noqa: E402
from convcli.calculator.spec import ConvSpec  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["grouped", "depthwise", "separable", "calculator", "reference"]
SUITE = NAMES + ["dtypes"]


def by_name(data):
    return {c["name"]: c for c in data["checks"]}


# ---- it passes, and says what it did ------------------------------------------

def test_suite_passes_with_every_check(cli):
    r = cli("verify", "--cases", "40", "--seed", "7", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["passed"] is True and data["failed"] == [] and data["mode"] == "suite"
    checks = by_name(data)
    assert list(checks) == SUITE
    for c in checks.values():
        assert c["passed"] is True and c["failures"] == 0 and c["cases"] > 0
        assert {"name", "cases", "worst_error", "passed"} <= set(c)
    # the calculator ran the 40 random cases plus the built-in ones
    from convcli.engine.verify.plans import builtin_calculator
    assert checks["calculator"]["cases"] == 40 + len(builtin_calculator())
    assert checks["calculator"]["tolerance"] == "exact"
    # float32 against a float64 reference: small but not zero
    assert 0 < checks["reference"]["worst_error"] < 1e-5
    assert " output[" in checks["reference"]["worst"]["where"]
    assert data["tolerance"] == {
        "atol": None, "rtol": None, "source": "float32, calibrated", "factor": 8.0,
        "eps": 2.0 ** -23,
        "rule": "|torch - expected| <= 8 * eps * (sum |x*w| + |b| + |expected|), "
                "eps = 1.19e-07 (float32)"}
    assert data["tolerances"]["bfloat16"] == {"eps": 2.0 ** -7, "factor": 8.0, "atol": 5e-2,
                                              "rtol": 2e-2}
    assert checks["dtypes"]["notes"] == ["ran float64, bfloat16, float16"]
    assert 1e-4 < checks["dtypes"]["worst_error"] < 0.05      # bfloat16's rounding
    assert data["seed"] == 7 and data["random_cases"] == 40


def test_zero_size_transposed_quirk_counts_as_agreement(cli):
    """ConvTranspose1d(2, 3, 4, padding=2) on 2x2x1 has an output size of exactly 0:
    torch's CPU backend returns an empty tensor, ConvSpec rejects it on purpose."""
    assert torch.nn.ConvTranspose1d(2, 3, 4, padding=2)(torch.zeros(2, 2, 1)).shape[-1] == 0
    r = cli("verify", "--cases", "0", "--json")
    assert r.exit_code == 0, r.stderr
    calc = by_name(r.json())["calculator"]
    assert calc["passed"] and any("on 2x2x1" in q for q in calc["zero_size_quirks"])
    table = cli("verify", "--cases", "0")
    assert "exactly 0" in table.stdout and "counted as agreement" in table.stdout


def test_one_configuration_runs_the_checks_that_apply(cli):
    r = cli("verify", "-i", "16", "-o", "16", "-k", "1", "-g", "2", "8x16x32x32",
            "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["mode"] == "config"
    assert data["configuration"]["layer"] == "Conv2d(16, 16, 1, groups=2)"
    assert data["configuration"]["input_shape"] == [8, 16, 32, 32]
    assert list(by_name(data)) == ["grouped", "separable", "calculator", "reference"]
    assert all(c["cases"] == 1 for c in data["checks"])
    assert data["skipped"] == [{"name": "depthwise",
                                "reason": "groups=2 != in_channels=16: not depthwise"}]


@pytest.mark.parametrize("args, ran, skipped", [
    (["-i", "3", "-o", "3", "-k", "3", "-g", "3"],
     ["grouped", "depthwise", "separable", "calculator", "reference"], []),
    (["-i", "4", "-o", "8", "-k", "3", "-s", "2", "-p", "1", "--output-padding", "1", "-t",
      "-g", "4", "--dims", "1"],
     ["grouped", "depthwise", "calculator", "reference"], ["separable"]),
    (["-i", "2", "-o", "5", "-k", "4", "-p", "same", "--padding-mode", "reflect",
      "2x9x11", "--dims", "2"],
     ["separable", "calculator", "reference"], ["grouped", "depthwise"]),
])
def test_configurations_pick_their_checks(cli, args, ran, skipped):
    r = cli("verify", *args, "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert list(by_name(data)) == ran
    assert [s["name"] for s in data["skipped"]] == skipped


def test_table_at_80_columns(sh):
    r = sh("verify", "-i", "6", "-o", "12", "-k", "3", "-g", "2", "4x6x64x64")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "Conv2d(6, 12, 3, groups=2) on 4x6x64x64" in r.stdout
    row = next(line for line in lines if line.strip().startswith("grouped"))
    assert "split-and-concat" in row and row.rstrip().endswith("pass")
    assert r.stdout.rstrip().endswith("PASSED")


# ---- negative controls: it must be able to fail ----------------------------------

@pytest.fixture
def swapped_groups(monkeypatch):
    """A grouped conv whose groups are swapped: group 0 gets group 1's weights."""
    original = torch_adapter.functional

    def swapped(spec, x, weight, bias=None):
        if spec.groups > 1:
            rows = weight.shape[0] // spec.groups
            order = list(range(weight.shape[0]))
            order[:rows], order[rows:2 * rows] = order[rows:2 * rows], order[:rows]
            weight = weight[order]
        return original(spec, x, weight, bias)

    monkeypatch.setattr(torch_adapter, "functional", swapped)


@pytest.fixture
def off_by_one_padding(monkeypatch):
    """A reference that pads one too many on the left and one too few on the right."""
    def pad(spec, x):
        pairs = [(0, 0), (0, 0)] + [(a + 1, b - 1) if b > 0 else (a, b)
                                    for a, b in spec.padding_pairs]
        return np.pad(x, pairs, mode=reference.PAD_MODES[spec.padding_mode])

    monkeypatch.setattr(reference, "pad", pad)


@pytest.fixture
def wrong_for_stride_3(monkeypatch):
    """A calculator whose output size is one too big wherever the stride is 3."""
    original = ConvSpec.output_shape

    def output_shape(self, input_shape):
        out = original(self, input_shape)
        d = self.dims
        return out[:-d] + tuple(n + (s == 3) for n, s in zip(out[-d:], self.stride))

    monkeypatch.setattr(ConvSpec, "output_shape", output_shape)


def test_swapped_groups_fail_the_grouped_check(cli, swapped_groups):
    r = cli("verify", "-i", "6", "-o", "12", "-k", "3", "-g", "2", "4x6x16x16",
            "--json")
    assert r.exit_code == 1
    data = r.json()
    assert data["passed"] is False and "grouped" in data["failed"]
    g = by_name(data)["grouped"]
    assert g["passed"] is False and g["worst_error"] > 1e-2
    assert g["worst"]["configuration"] == "Conv2d(6, 12, 3, groups=2) on 4x6x16x16"
    assert g["worst"]["where"].startswith("grouped output[")
    assert by_name(data)["calculator"]["passed"]
    assert r.stderr.startswith("Error: verify found a mismatch") and "grouped (1 of 1" in r.stderr


@pytest.mark.slow   # rule 3 (tests/conftest.py): a planted fault through the whole suite
def test_swapped_groups_fail_the_suite_and_junit_says_so(cli, swapped_groups, tmp_path):
    report = tmp_path / "ci" / "verify.xml"
    r = cli("verify", "--cases", "0", "--junit", str(report))
    assert r.exit_code == 1
    assert "FAILED: grouped" in r.stdout and "worst case of 'grouped'" in r.stdout
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    assert int(suite.get("tests")) == 6 and int(suite.get("failures")) >= 1
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == SUITE
    assert cases["grouped"].find("failure") is not None
    failure = cases["grouped"].find("failure")
    assert "groups=2) on " in failure.text and "max abs error" in failure.text
    assert "split-and-concat" in failure.get("message")
    assert cases["separable"].find("failure") is None
    assert [p.name for p in report.parent.iterdir()] == ["verify.xml"]   # no temp files left


def test_off_by_one_padding_fails_the_reference_check(cli, off_by_one_padding):
    r = cli("verify", "-i", "4", "-o", "4", "-k", "3", "-p", "1", "2x4x8x8", "--json")
    assert r.exit_code == 1
    data = r.json()
    assert data["failed"] == ["reference"]
    ref = by_name(data)["reference"]
    assert ref["worst_error"] > 1e-2
    assert "Conv2d(4, 4, 3, padding=1)" in ref["worst"]["configuration"]
    assert "reference" in r.stderr


@pytest.mark.slow   # rule 3 (tests/conftest.py): a planted fault through the whole suite
def test_off_by_one_padding_fails_the_suite(cli, off_by_one_padding):
    r = cli("verify", "--cases", "20", "--json")
    assert r.exit_code == 1
    assert r.json()["failed"] == ["reference", "dtypes"]    # every dtype sees it


@pytest.mark.slow   # rule 3 (tests/conftest.py): a planted fault through the whole suite
def test_calculator_wrong_for_one_stride_fails_the_calculator_check(cli, wrong_for_stride_3):
    r = cli("verify", "--cases", "60", "--json")
    assert r.exit_code == 1
    data = r.json()
    assert data["failed"] == ["calculator"]
    calc = by_name(data)["calculator"]
    assert calc["failures"] > 0
    worst = calc["worst"]
    assert re.search(r"stride=(3|\([^)]*3[^)]*\))", worst["configuration"])
    assert worst["where"] == "output shape" and worst["error"] == 1
    # an empty input (N=0 or C=0) has 0 MACs however wrong its shape
    shape = worst["configuration"].split(" on ")[1].split(" ")[0].split("x")
    empty = "0" in shape[:2]
    assert ("also differs: MACs" in worst["message"]) == (not empty), worst
    assert "calculator" in r.stderr


def test_fail_fast_stops_at_the_first_failure(cli, swapped_groups):
    r = cli("verify", "--cases", "0", "--fail-fast", "--json")
    assert r.exit_code == 1
    data = r.json()
    assert [c["name"] for c in data["checks"]] == ["grouped"]
    assert by_name(data)["grouped"]["cases"] == 1
    assert {s["name"] for s in data["skipped"]} == set(SUITE[1:])
    assert all("--fail-fast" in s["reason"] for s in data["skipped"])


# ---- tolerances, JUnit, exit codes -------------------------------------------------

def test_tolerance_override_can_fail_float16(cli):
    r = cli("verify", "-i", "8", "-o", "8", "-k", "3", "--dtype", "float16", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["tolerance"]["eps"] == 2.0 ** -10 and r.json()["tolerance"]["atol"] is None
    assert by_name(r.json())["reference"]["worst_error"] > 1e-5    # half precision shows
    strict = cli("verify", "-i", "8", "-o", "8", "-k", "3", "--dtype", "float16",
                 "--atol", "0", "--rtol", "1e-7", "--json")
    assert strict.exit_code == 1
    assert "reference" in strict.json()["failed"]
    assert strict.json()["tolerance"]["source"] == "--atol/--rtol"


def test_junit_for_a_passing_configuration(cli, tmp_path):
    path = tmp_path / "r.xml"
    r = cli("verify", "-i", "4", "-o", "4", "-k", "3", "-g", "2", "--junit", str(path))
    assert r.exit_code == 0, r.stderr
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite.get("failures") == "0" and suite.get("skipped") == "1"
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names == NAMES
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert [c.get("name") for c in skipped] == ["depthwise"]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["dtype"] == "float32" and props["device"] == "cpu"


@pytest.mark.parametrize("args, code, words", [
    (["--device", "tpu"], 2, "--device 'tpu'"),
    (["--dtype", "int8"], 2, "--dtype 'int8'"),
    (["--atol", "-1"], 2, "--atol"),
    (["--cases", "-3"], 2, "--cases -3"),
    (["--seed", str(2 ** 64)], 2, "--seed"),
    (["-s", "2"], 2, "--stride describes one configuration"),
    (["-o", "4"], 2, "--kernel-size is needed"),
    (["-i", "3", "-o", "4", "-k", "3", "--cases", "5"], 2, "--cases 5"),
    (["-i", "3", "-o", "4", "-k", "9", "1x3x4x4"], 2, "kernel"),
    (["-i", "4", "-o", "6", "-k", "3", "-g", "4"], 2, "groups=4"),
    (["--junit", "."], 2, "--junit"),
])
def test_bad_usage_exits_2_with_one_line(cli, args, code, words):
    r = cli("verify", *args, "--json")
    assert r.exit_code == code
    assert r.stdout == ""
    assert r.stderr.startswith("Error: ") and words in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unwritable_junit_exits_3_before_running(cli, monkeypatch):
    from convcli.engine.verify import execute as verify

    def must_not_run(*a, **k):
        raise AssertionError("checks ran although the report cannot be written")

    monkeypatch.setattr(verify, "run_config", must_not_run)
    r = cli("verify", "-i", "2", "-o", "2", "-k", "1", "--junit", "/proc/convcli/r.xml")
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.startswith("Error: --junit: cannot write '/proc/convcli/r.xml'")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_unavailable_exits_3(cli):
    r = cli("verify", "--device", "cuda", "--json")
    assert r.exit_code == 3 and r.stdout == ""
    assert "Error: --device cuda" in r.stderr and "--device cpu" in r.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cuda_suite_passes(cli, dtype):
    r = cli("verify", "--device", "cuda", "--dtype", dtype, "--cases", "30", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["device"] == "cuda"


def test_torch_missing_exits_3(sh, tmp_path):
    (tmp_path / "torch.py").write_text("raise ImportError('torch is blocked for this test')\n")
    r = sh("verify", "--json", env={"PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert r.exit_code == 3, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith("Error: torch is not installed") and "pip install" in r.stderr


def test_importing_verify_loads_neither_torch_nor_numpy(sh):
    import subprocess

    code = ("import sys, convcli.engine.verify.execute, convcli.cli; "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_device_option_means_what_it_means_for_run(cli):
    """verify resolves --device with run's resolver: auto, cuda:N, and the same
    one-line refusal listing what is there."""
    r = cli("verify", "--device", "auto", "--cases", "5", "--json")
    assert r.exit_code == 0, r.stderr
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert r.json()["device"] == expected
    if not torch.cuda.is_available():
        r = cli("verify", "--device", "cuda:0", "--json")
        assert r.exit_code == 3 and r.stdout == ""
        assert "Error: --device cuda:0: CUDA is not available" in r.stderr
        assert "available: cpu" in r.stderr
