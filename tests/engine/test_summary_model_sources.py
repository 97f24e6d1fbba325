"""engine/summary/model_sources.py: MODEL -> a Source that builds the model on meta and
again on the CPU: a class, a function, an instance, a package's attribute; --args
passed as given; constructor failures name the call and how to fix it. The models it
builds are torch's (their parameters and devices)."""

from __future__ import annotations

import textwrap

import pytest

from convcli.engine.summary.model_sources import Source, construct, resolve
from convcli.engine.summary.loading import Holdings
from convcli.errors import ConvError

torch = pytest.importorskip("torch")

FILE = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, classes, width=4):
        super().__init__()
        self.fc = nn.Linear(3, width)
        self.out = nn.Linear(width, classes)

def tiny():
    return Net(2, width=2)

def broken():
    raise KeyError("depth")

def not_a_model():
    return 3

table = torch.arange(4.0)          # needs real values: meta cannot .tolist() it
weights = table.tolist()
"""

ONE = """
import torch.nn as nn
model = nn.Linear(2, 2)
"""


@pytest.fixture
def file(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent(FILE))
    return str(path)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_a_class_with_args_builds_on_meta_and_on_the_cpu(file):
    src = resolve(f"{file}:Net", (10,), {"width": 8})
    assert isinstance(src, Source) and src.label == "Net(10, width=8)"
    with torch.device("meta"):
        meta = src.meta()
    cpu = src.cpu()
    assert meta.fc.weight.device.type == "meta" and cpu.fc.weight.device.type == "cpu"
    ref = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Linear(8, 10))
    assert n_params(meta) == n_params(cpu) == n_params(ref)


def test_a_top_level_that_needs_real_values_runs_on_the_cpu_and_says_so(file):
    src = resolve(f"{file}:tiny")
    assert "top level cannot run on the meta device" in src.note
    assert n_params(src.cpu()) == 2 * 3 + 2 + 2 * 2 + 2


def test_one_model_in_the_file_needs_no_name(tmp_path):
    path = tmp_path / "one.py"
    path.write_text(ONE)
    src = resolve(str(path))
    assert src.label == "model (a Linear instance)"
    assert n_params(src.meta()) == 6


def test_several_models_need_a_name(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(ONE + "other = nn.Conv1d(1, 1, 1)\n")
    with pytest.raises(ConvError, match=r"say which model to summarise as .*two\.py:NAME; "
                                        "it holds module instances: model, other"):
        resolve(str(path))


def test_a_missing_argument_says_how_to_pass_it(file):
    with pytest.raises(ConvError) as e:
        resolve(f"{file}:Net").meta()
    text = str(e.value)
    assert "Net() failed: TypeError:" in text
    assert "has a function that builds a model without arguments: summarise" in text
    assert "--args \"{'classes': ...}\"" in text


def test_an_instance_takes_no_args(tmp_path):
    path = tmp_path / "one.py"
    path.write_text(ONE)
    with pytest.raises(ConvError, match="is a module instance, already built; drop --args"):
        resolve(f"{path}:model", (1,))


def test_constructor_errors_and_non_models(file):
    with pytest.raises(ConvError, match=r"broken\(\) failed: KeyError: 'depth' \(line \d+\)"):
        resolve(f"{file}:broken").meta()
    with pytest.raises(ConvError, match=r"not_a_model\(\) returned an int, not an nn\.Module"):
        resolve(f"{file}:not_a_model").meta()
    with pytest.raises(ConvError, match="is a list, not an nn.Module class"):
        resolve(f"{file}:weights")


def test_a_package_attribute_and_targets_that_are_neither():
    src = resolve("torch.nn:Linear", (4, 2))
    assert src.label == "Linear(4, 2)" and n_params(src.cpu()) == 10
    with pytest.raises(ConvError, match="is neither a .py file nor package.module:NAME"):
        resolve("torch.nn")


def test_construct_returns_the_model():
    m = construct(torch.nn.Linear, (2, 3), {}, "Linear(2, 3)", "x", Holdings(), "x")
    assert isinstance(m, torch.nn.Linear) and m.weight.shape == (3, 2)
