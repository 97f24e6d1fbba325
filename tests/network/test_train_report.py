"""convcli.network.train_report: the training data records, the optimizer state rule
(against what a real torch optimizer step keeps), and the largest batch under a limit."""

import pytest

from convcli.errors import ConvError
from convcli.network.train_report import (OPTIMIZERS, STATE_RULE, Budget, TrainReport,
                                          TrainRow, check_optimizer, largest_batch,
                                          state_rule)


def test_train_row_adds_and_totals():
    a, b = TrainRow(1, 2, 3, 4), TrainRow(10, 20, 30, 40)
    assert a + b == TrainRow(11, 22, 33, 44) and (a + b).total == 110
    assert TrainRow().total == 0 and TrainRow() + a == a


def test_train_report_parts_total_and_dominant():
    r = TrainReport("float32", None, "adamw", 8, param_bytes=100, buffer_bytes=5,
                    grad_bytes=100, state_bytes=208, activation_bytes=50, input_bytes=7)
    assert r.total_bytes == 470 == sum(r.parts().values())
    assert list(r.parts()) == ["parameters", "buffers", "gradients", "optimizer state",
                               "activations", "input batch"]
    assert r.dominant == "optimizer state"
    assert r.method == "rules" and r.notes == [] and r.budget is None
    tie = TrainReport("float32", None, "sgd", 1, 3, 0, 3, 0, 0, 0)
    assert tie.dominant == "parameters"      # the first of equals


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_check_optimizer_takes_every_name(name):
    assert check_optimizer(name) == name and name in STATE_RULE


@pytest.mark.parametrize("name", ["Adam", "lion", "", "adam "])
def test_check_optimizer_refuses_others_listing_them(name):
    with pytest.raises(ConvError) as e:
        check_optimizer(name)
    assert str(e.value) == (f"--optimizer {name!r}: use one of none, sgd, sgd-momentum, "
                            "adam, adamw")


def _torch_state_bytes(optimizer):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 5, bias=False))
    params = list(model.parameters())
    make = {"sgd": lambda: torch.optim.SGD(params, lr=0.1),
            "sgd-momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
            "adam": lambda: torch.optim.Adam(params),
            "adamw": lambda: torch.optim.AdamW(params)}[optimizer]
    opt = make()
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    state = sum(t.numel() * t.element_size() for s in opt.state.values()
                for t in s.values() if torch.is_tensor(t))
    return sum(p.numel() * p.element_size() for p in params), len(params), state


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "adam", "adamw"])
def test_state_rule_equals_a_real_optimizer_step(optimizer):
    trainable, tensors, truth = _torch_state_bytes(optimizer)
    assert state_rule(trainable, tensors, optimizer) == truth


def test_state_rule_none_keeps_nothing():
    assert state_rule(10 ** 9, 100, "none") == 0


def test_largest_batch_linear():
    assert largest_batch(100, 10, 9) == (10, 100, 109)           # exactly at the limit
    assert largest_batch(99, 10, 9) == (9, 91, 100)
    assert largest_batch(18, 10, 9) == (0, None, 19)             # not even one fits
    assert largest_batch(5, 10, 9) == (0, None, 19)              # fixed alone is over


def test_largest_batch_walks_a_total_that_is_not_linear():
    def total_at(n):                 # a 64-byte rounding per sample, as allocators do
        return 10 + -(-9 * n // 64) * 64
    n, at_n, at_next = largest_batch(1000, 10, 9, total_at)
    assert at_n == total_at(n) <= 1000 < total_at(n + 1) == at_next
    assert all(total_at(m) <= 1000 for m in range(1, n + 1))


@pytest.mark.parametrize("per_sample", [0, -4])
def test_largest_batch_needs_growth(per_sample):
    with pytest.raises(ConvError, match="do not grow with the batch"):
        largest_batch(100, 10, per_sample)


def test_budget_holds_what_it_is_given():
    b = Budget(100, 10, 100, 109, 10, 9, "activations")
    assert (b.limit, b.largest_batch, b.total_at_next, b.dominant) == (100, 10, 109,
                                                                         "activations")
