"""views/dist_data.py: `summary --train --gpus/--strategy`'s keys inside ``train``;
each rank's parameter bytes and one GPU's AdamW state are torch's (torch.chunk's
first shard on dim 0, as FSDP2 shards, padded; the state after a real AdamW step)."""

from __future__ import annotations

import json
import math

import pytest

from convcli.views.dist_data import dist_dict, gpu_dict

torch = pytest.importorskip("torch")

from net_reports import dist_report  # noqa: E402

GPU_KEYS = {"param_bytes", "grad_bytes", "optimizer_state_bytes", "activation_bytes",
            "buffer_bytes", "input_bytes", "bucket_bytes", "gathered_bytes",
            "recompute_bytes", "total_bytes", "host_bytes"}


def test_without_gpus_or_strategy_the_keys_are_none():
    assert dist_dict(None) == {"gpus": None, "strategy": None, "per_gpu": None}


@pytest.fixture(scope="module")
def fsdp2():
    return dist_report(2, "fsdp", model="uneven")


def test_fsdp_rank0_holds_torchs_first_shard(fsdp2):
    report, model, _ = fsdp2
    d = dist_dict(report.train.dist)
    json.dumps(d, allow_nan=False)
    assert d["gpus"] == 2 and d["strategy"] == "fsdp"
    assert set(d["per_gpu"]) == GPU_KEYS and len(d["per_rank"]) == 2
    assert d["per_gpu"] == d["per_rank"][0] == gpu_dict(report.train.dist.per_gpu)
    # FSDP2 shards dim 0 as torch.chunk does, each rank's storage padded to rank 0's
    first = sum(torch.chunk(p.detach(), 2, dim=0)[0].numel() * 4 for p in model.parameters())
    padded = sum(math.ceil(p.shape[0] / 2) * p[0].numel() * 4 for p in model.parameters())
    assert first == padded
    for rank in (0, 1):
        assert d["per_rank"][rank]["param_bytes"] == padded
        assert d["per_rank"][rank]["grad_bytes"] == padded
    assert d["shard_units"] == list(report.train.dist.shard_units)
    assert d["checkpointed"] == [] and d["offload"] is None and d["buckets"] == []
    assert d["per_gpu_budget"] is None and d["fewest_gpus"] is None
    assert d["measured_per_rank"] is None
    assert d["dist_notes"] == list(report.train.dist.notes)
    pg = d["per_gpu"]
    assert pg["total_bytes"] == sum(v for k, v in pg.items()
                                    if k not in ("total_bytes", "host_bytes"))


def test_one_gpu_is_the_whole_model_and_adamws_state():
    report, model, shape = dist_report(None, "zero3", budget=2 ** 26)
    d = dist_dict(report.train.dist)
    params = sum(p.numel() * 4 for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters())
    model(torch.zeros(shape)).sum().backward()
    opt.step()
    state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values())
    assert d["gpus"] == 1
    assert d["per_gpu"]["param_bytes"] == d["per_gpu"]["grad_bytes"] == params
    assert d["per_gpu"]["optimizer_state_bytes"] == state
    assert d["per_gpu"]["input_bytes"] == 4 * torch.Size(shape).numel()
    fewest = d["fewest_gpus"]
    assert [f["strategy"] for f in fewest] == ["ddp", "zero1", "zero2", "zero3", "fsdp"]
    assert all(f["gpus"] == 1 and f["total_bytes"] <= 2 ** 26 for f in fewest)


def test_ddp_lists_its_buckets():
    report, model, _ = dist_report(2, "ddp")
    d = dist_dict(report.train.dist)
    params = sum(p.numel() * 4 for p in model.parameters())
    assert d["per_gpu"]["param_bytes"] == params            # DDP replicates
    assert sum(d["buckets"]) == d["per_gpu"]["bucket_bytes"] == params
