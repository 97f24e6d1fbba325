"""summary calls NAME only if it can be a model (issue 25): an nn.Module subclass or
instance, or a function or class defined in the named file or package. Everything else
is refused before it is called, saying what was found; the standard library is refused
before it is imported (importing `antigravity` opens a browser)."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("torch")

FILE = '''
import torch.nn as nn
from os import system
from functools import partial
from subprocess import Popen


class Net(nn.Module):
    def __init__(self, n=4):
        super().__init__()
        self.fc = nn.Linear(n, 2)

    def forward(self, x):
        return self.fc(x)


def build(n=4):
    return Net(n)


part = partial(Net, 4)
'''


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(FILE, encoding="utf-8")
    return path


@pytest.mark.parametrize("target", ["os:system", "subprocess:Popen", "builtins:exec",
                                    "antigravity:geohash", "shutil:rmtree",
                                    "json.decoder:JSONDecoder", "posix:system"])
def test_the_standard_library_is_refused_before_it_is_imported(cli, tmp_path, target):
    marker = tmp_path / "ran"
    sys.modules.pop("antigravity", None)
    r = cli("summary", target, "--input", "1x4", "--args", repr((f"touch {marker}",)))
    assert r.exit_code == 2, r.stderr
    assert "standard library" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not marker.exists()
    assert "antigravity" not in sys.modules       # not even imported


@pytest.mark.parametrize("name, found", [
    ("system", "the function posix.system (defined elsewhere and imported there)"),
    ("Popen", "the class subprocess.Popen (defined elsewhere and imported there)"),
    ("part", "a functools.partial object (not a class or a function)"),
])
def test_what_a_file_imported_is_refused_before_it_is_called(cli, models, tmp_path, name,
                                                             found):
    marker = tmp_path / "ran"
    r = cli("summary", f"{models}:{name}", "--input", "1x4", "--args",
            repr((f"touch {marker}",)))
    assert r.exit_code == 2
    assert f"{models}:{name} is {found}" in r.stderr
    assert not marker.exists()


@pytest.mark.parametrize("target, args", [("Net", None), ("build", "(4,)"),
                                          ("Net", "{'n': 4}")])
def test_the_files_own_classes_and_functions_are_called(cli, models, target, args):
    extra = ["--args", args] if args else []
    r = cli("summary", f"{models}:{target}", "--input", "1x4", "--json", *extra)
    assert r.exit_code == 0, r.stderr
    assert r.json()["total_params"] == 4 * 2 + 2     # Linear(4, 2)


def test_an_nn_module_subclass_from_a_package_is_still_a_model(cli):
    r = cli("summary", "torch.nn:Linear", "--input", "1x4", "--args", "(4, 3)", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["total_params"] == 4 * 3 + 3
