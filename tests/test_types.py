"""mypy is clean on the two pure worlds (and the base modules they use): the
configuration in pyproject.toml ([tool.mypy]) names the files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


def test_mypy_is_clean_on_the_pure_worlds():
    pytest.importorskip("mypy", reason="mypy comes with the test extra")
    p = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_package_ships_its_type_hints():
    assert (ROOT / "convcli" / "py.typed").exists()
    assert 'convcli = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()
