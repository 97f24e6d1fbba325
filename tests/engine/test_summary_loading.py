"""engine/summary/loading.py: MODEL targets and --args read as documented, the user's
file run as a fresh module (on meta when asked: torch's own device context), and
every way the user's code can fail turned into one line with its exit code."""

from __future__ import annotations

import sys
import textwrap

import pytest

from convcli.engine.summary.loading import (attribute, check_callable_origin, holdings,
                                            import_file, import_module, is_file_target,
                                            parse_args, parse_target, refuse_standard_library,
                                            required_args, user_error)
from convcli.errors import ConvError, EnvironmentProblem

torch = pytest.importorskip("torch")

MODEL = """
import torch.nn as nn
from collections import OrderedDict

class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.fc = nn.Linear(3, width)

def build(depth):
    return Net()

def small():
    return Net(2)

model = Net()
"""


def write(tmp_path, text, name="m.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("target,want", [
    ("models.py:Net", ("models.py", "Net")), ("models.py", ("models.py", None)),
    ("torchvision.models:resnet50", ("torchvision.models", "resnet50")),
    ("pkg.mod:Outer.inner", ("pkg.mod", "Outer.inner")),
    ("C:/x/m.py", ("C:/x/m.py", None)), ("a.py:b.py", ("a.py:b.py", None))])
def test_parse_target(target, want):
    assert parse_target(target) == want


def test_parse_target_refuses_a_name_that_is_not_python():
    with pytest.raises(ConvError, match=r"MODEL: '1bad' is not a Python name"):
        parse_target("m.py:1bad")


def test_is_file_target():
    assert is_file_target("m.py") and is_file_target("dir/m") and not is_file_target("pkg.mod")


@pytest.mark.parametrize("text,want", [(None, ((), {})), ("10", ((10,), {})),
                                       ("(3, 10)", ((3, 10), {})),
                                       ("{'num_classes': 10}", ((), {"num_classes": 10})),
                                       ("'resnet'", (("resnet",), {}))])
def test_parse_args(text, want):
    assert parse_args(text) == want


@pytest.mark.parametrize("text,match", [("open('x')", "is not a Python literal"),
                                        ("{1: 2}", "must be argument names"),
                                        ("1" * 100_001, "is too long")])
def test_parse_args_errors(text, match):
    with pytest.raises(ConvError, match=match):
        parse_args(text)


def test_import_file_on_meta_builds_module_level_models_there(tmp_path):
    path = write(tmp_path, MODEL)
    mod = import_file(path, meta=True)
    assert mod.model.fc.weight.device.type == "meta"
    assert import_file(path, meta=False, suffix="_cpu").model.fc.weight.device.type == "cpu"
    held = holdings(mod)
    assert held.classes == ["Net"] and held.instances == ["model"]
    assert held.functions == ["build", "small"] and held.factories == ["small"]
    assert held.describe() == ("nn.Module classes: Net; module instances: model; "
                               "functions: build, small")
    assert held.models == ["Net", "model"]
    assert attribute(mod, "model.fc", "m.py", held) is mod.model.fc
    with pytest.raises(ConvError, match="m.py has no 'Nett'; it holds nn.Module classes: Net"):
        attribute(mod, "Nett", "m.py", held)


@pytest.mark.parametrize("body,cls,match", [
    ("x = (\n", ConvError, r"running .*bad\.py: line 1: SyntaxError: '\(' was never closed"),
    ("import no_such_module_here\n", EnvironmentProblem, "failed at an import: "
                                                         "ModuleNotFoundError"),
    ("raise SystemExit(3)\n", ConvError, r"called exit\(3\); guard its script part"),
    ("\n\nraise ValueError('boom')\n", ConvError, r"raised ValueError: boom \(line 3\)"),
])
def test_what_the_file_raises_is_one_line(tmp_path, body, cls, match):
    path = write(tmp_path, body, "bad.py")
    with pytest.raises(cls, match=match) as e:
        import_file(path, meta=False)
    assert "\n" not in str(e.value)
    assert not any(name.startswith("_convcli_user_bad") for name in sys.modules)


def test_missing_files_and_directories(tmp_path):
    with pytest.raises(EnvironmentProblem, match="no such file"):
        import_file(str(tmp_path / "none.py"), meta=False)
    with pytest.raises(EnvironmentProblem, match="is a directory"):
        import_file(str(tmp_path), meta=False)


def test_import_module_and_the_standard_library():
    with pytest.raises(ConvError, match="is Python's standard library"):
        refuse_standard_library("antigravity")
    with pytest.raises(ConvError, match="standard library"):
        import_module("os.path")
    with pytest.raises(EnvironmentProblem, match=r"cannot import 'no_such_pkg_x\.m' \(no "
                                                 r"module named 'no_such_pkg_x'\)"):
        import_module("no_such_pkg_x.m")
    assert import_module("torch.nn") is torch.nn


def test_only_models_and_the_packages_own_functions_are_called(tmp_path):
    mod = import_file(write(tmp_path, MODEL), meta=False)
    check_callable_origin(torch.nn.Linear, mod.__name__, "x")        # an nn.Module
    check_callable_origin(mod.build, mod.__name__, "x")              # its own function
    with pytest.raises(ConvError, match=r"is the class collections\.OrderedDict \(defined "
                                        r"elsewhere and imported there\)"):
        check_callable_origin(mod.OrderedDict, mod.__name__, "m.py:OrderedDict")
    with pytest.raises(ConvError, match=r"m\.py:n is a builtins\.int object \(not a class or a function\)"):
        check_callable_origin(3, mod.__name__, "m.py:n")


def test_required_args_and_user_error_pass_through():
    def f(a, b=1, *, c, **kw):
        return a
    assert required_args(f) == ["a", "c"]
    assert required_args(len) == ["obj"]
    e = ConvError("already one line")
    assert user_error(e, "x", None) is e
    assert isinstance(user_error(MemoryError(), "building", None), EnvironmentProblem)
