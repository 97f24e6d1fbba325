"""verify stays light and bounded: it never imports torch._dynamo, sympy or inductor
(MACs come from conv_flop_count, which agrees with FlopCounterMode: pinned here, the
only place FlopCounterMode runs), --cases is streamed and bounded, and one
configuration is refused up front when it would not fit in memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from conftest import ROOT  # noqa: E402
from convcli.calculator.spec import ConvSpec  # noqa: E402
from convcli.engine import torch_adapter  # noqa: E402
from convcli.engine.verify import plans  # noqa: E402
from convcli.errors import ConvError  # noqa: E402

PROBE = """
import json, sys
from convcli.cli import app
try:
    app(sys.argv[1:], prog_name="convcli")
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in ("torch._dynamo", "sympy", "torch._inductor") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def test_verify_never_imports_dynamo_sympy_or_inductor():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    p = subprocess.run([sys.executable, "-c", PROBE, "verify", "--cases", "30", "--json"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    report = json.loads(p.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}, p.stderr[-2000:]
    assert json.loads(p.stdout)["passed"] is True


def _torch_valid_confs():
    for case in list(plans.builtin_calculator()) + list(plans.random_cases(1, 400)):
        try:
            spec = ConvSpec(**case.args)
            spec.output_shape(case.input_shape)
            truth = torch_adapter.torch_output_shape(case.args, case.input_shape)
        except (ConvError, RuntimeError, ValueError, TypeError):
            continue
        yield spec, tuple(case.input_shape), truth


def test_conv_flop_count_is_what_flop_counter_mode_counts():
    """The convention verify checks against: conv_flop_count / 2 on the shapes torch
    sees == FlopCounterMode / 2 on a real forward (unbatched, padding modes,
    transposed, groups)."""
    from torch.utils.flop_counter import FlopCounterMode

    n = 0
    with torch.no_grad():
        for spec, shape, truth in _torch_valid_confs():
            m = torch_adapter.build_module(spec)
            with FlopCounterMode(display=False) as fc:
                m(torch.zeros(shape))
            assert torch_adapter.conv_macs(spec, shape, truth) == fc.get_total_flops() // 2, \
                (spec.torch_repr(), shape)
            n += 1
    assert n > 100


@pytest.mark.parametrize("cases", ["100001", str(10 ** 8)])
def test_cases_are_bounded(cli, cases):
    t0 = time.perf_counter()
    r = cli("verify", "--cases", cases, "--json")
    assert time.perf_counter() - t0 < 10           # refused before any work
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"Error: --cases {cases}: give 0 to 100,000")


def test_random_cases_are_drawn_lazily():
    """The suite's random configurations are a stream: drawing 10**9 of them costs
    nothing until a check consumes them."""
    stream = plans.random_cases(0, 10 ** 9)
    first = [next(stream) for _ in range(3)]
    assert first == list(plans.random_cases(0, 3))
    steps = {s.name: s for s in plans.suite_plan(plans.Options(cases=50))}
    assert steps["calculator"].total == 50 + len(plans.builtin_calculator())
    assert steps["grouped"].total is None          # counted as the check runs
    grouped = list(steps["grouped"].items())
    assert grouped[:len(plans.builtin_grouped())] == plans.builtin_grouped()
    assert all(c.spec.groups > 1 for c in grouped)


def test_one_configuration_too_big_for_memory_is_refused(cli, monkeypatch):
    from convcli.engine.verify import execute

    def must_not_run(*a, **k):
        raise AssertionError("checks ran although the estimate is over the budget")

    monkeypatch.setattr(execute, "Checks", must_not_run)
    r = cli("verify", "-i", "4", "-o", "4", "-k", "1", "100000x4x1000x1000",
            "--json")
    assert r.exit_code == 3 and r.stdout == ""
    assert r.stderr.startswith("Error: verifying Conv2d(4, 4, 1) on 100000x4x1000x1000 "
                               "needs about")
    assert "the limit is" in r.stderr and "--max-memory" in r.stderr
    r = cli("verify", "-i", "4", "-o", "4", "-k", "3", "2x4x64x64",
            "--max-memory", "100MiB")
    assert r.exit_code == 3 and "the limit is 100.0 MiB (--max-memory)" in r.stderr


def test_the_memory_estimate_covers_the_measured_peak(sh):
    """A fresh process verifying one sizeable configuration peaks (VmHWM) under
    the estimate verify checked, and not far under it."""
    code = ("import json, resource, sys\n"
            "from convcli.cli import app\n"
            "try:\n    app(sys.argv[1:], prog_name='convcli')\nexcept SystemExit:\n    pass\n"
            "from convcli.engine.ram import peak_rss\n"
            "print(peak_rss(), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    p = subprocess.run([sys.executable, "-c", code, "verify", "-i", "8", "-o", "16", "-k", "3",
                        "-g", "2", "4x8x256x256", "--json"], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=300)
    peak = int(p.stderr.strip().splitlines()[-1])
    estimate = json.loads(p.stdout)["memory"]["estimate"]
    assert peak <= estimate <= 2.5 * peak, (peak, estimate)


@pytest.mark.parametrize("args", [["-o", "4"], ["--cases", "-3"]])
def test_junit_folder_is_not_created_when_verify_fails_on_usage(cli, tmp_path, args):
    r = cli("verify", *args, "--junit", str(tmp_path / "newdir" / "r.xml"))
    assert r.exit_code == 2 and r.stderr.startswith("Error: ")
    assert list(tmp_path.iterdir()) == []


def test_junit_folder_is_created_when_the_report_is_written(cli, tmp_path):
    path = tmp_path / "a" / "b" / "r.xml"
    r = cli("verify", "-i", "2", "-o", "2", "-k", "1", "--junit", str(path))
    assert r.exit_code == 0, r.stderr
    assert path.exists() and [p.name for p in path.parent.iterdir()] == ["r.xml"]
