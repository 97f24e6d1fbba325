"""`summary --train --gpus/--strategy` as --json keys inside ``train``: ``gpus``,
``strategy``, ``per_gpu`` (rank 0), ``per_rank``, DDP's ``buckets``, ``budget`` per GPU,
``fewest_gpus`` and ``measured`` (one dict per rank). No rich here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcli.network.sharding import DistReport, PerGpu


def gpu_dict(g: PerGpu) -> dict:
    return {"param_bytes": g.param_bytes, "grad_bytes": g.grad_bytes,
            "optimizer_state_bytes": g.optimizer_state_bytes,
            "activation_bytes": g.activation_bytes, "buffer_bytes": g.buffer_bytes,
            "input_bytes": g.input_bytes, "bucket_bytes": g.bucket_bytes,
            "gathered_bytes": g.gathered_bytes, "recompute_bytes": g.recompute_bytes,
            "total_bytes": g.total_bytes, "host_bytes": g.host_bytes}


def dist_dict(d: DistReport | None) -> dict:
    """The keys merged into ``train`` (all None without --gpus/--strategy)."""
    if d is None:
        return {"gpus": None, "strategy": None, "per_gpu": None}
    b = d.budget
    return {
        "gpus": d.gpus, "strategy": d.strategy, "per_gpu": gpu_dict(d.per_gpu),
        "per_rank": [gpu_dict(g) for g in d.per_rank], "shard_units": list(d.shard_units),
        "checkpointed": list(d.checkpointed), "offload": d.offload,
        "buckets": list(d.buckets), "dist_notes": list(d.notes),
        "per_gpu_budget": None if b is None else {
            "limit_bytes": b.limit, "largest_batch": b.largest_batch,
            "total_at_largest_bytes": b.total_at_largest,
            "total_at_next_bytes": b.total_at_next, "fixed_bytes": b.fixed_bytes,
            "per_sample_bytes": b.per_sample_bytes, "dominant": b.dominant},
        "fewest_gpus": [{"strategy": f.strategy, "gpus": f.gpus or None,
                         "total_bytes": f.total_bytes} for f in d.fewest] or None,
        "measured_per_rank": d.measured,
    }
