"""Shared test helpers: run the CLI in-process (CliRunner) or as a user would
(a subprocess of `python -m convcli`), with bugs re-raised rather than swallowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]

GOLDEN = ROOT / "tests" / "views" / "golden"

# Unknown exceptions are bugs: command_errors.py re-raises them under this variable.
os.environ["CONVCLI_DEBUG"] = "1"


@pytest.fixture(autouse=True, scope="session")
def _help_cache_in_a_temporary_folder(tmp_path_factory):
    """`convcli --help` run as a process caches Typer's output under XDG_CACHE_HOME:
    the tests' copies go to a folder of their own, never the user's ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


# The fast inner loop is `python -m pytest -m "not slow"` (README, docs/architecture.md).
# A test is slow when it starts processes (the `sh` fixture, run_subprocess, subprocess,
# multiprocessing), or lives in a file that runs whole models, documents or checkers.
SLOW_FILES = {"test_docs.py", "test_ci_integration.py", "test_imports.py", "test_types.py",
              "test_fuzz.py", "test_verify_examples.py", "test_model_examples.py",
              "test_readme.py", "test_summary_fastimport.py"}
_STARTS_PROCESSES = ("run_subprocess(", "subprocess.", "multiprocessing", "mp.spawn",
                     "Popen(", "nbclient")


def _starts_processes(item) -> bool:
    import inspect
    try:
        source = inspect.getsource(item.function)
    except (OSError, TypeError, AttributeError):
        return False
    return any(word in source for word in _STARTS_PROCESSES)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("slow"):
            continue
        if item.path.name in SLOW_FILES or "sh" in getattr(item, "fixturenames", ()) or \
                _starts_processes(item):
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files in tests/views/golden from the "
                          "current output (then review the diff)")


@pytest.fixture
def golden(request):
    """golden("name.txt", text): text equals the golden file (or rewrites it under
    --update-goldens)."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no golden file {path}; create it with --update-goldens"
        assert text == path.read_text(encoding="utf-8"), \
            f"{name} differs; if the change is intended: python -m pytest --update-goldens"

    return check


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli():
    """cli("shape", "4x3x8x8", "-o", "4", "-k", "3") -> Result (in-process, 120 columns)."""
    from convcli.cli import app

    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "CONVCLI_DEBUG": "1"})

    def invoke(*args: str) -> Result:
        r = runner.invoke(app, list(args), catch_exceptions=False)
        return Result(r.exit_code, r.stdout, r.stderr)

    return invoke


def run_subprocess(*args: str, env: dict | None = None, timeout: float = 120) -> Result:
    """`python -m convcli ARGS` in a fresh interpreter, from this checkout."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "NO_COLOR": "1"}
    full_env.pop("CONVCLI_DEBUG", None)
    full_env.update(env or {})
    p = subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True,
                       text=True, env=full_env, timeout=timeout, cwd=ROOT)
    return Result(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def sh():
    return run_subprocess


def read_pty(parent: int) -> bytes:
    """Everything a child wrote to its pseudo-terminal until it closed (60 s at most
    between chunks); the parent end is closed afterwards."""
    import os
    import select
    out = b""
    while select.select([parent], [], [], 60)[0]:
        try:
            chunk = os.read(parent, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(parent)
    return out
