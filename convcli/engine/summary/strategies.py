"""`summary --train --gpus N --strategy ...`: the one-GPU estimate (train_memory.py)
spread over N ranks by the rules of network/sharding.py, on the model the estimate ran
(meta or fake parameters: shapes, dtypes and the module tree are all it reads).

Shard units (zero3, fsdp): ``--shard-unit`` names modules by class or by name prefix
(the outermost matches; a ModuleList or ModuleDict stands for its items); by default
every top-level block holding parameters. The parameters no unit holds belong to the
root. ``--checkpoint`` (same matching): a checkpointed call keeps only its inputs; its
own saves come back one block at a time in backward (``recompute_bytes``: the largest).
torch is imported inside functions.
"""

from __future__ import annotations

from convcli.errors import ConvError
from convcli.network.sharding import (STRATEGIES, DistOptions, DistReport, ParamInfo,
                                      PerGpu, ddp_buckets, fewest_gpus, matches, patterns,
                                      per_rank)
from convcli.network.train_report import STATE_RULE

CONTAINERS = ("ModuleList", "ModuleDict", "ParameterList", "ParameterDict")


def select_modules(model, text: str | None, option: str) -> list[str]:
    """Qualified names of the outermost modules ``text`` matches (containers stand for
    their items); ``text`` None: the top-level blocks holding parameters."""
    named = dict(model.named_modules())
    if text is None:
        picked = [q for q, m in model.named_children()
                  if any(True for _ in m.parameters())]
    else:
        pats = patterns(text, option)
        found = [q for q, m in named.items() if q and matches(q, type(m).__name__, pats)]
        picked = [q for q in found if not any(q.startswith(o + ".") for o in found)]
        if not picked:
            kinds = sorted({type(m).__name__ for q, m in named.items() if q})[:8]
            raise ConvError(f"{option} {text!r} matches no module; its classes include "
                            f"{', '.join(kinds)}, its top-level names "
                            f"{', '.join(q for q, _ in model.named_children())}")
    out: list[str] = []
    for q in picked:
        m = named[q]
        if type(m).__name__ in CONTAINERS:
            out += [f"{q}.{c}" for c, _ in m.named_children()]
        else:
            out.append(q)
    return out


def unit_of(name: str, units: list[str]) -> str:
    owners = [u for u in units if name.startswith(u + ".")]
    return max(owners, key=len) if owners else ""


def param_infos(model, units: list[str], state: dict[str, int],
                optimizer: str) -> list[ParamInfo]:
    fixed = STATE_RULE.get(optimizer, (0, 0))[1]
    out = []
    for name, p in model.named_parameters():
        s = state.get(name, 0) if p.requires_grad else 0
        out.append(ParamInfo(name, tuple(p.shape), p.element_size(), p.requires_grad,
                             unit_of(name, units), s, fixed if s else 0))
    return out


def checkpointed(saved, calls: set[int]) -> tuple[int, int]:
    """(activation bytes kept, the largest checkpointed call's own saves) when the
    calls in ``calls`` keep only their inputs."""
    rec = saved.rec
    parent = {c.index: c.parent for c in rec.calls}

    def inside(i: int | None) -> int | None:
        while i is not None:
            if i in calls:
                return i
            i = parent.get(i)
        return None

    kept: dict = {}
    inner: dict[int, int] = {}
    resident = {r.key for r in saved.records if r.kind != "activation"}
    for r in saved.records:
        if r.kind != "activation":
            continue
        c = inside(r.saver)
        if c is None:
            kept[r.key] = r.nbytes
        else:
            inner[c] = inner.get(c, 0) + r.nbytes
    outer = [c for c in calls if inside(parent.get(c)) is None]
    resident |= _model_inputs(saved)      # the batch is counted apart
    for c in outer:
        for key, nbytes in rec.inputs.get(c, []):
            if key not in resident and key not in kept:
                kept[key] = nbytes
    return sum(kept.values()), max(inner.values(), default=0)


def _model_inputs(saved) -> set:
    rec = saved.rec
    return set(k for k, _ in rec.inputs.get(rec.calls[0].index, [])) if rec.calls else set()


def activations(model, saved, dopts: DistOptions) -> tuple[int, int, list[str]]:
    """(activation bytes, recompute bytes, checkpointed module names)."""
    if dopts.checkpoint is None:
        return saved.total(), 0, []
    names = select_modules(model, dopts.checkpoint, "--checkpoint")
    wanted = set(names)
    calls = {c.index for c in saved.rec.calls if c.qual in wanted}
    if not calls:
        raise ConvError(f"--checkpoint {dopts.checkpoint!r}: {', '.join(names[:4])} never "
                        "ran in forward()")
    kept, recompute = checkpointed(saved, calls)
    return kept, recompute, names


def estimate(model, saved, state: dict[str, int], report, dopts: DistOptions) -> DistReport:
    """The per-GPU report for ``report`` (the one-GPU TrainReport of the same pass)."""
    strategy = dopts.strategy or ("ddp" if dopts.gpus else "none")
    world = dopts.gpus or 1
    units = select_modules(model, dopts.shard_unit, "--shard-unit") \
        if strategy in ("zero3", "fsdp") else []
    params = param_infos(model, units, state, report.optimizer)
    act, recompute, ckpt = activations(model, saved, dopts)
    fixed = PerGpu(0, 0, 0, act, report.buffer_bytes, report.input_bytes,
                   recompute_bytes=recompute)
    ranks = [per_rank(params, world, r, strategy, fixed, dopts.offload, dopts.bucket_view)
             for r in range(world if world <= 64 else 1)]
    buckets = ddp_buckets([(p.nbytes, str(p.elem)) for p in params if p.trainable],
                          dopts.bucket_cap_mb) if strategy == "ddp" else []
    notes = _notes(strategy, units, params, world, dopts)
    if buckets:
        notes.insert(1, f"DDP: {len(buckets)} gradient bucket(s) ({dopts.bucket_cap_mb:g} "
                        "MiB each at most; the first, of the last parameters, 1 MiB)")
    return DistReport(world, strategy, units, ckpt, dopts.offload, ranks[0], ranks,
                      buckets, notes)


def _notes(strategy: str, units: list[str], params: list[ParamInfo], world: int,
           dopts: DistOptions) -> list[str]:
    notes = ["not counted: the CUDA context (about 0.3-1 GiB per process), allocator "
             "fragmentation, NCCL's buffers and workspaces (docs/training.md)"]
    if strategy == "ddp" and not dopts.bucket_view:
        notes.append("DDP's buckets hold a second copy of the gradients; "
                     "gradient_as_bucket_view=True makes the gradients views of them")
    if strategy == "fsdp":
        uneven = [p.name for p in params if p.shape and p.shape[0] % world]
        if uneven:
            notes.append(f"{len(uneven)} parameter(s) do not split evenly on dim 0 over "
                         f"{world} (e.g. {uneven[0]}): each rank stores torch.chunk's first "
                         "piece's size, padded")
    if strategy in ("zero3", "fsdp"):
        notes.append(f"shard units: {_short(units) or 'none (the root holds everything)'}; "
                     "gathered: the root's parameters and the largest unit's, with its "
                     "unsharded gradients")
    return notes


def _short(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 4 else \
        f"{', '.join(names[:3])}, ... ({len(names)} units)"


def fewest(params_report: DistReport, model, saved, state, report,
           dopts: DistOptions, limit: int) -> list:
    """--budget without --gpus: per strategy, the fewest GPUs for this batch."""
    out = []
    for strategy in STRATEGIES:
        offload = dopts.offload if _offload_ok(strategy, dopts.offload) else None
        units = select_modules(model, dopts.shard_unit, "--shard-unit") \
            if strategy in ("zero3", "fsdp") else []
        params = param_infos(model, units, state, report.optimizer)
        out.append(fewest_gpus(params, strategy, params_report.per_gpu, limit, offload,
                               dopts.bucket_view))
    return out


def _offload_ok(strategy: str, offload: str | None) -> bool:
    if offload == "optimizer":
        return strategy in ("zero1", "zero2", "zero3")
    if offload == "params":
        return strategy in ("zero3", "fsdp")
    return False
