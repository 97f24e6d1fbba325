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
              "configs": "-i 16 -o 16 -k 1 -g 2 8x16x32x32\n\n"
                         "-i 4 -o 8 -k 3 -p 1 2x4x9x9\n"}
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


def _convcli(args: list[str], tmp_path):
    """`convcli ARGS` as a hook runs it: a process from the repository root."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "convcli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_repository_declares_its_pre_commit_hooks():
    """.pre-commit-hooks.yaml: convcli-net is torch-free (language: python, convcli
    alone), convcli-verify runs the torch you have (language: system)."""
    yaml = pytest.importorskip("yaml")
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"convcli-net", "convcli-verify"}
    net, verify = hooks["convcli-net"], hooks["convcli-verify"]
    assert net["language"] == "python" and net["entry"] == "convcli net"
    assert net["pass_filenames"] is False and "txt" in net["files"]
    assert verify["language"] == "system" and verify["pass_filenames"] is False
    assert verify["entry"].startswith("convcli verify")


def test_the_net_hook_passes_a_list_that_fits_and_fails_one_that_does_not(tmp_path):
    """The hook's entry with a user's args, as pre-commit runs it."""
    yaml = pytest.importorskip("yaml")
    (net,) = [h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
              if h["id"] == "convcli-net"]
    entry = net["entry"].split()[1:]
    good = _convcli(entry + ["1x3x32x32", "--file", "examples/models/cifar_cnn.txt"],
                    tmp_path)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text((ROOT / "examples" / "models" / "cifar_cnn.txt").read_text()
                   .replace("Linear(64 * 4 * 4,", "Linear(1000,"))
    p = _convcli(entry + ["1x3x32x32", "--file", str(bad)], tmp_path)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("Error:") and "Linear(1024, 500)" in p.stderr


def test_the_example_pre_commit_hooks_are_local_system_hooks_that_pass(tmp_path):
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / "examples" / "ci" / "pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["repo"] == "local"
    for hook in hooks["repos"][0]["hooks"]:
        assert hook["language"] == "system" and hook["pass_filenames"] is False
        args = hook["entry"].split()[1:]
        args = ["30" if a.isdigit() else a for a in args]   # fewer cases, same command
        p = _convcli(args, tmp_path)
        assert p.returncode == 0, (hook["id"], p.stderr)
