"""engine/summary/freeze.py: --freeze/--unfreeze set requires_grad as
p.requires_grad_(False) would, prefixes cover whole module names, every --freeze
applies before every --unfreeze, and a prefix naming nothing is one ConvError naming
the closest modules."""

from __future__ import annotations

import pytest

from convcli.engine.summary.freeze import frozen_source, set_frozen
from convcli.engine.summary.model_sources import Source
from convcli.errors import ConvError

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.fc = nn.Linear(4, 2)
        self.fc2 = nn.Linear(2, 2)


def trainable(m) -> set[str]:
    return {n for n, p in m.named_parameters() if p.requires_grad}


def test_a_prefix_covers_its_module_not_a_longer_name():
    m = Net()
    set_frozen(m, ["fc"], [])
    assert trainable(m) == {n for n, _ in Net().named_parameters()} - {"fc.weight", "fc.bias"}


def test_freeze_all_then_unfreeze_the_head():
    m = Net()
    set_frozen(m, ["all"], ["fc2", "features.1"])
    assert trainable(m) == {"fc2.weight", "fc2.bias", "features.1.weight", "features.1.bias"}
    frozen = sum(p.numel() for p in m.parameters() if not p.requires_grad)
    ref = Net()
    for name in ("features.0", "fc"):
        ref.get_submodule(name).requires_grad_(False)
    assert frozen == sum(p.numel() for p in ref.parameters() if not p.requires_grad)


def test_dots_and_spaces_around_a_prefix_are_ignored():
    m = Net()
    set_frozen(m, [" features.0. "], [])
    assert "features.0.weight" not in trainable(m)


@pytest.mark.parametrize("option,freeze,unfreeze", [("--freeze", ["fc3"], []),
                                                    ("--unfreeze", [], ["featurs"])])
def test_a_prefix_naming_nothing_names_the_closest(option, freeze, unfreeze):
    with pytest.raises(ConvError) as e:
        set_frozen(Net(), freeze, unfreeze)
    text = str(e.value)
    assert text.startswith(f"{option} '{(freeze + unfreeze)[0]}' names no module with parameters")
    assert "did you mean" in text and "\n" not in text


def test_without_a_close_name_the_top_level_modules_are_listed():
    with pytest.raises(ConvError, match="its top-level modules with parameters: fc, fc2, "
                                        "features"):
        set_frozen(Net(), ["zzzzzz"], [])


def test_frozen_source_wraps_both_builds_and_says_so():
    src = Source("Net()", Net, Net, note="read from a file")
    assert frozen_source(src, [], []) is src
    out = frozen_source(src, ["features"], ["features.1"])
    assert out.note == "read from a file; trainable as set by --freeze features --unfreeze " \
                       "features.1"
    for build in (out.meta, out.cpu):
        assert trainable(build()) == {"features.1.weight", "features.1.bias", "fc.weight",
                                      "fc.bias", "fc2.weight", "fc2.bias"}
