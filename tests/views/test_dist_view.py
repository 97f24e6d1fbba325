"""views/dist_view.py: `summary --train --gpus/--strategy`'s tables at 80 columns: the
per-GPU bytes (parameters as torch holds them), uneven ranks, the fewest GPUs under a
budget, and measured ranks beside the estimate."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from rich.console import Console

from convcli.formatting import size
from convcli.views.dist_view import NAMES, _gib, _short, dist_renderables

torch = pytest.importorskip("torch")

from net_reports import dist_report  # noqa: E402


def render(parts, width: int = 80) -> str:
    c = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for p in parts:
        c.print(p)
    return c.export_text()


@pytest.fixture(scope="module")
def ddp():
    return dist_report(2, "ddp")


def test_per_gpu_table_is_titled_and_holds_torchs_parameter_bytes(ddp):
    report, model, _ = ddp
    d = report.train.dist
    text = render(dist_renderables(d))
    params = sum(p.numel() * 4 for p in model.parameters())
    assert text.splitlines()[0] == "per GPU: DDP on 2 GPUs (rank 0)"
    assert re.search(rf"parameters\s+{re.escape(size(params))}\s*$", text, re.M)
    assert re.search(rf"gradients\s+{re.escape(size(params))}\s*$", text, re.M)
    assert re.search(rf"buckets\s+{re.escape(size(d.per_gpu.bucket_bytes))}\s*$", text, re.M)
    assert re.search(rf"total\s+{re.escape(size(d.per_gpu.total_bytes))}; most is ", text)
    assert len(dist_renderables(d)) == 1            # no budget, nothing measured
    assert max(len(line) for line in text.splitlines()) <= 80


def test_uneven_shards_say_how_low_the_other_ranks_go():
    report, _, _ = dist_report(2, "fsdp", model="uneven")
    d = report.train.dist
    totals = sorted({r.total_bytes for r in d.per_rank})
    text = " ".join(render(dist_renderables(d)).split())
    assert text.startswith("per GPU: FSDP2 fully_shard on 2 GPUs (rank 0)")
    assert len(totals) > 1           # the padding: ranks differ in optimizer state
    assert f"other ranks down to {totals[0]:,} B (rank 0: {totals[-1]:,} B; uneven " \
               "shards)" in text


def test_the_fewest_gpus_under_a_budget():
    report, _, _ = dist_report(None, "zero2", budget=2 ** 26)
    d = report.train.dist
    parts = dist_renderables(d)
    assert len(parts) == 2
    text = render(parts)
    assert "the fewest GPUs for this per-GPU batch, each under 64.0 MiB" in text
    for f in d.fewest:
        row = next(line for line in text.splitlines()
                   if line.strip().startswith(NAMES[f.strategy] + " "))
        assert row.split()[-3:] == [f"{f.gpus:,}", *_gib(f.total_bytes).split()]
    assert text.splitlines()[0] == "per GPU: ZeRO-2 on 1 GPU"


def test_measured_ranks_sit_under_their_estimate(ddp):
    report, _, _ = ddp
    d = report.train.dist
    est = d.per_rank[0]
    measured = [{"param_bytes": est.param_bytes, "grad_bytes": est.grad_bytes,
                 "optimizer_state_bytes": est.optimizer_state_bytes,
                 "saved_activation_bytes": 1000, "bucket_bytes": est.bucket_bytes,
                 "device": "cpu, gloo"}] * 2
    text = render(dist_renderables(replace(d, measured=measured)))
    assert "measured: one step on 2 processes (cpu, gloo)" in text
    for rank in (0, 1):
        assert re.search(rf"^\s+{rank} estimate\s+{re.escape(size(est.param_bytes))}", text, re.M)
        assert re.search(rf"^\s+{rank} measured\s+{re.escape(size(est.param_bytes))}.*"
                         rf"{re.escape(size(1000))}\s*$", text, re.M)
    assert f"DDP buckets: {size(est.bucket_bytes)} measured on rank 0" in " ".join(text.split())
    assert "peak" not in text.split("measured: one step")[1].splitlines()[2]


def test_small_helpers():
    assert _gib(None) == "-"
    assert _gib(3 * 2 ** 30) == "3.000 GiB" and _gib(2 ** 20) == "1.000 MiB"
    assert _short(["a", "b"]) == "a, b"
    assert _short(["a", "b", "c", "d"]) == "a, ... (4 modules)"
