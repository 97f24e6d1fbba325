"""show, solve, params --conventions and shape --padding-from stay pure Python: a
fresh interpreter runs each and reports whether torch, numpy or matplotlib got loaded."""

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
from convcli.cli import app
try:
    app(sys.argv[1:], prog_name="convcli")
except SystemExit as e:
    code = e.code
heavy = [m for m in ("torch", "numpy", "matplotlib") if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""

COMMANDS = [
    "show 1x16x8x8 -o 32 -k 4 -s 2 -p 1 -g 4 -t",
    "solve --input 32x24 --output 16x12",
    "solve --transposed --input 32 -k 3 -s 2 -p 1",
    "params -o 32 -k 4 -s 2 -p 1 -g 4 -t --input 1x16x8x8 --conventions",
    "shape 1x3x8x8 -o 8 -k 3 -s 2 --padding SAME --padding-from tf",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_no_torch_numpy_or_matplotlib(command):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    p = subprocess.run([sys.executable, "-c", PROBE, *command.split()], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=60)
    report = json.loads(p.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}, p.stderr
