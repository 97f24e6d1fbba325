"""One rank of `summary --train --measure --gpus N`: run as
``python -m convcli.engine.summary.dist_worker JOBS RANK WORLD PORT OUTDIR`` by
distributed.py, never by hand. It joins the process group on 127.0.0.1:PORT (gloo on
the CPU, NCCL with one GPU per rank), and for each job in the JSON file JOBS builds the
model (seed 0), applies activation checkpointing and DDP or FSDP2 ``fully_shard`` as
asked, runs one step (two on CUDA: the second's peak, with the optimizer state), and
writes what it measured to OUTDIR/rank-R.json:

* ``param_bytes``, ``grad_bytes``: the bytes of the storages behind the local shards
  (padding included: what the rank allocated); ``param_local_bytes`` without padding;
* ``optimizer_state_bytes``: the optimizer's state tensors (their local shards);
* ``saved_activation_bytes``: what autograd saved in forward (saved_tensors_hooks),
  once per storage, without parameters (sharded or all-gathered), buffers and inputs;
* ``bucket_bytes``: DDP's gradient buckets; ``peak_bytes``: CUDA's max_memory_allocated.

Every collective is bounded by the process group's timeout; the parent kills the
process group of each rank at its deadline, and a rank whose parent is gone exits. torch is imported inside functions.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def main(argv: list[str]) -> int:
    jobs_file, rank, world, port, outdir = argv[0], int(argv[1]), int(argv[2]), argv[3], argv[4]
    with open(jobs_file) as f:
        spec = json.load(f)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    _orphan_watch(os.getppid())
    out = os.path.join(outdir, f"rank-{rank}.json")
    try:
        results = _run(spec, rank, world)
        data: dict = {"rank": rank, "results": results}
        code = 0
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which decides
        data = {"rank": rank, "error": f"{type(e).__name__}: {' '.join(str(e).split())}"[:400],
                "traceback": traceback.format_exc()[-2000:]}
        code = 1
    with open(out + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(out + ".tmp", out)
    return code


def _orphan_watch(parent: int) -> None:
    """Exit at once if the launcher goes away without stopping us (kill -9)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _run(spec: dict, rank: int, world: int) -> list[dict]:
    from datetime import timedelta

    import torch
    import torch.distributed as dist
    cuda = spec["device"] == "cuda"
    if cuda:
        torch.cuda.set_device(rank)
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world,
                            timeout=timedelta(seconds=spec["timeout"]))
    try:
        return [_job(job, rank, world, cuda) for job in spec["jobs"]]
    finally:
        dist.destroy_process_group()


def _job(job: dict, rank: int, world: int, cuda: bool) -> dict:
    import torch

    from convcli.engine.summary.inputs import make, parse_inputs
    from convcli.engine.summary.optim import make_optimizer
    from convcli.engine.summary.strategies import select_modules
    model = _build(job)
    device = torch.device("cuda", rank) if cuda else torch.device("cpu")
    if job.get("checkpoint"):
        _checkpoint(model, select_modules(model, job["checkpoint"], "--checkpoint"))
    model = _wrap(model.to(device), job, device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(job["optimizer"], params) if params else None
    args, kwargs = make(parse_inputs(job["inputs"]), device.type, job["dtype"])
    result: dict = {}
    for _ in range(2 if cuda else 1):
        if opt is not None:
            opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        saved = _step(model, opt, args, kwargs, job.get("amp"), device.type)
        result = {"saved_activation_bytes": saved, **_states(model, opt)}
        if cuda:
            torch.cuda.synchronize(device)
            result["peak_bytes"] = torch.cuda.max_memory_allocated(device)
            result["device"] = torch.cuda.get_device_name(device)
    if job["strategy"] == "ddp":
        sizes = str(model._get_ddp_logging_data().get("bucket_sizes", ""))
        result["buckets"] = [int(s) for s in sizes.split(",") if s.strip()]
        result["bucket_bytes"] = 0 if job.get("bucket_view") else sum(result["buckets"])
    return result


def _build(job: dict):
    import torch

    from convcli.engine.summary.freeze import set_frozen
    from convcli.engine.summary.loading import parse_args
    from convcli.engine.summary.model_sources import resolve
    from convcli.network.reading import parse_names
    pos, kw = parse_args(job.get("args"))
    kw = {**kw, **parse_names(job.get("set") or [])}     # as summary reads --set
    source = resolve(job["target"], pos, kw)
    torch.manual_seed(0)
    model = source.cpu()
    set_frozen(model, job.get("freeze") or [], job.get("unfreeze") or [])
    if job["dtype"] != "float32":
        model = model.to(getattr(torch, job["dtype"]))
    return model


def _checkpoint(model, names: list[str]) -> None:
    """Non-reentrant torch.utils.checkpoint around each named module's forward."""
    import functools

    from torch.utils.checkpoint import checkpoint
    modules = dict(model.named_modules())
    for name in names:
        m = modules[name]
        m.forward = functools.partial(checkpoint, m.forward, use_reentrant=False)


def _wrap(model, job: dict, device):
    import torch
    from torch.distributed.device_mesh import init_device_mesh

    from convcli.engine.summary.strategies import select_modules
    if job["strategy"] == "none":
        return model
    if job["strategy"] == "ddp":
        from torch.nn.parallel import DistributedDataParallel
        return DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            bucket_cap_mb=job.get("bucket_cap_mb"),
            gradient_as_bucket_view=bool(job.get("bucket_view")))
    from torch.distributed.fsdp import CPUOffloadPolicy, OffloadPolicy, fully_shard
    world = torch.distributed.get_world_size()
    mesh = init_device_mesh(device.type, (world,))
    policy = CPUOffloadPolicy() if job.get("offload") == "params" else OffloadPolicy()
    modules = dict(model.named_modules())
    for name in select_modules(model, job.get("shard_unit"), "--shard-unit"):
        fully_shard(modules[name], mesh=mesh, offload_policy=policy)
    fully_shard(model, mesh=mesh, offload_policy=policy)
    return model


def _step(model, opt, args, kwargs, amp: str | None, device_type: str) -> int:
    """One forward (saved tensors counted), backward and optimizer step."""
    import contextlib

    import torch

    from convcli.engine.summary.saved_tensors import AMP

    from convcli.engine.summary.dispatch import tensors
    from convcli.engine.summary.saved_tensors import storage_key
    seen: dict = {}
    resident: set = set()

    def pack(t):
        key, nbytes = storage_key(t)
        seen[key] = nbytes
        return t

    def post(m, a, o):     # before FSDP's own post-forward hook: still all-gathered
        for p in m.parameters(recurse=False):
            resident.add(storage_key(_local(p))[0])

    hook = torch.nn.modules.module.register_module_forward_hook(post)
    model.train()
    try:
        autocast = torch.autocast(device_type, dtype=getattr(torch, AMP[amp])) if amp \
            else contextlib.nullcontext()
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
                autocast:
            out = model(*args, **kwargs)
    finally:
        hook.remove()
    for t in list(model.parameters()) + list(model.buffers()) + list(tensors((args, kwargs))):
        resident.add(storage_key(_local(t))[0])
    saved = sum(n for k, n in seen.items() if k not in resident)
    next(iter(tensors(out))).float().sum().backward()
    if opt is not None:
        opt.step()
    return saved


def _local(t):
    return t.to_local() if hasattr(t, "to_local") else t


def _states(model, opt) -> dict:
    import torch

    from convcli.engine.summary.saved_tensors import storage_key

    def storages(ts) -> int:
        found = {}
        for t in ts:
            if t is not None:
                key, nbytes = storage_key(_local(t))
                found[key] = nbytes
        return sum(found.values())

    params = list(model.parameters())
    state = 0
    if opt is not None:
        for s in opt.state.values():
            for v in s.values():
                if isinstance(v, torch.Tensor):
                    v = _local(v)
                    state += v.numel() * v.element_size()
    return {"param_bytes": storages(params),
            "param_local_bytes": sum(_local(p).numel() * p.element_size() for p in params),
            "grad_bytes": storages(p.grad for p in params),
            "optimizer_state_bytes": state}


def _leave(code: int) -> None:
    """Exit with ``code`` once the results are written, without the interpreter's
    teardown: there, a gloo thread still joinable when its C++ owner is destroyed ends
    the rank with "terminate called without an active exception" and SIGABRT, after a
    step that measured fine (seen once in a suite run of 2 gloo ranks)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    _leave(main(sys.argv[1:]))
