"""The composite GitHub Action (action.yml at the repository root) is real: its verify
steps run here, with their inputs, against this checkout (`convcli` on PATH is
`python -m convcli`), and a mismatch or a bad layer fails the step."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT


def _action():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "action.yml").read_text())


def _run_step(step, inputs: dict, tmp_path):
    """One step's bash script with its env, ${{ inputs.X }} filled in."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "convcli"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m convcli "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    for key, value in step.get("env", {}).items():
        env[key] = re.sub(r"\$\{\{ inputs\.(\w+) \}\}", lambda m: inputs[m.group(1)], value)
    return subprocess.run(["bash", "-c", step["run"]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_the_action_declares_its_inputs_and_installs_the_cpu_build():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"cases", "seed", "dtype", "configs", "junit", "torch"} <= set(action["inputs"])
    install = action["runs"]["steps"][0]["run"]
    assert "download.pytorch.org/whl/cpu" in install and '"$GITHUB_ACTION_PATH[torch]"' in install


def test_the_action_verifies_the_suite_and_your_layers(tmp_path):
    steps = _action()["runs"]["steps"]
    inputs = {"cases": "30", "seed": "7", "dtype": "float64", "junit": "reports/verify.xml",
              "torch": "",
              "configs": "-i 16 -o 16 -k 1 -g 2 --input 8x16x32x32\n\n"
                         "-i 4 -o 8 -k 3 -p 1 --input 2x4x9x9\n"}
    suite, layers = steps[1], steps[2]
    p = _run_step(suite, inputs, tmp_path)
    assert p.returncode == 0, p.stderr
    assert "PASSED" in p.stdout
    report = ET.parse(tmp_path / "reports" / "verify.xml").getroot()
    assert report.get("failures") == "0" and int(report.get("tests")) >= 5
    p = _run_step(layers, inputs, tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("PASSED") == 2


def test_a_bad_layer_fails_the_action(tmp_path):
    layers = _action()["runs"]["steps"][2]
    inputs = {"dtype": "float32",
              "configs": "-i 16 -o 16 -k 1 -g 2\n-i 3 -o 16 -k 3 -g 5\n"}
    p = _run_step(layers, inputs, tmp_path)
    assert p.returncode == 2
    assert "groups=5" in p.stderr and p.stdout.count("PASSED") == 1


def test_the_example_workflow_runs_the_action_with_inputs_it_has(tmp_path):
    """examples/ci/convcli-verify.yml: its action step's inputs exist in action.yml and,
    with the GitHub expressions filled in (and fewer cases), the action passes."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "convcli-verify.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["verify"]["steps"] if s.get("uses") == "./"]
    action = _action()
    assert set(step["with"]) <= set(action["inputs"])
    fill = {"${{ github.run_number }}": "12", "${{ matrix.dtype }}": "float64"}
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    for key, value in step["with"].items():
        value = str(value)
        for expr, v in fill.items():
            value = value.replace(expr, v)
        inputs[key] = value
    inputs["cases"] = "30"
    for s in action["runs"]["steps"][1:]:
        p = _run_step(s, inputs, tmp_path)
        assert p.returncode == 0, p.stderr
    assert (tmp_path / "reports" / "convcli-verify-float64.xml").exists()


def test_the_example_pre_commit_hook_is_a_local_system_hook_that_passes():
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / "examples" / "ci" / "pre-commit-config.yaml").read_text())
    (hook,) = hooks["repos"][0]["hooks"]
    assert hooks["repos"][0]["repo"] == "local"
    assert hook["language"] == "system" and hook["pass_filenames"] is False
    args = hook["entry"].split()[1:]
    args = [a if not a.isdigit() else "30" for a in args]   # fewer cases, same command
    from typer.testing import CliRunner

    from convcli.cli import app
    r = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(app, args)
    assert r.exit_code == 0, r.stderr
    assert "PASSED" in r.stdout
