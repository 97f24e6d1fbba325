"""engine/summary/optim.py: the optimizer state per parameter is what torch's own
optimizers allocate in one real step (Adam's 0-d step tensors and both moments, SGD's
momentum buffer, nothing for plain SGD); frozen parameters get none; the rule for meta
parameters agrees with torch where torch can be asked."""

from __future__ import annotations

import pytest

from convcli.engine.summary.optim import make_optimizer, state_by_param

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))


def real_state(name: str, m) -> dict[str, int]:
    """One real step of torch's optimizer on a real gradient."""
    params = [p for p in m.parameters() if p.requires_grad]
    opt = {"adam": lambda: torch.optim.Adam(params), "adamw": lambda: torch.optim.AdamW(params),
           "sgd": lambda: torch.optim.SGD(params, lr=0.1),
           "sgd-momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9)}[name]()
    m(torch.randn(2, 3, 3, 3)).sum().backward()
    opt.step()
    names = {id(p): n for n, p in m.named_parameters()}
    return {names[id(p)]: sum(v.numel() * v.element_size() for v in opt.state.get(p, {}).values()
                              if torch.is_tensor(v)) for p in params}


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "sgd-momentum"])
def test_state_per_parameter_is_torchs(name):
    assert state_by_param(model(), name, fake=True) == real_state(name, model())


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "sgd-momentum"])
def test_the_rule_for_meta_parameters_agrees_with_torch(name):
    with torch.device("meta"):
        m = model()
    assert state_by_param(m, name, fake=False) == real_state(name, model())


def test_frozen_parameters_get_no_state_and_grads_are_cleared():
    m = model()
    m[0].requires_grad_(False)
    got = state_by_param(m, "adamw", fake=True)
    assert not any(k.startswith("0.") for k in got)
    assert got == real_state("adamw", _frozen())
    assert all(p.grad is None for p in m.parameters())


def _frozen():
    m = model()
    m[0].requires_grad_(False)
    return m


def test_no_optimizer_or_no_trainable_parameter_is_nothing():
    assert state_by_param(model(), None, fake=True) == {}
    assert state_by_param(model(), "none", fake=True) == {}
    assert state_by_param(model().requires_grad_(False), "adam", fake=True) == {}
    assert state_by_param(nn.ReLU(), "adam", fake=True) == {}


def test_make_optimizer_names():
    p = [nn.Parameter(torch.zeros(2))]
    assert isinstance(make_optimizer("adamw", p), torch.optim.AdamW)
    sgd = make_optimizer("sgd-momentum", p)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    assert make_optimizer("lion", p) is None
