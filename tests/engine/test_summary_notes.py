"""The note on the CPU fallback names the real failure: the constructor (with the line
of the user's code that failed on meta) or forward() (the module, the op, the line)."""

import pytest

pytest.importorskip("torch")

MODELS = '''
import torch, torch.nn as nn


def widths(n):
    w = torch.arange(n) * 8 + 16
    return w.tolist()


class RegNetish(nn.Module):
    """Widths computed with tensors in __init__ (torchvision's regnet does .tolist())."""

    def __init__(self):
        super().__init__()
        ws = widths(3)
        self.convs = nn.Sequential(*[nn.Conv2d(a, b, 3, padding=1)
                                     for a, b in zip([3] + ws[:-1], ws)])

    def forward(self, x):
        return self.convs(x)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        s = self.conv(x)
        return s, torch.nonzero(s > 0)


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = Head()

    def forward(self, x):
        return self.head(x)
'''


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "notes_models.py"
    path.write_text(MODELS)
    return path


def fallback_note(cli, target):
    r = cli("summary", target, "--input", "1x3x16x16", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert data["path"] == "cpu"
    return data["notes"][0], data["path_reason"]


def test_a_constructor_that_fails_on_meta_is_named_not_forward(cli, models):
    note, reason = fallback_note(cli, f"{models}:RegNetish")
    assert note.startswith("the model's constructor cannot run on the meta device")
    assert "forward()" not in note
    assert "notes_models.py:7 in widths (return w.tolist())" in reason
    assert "Cannot copy out of meta tensor" in reason


def test_a_forward_that_fails_names_the_module_the_op_and_the_line(cli, models):
    note, reason = fallback_note(cli, f"{models}:DataDependent")
    assert note.startswith("forward() cannot run on the meta device")
    assert reason.startswith("in module 'head' (Head) at op aten::nonzero at "
                             "notes_models.py:30 in forward (return s, torch.nonzero(s > 0))")


def test_the_python_api_names_them_too(models):
    import importlib.util

    import convcli
    spec = importlib.util.spec_from_file_location("notes_models", models)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    report = convcli.summarise(mod.DataDependent(), (1, 3, 16, 16))
    assert report.path == "cpu"
    assert "in module 'head' (Head) at op aten::nonzero" in report.path_reason
