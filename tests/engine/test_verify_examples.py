"""examples/worked and examples/ci never go stale: every convcli command in them runs
here and the numbers people learn from are checked."""

from __future__ import annotations

import os
import shlex
import sys
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
WORKED = ROOT / "examples" / "worked"

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
    env = {**os.environ, "CONVCLI": f"{shlex.quote(sys.executable)} -m convcli",
           "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("CONVCLI_DEBUG", None)
    p = subprocess.run(["bash", str(WORKED / "grouped_weight_shape.sh")], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert_in_order(p.stdout, ["# 1.", *KEY_NUMBERS["grouped_weight_shape.sh"][:2], "# 3.",
                               "PASSED"])
