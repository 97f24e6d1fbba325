"""mypy is clean on the whole package (pyproject.toml's [tool.mypy] names it), with no
error switched off: a type error planted in any world fails the suite."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT

# one module per world the first configuration left out (cli, views, engine), each
# with a type error appended; mypy reads these instead of the real files
PLANTED = ["convcli/cli/diff_command.py", "convcli/views/plot.py", "convcli/engine/reference.py"]
PLANT = "\n\n_planted_by_test_types: int = 'not an int'\n"


def _mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_is_clean_on_the_package_and_fails_on_a_planted_error(tmp_path):
    """(One test, so that two mypy processes never share the cache at once.)"""
    pytest.importorskip("mypy", reason="mypy comes with the test extra")
    p = _mypy()
    assert p.returncode == 0, p.stdout + p.stderr
    shadows = []
    for i, name in enumerate(PLANTED):
        shadow = tmp_path / f"planted{i}.py"
        shadow.write_text((ROOT / name).read_text() + PLANT)
        shadows += ["--shadow-file", name, str(shadow)]
    p = _mypy(*shadows)
    assert p.returncode == 1, p.stdout + p.stderr
    for name in PLANTED:
        assert re.search(rf"^{re.escape(name)}:\d+: error: .*\[assignment\]", p.stdout,
                         re.M), p.stdout + p.stderr


def test_the_configuration_switches_no_error_off():
    tomllib = pytest.importorskip("tomllib")       # (Python 3.11+)
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert conf["files"] == ["convcli"]
    assert "ignore_errors" not in conf
    for override in conf.get("overrides", []):      # missing stubs only
        assert set(override) == {"module", "ignore_missing_imports"}, override
    blanket = [f"{path.relative_to(ROOT)}:{n}"
               for path in sorted((ROOT / "convcli").rglob("*.py"))
               for n, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"#\s*type:\s*ignore(?!\[)", line)]
    assert not blanket, f"a # type: ignore without an error code: {blanket}"


def test_the_package_ships_its_type_hints():
    assert (ROOT / "convcli" / "py.typed").exists()
    assert 'convcli = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()
