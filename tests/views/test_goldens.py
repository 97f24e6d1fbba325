"""Output as people see it, pinned at 80 and at 60 columns by golden files in
tests/views/golden (`name.txt` at 80, `name@60.txt` at 60; regenerate them with
`python -m pytest --update-goldens`, then read the diff). run's and verify's
timings, memory and errors are replaced by fixed ones, so that their tables are
pinned as well."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from conftest import ROOT, run_subprocess, sample


PICTURES = {
    "show_grouped": "show 1x4x7x7 -o 4 -k 3 -s 2 -p 1 --groups 2",
    "show_transposed": "show 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t",
    "show_same_even_kernel": "show 1x3x8x8 -o 8 -k 4 -p same",
    "show_depthwise_long": "show 1x512x56x56 -o 512 -k 3 -p 1 -g 512",
    "show_dilated_1d": "show 1x1x100 -o 1 -k 5 -d 4 -s 3 --dims 1",
    "show_transposed_cropped_3d": "show 1x2x5x6x7 -o 4 -k 3 -s 2 -t --output-padding 1 -p 3",
    "show_no_input": "show -i 6 -o 4 -k 3 -g 2",
    "solve_32_16": "solve --input-size 32 --output-size 16 -n 8",
    "solve_decoder": "solve --transposed --input-size 7x8 -k 3 -s 2 -p 1",
    "padding_from_tf": "shape 1x3x8x8 -o 8 -k 3 -s 2 --padding SAME --padding-from tf",
    "params_conventions": "params -o 32 -k 4 -s 2 -p 1 -g 4 -t 1x16x8x8 --conventions",
    # issue 10: the reading of INPUT's rank, torch's corners, advice, bounded group lists
    "shape_unbatched_image": "shape 3x224x224 -o 64 -k 7 -s 2 -p 3",
    "shape_empty_batch_transposed": "shape 0x3x5x5 -o 4 -k 3 -t --output-padding 2",
    "shape_negative_padding_reflect": "shape 1x3x6x6 -o 4 -k 3 -p -1 --padding-mode reflect -e",
    "params_compare_groups": "params -i 64 -o 128 -k 3 -g 4 --compare-groups",
    "params_many_groups": "params -g 65536 -i 65536 -o 65536 -k 1 --compare-groups",
    "solve_7_14": "solve --input-size 7 --output-size 14 --max-padding 11 -n 4",
    "solve_transposed_7_14": "solve --input-size 7 --output-size 14 -t -n 4",
    "show_many_groups": "show -i 100000000 -o 100000000 -k 1 -g 100000000",
}


MODEL = ROOT / "tests" / "engine" / "summary_models.py"
CIFAR = "--file examples/models/cifar_cnn.txt"

# commands that need torch, pinned at 80 and 60 columns
WITH_TORCH = {
    "net_cifar": f"net 1x3x32x32 {CIFAR}",
    "net_train": f"net 1x3x32x32 {CIFAR} --train",
    "net_rf": f"net 1x3x32x32 {CIFAR} --rf",
    "net_field": f"net 1x3x32x32 {CIFAR} --field 7",
    "summary_train_budget": f"summary {MODEL}:build_subclass_convs_linear --input 2x3x32x32 "
                            "--train --budget 64MiB",
    "run": "run 2x4x32x32 -o 8 -k 3 -r 3 --warmup 1",
    "run_tune": "run 2x4x32x32 -o 8 -k 3 -r 3 --warmup 1 --tune",
    "run_sweep": "run 2x4x32x32 -o 8 --sweep k=1,3,33 --sweep s=1,2 -r 3 --warmup 1",
    "verify_config": "verify -i 16 -o 16 -k 1 -g 2 8x16x32x32",
    "verify_failing": "verify -i 6 -o 4 -k 3 -t -s 2 --output-padding 1 2x6x9x9",
}

# the main outputs of every command, pinned at 60 columns too
AT_60 = ["shape_transposed_explain", "padding_from_tf", "shape_unbatched_image",
         "params_compare_groups", "params_many_groups", "params_conventions", "show_grouped",
         "show_transposed", "show_dilated_1d", "show_many_groups", "solve_32_16",
         "solve_transposed_7_14", "solve_7_14", "solve_decoder"]
COMMANDS = {**PICTURES, "shape_transposed_explain":
            "shape 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t --explain"}


def run80(*args, columns: int = 80):
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": str(columns), "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_golden_outputs_at_80_columns(name, golden):
    r = run80(*PICTURES[name].split())
    assert r.exit_code == 0, r.stderr
    golden(f"{name}.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_golden_shape_table_at_80_columns_as_a_user_runs_it(golden):
    r = run_subprocess("shape", "1x16x8x8", "-o", "32", "-k", "4", "-s", "2", "-p", "1", "-g",
                       "4", "-t", "--explain")
    golden("shape_transposed_explain.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_pictures_fit_a_narrow_terminal():
    from convcli.cli import app
    runner = CliRunner(env={"COLUMNS": "50", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})
    r = runner.invoke(app, ["show", "1x64x224x224", "-o", "128", "-k", "7", "-s", "2", "-p",
                            "3", "-g", "4"], catch_exceptions=False)
    assert r.exit_code == 0
    window = r.stdout[r.stdout.index("Along W"):r.stdout.index("Receptive")]
    assert all(len(line) <= 50 for line in window.splitlines()[1:4])



@pytest.mark.parametrize("name", AT_60)
def test_golden_outputs_at_60_columns(name, golden):
    r = run80(*shlex.split(COMMANDS[name]), columns=60)
    assert r.exit_code == 0, r.stderr
    golden(f"{name}@60.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= 60


@pytest.fixture
def steady(monkeypatch):
    """run and verify with fixed timings, memory, statistics and errors (the rest is
    what they computed)."""
    pytest.importorskip("torch")
    from convcli.engine import conv_run as engine
    from convcli.engine.timing import Spread, Timing
    from convcli.engine.verify import execute

    real_run, real_config = engine.run, execute.run_config

    def run(*args, **kwargs):
        r = real_run(*args, **kwargs)
        timing = Timing(0.076, 0.067, 0.14, 0.09, r.timing.repeat, r.timing.warmup,
                        r.timing.method)
        tune = tuple(replace(x, timing=replace(timing, median_ms=0.065 - 0.011 * (i == 1)),
                             gflops=15.9 + 3.3 * (i == 1), fastest=i == 1,
                             max_abs_diff=None if x.requested else 0.0,
                             within_spread=not x.requested,
                             speedup=None if x.requested else Spread(0.98, 0.95, 1.06)
                             if x.control else Spread(1.23, 0.96, 1.55))
                     for i, x in enumerate(r.tune))
        return replace(r, timing=timing, gflops=13.6, peak_memory=236 * 2 ** 20,
                       estimate=replace(r.estimate, baseline=200 * 2 ** 20,
                                        limit=16 * 2 ** 30),
                       stats=replace(r.stats, mean=-0.0263, std=0.5785, min=-2.343,
                                     max=2.365),
                       device=replace(r.device, description="CPU, 2 threads"), threads=2,
                       torch_version="2.13.0+cpu", tune=tune)

    def run_config(*args, **kwargs):
        from convcli.engine.verify.verify_results import Worst
        report = real_config(*args, **kwargs)
        from convcli.engine.verify.checks import EXACT
        # a numeric check's error is the machine's (a grouped conv may equal its split
        # bit for bit on one CPU and not on another): pinned; exact checks stay 0
        checks = [replace(c, worst_error=0.0 if c.name in EXACT else 3.6e-07)
                  for c in report.checks]
        if report.spec.transposed:     # verify_failing: a planted fault
            checks[-1] = replace(checks[-1], failures=1, worst_error=0.5, worst=Worst(
                report.configuration, 0.5, "F.conv_transpose2d output[1, 2, 5, 0]",
                "0.25 (the numpy reference)", "0.75", "planted for the golden file"))
        return replace(report, checks=checks, seconds=0.4, torch_version="2.13.0+cpu")

    monkeypatch.setattr(engine, "run", run)
    monkeypatch.setattr(execute, "run_config", run_config)


# rules 3 and 4 (tests/conftest.py): a sample of these model runs in the fast loop
@pytest.mark.parametrize("columns", sample([80, 60]))
@pytest.mark.parametrize("name", sample(sorted(WITH_TORCH), keep=4))
def test_golden_outputs_that_need_torch(name, columns, golden, steady):
    r = run80(*shlex.split(WITH_TORCH[name]), columns=columns)
    assert r.exit_code == (1 if name == "verify_failing" else 0), r.stderr
    golden(f"{name}.txt" if columns == 80 else f"{name}@60.txt", r.stdout)
    assert max(len(line) for line in r.stdout.splitlines()) <= columns
