"""shape, params, net, show and solve stay pure Python: a
fresh interpreter runs each with torch, numpy and matplotlib made unimportable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
for blocked in ("torch", "numpy", "matplotlib"):
    sys.modules[blocked] = None     # as if not installed: importing it raises ImportError
from convcli.cli import app
try:
    app(sys.argv[1:], prog_name="convcli")
except SystemExit as e:
    code = e.code
heavy = [m for m in ("torch", "numpy", "matplotlib") if sys.modules.get(m) is not None]
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""

COMMANDS = [
    "show 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t",
    "solve --input-size 32x24 --output-size 16x12",
    "solve --transposed --input-size 32 -k 3 -s 2 -p 1",
    "params -o 32 -k 4 -s 2 -p 1 -g 4 -t 1x16x8x8 --conventions",
    "shape 1x3x8x8 -o 8 -k 3 -s 2 --padding SAME --padding-from tf",
    "shape 4x3x64x64 -o 16 -k 3 --explain --json",
    "params -i 64 -o 128 -k 3 -g 4 --compare-groups",
    "net 1x3x32x32 Conv2d(3,16,3,padding=1),ReLU(),MaxPool2d(2),Flatten(),Linear(4096,10)",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_runs_without_torch_numpy_or_matplotlib_installed(command):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    p = subprocess.run([sys.executable, "-c", PROBE, *command.split()], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=60)
    report = json.loads(p.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}, p.stderr


def test_numpy_is_not_a_core_dependency():
    """shape, params, net, show and solve install without numpy (it comes with the
    torch extra, for run and verify)."""
    tomllib = pytest.importorskip("tomllib")      # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("numpy") for d in project["dependencies"])
    assert any(d.startswith("numpy") for d in project["optional-dependencies"]["torch"])
