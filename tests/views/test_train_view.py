"""views/train_view.py: `net --train`'s rows and one step's totals at 80 columns; the
bytes drawn are torch's (parameters, AdamW's and SGD's state after a real step, the
activations autograd saved on a real forward), the budget rows as the report says."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console

from convcli.formatting import size
from convcli.views.train_view import train_table, train_totals

torch = pytest.importorskip("torch")

from net_reports import net_report, torch_model  # noqa: E402
from torch_truth import saved_activation_bytes  # noqa: E402

LAYERS = ["Conv2d(3, 8, 3, padding=1)", "BatchNorm2d(8)", "ReLU()", "Conv2d(8, 8, 3)"]
SHAPE = (4, 3, 12, 12)


def render(r, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    c.print(r)
    return c.export_text()


def state_bytes(optimizer: str) -> int:
    m = torch_model(LAYERS)
    opt = {"adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[optimizer](m.parameters(),
                                                                          lr=0.1)
    m(torch.zeros(SHAPE)).sum().backward()
    opt.step()
    return sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values()
               if torch.is_tensor(v))


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_the_totals_are_torchs_bytes(optimizer):
    report = net_report(LAYERS, SHAPE, train=True, optimizer=optimizer)
    m = torch_model(LAYERS)
    params = sum(p.numel() * 4 for p in m.parameters())
    buffers = sum(b.numel() * b.element_size() for b in m.buffers())
    saved = saved_activation_bytes(m, torch.zeros(SHAPE))
    text = render(train_totals(report.train))
    assert f"one training step at batch 4 (float32, {optimizer})" in text
    assert re.search(rf"parameters\s+{re.escape(size(params))}\s*$", text, re.M)
    assert re.search(rf"gradients\s+{re.escape(size(params))}\s*$", text, re.M)
    assert re.search(rf"buffers\s+{re.escape(size(buffers))}\s*$", text, re.M)
    assert re.search(rf"optimizer state\s+{re.escape(size(state_bytes(optimizer)))}", text)
    assert re.search(rf"activations\s+{re.escape(size(saved))}\s*$", text, re.M)
    assert re.search(rf"input batch\s+{re.escape(size(4 * torch.Size(SHAPE).numel()))}", text)
    assert f"total             {size(report.train.total_bytes)}; most is" in text


def test_the_table_has_a_row_per_layer_and_the_totals():
    report = net_report(LAYERS, SHAPE, train=True)
    text = render(train_table(report, "model"))
    assert text.splitlines()[0].strip() == "model"
    m = torch_model(LAYERS)
    opt = torch.optim.AdamW(m.parameters())
    m(torch.zeros(SHAPE)).sum().backward()
    opt.step()
    for layer, module in zip(LAYERS, m):
        line = next(line for line in text.splitlines() if line.strip().startswith(layer))
        ps = list(module.parameters())
        if not ps:
            continue
        pgo = sum(2 * p.numel() * 4 + sum(v.numel() * v.element_size()
                                          for v in opt.state[p].values()) for p in ps)
        assert line.rstrip().endswith(size(pgo)), (line, size(pgo))
    total = next(line for line in text.splitlines() if line.strip().startswith("total"))
    assert "4x8x10x10" in total
    assert max(len(line) for line in text.splitlines()) <= 80


def test_narrow_terminals_get_short_headers_and_their_legend():
    report = net_report(LAYERS, SHAPE, train=True)
    text = render(train_table(report, None), 60)
    assert "p+g+o" in text and "param+grad+opt" not in text
    assert "p+g+o: parameter, gradient and optimizer-state bytes" in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= 60


def test_budget_and_measured_rows():
    from convcli.network.train_report import Budget
    report = net_report(LAYERS, SHAPE, train=True)
    t = report.train
    fits = replace(t, budget=Budget(limit=2 ** 20, largest_batch=12,
                                         total_at_largest=1_000_000, total_at_next=1_100_000,
                                         fixed_bytes=50_000, per_sample_bytes=80_000,
                                         dominant="activations"),
                   measured={"saved_activation_bytes": t.activation_bytes // 2, "device": "cpu"})
    text = " ".join(render(train_totals(fits)).split())
    assert "budget 1.0 MiB largest batch 12 (0.954 MiB; 13 needs 1.049 MiB); most is " \
           "activations" in text
    assert "plus 48.8 KiB whatever the batch" in text
    assert "(+100.00% estimate vs measured)" in text
    none = replace(fits, budget=replace(fits.budget, largest_batch=0))
    assert "not even a batch of 1 fits: it needs 1.049 MiB" in " ".join(
        render(train_totals(none)).split())
