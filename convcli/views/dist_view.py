"""`summary --train --gpus/--strategy`: per-GPU bytes of one step, the per-GPU budget,
the fewest GPUs per strategy, and the measured ranks beside the estimate, as tables
(the JSON keys are in dist_data.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group

from convcli.formatting import size
from convcli.views.console import table
from convcli.views.fit_width import Prose, below, titled

if TYPE_CHECKING:
    from convcli.network.sharding import DistReport, PerGpu

NAMES = {"none": "one GPU", "ddp": "DDP", "zero1": "ZeRO-1", "zero2": "ZeRO-2",
         "zero3": "ZeRO-3", "fsdp": "FSDP2 fully_shard"}


def dist_renderables(d: DistReport) -> list:
    out = [_per_gpu(d)]
    if d.fewest:
        out.append(_fewest(d))
    if d.measured:
        out.append(_measured(d))
    return out


def _per_gpu(d: DistReport) -> Group:
    g = d.per_gpu
    t = table(None, "", "bytes", show_header=False)
    t.columns[0].no_wrap = True
    t.columns[1].justify = "left"
    for name, value in g.parts().items():
        if value or name in ("parameters", "gradients", "optimizer state", "activations"):
            t.add_row(name, size(value))
    t.add_row("total", Prose.parts([f"{size(g.total_bytes)};", f"most is {_most(g)}"]),
              style="bold")
    if g.host_bytes:
        t.add_row("host memory", Prose.parts([size(g.host_bytes), f"(--offload {d.offload})"]))
    totals = sorted({r.total_bytes for r in d.per_rank})
    if len(totals) > 1:
        t.add_row("other ranks", Prose.parts(["down to", f"{totals[0]:,} B",
                                              f"(rank 0: {totals[-1]:,} B; uneven shards)"]))
    if d.budget is not None:
        b = d.budget
        t.add_row(f"budget {size(b.limit)}", Prose.parts(
            [f"largest batch per GPU {b.largest_batch:,}" if b.largest_batch else
             "not even a batch of 1 per GPU fits:", f"({_gib(b.total_at_largest)};"
             if b.largest_batch else "", f"{b.largest_batch + 1:,} needs "
             f"{_gib(b.total_at_next)});", f"most is {b.dominant}"]), style="bold")
    ckpt = f", checkpointing {_short(d.checkpointed)}" if d.checkpointed else ""
    on = f" on {d.gpus} GPU{'s' * (d.gpus != 1)}" if d.strategy != "none" else ""
    title = f"per GPU: {NAMES[d.strategy]}{on}{ckpt}" + (" (rank 0)" if d.gpus > 1 else "")
    return titled(title, below(t, d.notes))


def _gib(n: int | None) -> str:
    """Bytes near a budget: three decimals, so that the answer and the next differ."""
    if n is None:
        return "-"
    return f"{n / 2 ** 30:,.3f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:,.3f} MiB"


def _most(g: PerGpu) -> str:
    parts = g.parts()
    return max(parts, key=lambda k: parts[k])


def _short(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{names[0]}, ... ({len(names)} modules)"


def _fewest(d: DistReport) -> Group:
    t = table(None, "strategy", "fewest GPUs", "per GPU")
    for f in d.fewest:
        t.add_row(NAMES[f.strategy], f"{f.gpus:,}" if f.gpus else "none fits",
                  _gib(f.total_bytes) if f.total_bytes is not None else "",
                  style="bold" if f.strategy == d.strategy else None)
    return titled(f"the fewest GPUs for this per-GPU batch, each under "
                  f"{size(d.fewest_limit)}", t)


MEASURED = (("param_bytes", "param_bytes", "params"), ("grad_bytes", "grad_bytes", "grads"),
            ("optimizer_state_bytes", "optimizer_state_bytes", "opt. state"),
            ("saved_activation_bytes", "activation_bytes", "saved act."))


def _measured(d: DistReport) -> Group:
    m = d.measured or []
    peak = any("peak_bytes" in r for r in m)
    t = table(None, "rank", *[c for _, _, c in MEASURED], *(["peak"] if peak else []))
    for rank, got in enumerate(m):
        est = d.per_rank[rank] if rank < len(d.per_rank) else d.per_gpu
        e = {"param_bytes": est.param_bytes, "grad_bytes": est.grad_bytes,
             "optimizer_state_bytes": est.optimizer_state_bytes,
             "activation_bytes": est.activation_bytes}
        t.add_row(f"{rank} estimate", *[size(e[k]) for _, k, _ in MEASURED],
                  *([size(est.total_bytes)] if peak else []), style="dim")
        t.add_row(f"{rank} measured", *[size(got.get(k)) for k, _, _ in MEASURED],
                  *([size(got.get("peak_bytes"))] if peak else []), end_section=True)
    notes = ["measured: the storages of each rank's local shards (padding included), the "
             "optimizer's state tensors, and what autograd saved in forward"]
    if m and "bucket_bytes" in m[0]:
        notes.append(f"DDP buckets: {size(m[0]['bucket_bytes'])} measured on rank 0, "
                     f"{size(d.per_gpu.bucket_bytes)} estimated")
    if peak:
        notes.append("peak: torch.cuda.max_memory_allocated over the second step; its "
                     "estimate is the per-GPU total")
    return titled(f"measured: one step on {len(m)} process{'es' * (len(m) != 1)} "
                  f"({m[0].get('device', 'cpu, gloo') if m else ''})", below(t, notes))
