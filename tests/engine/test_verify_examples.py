"""examples/worked and examples/ci never go stale: every convcli command in them runs
here and the numbers people learn from are checked."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
WORKED = ROOT / "examples" / "worked"
CI = ROOT / "examples" / "ci"

# script -> strings its output must contain, in this order
KEY_NUMBERS = {
    "grouped_weight_shape.sh": [
        "weight                      [16, 8, 1, 1]", "144 (128 weight + 16 bias)",
        "weight[0:8]   [8, 8, 1, 1]", "weight[8:16]   [8, 8, 1, 1]",
        "272 (256 weight + 16 bias)",
        "Conv2d(16, 16, 1, groups=2) on 8x16x32x32", "grouped conv == split-and-concat",
        "PASSED"],
    "groups_batching.sh": [
        "[4, 12, 62, 62]", "[12, 3, 3, 3]", "336 (324 weight + 12 bias)", "4,981,824",
        "[1, 12, 62, 62]", "336 (324 weight + 12 bias)", "1,245,456",
        "3..5             6..11", "Conv2d(6, 12, 3, groups=2) on 4x6x64x64", "PASSED"],
    "depthwise_separable.sh": [
        "18,496 (18,432 weight + 64 bias)", "depthwise-separable    2,432", "86.9%",
        "320 dw + 2,112 pw 1x1", "[1, 32, 56, 56]", "320 (288 weight + 32 bias)",
        "[1, 64, 56, 56]", "2,112 (2,048 weight + 64 bias)",
        "dw+pw block: shape, params, MACs       1             0     pass", "PASSED",
        "depthwise == per-channel convs ", "PASSED"],
    "stride_padding.sh": [
        "[1, 1, 5, 5]", "[1, 1, 7, 7]", "[1, 1, 3, 3]", "[1, 1, 4, 4]", "[1, 1, 3, 3]",
        "the last 1 padded position(s) are never covered", "[1, 1, 7, 7]",
        "'same' pads 1 before and 2 after", "[1, 1, 8, 8]", "PASSED", "PASSED", "PASSED"],
}


def convcli_lines(script: Path) -> list[list[str]]:
    """The argument lists of every `$CONVCLI ...` line of a script."""
    return [shlex.split(line)[1:] for line in script.read_text().splitlines()
            if line.startswith("$CONVCLI ")]


def assert_in_order(text: str, expected: list[str]) -> None:
    pos = 0
    for s in expected:
        found = text.find(s, pos)
        assert found >= 0, f"{s!r} missing after position {pos}:\n{text[pos:pos + 2000]}"
        pos = found + len(s)


def test_every_worked_example_is_checked():
    assert sorted(p.name for p in WORKED.glob("*.sh")) == sorted(KEY_NUMBERS)


@pytest.mark.parametrize("name", sorted(KEY_NUMBERS))
def test_worked_example(name, monkeypatch):
    """Runs the script's convcli lines in one process (torch imported once) at 80
    columns, exactly as written, and checks the numbers."""
    from typer.testing import CliRunner

    from convcli.cli import app

    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
    out = []
    for args in convcli_lines(WORKED / name):
        r = runner.invoke(app, args, catch_exceptions=False)
        assert r.exit_code == 0, (args, r.stderr)
        out.append(r.stdout)
    assert_in_order("".join(out), KEY_NUMBERS[name])


def test_a_worked_script_runs_as_a_shell_script():
    env = {**os.environ, "CONVCLI": "python -m convcli", "PYTHONPATH": str(ROOT),
           "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    p = subprocess.run(["bash", str(WORKED / "grouped_weight_shape.sh")], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert_in_order(p.stdout, ["# 1.", *KEY_NUMBERS["grouped_weight_shape.sh"][:2], "# 3.",
                               "PASSED"])


def _ci_commands() -> list[str]:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((CI / "convcli-verify.yml").read_text())
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").replace("\n", "\n").splitlines():
                commands.append(line)
    # folded scalars (>-) arrive as one line; literal ones line by line
    hooks = yaml.safe_load((CI / "pre-commit-config.yaml").read_text())
    commands += [h["entry"] for repo in hooks["repos"] for h in repo["hooks"]]
    return [c.strip() for c in commands if c.strip().startswith("convcli verify")]


def test_ci_examples_run(tmp_path):
    """Every `convcli verify` line of the workflow and the pre-commit hook runs and
    passes (GitHub expressions filled in, --cases lowered to keep the test quick)."""
    from typer.testing import CliRunner

    from convcli.cli import app

    commands = _ci_commands()
    assert len(commands) == 4 and any("--junit" in c for c in commands)
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
    for command in commands:
        command = command.replace("${{ github.run_number }}", "12").replace(
            "${{ matrix.dtype }}", "float64")
        command = re.sub(r"--cases \d+", "--cases 30", command)
        args = shlex.split(command)[1:]
        args = [str(tmp_path / a) if a.startswith("reports/") else a for a in args]
        r = runner.invoke(app, args, catch_exceptions=False)
        assert r.exit_code == 0, (command, r.stderr)
        assert "PASSED" in r.stdout
    assert (tmp_path / "reports" / "convcli-verify-float64.xml").exists()


def test_pre_commit_hook_is_a_local_system_hook():
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((CI / "pre-commit-config.yaml").read_text())
    (hook,) = hooks["repos"][0]["hooks"]
    assert hooks["repos"][0]["repo"] == "local"
    assert hook["language"] == "system" and hook["pass_filenames"] is False
