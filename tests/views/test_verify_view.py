"""views/verify_view.py: `verify`'s table at 80 columns, the worst case of a failing
check, the one Error line and the --json dict, on a real report of one configuration
(torch ran it) and on that report with a check made to fail."""

from __future__ import annotations

import copy
import io
import json
import math
import re

import pytest
from rich.console import Console

from convcli.calculator.spec import ConvSpec
from convcli.views.verify_view import err_str, verify_dict, verify_renderables, verify_summary

torch = pytest.importorskip("torch")

from convcli.engine.verify.execute import run_config  # noqa: E402
from convcli.engine.verify.verify_results import Options, Worst  # noqa: E402

SPEC, SHAPE = ConvSpec(2, 4, 4, 3, groups=2, padding=1), (1, 4, 6, 6)


@pytest.fixture(scope="module")
def report():
    return run_config(SPEC, SHAPE, Options(seed=0))


@pytest.fixture
def failed(report):
    r = copy.deepcopy(report)
    c = next(c for c in r.checks if c.name == "reference")
    c.failures, c.cases = 2, 3
    c.worst_error = float("nan")
    c.worst = Worst("Conv2d(4, 4, 3) on 1x4x6x6", float("inf"), "F.conv2d output[0, 1, 2, 3]",
                    "0.5", "nan", "torch returned NaN")
    return r


def render(parts, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for p in parts:
        c.print(p)
    return c.export_text()


def test_the_table_has_one_row_per_check_that_ran(report):
    text = render(verify_renderables(report))
    assert text.startswith(f"convcli verify: {SPEC.torch_repr()} on 1x4x6x6")
    for c in report.checks:
        row = next(line for line in text.splitlines() if line.split()[:1] == [c.name])
        assert row.split()[-1] == "pass"
        assert f" {c.cases:,} " in row
    assert "skipped depthwise: groups=2 != in_channels=4" in text
    assert text.rstrip().endswith("PASSED")
    assert f"torch {torch.__version__}" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_narrow_terminals_drop_the_what_column(report):
    text = render(verify_renderables(report), 50)
    assert "split-and-concat" not in text.split("numeric checks")[0]
    assert max(len(line) for line in text.splitlines()) <= 50


def test_the_json_is_strict_and_carries_the_inputs(report, failed):
    d = verify_dict(report)
    assert d["passed"] is True and d["failed"] == []
    assert d["configuration"]["input_shape"] == list(SHAPE)
    assert d["configuration"]["layer"] == SPEC.torch_repr()
    assert [c["name"] for c in d["checks"]] == [c.name for c in report.checks]
    assert d["skipped"] == [{"name": s.name, "reason": s.reason} for s in report.skipped]
    assert d["torch"] == torch.__version__
    bad = verify_dict(failed)
    text = json.dumps(bad, allow_nan=False)       # NaN and inf become null
    ref = next(c for c in json.loads(text)["checks"] if c["name"] == "reference")
    assert ref["worst_error"] is None and ref["worst"]["error"] is None
    assert ref["passed"] is False and bad["failed"] == ["reference"]


def test_a_failing_check_shows_its_worst_case_and_the_error_line(failed):
    text = render(verify_renderables(failed))
    assert "worst case of 'reference' (2 of 3 failed)" in text
    assert re.search(r"why\s+torch returned NaN", text)
    assert re.search(r"FAIL 2\s*$", text, re.M)
    assert text.rstrip().endswith("FAILED: reference")
    line = verify_summary(failed)
    assert line == ("verify found a mismatch in 1 check(s): reference (2 of 3 cases; worst: "
                    "Conv2d(4, 4, 3) on 1x4x6x6 at F.conv2d output[0, 1, 2, 3], max abs "
                    "error inf)")
    assert "\n" not in line


@pytest.mark.parametrize("value,text", [(None, "—"), (math.nan, "nan"), (0, "0"), (0.0, "0"),
                                        (2.5e-7, "2.5e-07"), (3, "3"), (12345.0, "1.234e+04")])
def test_err_str(value, text):
    assert err_str(value) == text
